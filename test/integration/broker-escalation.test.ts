// SECURITY 31 and 36 against the real broker and emulator: the attack pass's escalation replayed (a request
// for iam:PutRolePolicy on one's own role, every access-changing action, wildcards and NotAction covering
// them) refused with its code and no IAM write; break-glass needing an admin approver and marked in the
// JSON, the audit and the webhook; and every denial (refused creations, lost approvals, other people's
// requests, refused tokens per address) in the audit, counted.

import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRequestsStore } from "../../broker/requests-store.ts";
import type { CallRecord, Emulator } from "../../dev/aws/server.ts";
import { ACCESS_CHANGING } from "../../shared/policy-lint.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import {
  asRequest,
  HookReceiver,
  READ_BUCKET,
  RequestsBroker,
  signPeople,
  until,
  type Who,
} from "../support/requests.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

const DEVELOPER = "arn:aws:iam::333333333333:role/Developer";
const SPOKE = "arn:aws:iam::333333333333:role/GatehouseSpoke";

let emulator: Emulator;
let issuer: TestIssuer;
let tokens: Record<Who, string>;
const hook = new HookReceiver();

const policy = (...statements: Record<string, unknown>[]) =>
  JSON.stringify({ Version: "2012-10-17", Statement: statements });
const allow = (action: string | string[], resource: string | string[] = "*") => ({
  Effect: "Allow",
  Action: action,
  Resource: resource,
});

/** The emulator's call log as any client reads it (GET /__admin/calls), from `since` on. */
async function callsSince(since: number): Promise<CallRecord[]> {
  const res = await fetch(`${emulator.url}/__admin/calls?since=${since}`);
  return ((await res.json()) as { calls: CallRecord[] }).calls;
}
const lastSeq = () => emulator.calls.at(-1)?.seq ?? 0;
/** IAM calls that change something (anything but Get*, List* and the sync's account read). */
const iamWrites = (calls: CallRecord[]) =>
  calls.filter((c) => c.service === "iam" && !/^(Get|List)/.test(c.action));
const inlineOf = (arn: string) =>
  emulator.world.accounts.get(arn.split(":")[4]!)!.roles.get(arn.split("/").pop()!.toLowerCase())!
    .inlinePolicies;

beforeAll(async () => {
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  tokens = await signPeople(issuer);
  await hook.start();
});

afterAll(async () => {
  await issuer?.close();
  await emulator?.close();
  await hook.close();
});

const APPROVERS = `  approver_groups: [approvers]
  account_approver_groups: { "333333333333": [staging-approvers] }
`;

describe("SECURITY 31: a request that can change access is refused at creation, before any IAM call", () => {
  let b: RequestsBroker;
  beforeAll(async () => {
    b = new RequestsBroker({ emulator, issuer, tokens, extra: `requests:\n${APPROVERS}` });
    await b.start();
  });
  afterAll(async () => {
    await b?.close();
  });

  /** Create as alice on her own staging/Developer; returns the answer and the IAM writes it caused. */
  async function attempt(doc: string, who: Who = "alice") {
    const since = lastSeq();
    const r = await b.create(who, { targets: ["staging/Developer"], policy: doc });
    return { r, writes: iamWrites(await callsSince(since)) };
  }

  it("the replay: alice asks for iam:PutRolePolicy on her own staging/Developer → 422 POLICY_REFUSED, no IAM write", async () => {
    const before = Object.keys(inlineOf(DEVELOPER));
    const { r, writes } = await attempt(policy(allow("iam:PutRolePolicy", DEVELOPER)));
    expect(r.status).toBe(422);
    expect(r.json.code).toBe("POLICY_REFUSED");
    expect(r.json.detail).toMatch(/PRIVILEGE_ESCALATION at Statement\[0\]\.Action: grants iam:PutRolePolicy/);
    expect(writes).toEqual([]);
    expect(Object.keys(inlineOf(DEVELOPER))).toEqual(before);
    expect((await b.call("alice", "GET", "/v1/requests")).json.requests).toEqual([]);
  });

  const listed = Object.entries(ACCESS_CHANGING);
  it.each(listed)("%s on * is refused with its finding and no IAM write", async (action, change) => {
    const { r, writes } = await attempt(policy(allow(action)));
    expect(r.status).toBe(422);
    expect(r.json.code).toBe("POLICY_REFUSED");
    expect(r.json.detail).toContain(`${change.code} at Statement[0].Action`);
    expect(writes).toEqual([]);
  });

  const covering: [string, Record<string, unknown>[]][] = [
    ["iam:*", [allow("iam:*")]],
    ["*", [allow("*")]],
    ["iam:Put*", [allow("iam:Put*", DEVELOPER)]],
    ["iam:*Policy", [allow("iam:*Policy", DEVELOPER)]],
    ["iam:Attach*", [allow("iam:Attach*", DEVELOPER)]],
    ["iam:Tag*", [allow("iam:Tag*", DEVELOPER)]],
    ["iam:Untag*", [allow("iam:Untag*")]],
    ["iam:*Boundary", [allow("iam:*Boundary")]],
    ["iam:Create*", [allow("iam:Create*")]],
    ["iam:Update*", [allow("iam:Update*")]],
    ["upper case IAM:PUTROLEPOLICY", [allow("IAM:PUTROLEPOLICY", DEVELOPER)]],
    ["iam:PutRole?olicy", [allow("iam:PutRole?olicy", DEVELOPER)]],
    ["iam:PassRole on *", [allow("iam:PassRole")]],
    ["iam:PassRole on every role", [allow("iam:PassRole", "arn:aws:iam::*:role/*")]],
    ["sts:AssumeRole on every role", [allow("sts:AssumeRole", "arn:aws:iam::333333333333:role/*")]],
    ["NotAction s3:*", [{ Effect: "Allow", NotAction: "s3:*", Resource: "*" }]],
    [
      "NotAction that leaves iam:PutRolePolicy in",
      [{ Effect: "Allow", NotAction: ["iam:Tag*", "iam:Untag*", "iam:Get*", "iam:List*"], Resource: "*" }],
    ],
    [
      "hidden after a harmless statement",
      [allow("s3:GetObject", "arn:aws:s3:::prod-reports/*"), allow("iam:PutRolePolicy", DEVELOPER)],
    ],
    [
      "a conditional Deny does not take it away",
      [
        allow("iam:*Policy", DEVELOPER),
        {
          Effect: "Deny",
          Action: "iam:Put*",
          Resource: "*",
          Condition: { Bool: { "aws:MultiFactorAuthPresent": "false" } },
        },
      ],
    ],
  ];
  it.each(covering)("a wildcard or NotAction covering them (%s) is refused, no IAM write", async (_, st) => {
    const { r, writes } = await attempt(policy(...st));
    expect(r.status).toBe(422);
    expect(r.json.code).toBe("POLICY_REFUSED");
    expect(r.json.detail).toMatch(/PRIVILEGE_ESCALATION|ACCESS_TAG_CHANGE/);
    expect(writes).toEqual([]);
  });

  const notConcerned: [string, Record<string, unknown>[]][] = [
    ["s3:PutObjectTagging (tagging in another service)", [allow("s3:PutObjectTagging", "arn:aws:s3:::b/*")]],
    [
      "iam:PassRole on a named role",
      [allow("iam:PassRole", "arn:aws:iam::333333333333:role/service-role/x")],
    ],
    [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable
      "one's own access keys (${aws:username})",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable
      [allow(["iam:CreateAccessKey", "iam:UpdateAccessKey"], "arn:aws:iam::*:user/${aws:username}")],
    ],
    ["reading IAM", [allow(["iam:Get*", "iam:List*"])]],
    [
      "an unconditional Deny on * takes it away again",
      [allow("iam:PutRolePolicy", DEVELOPER), { Effect: "Deny", Action: "iam:PutRolePolicy", Resource: "*" }],
    ],
  ];
  it.each(notConcerned)("not concerned: %s is created (201)", async (_, st) => {
    const { r } = await attempt(policy(...st));
    expect(r.status, r.text).toBe(201);
    expect(asRequest(r.json).breakGlass).toBe(false);
    await b.call("alice", "POST", `/v1/requests/${asRequest(r.json).id}/cancel`);
  });

  it("an approver's edit that adds iam:PutRolePolicy is refused the same way; the request is unchanged", async () => {
    const id = await b.createId("alice", { targets: ["staging/Developer"], policy: READ_BUCKET });
    const since = lastSeq();
    const r = await b.call("dave", "POST", `/v1/requests/${id}/approve`, {
      policy: policy(allow("iam:PutRolePolicy", DEVELOPER)),
    });
    expect(r.status).toBe(422);
    expect(r.json.code).toBe("POLICY_REFUSED");
    expect(iamWrites(await callsSince(since))).toEqual([]);
    const now = await b.get("alice", id);
    expect(now.targets[0]).toMatchObject({ state: "pending", policy: READ_BUCKET, approvals: 0 });
    await b.call("alice", "POST", `/v1/requests/${id}/cancel`);
  });
});

describe("SECURITY 31: with requests.break_glass on, it needs an admin approver and is marked everywhere", () => {
  let b: RequestsBroker;
  const escalate = policy(allow("iam:PutRolePolicy", DEVELOPER));
  beforeAll(async () => {
    b = new RequestsBroker({
      emulator,
      issuer,
      tokens,
      extra: `requests:\n${APPROVERS}  break_glass: true\n  webhook_url: ${hook.url}\n`,
    });
    await b.start();
  });
  afterAll(async () => {
    await b?.close();
  });

  it("dave's approval (no admin) does not apply it; bob's (admin) does", async () => {
    const created = await b.create("alice", { targets: ["staging/Developer"], policy: escalate });
    expect(created.status, created.text).toBe(201);
    const req = asRequest(created.json);
    const id = req.id;
    expect(req.breakGlass).toBe(true);
    expect(req.breakGlassReasons!.join("\n")).toMatch(/^PRIVILEGE_ESCALATION at Statement\[0\]\.Action/);

    const since = lastSeq();
    const byDave = await b.call("dave", "POST", `/v1/requests/${id}/approve`, {});
    expect(byDave.status).toBe(200);
    expect(asRequest(byDave.json).targets[0]).toMatchObject({ state: "pending", approvals: 1 });
    expect(asRequest(byDave.json).events.map((e) => e.type)).toContain("awaiting-admin");
    expect(iamWrites(await callsSince(since))).toEqual([]);
    expect(inlineOf(DEVELOPER)[`gatehouse-${id}-0`]).toBeUndefined();
    // Still in the queue of an admin approver, no longer in dave's.
    const queue = async (who: Who) =>
      ((await b.call(who, "GET", "/v1/requests?role=approver")).json.requests as { id: string }[]).map(
        (x) => x.id,
      );
    expect(await queue("bob")).toContain(id);
    expect(await queue("dave")).not.toContain(id);

    const byBob = await b.call("bob", "POST", `/v1/requests/${id}/approve`, {});
    expect(byBob.status).toBe(200);
    const done = asRequest(byBob.json);
    expect(done.targets[0]!.state).toBe("applied");
    expect(done.approvals.map((a) => [a.approver, a.admin])).toEqual([
      ["dave@example.com", false],
      ["bob@example.com", true],
    ]);
    expect(iamWrites(await callsSince(since)).map((c) => c.action)).toContain("PutRolePolicy");
    expect(inlineOf(DEVELOPER)[`gatehouse-${id}-0`]).toBeDefined();

    // Marked in every audit row about it and every webhook message.
    const rows = b.broker.store.listAudit({}).filter((e) => e.target?.split("/")[0] === id);
    expect(rows.map((e) => e.action)).toEqual(
      expect.arrayContaining(["request.create", "request.approve", "request.apply"]),
    );
    for (const row of rows) expect(row.detail.breakGlass, row.action).toBe(true);
    await until(() => hook.of(id, "applied").length > 0, 10_000, "the applied message");
    for (const d of hook.of(id)) {
      expect(d.body.text.startsWith("BREAK-GLASS ")).toBe(true);
      expect((d.body.gatehouse as { breakGlass?: boolean }).breakGlass).toBe(true);
    }
    expect(hook.of(id).map((d) => d.body.gatehouse.event)).toEqual(["new", "approved", "applied"]);
    await b.broker.requests.expireDue(new Date(Date.now() + 9 * 3600_000));
    expect(inlineOf(DEVELOPER)[`gatehouse-${id}-0`]).toBeUndefined();
  });

  it("an admin who is no approver (gina) may approve a break-glass request, not an ordinary one", async () => {
    const id = await b.createId("alice", { targets: ["staging/Developer"], policy: escalate });
    expect((await b.call("gina", "POST", `/v1/requests/${id}/approve`, {})).status).toBe(200);
    expect((await b.get("alice", id)).targets[0]!.state).toBe("applied");
    const plain = await b.createId("alice", { targets: ["staging/Developer"], policy: READ_BUCKET });
    expect((await b.call("gina", "POST", `/v1/requests/${plain}/approve`, {})).json.code).toBe(
      "NOT_AN_APPROVER",
    );
    await b.call("alice", "POST", `/v1/requests/${plain}/cancel`);
    await b.broker.requests.expireDue(new Date(Date.now() + 9 * 3600_000));
  });

  it("an approver's edit that escalates makes the request break-glass: it waits for an admin", async () => {
    const id = await b.createId("alice", { targets: ["staging/Developer"], policy: READ_BUCKET });
    expect((await b.get("alice", id)).breakGlass).toBe(false);
    const since = lastSeq();
    const edited = await b.call("erin", "POST", `/v1/requests/${id}/approve`, { policy: escalate });
    expect(edited.status).toBe(200);
    expect(asRequest(edited.json)).toMatchObject({ breakGlass: true, targets: [{ state: "pending" }] });
    expect(iamWrites(await callsSince(since))).toEqual([]);
    expect((await b.call("bob", "POST", `/v1/requests/${id}/approve`, {})).status).toBe(200);
    expect((await b.get("alice", id)).targets[0]!.state).toBe("applied");
    await b.broker.requests.expireDue(new Date(Date.now() + 9 * 3600_000));
  });

  it("a break-glass target moved to approved behind the broker's back (no admin approval) is not applied", async () => {
    const id = await b.createId("alice", { targets: ["staging/Developer"], policy: escalate });
    expect((await b.call("dave", "POST", `/v1/requests/${id}/approve`, {})).status).toBe(200);
    const store = openRequestsStore(b.db);
    try {
      store.move(id, 0, "approve", "someone-with-the-database-file");
    } finally {
      store.close();
    }
    const since = lastSeq();
    await b.broker.requests.apply(id, 0, "gatehouse");
    const t = (await b.get("alice", id)).targets[0]!;
    expect(t.state).toBe("failed");
    expect(t.error).toMatchObject({ code: "FORBIDDEN" });
    expect(iamWrites(await callsSince(since))).toEqual([]);
    expect(inlineOf(DEVELOPER)[`gatehouse-${id}-0`]).toBeUndefined();
    await b.call("alice", "POST", `/v1/requests/${id}/cancel`);
  });

  it("a Gatehouse role as target is break-glass too", async () => {
    const r = await b.call("alice", "POST", "/v1/requests", {
      kind: "role-access",
      targets: [SPOKE],
      justification: "break-glass access to the spoke role",
      expiry: "PT1H",
    });
    expect(r.status, r.text).toBe(201);
    expect(asRequest(r.json)).toMatchObject({ breakGlass: true });
    expect(asRequest(r.json).breakGlassReasons!.join()).toContain("PROTECTED_ROLE");
    await b.call("alice", "POST", `/v1/requests/${asRequest(r.json).id}/cancel`);
  });
});

describe("SECURITY 36: every denial is audited, so the audit answers who tried what", () => {
  let b: RequestsBroker;
  beforeAll(async () => {
    b = new RequestsBroker({ emulator, issuer, tokens, extra: `requests:\n${APPROVERS}` });
    await b.start();
  });
  afterAll(async () => {
    await b?.close();
  });

  const denied = (action: string) =>
    b.broker.store.listAudit({ action }).filter((e) => e.outcome === "denied");

  it("refused creations: one denied row each, with its code and what was asked", async () => {
    const refusals = [
      policy(allow("iam:PutRolePolicy", DEVELOPER)),
      policy(allow("iam:TagRole")),
      policy(allow("iam:*")),
    ];
    for (const doc of refusals)
      expect((await b.create("alice", { targets: ["staging/Developer"], policy: doc })).status).toBe(422);
    expect((await b.create("alice", { targets: ["staging/NoSuchRole"] })).status).toBe(400);
    const rows = denied("request.create");
    expect(rows.filter((e) => e.detail.code === "POLICY_REFUSED")).toHaveLength(refusals.length);
    expect(rows.filter((e) => e.detail.code === "BAD_REQUEST")).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actor: "alice@example.com",
      detail: { kind: "inline-policy", targets: ["staging/Developer"], status: 422 },
    });
    expect(String(rows[0]!.detail.message)).toContain("iam:PutRolePolicy");
  });

  it("reads and approvals of a request that is not one's own (404) and lost approvals (409), each a row", async () => {
    const id = await b.createId("alice", { targets: ["prod/Billing"], policy: READ_BUCKET });
    const before = {
      read: denied("request.read").length,
      approve: denied("request.approve").length,
    };
    expect((await b.call("carol", "GET", `/v1/requests/${id}`)).status).toBe(404);
    expect((await b.call("carol", "POST", `/v1/requests/${id}/approve`, {})).status).toBe(404);
    expect((await b.call("frank", "GET", "/v1/requests/0000000000000000")).status).toBe(404);
    expect((await b.call("alice", "POST", `/v1/requests/${id}/approve`, {})).status).toBe(403);
    // Two approvers at once: one applies, the other loses with a 409 (or both see 200 if interleaved).
    const race = await Promise.all([
      b.call("bob", "POST", `/v1/requests/${id}/approve`, {}),
      b.call("dave", "POST", `/v1/requests/${id}/approve`, {}),
    ]);
    const late = await b.call("dave", "POST", `/v1/requests/${id}/approve`, {});
    expect(late.status).toBe(409);
    const lost = [...race, late].filter((r) => r.status === 409).length;

    const reads = denied("request.read").slice(before.read);
    expect(reads.map((e) => [e.actor, e.target, e.detail.code])).toEqual([
      ["carol@example.com", id, "REQUEST_NOT_FOUND"],
      ["frank@example.com", "0000000000000000", "REQUEST_NOT_FOUND"],
    ]);
    const approvals = denied("request.approve").slice(before.approve);
    expect(approvals.filter((e) => e.detail.code === "REQUEST_NOT_FOUND").map((e) => e.actor)).toEqual([
      "carol@example.com",
    ]);
    expect(approvals.filter((e) => e.detail.code === "SELF_APPROVAL").map((e) => e.actor)).toEqual([
      "alice@example.com",
    ]);
    expect(approvals.filter((e) => e.detail.status === 409)).toHaveLength(lost);
    expect(approvals.at(-1)).toMatchObject({ actor: "dave@example.com", target: id });
  });

  /** A GET with a bad token from a given loopback address (127.0.0.2 is loopback on Linux too). */
  function badToken(localAddress: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const url = new URL("/v1/me", b.broker.url);
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          localAddress,
          headers: { authorization: "Bearer x.y.z" },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  it("401s per client address: one row at once, the rest of the minute counted in one row", async () => {
    const rows = () => denied("auth.denied");
    for (let i = 0; i < 25; i++) expect(await badToken("127.0.0.1")).toBe(401);
    for (let i = 0; i < 3; i++) expect(await badToken("127.0.0.2")).toBe(401);
    expect(rows().map((e) => [e.target, e.detail.count])).toEqual([
      ["127.0.0.1", 1],
      ["127.0.0.2", 1],
    ]);
    expect(rows()[0]).toMatchObject({ actor: "anonymous", detail: { code: "UNAUTHENTICATED" } });
    expect(JSON.stringify(rows())).not.toContain("x.y.z");
    // The counted rest is written at the latest when the broker stops (or when the minute is over).
    await b.stop();
    await b.start();
    const all = rows();
    const total = (addr: string) =>
      all.filter((e) => e.target === addr).reduce((n, e) => n + Number(e.detail.count), 0);
    expect(all).toHaveLength(4);
    expect(total("127.0.0.1")).toBe(25);
    expect(total("127.0.0.2")).toBe(3);
  });
});
