// SECURITY 32 below the HTTP layer: the configuration of the tag watch, Gatehouse's own role names in the
// access index, and the tag watch itself on a real SQLite store (first sync, new and recreated roles,
// users, a change of mode, a restart, canonical comparison of hostile values).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AccessIndex } from "../../broker/access-index.ts";
import { type BrokerConfig, parseConfig } from "../../broker/config.ts";
import { ownRoleNames } from "../../broker/own-roles.ts";
import { openSqliteStore, type Store, type SyncedRole, type SyncedUser } from "../../broker/store.ts";
import { accessTagsOf, TagWatch } from "../../broker/tag-watch.ts";
import type { Notification } from "../../broker/webhook.ts";
import type { Tag } from "../../shared/access.ts";
import { GatehouseError } from "../../shared/errors.ts";

const yaml = (access = "", accounts = "") => `oidc:
  issuer: https://sso.example.com
  audience: gatehouse-broker
aws:
  central_role_arn: arn:aws:iam::111111111111:role/path/OrgCentral
  spoke_role_name: GatehouseSpoke
  accounts:
    - { id: "222222222222", name: prod }
    - { id: "333333333333", name: staging, spoke_role_name: StagingSpoke }
${accounts}access:
  admin_groups: [platform-admins]
${access}`;
const config = (access = "") => parseConfig(yaml(access), "/etc/gatehouse/gatehouse.yaml");

const PROD = "222222222222";
const role = (
  name: string,
  tags: Record<string, string>,
  roleId = `AROA${name.toUpperCase()}`,
): SyncedRole => ({
  arn: `arn:aws:iam::${PROD}:role/${name}`,
  accountId: PROD,
  name,
  path: "/",
  roleId,
  maxSessionDuration: 3600,
  tags: Object.entries(tags).map(([Key, Value]): Tag => ({ Key, Value })),
  inlinePolicies: {},
  managedPolicies: [],
});
const user = (name: string, tags: Record<string, string>): SyncedUser => ({
  arn: `arn:aws:iam::${PROD}:user/${name}`,
  accountId: PROD,
  name,
  path: "/",
  userId: `AIDA${name.toUpperCase()}`,
  tags: Object.entries(tags).map(([Key, Value]): Tag => ({ Key, Value })),
  inlinePolicies: {},
  managedPolicies: [],
});
const carol = { email: "carol@example.com", groups: [] };

describe("SECURITY 32: configuration of access.external_tag_changes", () => {
  it("defaults to alert, takes trust and hold, refuses anything else with the key path", () => {
    expect(config().access.external_tag_changes).toBe("alert");
    expect(config("  external_tag_changes: hold\n").access.external_tag_changes).toBe("hold");
    expect(config("  external_tag_changes: trust\n").access.external_tag_changes).toBe("trust");
    for (const bad of ["block", "HOLD", "true", "[hold]"]) {
      let err: unknown;
      try {
        config(`  external_tag_changes: ${bad}\n`);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(GatehouseError);
      expect((err as GatehouseError).code).toBe("CONFIG_INVALID");
      expect((err as GatehouseError).message).toMatch(/gatehouse\.yaml:\d+: access\.external_tag_changes: /);
    }
    expect(() => config("  external_tag_changes: hold\n  external_tag_changes: trust\n")).toThrow(
      /access\.external_tag_changes: duplicate key/,
    );
  });
});

describe("SECURITY 32: Gatehouse's own role names are never in the access index", () => {
  it("every configured name (global spoke, per-account override, central role's name), in any account, any case", () => {
    const c = config();
    expect([...ownRoleNames(c)].sort()).toEqual(["gatehousespoke", "orgcentral", "stagingspoke"]);
    const index = new AccessIndex(
      { authorized: ["gatehouse-authorized"], cliOnly: ["gatehouse-authorized-cli-only"] },
      false,
      new Map([[PROD, "prod"]]),
      ownRoleNames(c),
    );
    const tagged = { "gatehouse-authorized": "carol@example.com" };
    const own = ["GatehouseSpoke", "StagingSpoke", "stagingspoke", "OrgCentral"].map((n) => role(n, tagged));
    index.replaceAccount(PROD, [...own, role("Work", tagged)]);
    expect(index.rolesFor(carol).map((g) => g.entry.role.name)).toEqual(["Work"]);
    for (const r of own) {
      expect(index.find(carol, { kind: "arn", arn: r.arn })).toBeUndefined();
      expect(index.find(carol, { kind: "name", account: "prod", role: r.name })).toBeUndefined();
      // Not even a role-access grant reaches one.
      index.grant(carol.email, r.arn, null);
      expect(index.find(carol, { kind: "arn", arn: r.arn })).toBeUndefined();
    }
    // A single re-read (upsertRole) of an own role that was somehow indexed removes it.
    index.upsertRole(role("GatehouseSpoke", tagged));
    expect(index.size).toBe(1);
  });
});

describe("SECURITY 32: the tag watch", () => {
  const dirs: string[] = [];
  const stores: Store[] = [];
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const open = (dir?: string) => {
    const d = dir ?? mkdtempSync(join(tmpdir(), "gatehouse-tagwatch-"));
    if (!dir) dirs.push(d);
    const store = openSqliteStore(join(d, "broker.sqlite"));
    stores.push(store);
    return { dir: d, store };
  };
  const watch = (store: Store, c: BrokerConfig) => {
    const sent: Notification[] = [];
    const w = new TagWatch(c, store, { notify: (n) => sent.push(n) });
    return { w, sent };
  };
  const served = (roles: SyncedRole[]) =>
    Object.fromEntries(
      roles.map((r) => [r.name, r.tags.find((t) => t.Key === "gatehouse-authorized")?.Value]),
    );

  it("the first sync of an account is no change; a role created tagged after it is one (held under hold)", () => {
    const { store } = open();
    const { w, sent } = watch(store, config("  external_tag_changes: hold\n"));
    w.observeAccount(PROD, [role("A", { "gatehouse-authorized": "engineers" })], []);
    expect(w.list()).toEqual([]);
    expect(sent).toEqual([]);
    const out = w.observeAccount(
      PROD,
      [
        role("A", { "gatehouse-authorized": "engineers" }),
        role("New", { "gatehouse-authorized": "carol@example.com" }),
        role("Plain", {}),
      ],
      [],
    );
    expect(served(out)).toEqual({ A: "engineers", New: undefined, Plain: undefined });
    expect(w.list().map((c) => [c.name, c.state])).toEqual([["New", "held"]]);
    expect(sent.map((n) => n.kind)).toEqual(["tags-held"]);
  });

  it("a single re-read (after Gatehouse changed a role) is compared too: a tag added meanwhile is held", () => {
    const { store } = open();
    const { w, sent } = watch(store, config("  external_tag_changes: hold\n"));
    w.observeAccount(PROD, [role("A", { "gatehouse-authorized": "engineers" }), role("B", {})], []);
    const out = w.observeRole(role("A", { "gatehouse-authorized": "engineers:carol@example.com" }));
    expect(served([out])).toEqual({ A: "engineers" });
    expect(w.heldCount).toBe(1);
    expect(sent.map((n) => n.kind)).toEqual(["tags-held"]);
    // The next full sync sees the same tags: still held, nothing new.
    w.observeAccount(
      PROD,
      [role("A", { "gatehouse-authorized": "engineers:carol@example.com" }), role("B", {})],
      [],
    );
    expect(w.list().map((c) => c.state)).toEqual(["held"]);
    const accepted = w.accept(w.list()[0]!.id, "bob@example.com");
    expect(accepted.state).toBe("accepted");
    expect(w.heldCount).toBe(0);
    expect(
      served([w.effective(role("A", { "gatehouse-authorized": "engineers:carol@example.com" }))]),
    ).toEqual({
      A: "engineers:carol@example.com",
    });
  });

  it("a role deleted and created again: same tags is no change; other tags are a change marked recreated", () => {
    const { store } = open();
    const { w } = watch(store, config("  external_tag_changes: hold\n"));
    w.observeAccount(PROD, [role("A", { "gatehouse-authorized": "engineers" })], []);
    w.observeAccount(PROD, [], []); // deleted: its state stays, so coming back is compared with it
    w.observeAccount(PROD, [role("A", { "gatehouse-authorized": "engineers" }, "AROANEW1")], []);
    expect(w.list()).toEqual([]);
    const out = w.observeAccount(
      PROD,
      [role("A", { "gatehouse-authorized": "engineers:carol@example.com" }, "AROANEW2")],
      [],
    );
    expect(served(out)).toEqual({ A: "engineers" });
    expect(w.list()[0]).toMatchObject({ state: "held", recreated: true });
  });

  it("held across a restart (a new watch on the same database); released when the mode is no longer hold", () => {
    const { dir, store } = open();
    const hold = config("  external_tag_changes: hold\n");
    const a = watch(store, hold);
    a.w.observeAccount(PROD, [role("A", { "gatehouse-authorized": "engineers" })], []);
    a.w.observeAccount(PROD, [role("A", { "gatehouse-authorized": "engineers:carol@example.com" })], []);
    store.close();
    stores.splice(0);
    const again = open(dir).store;
    const b = watch(again, hold);
    expect(b.w.heldCount).toBe(1);
    expect(
      served([b.w.effective(role("A", { "gatehouse-authorized": "engineers:carol@example.com" }))]),
    ).toEqual({
      A: "engineers",
    });
    const c = watch(again, config("  external_tag_changes: alert\n"));
    const out = c.w.observeAccount(
      PROD,
      [role("A", { "gatehouse-authorized": "engineers:carol@example.com" })],
      [],
    );
    expect(served(out)).toEqual({ A: "engineers:carol@example.com" });
    expect(c.w.list({ state: "held" })).toEqual([]);
    expect(again.listAudit({ action: "access_tags.released" })).toHaveLength(1);
  });

  it("turning force_groups_lowercase on is no change (stored tags are compared in today's form)", () => {
    const { dir, store } = open();
    watch(store, config()).w.observeAccount(
      PROD,
      [role("A", { "gatehouse-authorized": "Engineers:Bob@Example.com" })],
      [],
    );
    const lowered = parseConfig(
      yaml("  external_tag_changes: hold\n").replace(
        "  audience: gatehouse-broker\n",
        "  audience: gatehouse-broker\n  force_groups_lowercase: true\n",
      ),
      join(dir, "gatehouse.yaml"),
    );
    const { w } = watch(store, lowered);
    const out = w.observeAccount(
      PROD,
      [role("A", { "gatehouse-authorized": "Engineers:Bob@Example.com" })],
      [],
    );
    expect(w.list()).toEqual([]);
    expect(served(out)).toEqual({ A: "Engineers:Bob@Example.com" });
  });

  it("a failure in the middle (the audit cannot be written) records nothing: the next sync sees the change again", () => {
    const { store } = open();
    const hold = config("  external_tag_changes: hold\n");
    watch(store, hold).w.observeAccount(PROD, [role("A", { "gatehouse-authorized": "engineers" })], []);
    const failing: Store = {
      ...store,
      appendAudit: () => {
        throw new GatehouseError("AUDIT_UNAVAILABLE", "disk full");
      },
    };
    const broken = watch(failing, hold);
    const changed = [role("A", { "gatehouse-authorized": "engineers:carol@example.com" })];
    expect(() => broken.w.observeAccount(PROD, changed, [])).toThrow(/disk full/);
    expect(broken.sent).toEqual([]);
    expect(store.tagChanges({})).toEqual([]);
    expect(store.tagState(changed[0]!.arn)!.observed).toEqual({ "gatehouse-authorized": ["engineers"] });
    const { w, sent } = watch(store, hold);
    expect(served(w.observeAccount(PROD, changed, []))).toEqual({ A: "engineers" });
    expect(w.list().map((c) => c.state)).toEqual(["held"]);
    expect(sent.map((n) => n.kind)).toEqual(["tags-held"]);
  });

  it("users' changes are audited and sent but never held (no user is served); accept refuses a user's change", () => {
    const { store } = open();
    const { w, sent } = watch(store, config("  external_tag_changes: hold\n"));
    w.observeAccount(PROD, [], [user("bot", {})]);
    w.observeAccount(PROD, [], [user("bot", { "gatehouse-authorized": "carol@example.com" })]);
    const [c] = w.list();
    expect(c).toMatchObject({ type: "user", state: "applied" });
    expect(sent.map((n) => n.kind)).toEqual(["tags-changed"]);
    expect(() => w.accept(c!.id, "bob@example.com")).toThrow(/not held/);
  });

  it("compares canonically: key case, order, spaces and empty items are no change; hostile values are kept as data", () => {
    const keys = new Set(["gatehouse-authorized", "gatehouse-authorized-cli-only"]);
    const a = accessTagsOf([{ Key: "gatehouse-authorized", Value: "b:a" }], keys, false);
    const b = accessTagsOf([{ Key: "Gatehouse-Authorized", Value: " a ::b: " }], keys, false);
    expect(a).toEqual(b);
    expect(accessTagsOf([{ Key: "gatehouse-authorized", Value: ":::" }], keys, false)).toEqual({});
    expect(accessTagsOf([{ Key: "other", Value: "carol@example.com" }], keys, false)).toEqual({});
    const { store } = open();
    const { w } = watch(store, config());
    w.observeAccount(PROD, [role("A", { "gatehouse-authorized": "b:a" })], []);
    w.observeAccount(PROD, [role("A", { "Gatehouse-Authorized": " a ::b: " })], []);
    expect(w.list()).toEqual([]);
    const hostile = "<!channel>\n\u001b[2Jforged:x@example.com";
    w.observeAccount(PROD, [role("A", { "gatehouse-authorized": hostile })], []);
    expect(w.list()[0]!.after).toEqual({
      "gatehouse-authorized": ["<!channel>\n\u001b[2Jforged", "x@example.com"],
    });
  });
});
