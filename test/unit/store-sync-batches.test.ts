// A sync's writes in multi-row statements (broker/store.ts, SYNC_BATCH rows each), on a real SQLite file
// and a real PostgreSQL database: more rows than one statement holds, the same ARN twice in one sync (the
// last wins, where PostgreSQL would refuse to update one row twice in a statement), values that look like
// SQL, and an account's rows replaced without touching another's.

import { describe, expect, it } from "vitest";
import { openStore, type SyncedRole, type SyncedUser } from "../../broker/store.ts";
import { ENGINES, storeEngines } from "../support/store-engines.ts";

const engines = storeEngines();

const role = (account: string, name: string, extra: Partial<SyncedRole> = {}): SyncedRole => ({
  arn: `arn:aws:iam::${account}:role/${name}`,
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
const user = (account: string, name: string): SyncedUser => ({
  arn: `arn:aws:iam::${account}:user/${name}`,
  accountId: account,
  name,
  path: "/",
  userId: `AIDA${name.toUpperCase()}`,
  tags: [],
  inlinePolicies: {},
  managedPolicies: [],
});

const A = "111111111111";
const B = "222222222222";

describe.each(ENGINES)("sync writes in batches (%s)", (engine) => {
  it("stores 1,234 roles of one account (three statements), and replacing them keeps only the new ones", async () => {
    const store = openStore(await engines.open(engine));
    const many = Array.from({ length: 1234 }, (_, i) => role(A, `role-${String(i).padStart(4, "0")}`));
    store.replaceAccount(A, many, [user(A, "bot-1"), user(A, "bot-2")]);
    store.replaceAccount(B, [role(B, "Other")], [user(B, "other-bot")]);
    expect(store.loadRoles().filter((r) => r.accountId === A)).toHaveLength(1234);
    expect(store.loadUsers().map((u) => u.name)).toEqual(["bot-1", "bot-2", "other-bot"]);
    expect(store.getRole(many[1233]!.arn)?.name).toBe("role-1233");

    store.replaceAccount(A, many.slice(0, 3), []);
    expect(store.loadRoles().map((r) => r.name)).toEqual(["role-0000", "role-0001", "role-0002", "Other"]);
    expect(store.loadUsers().map((u) => u.name)).toEqual(["other-bot"]);
  });

  it("the same ARN twice in one sync keeps the last, as one-by-one writes did", async () => {
    const store = openStore(await engines.open(engine));
    store.replaceAccount(
      A,
      [
        role(A, "Twice", { description: "first" }),
        role(A, "Between"),
        role(A, "Twice", { description: "second" }),
      ],
      [user(A, "u"), user(A, "u")],
    );
    expect(store.loadRoles().map((r) => [r.name, r.description])).toEqual([
      ["Between", undefined],
      ["Twice", "second"],
    ]);
    expect(store.loadUsers()).toHaveLength(1);
  });

  it("values that look like SQL or placeholders are stored as they are", async () => {
    const store = openStore(await engines.open(engine));
    const hostile = "x'); DROP TABLE roles; -- ? $1 ?? \\ %_";
    store.replaceAccount(A, [role(A, "Odd", { description: hostile }), role(A, "Plain")], []);
    expect(store.getRole(role(A, "Odd").arn)?.description).toBe(hostile);
    expect(store.loadRoles()).toHaveLength(2);
  });

  it("an account with no roles and no users is emptied, not an error", async () => {
    const store = openStore(await engines.open(engine));
    store.replaceAccount(A, [role(A, "Gone")], [user(A, "gone")]);
    store.replaceAccount(A, [], []);
    expect(store.loadRoles()).toEqual([]);
    expect(store.loadUsers()).toEqual([]);
  });
});
