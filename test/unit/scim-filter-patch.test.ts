// SCIM filters and PATCH as pure logic: the forms Okta and Entra send are understood, everything else is
// refused with the SCIM error it deserves (invalidFilter, invalidPath, invalidValue), never applied loosely.

import { describe, expect, it } from "vitest";
import type { ScimUserRow } from "../../broker/people/store.ts";
import { filterToWhere } from "../../broker/scim/filter.ts";
import { applyGroupPatch, applyUserPatch } from "../../broker/scim/patch.ts";
import { GatehouseError } from "../../shared/errors.ts";
import { type ScimPatchOp, scimPatchSchema } from "../../shared/scim.ts";

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e instanceof GatehouseError ? e.code : `not a GatehouseError: ${String(e)}`;
  }
  return "no error";
};

const ops = (...o: unknown[]): ScimPatchOp[] =>
  scimPatchSchema.parse({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: o })
    .Operations;

const USER: ScimUserRow = {
  id: "u1",
  userName: "bob@example.com",
  externalId: null,
  displayName: "Bob",
  name: { givenName: "Bob", familyName: "B", formatted: null },
  emails: [{ value: "bob@example.com", type: "work", primary: true }],
  email: "bob@example.com",
  active: true,
  created: "2026-01-01T00:00:00.000Z",
  lastModified: "2026-01-01T00:00:00.000Z",
};

describe("filters", () => {
  it("eq and and become parameterised SQL; userName is case-insensitive, externalId exact", () => {
    expect(filterToWhere("User", 'userName eq "Bob@Example.com"')).toEqual({
      sql: "user_name_key = ?",
      params: ["bob@example.com"],
    });
    expect(filterToWhere("User", 'externalId eq "AbC" and userName eq "x"')).toEqual({
      sql: "(external_id = ? AND user_name_key = ?)",
      params: ["AbC", "x"],
    });
    expect(filterToWhere("Group", 'displayName eq "Engineers"').params).toEqual(["engineers"]);
    expect(filterToWhere("User", undefined)).toEqual({ sql: "1 = 1", params: [] });
    // Attribute names are case-insensitive (RFC 7644 §3.4.2.2), schema-qualified names too.
    expect(filterToWhere("User", 'USERNAME eq "a"').sql).toBe("user_name_key = ?");
    expect(filterToWhere("User", 'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"').sql).toBe(
      "user_name_key = ?",
    );
  });

  it("a value is only ever a parameter: quotes and SQL in it change nothing", () => {
    const w = filterToWhere("User", String.raw`userName eq "x\" OR 1=1 --"`);
    expect(w.sql).toBe("user_name_key = ?");
    expect(w.params).toHaveLength(1);
  });

  it.each([
    ['userName eq "open', "unterminated"],
    ["userName eq", "no value"],
    ['userName co "a"', "co"],
    ['userName sw "a"', "sw"],
    ['userName eq "a" or userName eq "b"', "or"],
    ['not (userName eq "a")', "not"],
    ["userName pr", "pr"],
    ['password eq "x"', "unknown attribute"],
    ['members.value eq "x"', "a group attribute on users"],
    ["active eq true", "a non-string value"],
    ['phoneNumbers[type eq "work"].value eq "1"', "an unsupported value path"],
    ["x".repeat(1001), "too long"],
  ])("refuses %s (%s) with SCIM_INVALID_FILTER", (f) => {
    expect(codeOf(() => filterToWhere("User", f))).toBe("SCIM_INVALID_FILTER");
  });
});

describe("user PATCH", () => {
  it("RFC form and Entra's capitalised ops, string booleans, value-filtered paths, path-less keys", () => {
    const u = applyUserPatch(
      USER,
      ops(
        { op: "Replace", path: "active", value: "False" },
        { op: "Replace", path: 'emails[type eq "work"].value', value: "robert@example.com" },
        { op: "Replace", value: { "name.givenName": "Robert", displayName: "Robert B" } },
        { op: "add", path: "name.familyName", value: "Builder" },
        {
          op: "Add",
          path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
          value: "Ops",
        },
        { op: "replace", path: "title", value: "ignored" },
      ),
    );
    expect(u).toMatchObject({
      active: false,
      displayName: "Robert B",
      name: { givenName: "Robert", familyName: "Builder" },
      emails: [{ value: "robert@example.com", type: "work", primary: true }],
    });
    expect(USER.active).toBe(true);
    expect(applyUserPatch(USER, ops({ op: "replace", value: { active: "TRUE" } })).active).toBe(true);
    expect(applyUserPatch(USER, ops({ op: "replace", value: { id: "u1", active: false } })).active).toBe(
      false,
    );
  });

  it.each([
    [{ op: "replace", path: "favouriteColour", value: "x" }, "SCIM_INVALID_PATH"],
    [{ op: "replace", path: "name.nickname", value: "x" }, "SCIM_INVALID_PATH"],
    [
      { op: "replace", path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:salary", value: 1 },
      "SCIM_INVALID_PATH",
    ],
    [{ op: "replace", path: 'emails[value co "x"].value', value: "a@b.c" }, "SCIM_INVALID_PATH"],
    [{ op: "replace", path: "emails[", value: "a@b.c" }, "SCIM_INVALID_PATH"],
    [{ op: "remove" }, "SCIM_INVALID_PATH"],
    [{ op: "replace", path: "active", value: "yes" }, "SCIM_INVALID_VALUE"],
    [{ op: "remove", path: "userName" }, "SCIM_INVALID_VALUE"],
    [{ op: "remove", path: "active" }, "SCIM_INVALID_VALUE"],
    [{ op: "replace", path: "userName", value: 42 }, "SCIM_INVALID_VALUE"],
    [{ op: "replace", path: "userName", value: "  " }, "SCIM_INVALID_VALUE"],
    [{ op: "replace", value: ["not", "an", "object"] }, "SCIM_INVALID_VALUE"],
    [{ op: "replace", value: { id: "someone-else" } }, "SCIM_INVALID_PATH"],
  ])("refuses %j with %s and leaves the user as it was", (op, code) => {
    const before = structuredClone(USER);
    expect(codeOf(() => applyUserPatch(USER, ops(op)))).toBe(code);
    expect(USER).toEqual(before);
  });

  it("an op not in add/replace/remove is refused by the schema", () => {
    expect(
      scimPatchSchema.safeParse({
        schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        Operations: [{ op: "move", path: "a" }],
      }).success,
    ).toBe(false);
    expect(scimPatchSchema.safeParse({ schemas: [], Operations: [{ op: "add", path: "a" }] }).success).toBe(
      false,
    );
  });
});

describe("group PATCH", () => {
  const G = { id: "g1", displayName: "engineers", externalId: null, members: ["a", "b"] };

  it("adds, removes by filter (Okta) and by value list (Entra), replaces, renames", () => {
    expect(
      applyGroupPatch(G, ops({ op: "add", path: "members", value: [{ value: "c" }, { value: "a" }] }))
        .members,
    ).toEqual(["a", "b", "c"]);
    expect(applyGroupPatch(G, ops({ op: "remove", path: 'members[value eq "a"]' })).members).toEqual(["b"]);
    expect(
      applyGroupPatch(G, ops({ op: "Remove", path: "members", value: [{ $ref: null, value: "b" }] })).members,
    ).toEqual(["a"]);
    expect(applyGroupPatch(G, ops({ op: "remove", path: "members" })).members).toEqual([]);
    expect(
      applyGroupPatch(G, ops({ op: "replace", path: "members", value: [{ value: "z" }] })).members,
    ).toEqual(["z"]);
    expect(
      applyGroupPatch(G, ops({ op: "replace", value: { id: "g1", displayName: "eng" } })).displayName,
    ).toBe("eng");
  });

  it.each([
    [{ op: "add", path: 'members[value eq "a"]', value: [{ value: "x" }] }, "SCIM_INVALID_PATH"],
    [{ op: "remove", path: 'members[display eq "a"]' }, "SCIM_INVALID_PATH"],
    [{ op: "replace", path: "owner", value: "x" }, "SCIM_INVALID_PATH"],
    [{ op: "add", path: "members", value: [{ display: "no value" }] }, "SCIM_INVALID_VALUE"],
    [{ op: "remove", path: "displayName" }, "SCIM_INVALID_VALUE"],
  ])("refuses %j with %s", (op, code) => {
    expect(codeOf(() => applyGroupPatch(G, ops(op)))).toBe(code);
    expect(G.members).toEqual(["a", "b"]);
  });
});
