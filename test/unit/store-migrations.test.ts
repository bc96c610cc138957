// A database written by the release before versioned migrations (its schema SQL as it was, rows written
// the way it wrote them) opens with this release: it adopts version 1, gains the new columns filled from
// its rows, keeps every row and its audit chain, and the chain goes on from its head.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { openSqliteDb } from "../../broker/db/sqlite.ts";
import { openRequestsStore } from "../../broker/requests-store.ts";
import { type AuditEntry, auditHash, openStore } from "../../broker/store.ts";

const dir = mkdtempSync(join(tmpdir(), "gatehouse-migrations-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** broker/store.ts's schema in the previous release (`git show main:broker/store.ts`). */
const OLD_STORE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS roles (
    arn TEXT PRIMARY KEY, account_id TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS roles_account ON roles(account_id);
  CREATE TABLE IF NOT EXISTS users (
    arn TEXT PRIMARY KEY, account_id TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS users_account ON users(account_id);
  CREATE TABLE IF NOT EXISTS sync_status (account_id TEXT PRIMARY KEY, data TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, time TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT, outcome TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS audit_actor ON audit(actor, seq);
  CREATE INDEX IF NOT EXISTS audit_action ON audit(action, seq);
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS access_tag_state (
    arn TEXT PRIMARY KEY, account_id TEXT NOT NULL, type TEXT NOT NULL, entity_id TEXT NOT NULL,
    observed TEXT NOT NULL, served TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS access_tag_state_account ON access_tag_state(account_id);
  CREATE TABLE IF NOT EXISTS access_tag_baseline (account_id TEXT PRIMARY KEY, at TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS access_tag_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, arn TEXT NOT NULL, account_id TEXT NOT NULL, state TEXT NOT NULL,
    detected_at TEXT NOT NULL, data TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS access_tag_changes_state ON access_tag_changes(state, id);
  CREATE INDEX IF NOT EXISTS access_tag_changes_arn ON access_tag_changes(arn, id);
`;

/**
 * broker/requests-store.ts's CREATE statements in the previous release; that release then added
 * superseded_at, note, break_glass and admin in place, so a file from before them lacks them.
 */
const OLD_REQUESTS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, requester TEXT NOT NULL, requester_groups TEXT NOT NULL,
    justification TEXT NOT NULL, expiry_seconds INTEGER, policy TEXT, created_at TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS requests_requester ON requests(requester, created_at);
  CREATE TABLE IF NOT EXISTS targets (
    request_id TEXT NOT NULL REFERENCES requests(id), n INTEGER NOT NULL, arn TEXT NOT NULL,
    account_id TEXT NOT NULL, type TEXT NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL,
    policy_name TEXT, policy TEXT, expires_at TEXT, applied_at TEXT, applied_policy TEXT,
    error TEXT, drift TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (request_id, n)
  );
  CREATE INDEX IF NOT EXISTS targets_state ON targets(state, expires_at);
  CREATE TABLE IF NOT EXISTS approvals (
    request_id TEXT NOT NULL, n INTEGER NOT NULL, approver TEXT NOT NULL, time TEXT NOT NULL,
    comment TEXT, diff TEXT, expires_at TEXT, PRIMARY KEY (request_id, n, approver)
  );
  CREATE TABLE IF NOT EXISTS request_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, n INTEGER, time TEXT NOT NULL,
    actor TEXT NOT NULL, type TEXT NOT NULL, detail TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS request_events_request ON request_events(request_id, seq);
  CREATE TABLE IF NOT EXISTS webhook_outbox (
    id TEXT PRIMARY KEY, body TEXT NOT NULL, created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT NOT NULL, state TEXT NOT NULL,
    last_error TEXT, delivered_at TEXT
  );
  CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox(state, next_attempt_at);
`;

const GENESIS = "0".repeat(64);

/** A broker file as the previous release left it: synced roles, an audit chain, one request. */
function previousReleaseFile(file: string, opts: { laterColumns: boolean }): AuditEntry[] {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.exec(OLD_STORE_SCHEMA);
  db.exec(OLD_REQUESTS_SCHEMA);
  if (opts.laterColumns)
    db.exec(`ALTER TABLE approvals ADD COLUMN superseded_at TEXT;
      ALTER TABLE targets ADD COLUMN note TEXT;
      ALTER TABLE requests ADD COLUMN break_glass TEXT;
      ALTER TABLE approvals ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;`);
  const role = (name: string, path: string, description?: string) => ({
    arn: `arn:aws:iam::111111111111:role${path}${name}`,
    accountId: "111111111111",
    name,
    path,
    roleId: `AROA${name.toUpperCase()}`,
    description,
    maxSessionDuration: 3600,
    tags: [{ Key: "gatehouse-authorized", Value: "engineers" }],
    inlinePolicies: {},
    managedPolicies: [],
  });
  const ins = db.prepare("INSERT OR REPLACE INTO roles (arn, account_id, name, data) VALUES (?, ?, ?, ?)");
  for (const r of [
    role("DataEngineer", "/", "reads the lake"),
    role("AWSServiceRoleForSupport", "/aws-service-role/support.amazonaws.com/"),
  ])
    ins.run(r.arn, r.accountId, r.name, JSON.stringify(r));
  const u = {
    arn: "arn:aws:iam::111111111111:user/ci/deployer",
    accountId: "111111111111",
    name: "deployer",
    path: "/ci/",
    userId: "AIDADEPLOYER",
    tags: [],
    inlinePolicies: {},
    managedPolicies: [],
  };
  db.prepare("INSERT INTO users (arn, account_id, name, data) VALUES (?, ?, ?, ?)").run(
    u.arn,
    u.accountId,
    u.name,
    JSON.stringify(u),
  );
  // The audit chain, hashed and headed as the previous release appended it.
  const entries: AuditEntry[] = [];
  let prevHash = GENESIS;
  for (let seq = 1; seq <= 3; seq++) {
    const base = {
      seq,
      time: `2026-11-2${seq}T08:00:00.000Z`,
      actor: "alice@example.com",
      action: "credentials.issue",
      target: "arn:aws:iam::111111111111:role/DataEngineer",
      outcome: "ok",
      detail: { seq },
    };
    const hash = auditHash(prevHash, base);
    db.prepare(
      "INSERT INTO audit (seq, time, actor, action, target, outcome, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(
      seq,
      base.time,
      base.actor,
      base.action,
      base.target,
      base.outcome,
      JSON.stringify(base.detail),
      prevHash,
      hash,
    );
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_head', ?)").run(
      JSON.stringify({ seq, hash }),
    );
    entries.push({ ...base, prevHash, hash });
    prevHash = hash;
  }
  db.prepare(
    "INSERT INTO requests (id, kind, requester, requester_groups, justification, expiry_seconds, policy, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  ).run(
    "r1",
    "role-access",
    "alice@example.com",
    '["engineers"]',
    "month-end",
    3600,
    null,
    "2026-11-20T08:00:00.000Z",
  );
  db.prepare(
    "INSERT INTO targets (request_id, n, arn, account_id, type, name, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
  ).run(
    "r1",
    0,
    "arn:aws:iam::111111111111:role/Billing",
    "111111111111",
    "role",
    "Billing",
    "2026-11-20T08:00:00.000Z",
  );
  db.prepare("INSERT INTO approvals (request_id, n, approver, time) VALUES (?, ?, ?, ?)").run(
    "r1",
    0,
    "bob@example.com",
    "2026-11-20T09:00:00.000Z",
  );
  db.prepare(
    "INSERT INTO request_events (request_id, n, time, actor, type, detail) VALUES (?, ?, ?, ?, ?, ?)",
  ).run("r1", null, "2026-11-20T08:00:00.000Z", "alice@example.com", "created", "{}");
  db.close();
  return entries;
}

describe("a database from the previous release", () => {
  for (const laterColumns of [false, true])
    it(`opens, migrates and keeps its rows and audit chain (${laterColumns ? "with" : "without"} the columns added in place)`, () => {
      const file = join(dir, `old-${laterColumns}.sqlite`);
      const old = previousReleaseFile(file, { laterColumns });
      const db = openSqliteDb(file);
      const store = openStore(db);
      const requests = openRequestsStore(db);
      expect(
        db
          .all("SELECT component, version FROM schema_migrations ORDER BY component, version")
          .map((r) => [r.component, Number(r.version)]),
      ).toEqual([
        ["requests", 1],
        ["requests", 2],
        ["store", 1],
        ["store", 2],
        ["store", 3],
      ]);
      // The chain as it was, then going on from its head.
      expect(store.verifyAudit()).toEqual({ ok: true, count: 3, brokenAt: null, reason: null });
      expect(store.listAudit({})).toEqual(old);
      const next = store.appendAudit({ actor: "bob@example.com", action: "audit.verify", outcome: "ok" });
      expect(next).toMatchObject({ seq: 4, prevHash: old[2]!.hash });
      expect(store.verifyAudit()).toMatchObject({ ok: true, count: 4 });
      // path and description were filled from the rows' JSON: search skips the service-linked role and
      // shows the description.
      expect(
        store
          .searchEntities({ terms: [{ text: "e", accountIds: [] }], excludeArns: [], limit: 10 })
          .map((h) => [h.name, h.description]),
      ).toEqual([
        ["DataEngineer", "reads the lake"],
        ["deployer", null],
      ]);
      expect(store.getRole("arn:aws:iam::111111111111:role/DataEngineer")?.roleId).toBe("AROADATAENGINEER");
      expect(store.taggedEntities("gatehouse-authorized")).toHaveLength(2);
      // The request, with the later columns at their defaults.
      const r = requests.get("r1")!;
      expect(r.breakGlass).toBe(false);
      expect(r.targets).toMatchObject([
        { n: 0, name: "Billing", state: "pending", note: null, approvals: 1 },
      ]);
      expect(r.approvals).toMatchObject([{ approver: "bob@example.com", supersededAt: null, admin: false }]);
      expect(
        requests.approve("r1", 0, {
          approver: "carol@example.com",
          comment: null,
          diff: null,
          expiresAt: null,
          admin: true,
        }),
      ).toBe(2);
      db.close();

      // Opened again: nothing left to migrate, everything still there.
      const again = openSqliteDb(file);
      expect(openStore(again).verifyAudit()).toMatchObject({ ok: true, count: 4 });
      expect(openRequestsStore(again).adminApprovals("r1", 0)).toBe(1);
      expect(again.get<{ n: number }>("SELECT COUNT(*) AS n FROM schema_migrations")!.n).toBe(5);
      again.close();
    });

  it("a database migrated by a newer broker is refused with STORE_TOO_NEW, untouched", () => {
    const file = join(dir, "newer.sqlite");
    const db = openSqliteDb(file);
    openStore(db);
    db.run(
      "INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ('store', 99, 'future', ?)",
      [new Date().toISOString()],
    );
    expect(() => openStore(db)).toThrow(expect.objectContaining({ code: "STORE_TOO_NEW" }));
    db.close();
  });
});
