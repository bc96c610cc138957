// The broker's store on a real SQLite file and a real PostgreSQL database, the same tests on both: the
// queries written once in the subset both speak (case-insensitive search, LIKE wildcards taken
// literally, RETURNING), the audit chain read in pages, and what tampering and failures look like.

import { describe, expect, it } from "vitest";
import {
  auditWriteError,
  isWriteFailure,
  openStore,
  type SyncedRole,
  type SyncedUser,
} from "../../broker/store.ts";
import { GatehouseError } from "../../shared/errors.ts";
import { ENGINES, storeEngines } from "../support/store-engines.ts";

const engines = storeEngines();

const role = (account: string, name: string, extra: Partial<SyncedRole> = {}): SyncedRole => ({
  arn: `arn:aws:iam::${account}:role${extra.path ?? "/"}${name}`,
  accountId: account,
  name,
  path: "/",
  roleId: `AROA${name.toUpperCase()}`,
  maxSessionDuration: 3600,
  tags: [],
  inlinePolicies: {},
  managedPolicies: [],
  ...extra,
});
const user = (account: string, name: string, extra: Partial<SyncedUser> = {}): SyncedUser => ({
  arn: `arn:aws:iam::${account}:user/${name}`,
  accountId: account,
  name,
  path: "/",
  userId: `AIDA${name.toUpperCase()}`,
  tags: [],
  inlinePolicies: {},
  managedPolicies: [],
  ...extra,
});

describe.each(ENGINES)("roles and users (%s)", (engine) => {
  it("search is case-insensitive, takes % _ \\ literally, skips service-linked roles, and shows descriptions", async () => {
    const store = openStore(await engines.open(engine));
    store.replaceAccount(
      "111111111111",
      [
        role("111111111111", "DataEngineer", { description: "reads the lake" }),
        role("111111111111", "data_100%", { description: "odd name" }),
        role("111111111111", "AWSServiceRoleForSupport", {
          path: "/aws-service-role/support.amazonaws.com/",
        }),
        role("111111111111", "Billing"),
      ],
      [user("111111111111", "data-bot")],
    );
    store.replaceAccount("222222222222", [role("222222222222", "dataEngineer")], []);
    const search = (
      text: string,
      extra: { accountIds?: string[]; excludeArns?: string[]; limit?: number } = {},
    ) =>
      store
        .searchEntities({
          terms: [{ text, accountIds: extra.accountIds ?? [] }],
          excludeArns: extra.excludeArns ?? [],
          limit: extra.limit ?? 50,
        })
        .map((h) => [h.type, h.accountId, h.name, h.description]);
    expect(search("DATA")).toEqual([
      ["user", "111111111111", "data-bot", null],
      ["role", "111111111111", "data_100%", "odd name"],
      ["role", "111111111111", "DataEngineer", "reads the lake"],
      ["role", "222222222222", "dataEngineer", null],
    ]);
    // Wildcards in what a person types are characters, not patterns.
    expect(search("_100%")).toEqual([["role", "111111111111", "data_100%", "odd name"]]);
    expect(search("a_1")).toEqual([["role", "111111111111", "data_100%", "odd name"]]);
    expect(search("%")).toEqual([["role", "111111111111", "data_100%", "odd name"]]);
    expect(search("\\")).toEqual([]);
    expect(search("support")).toEqual([]);
    expect(search("billing", { limit: 1 })).toEqual([["role", "111111111111", "Billing", null]]);
    expect(
      search("engineer", { excludeArns: ["arn:aws:iam::111111111111:role/DataEngineer"] }).map((h) => h[1]),
    ).toEqual(["222222222222"]);
    // A term also matches every role of the accounts it names.
    expect(search("nothing-like-it", { accountIds: ["222222222222"] }).map((h) => h[2])).toEqual([
      "dataEngineer",
    ]);

    expect(store.roleNamed("111111111111", "dataengineer")?.name).toBe("DataEngineer");
    expect(store.roleNamed("111111111111", "data%")).toBeUndefined();
    expect(store.getUser("arn:aws:iam::111111111111:user/data-bot")?.userId).toBe("AIDADATA-BOT");
    // By ARN: the service-linked role's path sorts it after the upper-case names.
    expect(store.loadRoles().map((r) => r.name)).toEqual([
      "Billing",
      "DataEngineer",
      "AWSServiceRoleForSupport",
      "data_100%",
      "dataEngineer",
    ]);
    // A second sync replaces the account's rows; the description column follows the role.
    store.replaceAccount(
      "111111111111",
      [role("111111111111", "DataEngineer", { description: "new words" })],
      [],
    );
    expect(search("data")).toEqual([
      ["role", "111111111111", "DataEngineer", "new words"],
      ["role", "222222222222", "dataEngineer", null],
    ]);
    // The same role, now under a service-linked path (its ARN kept): the column follows the write.
    store.upsertRole(
      role("111111111111", "DataEngineer", {
        path: "/aws-service-role/x/",
        arn: "arn:aws:iam::111111111111:role/DataEngineer",
      }),
    );
    expect(search("data").map((h) => h[1])).toEqual(["222222222222"]);
  });

  it("tagged entities: a tag key found in any case; a write makes the next answer fresh", async () => {
    const store = openStore(await engines.open(engine));
    const tags = [{ Key: "Gatehouse-Authorized", Value: "engineers" }];
    store.replaceAccount("111111111111", [role("111111111111", "A", { tags })], [user("111111111111", "u")]);
    expect(store.taggedEntities("gatehouse-authorized").map((e) => e.arn)).toEqual([
      "arn:aws:iam::111111111111:role/A",
    ]);
    expect(store.taggedEntities("gatehouse_authorized")).toEqual([]);
    store.upsertUser(user("111111111111", "u", { tags: [{ Key: "GATEHOUSE-AUTHORIZED", Value: "x" }] }));
    expect(
      store
        .taggedEntities("gatehouse-authorized")
        .map((e) => e.arn)
        .sort(),
    ).toEqual(["arn:aws:iam::111111111111:role/A", "arn:aws:iam::111111111111:user/u"]);
  });

  it("tag states, baselines, changes (ids from RETURNING) and sync statuses", async () => {
    const store = openStore(await engines.open(engine));
    const state = {
      arn: "arn:aws:iam::111111111111:role/A",
      accountId: "111111111111",
      type: "role" as const,
      entityId: "AROAA",
      observed: { "gatehouse-authorized": ["engineers"] },
      served: {},
    };
    store.putTagState(state);
    store.putTagState({ ...state, served: state.observed });
    expect(store.tagStates("111111111111")).toEqual([{ ...state, served: state.observed }]);
    expect(store.tagState("arn:aws:iam::111111111111:role/none")).toBeUndefined();
    expect(store.hasTagBaseline("111111111111")).toBe(false);
    store.setTagBaseline("111111111111");
    store.setTagBaseline("111111111111");
    expect(store.hasTagBaseline("111111111111")).toBe(true);
    const change = {
      arn: state.arn,
      accountId: state.accountId,
      type: "role" as const,
      name: "A",
      before: {},
      after: state.observed,
      added: state.observed,
      removed: {},
      recreated: false,
      mode: "hold" as const,
      state: "held" as const,
      detectedAt: "2026-11-26T08:00:00.000Z",
      decidedBy: null,
      decidedAt: null,
    };
    const c1 = store.addTagChange(change);
    const c2 = store.addTagChange({ ...change, arn: "arn:aws:iam::111111111111:role/B" });
    expect(c2.id).toBeGreaterThan(c1.id);
    store.setTagChangeState(c1.id, "accepted", "bob@example.com", new Date("2026-11-26T09:00:00.000Z"));
    expect(store.getTagChange(c1.id)).toMatchObject({
      id: c1.id,
      state: "accepted",
      decidedBy: "bob@example.com",
      decidedAt: "2026-11-26T09:00:00.000Z",
    });
    expect(store.tagChanges({ state: "held" }).map((c) => c.id)).toEqual([c2.id]);
    expect(store.tagChanges({}).map((c) => c.id)).toEqual([c2.id, c1.id]);
    expect(store.tagChanges({ arn: state.arn, limit: 1 }).map((c) => c.id)).toEqual([c1.id]);
    const status = {
      accountId: "111111111111",
      name: "prod",
      state: "ok" as const,
      lastAttemptAt: "2026-11-26T08:00:00.000Z",
      lastSuccessAt: "2026-11-26T08:00:00.000Z",
      error: null,
      roles: 3,
      users: 1,
      durationMs: 12,
    };
    store.putSyncStatus(status);
    store.putSyncStatus({ ...status, roles: 4 });
    expect(store.syncStatuses()).toEqual([{ ...status, roles: 4 }]);
  });
});

describe.each(ENGINES)("audit chain (%s)", (engine) => {
  it("rows read in pages past the page size; a walk verifies them all; listAudit filters", async () => {
    const db = await engines.open(engine);
    const store = openStore(db);
    // One transaction for speed; each append still takes the head's lock and moves it.
    store.transaction(() => {
      for (let i = 0; i < 1_100; i++)
        store.appendAudit({
          actor: i % 2 ? "alice@example.com" : "bob@example.com",
          action: i % 3 ? "credentials.issue" : "console.open",
          outcome: "ok",
          detail: { i },
        });
    });
    expect(store.verifyAudit()).toEqual({ ok: true, count: 1_100, brokenAt: null, reason: null });
    store.auditSnapshot((snap) => {
      expect(snap.count()).toBe(1_100);
      expect(snap.head().seq).toBe(1_100);
      // 1,030 rows from seq 50: one full page and part of the next.
      const slice = [...snap.rows(49, 1_030)];
      expect(slice).toHaveLength(1_030);
      expect(slice[0]!.seq).toBe(50);
      expect(slice.at(-1)!.seq).toBe(1_079);
      expect([...snap.rows(1_000)].map((r) => r.seq)).toEqual(
        Array.from({ length: 100 }, (_, i) => 1_001 + i),
      );
      expect(snap.row(1_034)?.detail).toEqual({ i: 1_033 });
    });
    expect(
      store.listAudit({ actor: "alice@example.com", action: "console.open", limit: 3 }).map((e) => e.seq),
    ).toEqual([4, 10, 16]);
    expect(store.listAudit({ afterSeq: 1_095 }).map((e) => e.seq)).toEqual([
      1_096, 1_097, 1_098, 1_099, 1_100,
    ]);
  }, 120_000);

  it("a changed row, deleted newest rows, and a rolled-back append: each seen, the chain goes on", async () => {
    const db = await engines.open(engine);
    const store = openStore(db);
    for (let i = 0; i < 5; i++) store.appendAudit({ actor: "alice@example.com", action: "x", outcome: "ok" });
    // A crash in the middle of a transaction that appended: neither the row nor the head move.
    expect(() =>
      store.transaction(() => {
        store.appendAudit({ actor: "mallory@example.com", action: "x", outcome: "ok" });
        throw new Error("killed half-way");
      }),
    ).toThrow("killed half-way");
    expect(store.verifyAudit()).toMatchObject({ ok: true, count: 5 });
    expect(store.appendAudit({ actor: "alice@example.com", action: "x", outcome: "ok" }).seq).toBe(6);

    db.run("UPDATE audit SET detail = ? WHERE seq = 3", ['{"forged":true}']);
    expect(store.verifyAudit()).toMatchObject({ ok: false, brokenAt: 3, reason: "row 3 was changed" });
    db.run("UPDATE audit SET detail = ? WHERE seq = 3", ["{}"]);
    db.run("DELETE FROM audit WHERE seq >= 5");
    expect(store.verifyAudit()).toMatchObject({ ok: false, brokenAt: 5 });
  });

  it("a database that cannot be written: AUDIT_UNAVAILABLE, the original error kept as cause", async () => {
    const db = await engines.open(engine);
    const store = openStore(db);
    store.appendAudit({ actor: "alice@example.com", action: "x", outcome: "ok" });
    // Made read-only for real: PostgreSQL answers 25006, SQLite SQLITE_READONLY.
    if (engine === "postgres") db.exec("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
    else db.exec("PRAGMA query_only = ON");
    let err: unknown;
    try {
      store.appendAudit({ actor: "alice@example.com", action: "x", outcome: "ok" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatehouseError);
    expect(err).toMatchObject({ code: "AUDIT_UNAVAILABLE" });
    expect((err as Error).cause).toMatchObject({ code: engine === "postgres" ? "25006" : "SQLITE_READONLY" });
    expect(store.verifyAudit()).toMatchObject({ ok: true, count: 1 });
  });
});

describe("write failures of either engine", () => {
  it("SQLite full/I/O/read-only and PostgreSQL classes 53 and 58 are write failures; other errors are not", () => {
    for (const code of [
      "SQLITE_FULL",
      "SQLITE_IOERR_WRITE",
      "SQLITE_READONLY",
      "53100",
      "53200",
      "58030",
      "25006",
    ])
      expect(isWriteFailure(code), code).toBe(true);
    for (const code of [
      "SQLITE_CONSTRAINT_PRIMARYKEY",
      "23505",
      "40001",
      "42P01",
      "5310",
      "531000",
      53100,
      undefined,
    ])
      expect(isWriteFailure(code), String(code)).toBe(false);
    const disk = Object.assign(new Error("could not extend file: No space left on device"), {
      code: "53100",
    });
    expect(auditWriteError(disk)).toMatchObject({ code: "AUDIT_UNAVAILABLE", cause: disk });
    const other = Object.assign(new Error("duplicate key"), { code: "23505" });
    expect(auditWriteError(other)).toBe(other);
  });
});
