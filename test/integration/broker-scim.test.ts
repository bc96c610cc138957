// SCIM 2.0 provisioning against the real broker: Okta's and Entra ID's documented request sequences
// (their JSON bodies as the IdPs send them), and after each step the roles the person may use; then the
// attacks: a wrong token, a malformed filter, a PATCH on an unknown path — SCIM errors, nothing changed.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import { type StartedBroker, startTestBroker } from "../support/broker.ts";
import { get, roleRefs, tokenFor } from "../support/directories.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

const TOKEN = "scim-test-token-0123456789abcdefghijklmnopqrstuvwxyz";
const ROTATED = "scim-next-token-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210";
process.env.GH_TEST_SCIM_TOKEN = TOKEN;
process.env.GH_TEST_SCIM_TOKEN_NEXT = ROTATED;

let emulator: Emulator;
let issuer: TestIssuer;
let broker: StartedBroker;

beforeAll(async () => {
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  broker = await startTestBroker({
    issuer: issuer.issuer,
    awsUrl: emulator.url,
    oidcExtra: "groups_source: scim",
    extra: "scim:\n  token_env: [GH_TEST_SCIM_TOKEN, GH_TEST_SCIM_TOKEN_NEXT]\n",
  });
});

afterAll(async () => {
  await broker?.stop();
  await issuer?.close();
  await emulator?.close();
});

interface ScimAnswer {
  status: number;
  type: string;
  json: Record<string, unknown> & { Resources?: Record<string, unknown>[]; totalResults?: number };
}

async function scim(
  method: string,
  path: string,
  body?: unknown,
  token = TOKEN,
  type = "application/scim+json",
) {
  const res = await fetch(`${broker.url}/scim/v2${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: "application/scim+json",
      ...(body !== undefined ? { "content-type": type } : {}),
    },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    json: text ? JSON.parse(text) : {},
  } as ScimAnswer;
}

const q = (s: string) => encodeURIComponent(s);
const rolesOf = async (email: string) => roleRefs(broker, await tokenFor(issuer, { sub: email, email }));
const auditActions = () =>
  broker.store.listAudit({ afterSeq: 0, limit: 10_000 }).map((e) => `${e.action} ${e.target ?? ""}`);

describe("Okta's SCIM 2.0 sequence", () => {
  const email = "bob@example.com";
  let userId = "";
  let groupId = "";

  it("looks the user up (none), creates them; no group yet → no roles", async () => {
    const none = await scim("GET", `/Users?filter=${q(`userName eq "${email}"`)}&startIndex=1&count=100`);
    expect(none.status).toBe(200);
    expect(none.type).toContain("application/scim+json");
    expect(none.json).toMatchObject({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });
    // Okta's "Create the user" body (Okta SCIM 2.0 reference), including what the broker does not keep.
    const created = await scim(
      "POST",
      "/Users",
      {
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
        userName: email,
        name: { givenName: "Bob", familyName: "Builder" },
        emails: [{ primary: true, value: email, type: "work" }],
        displayName: "Bob Builder",
        locale: "en-US",
        externalId: "00ujl29u0le5T6Aj10h7",
        groups: [],
        password: "1mz050nq",
        active: true,
      },
      TOKEN,
      "application/json",
    );
    expect(created.status).toBe(201);
    userId = created.json.id as string;
    expect(created.json).toMatchObject({ userName: email, active: true, externalId: "00ujl29u0le5T6Aj10h7" });
    expect(created.json).not.toHaveProperty("password");
    const found = await scim(
      "GET",
      `/Users?filter=${q(`userName eq "${email.toUpperCase()}"`)}&startIndex=1&count=100`,
    );
    expect(found.json.totalResults).toBe(1);
    expect(found.json.Resources![0]!.id).toBe(userId);
    expect(await rolesOf(email)).toEqual([]);
  });

  it("creates a group with the user: the roles tagged for it follow at once", async () => {
    const none = await scim(
      "GET",
      `/Groups?filter=${q('displayName eq "engineers"')}&startIndex=1&count=100`,
    );
    expect(none.json.totalResults).toBe(0);
    const g = await scim("POST", "/Groups", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
      displayName: "engineers",
      members: [{ value: userId, display: email }],
    });
    expect(g.status).toBe(201);
    groupId = g.json.id as string;
    expect(await rolesOf(email)).toEqual(["prod/ReadOnly", "staging/Developer"]);
    const listed = await scim(
      "GET",
      `/Groups?filter=${q('displayName eq "engineers"')}&excludedAttributes=members`,
    );
    expect(listed.json.totalResults).toBe(1);
    expect(listed.json.Resources![0]).not.toHaveProperty("members");
  });

  it("a second group by PATCH add; removal by members[value eq …] takes the roles away", async () => {
    const admins = await scim("POST", "/Groups", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
      displayName: "platform-admins",
      members: [],
    });
    const adminsId = admins.json.id as string;
    const add = await scim("PATCH", `/Groups/${adminsId}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "add", path: "members", value: [{ value: userId, display: email }] }],
    });
    expect(add.status).toBe(200);
    expect(await rolesOf(email)).toContain("prod/Admin");
    const remove = await scim("PATCH", `/Groups/${adminsId}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "remove", path: `members[value eq "${userId}"]` }],
    });
    expect(remove.status).toBe(200);
    expect(await rolesOf(email)).toEqual(["prod/ReadOnly", "staging/Developer"]);
    // Okta renames with a path-less replace carrying the id.
    const rename = await scim("PATCH", `/Groups/${adminsId}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "replace", value: { id: adminsId, displayName: "platform-admins-old" } }],
    });
    expect(rename.json.displayName).toBe("platform-admins-old");
  });

  it("a profile update by PUT (Okta custom apps) keeps the person and their groups", async () => {
    const put = await scim("PUT", `/Users/${userId}`, {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
      id: userId,
      userName: email,
      name: { givenName: "Robert", familyName: "Builder" },
      emails: [{ primary: true, value: email, type: "work" }],
      active: true,
      externalId: "00ujl29u0le5T6Aj10h7",
    });
    expect(put.status).toBe(200);
    expect(put.json.name).toEqual({ givenName: "Robert", familyName: "Builder" });
    expect(await rolesOf(email)).toEqual(["prod/ReadOnly", "staging/Developer"]);
  });

  it("deactivation: the person's token is refused with PERSON_DISABLED; reactivation lets them in", async () => {
    const token = await tokenFor(issuer, { sub: email, email });
    const off = await scim("PATCH", `/Users/${userId}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "replace", value: { active: false } }],
    });
    expect(off.status).toBe(200);
    expect(off.json.active).toBe(false);
    const refused = await get(broker, "/v1/roles", token);
    expect(refused.status).toBe(401);
    expect(refused.json.code).toBe("PERSON_DISABLED");
    expect(auditActions()).toContain(`person.disable ${email}`);
    const on = await scim("PATCH", `/Users/${userId}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "replace", value: { active: true } }],
    });
    expect(on.json.active).toBe(true);
    expect(await roleRefs(broker, token)).toEqual(["prod/ReadOnly", "staging/Developer"]);
  });

  it("deleting the group removes its roles", async () => {
    const del = await scim("DELETE", `/Groups/${groupId}`);
    expect(del.status).toBe(204);
    expect(await rolesOf(email)).toEqual([]);
    expect((await scim("GET", `/Groups/${groupId}`)).status).toBe(404);
  });
});

describe("Entra ID's SCIM sequence", () => {
  const upn = "erin@example.com";
  let userId = "";
  let groupId = "";

  it("creates the user (enterprise extension, roles, meta) after a filter on userName", async () => {
    const none = await scim("GET", `/Users?filter=${q(`userName eq "${upn}"`)}`);
    expect(none.json.totalResults).toBe(0);
    const created = await scim("POST", "/Users", {
      schemas: [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
      ],
      externalId: "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
      userName: upn,
      active: true,
      addresses: [{ primary: true, type: "work", country: "DE", formatted: "Berlin" }],
      displayName: "Erin Example",
      emails: [{ primary: true, type: "work", value: upn }],
      meta: { resourceType: "User" },
      name: { formatted: "Erin Example", familyName: "Example", givenName: "Erin" },
      roles: [],
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
        employeeNumber: "701984",
        department: "Sales",
      },
    });
    expect(created.status).toBe(201);
    userId = created.json.id as string;
    const byExt = await scim(
      "GET",
      `/Users?filter=${q('externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')}`,
    );
    expect(byExt.json.totalResults).toBe(1);
    const byMail = await scim("GET", `/Users?filter=${q(`emails[type eq "work"].value eq "${upn}"`)}`);
    expect(byMail.json.totalResults).toBe(1);
  });

  it("a duplicate userName is 409 uniqueness", async () => {
    const dup = await scim("POST", "/Users", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
      userName: upn.toUpperCase(),
      active: true,
    });
    expect(dup.status).toBe(409);
    expect(dup.json).toMatchObject({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
      status: "409",
      scimType: "uniqueness",
    });
  });

  it("creates a group (no members), then adds the user with Add/members", async () => {
    const none = await scim("GET", `/Groups?excludedAttributes=members&filter=${q('displayName eq "data"')}`);
    expect(none.json.totalResults).toBe(0);
    const g = await scim("POST", "/Groups", {
      schemas: [
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group",
      ],
      externalId: "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
      displayName: "data",
      meta: { resourceType: "Group" },
    });
    expect(g.status).toBe(201);
    groupId = g.json.id as string;
    expect(await rolesOf(upn)).toEqual([]);
    const add = await scim("PATCH", `/Groups/${groupId}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ name: "addMember", op: "Add", path: "members", value: [{ $ref: null, value: userId }] }],
    });
    expect(add.status).toBe(200);
    expect(await rolesOf(upn)).toEqual(["staging/DataPipeline"]);
    const dupGroup = await scim("POST", "/Groups", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
      displayName: "DATA",
    });
    expect(dupGroup.status).toBe(409);
  });

  it("updates attributes with capitalised ops, value filters and a path-less replace", async () => {
    const r = await scim("PATCH", `/Users/${userId}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [
        { op: "Replace", path: 'emails[type eq "work"].value', value: "erin.example@example.com" },
        { op: "Replace", path: "name.familyName", value: "Updated" },
        { op: "Replace", value: { "name.givenName": "Erina", displayName: "Erina Updated" } },
        {
          op: "Add",
          path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
          value: "Ops",
        },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.json.name).toMatchObject({ givenName: "Erina", familyName: "Updated" });
    // The person is their primary e-mail: the new address now holds the group's roles.
    expect(await rolesOf("erin.example@example.com")).toEqual(["staging/DataPipeline"]);
    expect(await rolesOf(upn)).toEqual([]);
    const back = await scim("PATCH", `/Users/${userId}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "Replace", path: 'emails[type eq "work"].value', value: upn }],
    });
    expect(back.status).toBe(200);
    expect(await rolesOf(upn)).toEqual(["staging/DataPipeline"]);
  });

  it("removes the member with Remove + a value list", async () => {
    const rm = await scim("PATCH", `/Groups/${groupId}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [
        { name: "removeMember", op: "Remove", path: "members", value: [{ $ref: null, value: userId }] },
      ],
    });
    expect(rm.status).toBe(200);
    expect(await rolesOf(upn)).toEqual([]);
    await scim("PATCH", `/Groups/${groupId}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "Add", path: "members", value: [{ value: userId }] }],
    });
    expect(await rolesOf(upn)).toEqual(["staging/DataPipeline"]);
  });

  it('deactivates with active "False": refused; then DELETE keeps them refused and drops memberships', async () => {
    const token = await tokenFor(issuer, { sub: upn, email: upn });
    const off = await scim("PATCH", `/Users/${userId}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "Replace", path: "active", value: "False" }],
    });
    expect(off.status).toBe(200);
    expect(off.json.active).toBe(false);
    expect((await get(broker, "/v1/roles", token)).json.code).toBe("PERSON_DISABLED");
    const del = await scim("DELETE", `/Users/${userId}`);
    expect(del.status).toBe(204);
    expect((await scim("GET", `/Users/${userId}`)).status).toBe(404);
    expect((await get(broker, "/v1/roles", token)).json.code).toBe("PERSON_DISABLED");
    const group = await scim("GET", `/Groups/${groupId}`);
    expect(group.json.members).toEqual([]);
    expect(auditActions()).toEqual(
      expect.arrayContaining([`scim.user.delete ${upn}`, `person.disable ${upn}`]),
    );
  });
});

describe("discovery", () => {
  it("ServiceProviderConfig, Schemas and ResourceTypes say what is supported", async () => {
    const spc = await scim("GET", "/ServiceProviderConfig");
    expect(spc.json).toMatchObject({
      patch: { supported: true },
      filter: { supported: true },
      bulk: { supported: false },
    });
    const types = await scim("GET", "/ResourceTypes");
    expect((types.json.Resources ?? []).map((r) => r.id)).toEqual(["User", "Group"]);
    const schemas = await scim("GET", "/Schemas");
    expect(schemas.json.totalResults).toBe(2);
  });

  it("pages with startIndex and count", async () => {
    for (const n of [1, 2, 3])
      await scim("POST", "/Users", { schemas: [], userName: `pager${n}@example.com` });
    const page = await scim(
      "GET",
      `/Users?filter=${q('userName eq "pager2@example.com"')}&startIndex=1&count=1`,
    );
    expect(page.json.totalResults).toBe(1);
    const all = await scim("GET", "/Users?startIndex=2&count=2");
    expect(all.json.itemsPerPage).toBe(2);
    expect(all.json.startIndex).toBe(2);
    const zero = await scim("GET", "/Users?count=0");
    expect(zero.json.Resources).toEqual([]);
    expect(zero.json.totalResults).toBeGreaterThanOrEqual(3);
  });
});

describe("attacks: SCIM errors, nothing changed", () => {
  const snapshot = async () => [
    (await scim("GET", "/Users?count=1000")).json,
    (await scim("GET", "/Groups?count=1000")).json,
  ];

  it("no token, a wrong token, a token's prefix: 401 SCIM error; the rotated token works", async () => {
    const before = await snapshot();
    for (const t of ["", "wrong", TOKEN.slice(0, -1), `${TOKEN}x`]) {
      const r = await scim("POST", "/Users", { schemas: [], userName: "mallory@example.com" }, t);
      expect(r.status).toBe(401);
      expect(r.json).toMatchObject({
        schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
        status: "401",
      });
    }
    const raw = await fetch(`${broker.url}/scim/v2/Users`, { headers: { authorization: TOKEN } });
    expect(raw.status).toBe(401);
    expect(await snapshot()).toEqual(before);
    expect((await scim("GET", "/ServiceProviderConfig", undefined, ROTATED)).status).toBe(200);
  });

  it("a broker OIDC token is not a SCIM token, and a SCIM token is not a broker token", async () => {
    const oidc = await tokenFor(issuer, { sub: "a@example.com", email: "a@example.com" });
    expect((await scim("GET", "/Users", undefined, oidc)).status).toBe(401);
    expect((await get(broker, "/v1/roles", TOKEN)).status).toBe(401);
  });

  it("malformed and unsupported filters: 400 invalidFilter", async () => {
    for (const f of [
      'userName eq "unterminated',
      "userName eq",
      'userName co "a"',
      'userName eq "a" or userName eq "b"',
      'password eq "x"',
      'not (userName eq "a")',
    ]) {
      const r = await scim("GET", `/Users?filter=${q(f)}`);
      expect(r.status, f).toBe(400);
      expect(r.json, f).toMatchObject({ status: "400", scimType: "invalidFilter" });
    }
  });

  it("a PATCH on an unknown path (or a bad value) is refused whole: nothing of it is applied", async () => {
    const u = await scim("POST", "/Users", {
      schemas: [],
      userName: "frank@example.com",
      displayName: "Frank",
    });
    const id = u.json.id as string;
    const before = await snapshot();
    const bad = await scim("PATCH", `/Users/${id}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [
        { op: "replace", path: "displayName", value: "Changed" },
        { op: "replace", path: "favouriteColour", value: "blue" },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ status: "400", scimType: "invalidPath" });
    const badActive = await scim("PATCH", `/Users/${id}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [
        { op: "replace", path: "displayName", value: "Changed" },
        { op: "replace", path: "active", value: "nope" },
      ],
    });
    expect(badActive.json).toMatchObject({ status: "400", scimType: "invalidValue" });
    const badOp = await scim("PATCH", `/Users/${id}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "move", path: "displayName", value: "x" }],
    });
    expect(badOp.status).toBe(400);
    const ghost = await scim("PATCH", "/Groups/does-not-exist", {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "add", path: "members", value: [{ value: id }] }],
    });
    expect(ghost.status).toBe(404);
    expect(await snapshot()).toEqual(before);
  });

  it("two creates of one userName at once: one 201, one 409, one user", async () => {
    const body = { schemas: [], userName: "twin@example.com" };
    const answers = await Promise.all([scim("POST", "/Users", body), scim("POST", "/Users", body)]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    expect(
      (await scim("GET", `/Users?filter=${q('userName eq "twin@example.com"')}`)).json.totalResults,
    ).toBe(1);
  });

  it("hostile bodies: __proto__, broken JSON, a member who is no user → SCIM 400, nothing changed", async () => {
    const before = await snapshot();
    const proto = await scim("POST", "/Users", '{"userName":"p@example.com","__proto__":{"admin":true}}');
    expect(proto.status).toBe(400);
    expect(proto.json.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
    const broken = await scim("POST", "/Users", '{"userName":');
    expect(broken.status).toBe(400);
    const ghostMember = await scim("POST", "/Groups", {
      schemas: [],
      displayName: "ghosts",
      members: [{ value: "nobody" }],
    });
    expect(ghostMember.json).toMatchObject({ status: "400", scimType: "invalidValue" });
    const noName = await scim("POST", "/Users", { schemas: [] });
    expect(noName.status).toBe(400);
    expect(await snapshot()).toEqual(before);
  });
});
