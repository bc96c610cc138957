// People's enabled/disabled state on the real broker: the admin route and `gatehouse-broker people
// disable|enable` (a real process on the same database), tokens refused with PERSON_DISABLED while
// unexpired, open requests cancelled, every step audited, the onDisabled hook told once; SCIM cannot undo
// an admin's disable; a stop between a SCIM deactivation and the person's state is finished at start.

import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDb } from "../../broker/db/index.ts";
import { PeopleStore } from "../../broker/people/store.ts";
import type { Emulator } from "../../dev/aws/server.ts";
import { brokerYaml } from "../support/broker.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { testBrokerDatabase } from "../support/pg.ts";
import { RequestsBroker, signPeople, type Who } from "../support/requests.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/gatehouse-broker.mjs");
const SCIM_TOKEN = "people-test-scim-token-0123456789abcdefghijkl";
process.env.GH_PEOPLE_SCIM_TOKEN = SCIM_TOKEN;

let emulator: Emulator;
let issuer: TestIssuer;
let b: RequestsBroker;
let cliConfig = "";
const heard: { email: string; at: Date; reason: string }[] = [];
const EXTRA = `requests:
  approver_groups: [approvers]
scim:
  token_env: GH_PEOPLE_SCIM_TOKEN
`;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args, "--config", cliConfig],
      { cwd: ROOT, timeout: 60_000 },
      (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

const audit = () => b.broker.store.listAudit({ afterSeq: 0, limit: 10_000 });
const scim = (method: string, path: string, body?: unknown) =>
  fetch(`${b.broker.url}/scim/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${SCIM_TOKEN}`, "content-type": "application/scim+json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, unknown> }));

beforeAll(async () => {
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  b = new RequestsBroker({ emulator, issuer, tokens: await signPeople(issuer), extra: EXTRA });
  await b.start();
  b.broker.people.onDisabled((email, at, reason) => {
    heard.push({ email, at, reason });
  });
  cliConfig = join(b.dir, "cli.yaml");
  writeFileSync(
    cliConfig,
    brokerYaml({
      issuer: issuer.issuer,
      awsUrl: emulator.url,
      database: testBrokerDatabase(b.dir),
      extra: EXTRA,
    }),
  );
});

afterAll(async () => {
  await b?.close();
  await issuer?.close();
  await emulator?.close();
});

const roles = (who: Who) => b.call(who, "GET", "/v1/roles");

describe("the admin route", () => {
  it("is for admins only: anyone else gets 403 (audited) and nothing changes", async () => {
    const r = await b.call("dave", "POST", "/v1/admin/people/alice@example.com/disable", {
      reason: "because",
    });
    expect(r.status).toBe(403);
    expect(r.json.code).toBe("FORBIDDEN");
    expect((await roles("alice")).status).toBe(200);
    expect(audit().some((e) => e.action === "admin.denied" && e.actor === "dave@example.com")).toBe(true);
  });

  it("refuses bad input with a code: no reason, a non-e-mail, unknown fields", async () => {
    for (const [path, body] of [
      ["/v1/admin/people/alice@example.com/disable", {}],
      ["/v1/admin/people/alice@example.com/disable", { reason: "   " }],
      ["/v1/admin/people/not-an-email/disable", { reason: "x" }],
      ["/v1/admin/people/alice@example.com/disable", { reason: "x", everyone: true }],
    ] as const) {
      const r = await b.call("bob", "POST", path, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.code).toBe("BAD_REQUEST");
    }
    expect((await roles("alice")).status).toBe(200);
  });

  it("disables: the unexpired token is refused, the pending request cancelled, audited, the hook told", async () => {
    const id = await b.createId("alice", { targets: ["prod/ReadOnly"] });
    const before = Date.now();
    const r = await b.call("bob", "POST", "/v1/admin/people/Alice@Example.com/disable", {
      reason: "laptop stolen",
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      email: "alice@example.com",
      disabled: true,
      adminDisabled: true,
      reason: "laptop stolen",
    });
    const refused = await roles("alice");
    expect(refused.status).toBe(401);
    expect(refused.json.code).toBe("PERSON_DISABLED");
    // Every authenticated route, not only roles.
    expect((await b.call("alice", "POST", "/v1/credentials", { role: "prod/ReadOnly" })).json.code).toBe(
      "PERSON_DISABLED",
    );
    expect((await b.get("bob", id)).targets.every((t) => t.state === "cancelled")).toBe(true);
    const rows = audit();
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: "person.disable",
          target: "alice@example.com",
          actor: "bob@example.com",
        }),
        expect.objectContaining({ action: "request.cancel", target: id }),
      ]),
    );
    expect(heard).toHaveLength(1);
    expect(heard[0]).toMatchObject({ email: "alice@example.com", reason: "laptop stolen" });
    expect(heard[0]!.at.getTime()).toBeGreaterThanOrEqual(before - 1000);
    // A second disable is audited, but the hook hears a person go once.
    await b.call("bob", "POST", "/v1/admin/people/alice@example.com/disable", { reason: "still stolen" });
    expect(heard).toHaveLength(1);
    const listed = await b.call("bob", "GET", "/v1/admin/people/disabled");
    expect((listed.json.people as { email: string }[]).map((p) => p.email)).toEqual(["alice@example.com"]);
  });

  it("SCIM active: true does not undo an admin's disable; the admin's enable does", async () => {
    const u = await scim("POST", "/Users", { schemas: [], userName: "alice@example.com", active: true });
    expect(u.status).toBe(201);
    await scim("PATCH", `/Users/${u.json.id}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "replace", path: "active", value: true }],
    });
    expect((await roles("alice")).json.code).toBe("PERSON_DISABLED");
    const on = await b.call("bob", "POST", "/v1/admin/people/alice@example.com/enable");
    expect(on.status).toBe(200);
    expect(on.json.disabled).toBe(false);
    expect((await roles("alice")).status).toBe(200);
    expect(audit().some((e) => e.action === "person.enable" && e.target === "alice@example.com")).toBe(true);
  });
});

describe("gatehouse-broker people disable | enable", () => {
  it("disables on the broker's host; the running broker refuses the person at once", async () => {
    expect((await roles("dave")).status).toBe(200);
    const r = await cli([
      "people",
      "disable",
      "dave@example.com",
      "--reason",
      "left the company",
      "--by",
      "incident-42",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("dave@example.com is disabled");
    expect((await roles("dave")).json.code).toBe("PERSON_DISABLED");
    expect(audit()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: "person.disable",
          target: "dave@example.com",
          actor: "incident-42",
        }),
      ]),
    );
    const on = await cli(["people", "enable", "dave@example.com", "--by", "incident-42"]);
    expect(on.code).toBe(0);
    expect((await roles("dave")).status).toBe(200);
  }, 120_000);

  it("refuses a missing reason or e-mail with BAD_ARGUMENT, changing nothing", async () => {
    const noReason = await cli(["people", "disable", "dave@example.com"]);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain("[BAD_ARGUMENT]");
    const noEmail = await cli(["people", "enable"]);
    expect(noEmail.code).toBe(2);
    const unknown = await cli(["people", "delete", "dave@example.com"]);
    expect(unknown.stderr).toContain("[BAD_ARGUMENT]");
    expect((await roles("dave")).status).toBe(200);
  }, 120_000);
});

describe("a stop between a SCIM deactivation and the person's state", () => {
  it("is finished when the broker starts again", async () => {
    const u = await scim("POST", "/Users", { schemas: [], userName: "frank@example.com", active: true });
    await b.stop();
    // What a stop right after the user row was written leaves: inactive user, person not disabled.
    const db = openDb(testBrokerDatabase(b.dir));
    const store = new PeopleStore(db);
    store.transaction(() => store.saveUser({ ...store.getUser(u.json.id as string)!, active: false }));
    expect(store.isDisabled("frank@example.com")).toBe(false);
    db.close();
    await b.start();
    expect((await roles("frank")).json.code).toBe("PERSON_DISABLED");
  });
});
