// The people store on a real SQLite file and a real PostgreSQL database (the same tests on both):
// uniqueness that ignores case, groups by a person's e-mail, and the two disable flags kept apart.

import { describe, expect, it } from "vitest";
import { scimPeople } from "../../broker/access-report/people/scim.ts";
import { PeopleStore } from "../../broker/people/store.ts";
import { filterToWhere } from "../../broker/scim/filter.ts";
import { GatehouseError } from "../../shared/errors.ts";
import { ENGINES, storeEngines } from "../support/store-engines.ts";

const engines = storeEngines();
const user = (userName: string, email?: string) => ({
  userName,
  externalId: null,
  displayName: null,
  name: { givenName: null, familyName: null, formatted: null },
  emails: email ? [{ value: email, type: "work", primary: true }] : [],
  active: true,
});
const code = (fn: () => unknown) => {
  try {
    fn();
    return "no error";
  } catch (e) {
    return e instanceof GatehouseError ? e.code : String(e);
  }
};

describe.each(ENGINES)("people store (%s)", (engine) => {
  it("userName and displayName are unique whatever their case; a second open migrates nothing", async () => {
    const database = await engines.fresh(engine);
    const store = new PeopleStore(await engines.open(engine, database));
    store.createUser(user("Ann@Example.com"));
    expect(code(() => store.createUser(user("ann@example.COM")))).toBe("SCIM_CONFLICT");
    store.createGroup({ displayName: "Engineers", externalId: null, members: [] });
    expect(code(() => store.createGroup({ displayName: "ENGINEERS", externalId: null, members: [] }))).toBe(
      "SCIM_CONFLICT",
    );
    expect(code(() => store.createGroup({ displayName: "x", externalId: null, members: ["nobody"] }))).toBe(
      "SCIM_INVALID_VALUE",
    );
    expect(store.countGroups(filterToWhere("Group", undefined))).toBe(1);
    const again = new PeopleStore(await engines.open(engine, database));
    expect(again.countUsers(filterToWhere("User", 'userName eq "ANN@example.com"'))).toBe(1);
  });

  it("the access review's scim source: active provisioned people with their groups, before any sign-in", async () => {
    const db = await engines.open(engine);
    const store = new PeopleStore(db);
    const dana = store.createUser(user("dana", "Dana@Example.com"));
    const erin = store.createUser(user("erin", "erin@example.com"));
    store.createUser({ ...user("gone", "gone@example.com"), active: false });
    store.createGroup({ displayName: "ops", externalId: null, members: [dana.id] });
    store.createGroup({ displayName: "data", externalId: null, members: [dana.id] });
    const people = scimPeople({ db, requests: { targetsIn: () => [] } }).people();
    expect(people.map((p) => [p.email, p.groups])).toEqual([
      ["dana@example.com", ["data", "ops"]],
      ["erin@example.com", []],
    ]);
    expect(people.every((p) => typeof p.groupsAt === "string")).toBe(true);
    expect(erin.email).toBe("erin@example.com");
  });

  it("a person's groups follow their primary e-mail; a deleted user leaves no membership", async () => {
    const store = new PeopleStore(await engines.open(engine));
    const u = store.createUser(user("u-1", "Carol@Example.com"));
    const g = store.createGroup({ displayName: "data", externalId: null, members: [u.id] });
    store.createGroup({ displayName: "ops", externalId: null, members: [u.id] });
    expect(store.groupsOf("carol@example.com")).toEqual(["data", "ops"]);
    expect(store.listUsers(filterToWhere("User", 'emails.value eq "CAROL@example.com"'), 0, 10)).toHaveLength(
      1,
    );
    expect(store.countGroups(filterToWhere("Group", `members.value eq "${u.id}"`))).toBe(2);
    // A literal % or _ in a value is a value, not a pattern.
    expect(store.countUsers(filterToWhere("User", 'userName eq "u_1"'))).toBe(0);
    store.deleteUser(u.id);
    expect(store.groupsOf("carol@example.com")).toEqual([]);
    expect(store.getGroup(g.id)!.members).toEqual([]);
  });

  it("the SCIM and admin disable flags are separate; the reason of the one that holds is kept", async () => {
    const store = new PeopleStore(await engines.open(engine));
    store.setState("dan@example.com", { admin: true, reason: "incident 7", actor: "root" });
    store.setState("dan@example.com", { scim: true, reason: "deactivated", actor: "scim" });
    const after = store.setState("dan@example.com", { scim: false, reason: null, actor: "scim" }).after;
    expect(after).toMatchObject({ disabled: true, adminDisabled: true, scimDisabled: false });
    expect(store.isDisabled("DAN@example.com")).toBe(true);
    store.setState("dan@example.com", { admin: false, scim: false, reason: null, actor: "root" });
    expect(store.isDisabled("dan@example.com")).toBe(false);
    expect(store.disabledPeople()).toEqual([]);
  });
});
