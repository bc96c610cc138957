// POST /v1/denials/decode against the real broker and emulator: an EC2-style encoded message the emulator
// produced is decoded through sts:DecodeAuthorizationMessage with the spoke role, parsed into a denial and
// drafted into a request; forged, altered and hostile messages are DENIAL_UNDECODABLE; a person who may
// neither use the denied role nor approve it gets FORBIDDEN and none of the content; every decode is audited.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeAuthorizationMessage } from "../../dev/aws/authorization-message.ts";
import type { Emulator } from "../../dev/aws/server.ts";
import { decodeDenials, parseDenials } from "../../shared/denials/parse.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { asRequest, RequestsBroker, signPeople, type Who } from "../support/requests.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

const STAGING = "333333333333";
const DEVELOPER = `arn:aws:iam::${STAGING}:role/Developer`;
const SESSION = `arn:aws:sts::${STAGING}:assumed-role/Developer/alice@example.com`;

let emulator: Emulator;
let issuer: TestIssuer;
let b: RequestsBroker;

beforeAll(async () => {
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  b = new RequestsBroker({
    emulator,
    issuer,
    tokens: await signPeople(issuer),
    extra: "requests:\n  approver_groups: [approvers]\n",
  });
  await b.start();
});

afterAll(async () => {
  await b?.close();
  await issuer?.close();
  await emulator?.close();
});

/** What EC2 would return for `principal` denied `action`: the emulator's own encoding. */
const encodedFor = (principal: string, action = "ec2:RunInstances", explicitDeny = false) =>
  encodeAuthorizationMessage(emulator.world, {
    principal: { id: "AROAEXAMPLE:alice", arn: principal },
    action,
    resource: `arn:aws:ec2:us-east-1:${STAGING}:instance/*`,
    explicitDeny,
    conditions: { "ec2:InstanceType": ["t3.micro"] },
  });
const ec2Error = (encoded: string) =>
  `An error occurred (UnauthorizedOperation) when calling the RunInstances operation: You are not authorized to perform this operation. Encoded authorization failure message: ${encoded}`;

const decodeCalls = () => emulator.calls.filter((c) => c.action === "DecodeAuthorizationMessage").length;

async function auditRows(who: string) {
  const r = await b.call("bob", "GET", "/v1/audit?action=denial.decode&limit=1000");
  expect(r.status).toBe(200);
  return (
    r.json.entries as { actor: string; outcome: string; target: string | null; detail: object }[]
  ).filter((e) => e.actor === who);
}

describe("POST /v1/denials/decode", () => {
  it("alice decodes her own EC2 denial; the parsed denial drafts a request on Developer", async () => {
    const before = decodeCalls();
    const [parsed] = parseDenials(ec2Error(encodedFor(SESSION)));
    expect(parsed!.cause).toBe("encoded");
    const r = await b.call("alice", "POST", "/v1/denials/decode", { encoded: parsed!.encoded });
    expect(r.status).toBe(200);
    expect(r.json.accountId).toMatch(/^\d{12}$/);
    expect(decodeCalls()).toBeGreaterThan(before);
    const decoded = JSON.parse(r.json.decoded as string);
    expect(decoded.context).toMatchObject({ principal: { arn: SESSION }, action: "ec2:RunInstances" });

    const [d] = await decodeDenials([parsed!], async () => r.json.decoded as string);
    expect(d).toMatchObject({
      principal: SESSION,
      action: "ec2:RunInstances",
      resource: `arn:aws:ec2:us-east-1:${STAGING}:instance/*`,
      cause: "implicit",
      policyType: "identity-based",
      fixable: true,
    });
    // The decoded denial becomes the usual request.
    const req = await b.create("alice", {
      targets: [DEVELOPER],
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: [d!.action], Resource: d!.resource }],
      }),
    });
    expect(req.status).toBe(201);
    expect(asRequest(req.json).targets.map((t) => t.arn)).toEqual([DEVELOPER]);

    const rows = await auditRows("alice@example.com");
    expect(rows.at(-1)).toMatchObject({ outcome: "ok", target: SESSION });
    expect(JSON.stringify(rows)).not.toContain(parsed!.encoded!);
  });

  it("in the account the caller names; an account Gatehouse does not manage is refused without calling AWS", async () => {
    const named = await b.call("alice", "POST", "/v1/denials/decode", {
      encoded: encodedFor(SESSION),
      accountId: STAGING,
    });
    expect(named.status).toBe(200);
    expect(named.json.accountId).toBe(STAGING);
    const before = decodeCalls();
    const other = await b.call("alice", "POST", "/v1/denials/decode", {
      encoded: encodedFor(SESSION),
      accountId: "999999999999",
    });
    expect(other.status).toBe(422);
    expect(other.json.code).toBe("DENIAL_UNDECODABLE");
    expect(decodeCalls()).toBe(before);
  });

  it("an explicit deny decodes to a denial no request can fix", async () => {
    const r = await b.call("alice", "POST", "/v1/denials/decode", {
      encoded: encodedFor(SESSION, "ec2:TerminateInstances", true),
    });
    expect(r.status).toBe(200);
    const [d] = await decodeDenials(
      parseDenials(ec2Error("x".repeat(40))),
      async () => r.json.decoded as string,
    );
    expect(d).toMatchObject({ cause: "explicit", fixable: false, action: "ec2:TerminateInstances" });
  });

  it("a forged or altered message is DENIAL_UNDECODABLE, audited, and nothing is decoded", async () => {
    const good = encodedFor(SESSION);
    const altered = `${good.slice(0, 40)}${good[40] === "A" ? "B" : "A"}${good.slice(41)}`;
    for (const encoded of [altered, "A".repeat(200), `${good}AAAA`]) {
      const r = await b.call("alice", "POST", "/v1/denials/decode", { encoded });
      expect(r.status).toBe(422);
      expect(r.json.code).toBe("DENIAL_UNDECODABLE");
      expect(JSON.stringify(r.json)).not.toContain("ec2:RunInstances");
    }
    const rows = await auditRows("alice@example.com");
    expect(rows.filter((x) => x.outcome === "denied").length).toBeGreaterThanOrEqual(3);
  });

  it.each([
    ["not AWS's alphabet", { encoded: "<script>alert(1)</script>".repeat(3) }],
    ["too long", { encoded: "A".repeat(10_241) }],
    ["an unknown field", { encoded: "A".repeat(100), roleArn: DEVELOPER }],
    ["a bad account id", { encoded: "A".repeat(100), accountId: "12" }],
    ["no message", {}],
  ])("%s → BAD_REQUEST before any AWS call", async (_name, body) => {
    const before = decodeCalls();
    const r = await b.call("alice", "POST", "/v1/denials/decode", body);
    expect(r.status).toBe(400);
    expect(r.json.code).toBe("BAD_REQUEST");
    expect(decodeCalls()).toBe(before);
  });

  it.each<[Who, string]>([
    ["carol", "a person with no access to Developer"],
    ["frank", "another person with no groups"],
  ])("%s (%s) gets FORBIDDEN and none of the decoded content; audited as denied", async (who) => {
    const r = await b.call(who, "POST", "/v1/denials/decode", { encoded: encodedFor(SESSION) });
    expect(r.status).toBe(403);
    expect(r.json.code).toBe("FORBIDDEN");
    expect(JSON.stringify(r.json)).not.toContain("ec2:RunInstances");
    expect(JSON.stringify(r.json)).not.toContain("t3.micro");
    const rows = await auditRows(`${who}@example.com`);
    expect(rows.at(-1)).toMatchObject({ outcome: "denied", target: SESSION, detail: { code: "FORBIDDEN" } });
  });

  it("alice may not read a denial of a role she may not use; an approver (dave) and an admin (gina) may", async () => {
    const billing = "arn:aws:sts::222222222222:assumed-role/Billing/someone";
    const encoded = encodedFor(billing, "s3:PutObject");
    expect((await b.call("alice", "POST", "/v1/denials/decode", { encoded })).json.code).toBe("FORBIDDEN");
    for (const who of ["dave", "gina"] as const) {
      const r = await b.call(who, "POST", "/v1/denials/decode", { encoded });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.json.decoded as string).context.principal.arn).toBe(billing);
    }
  });

  it("a spoke that may not decode is AWS_DENIED naming the permission, not a forged-message error", async () => {
    const spoke = emulator.world.accounts.get(STAGING)!.roles.get("gatehousespoke")!;
    const saved = spoke.inlinePolicies.GatehouseSpoke!;
    const doc = JSON.parse(saved) as { Statement: { Sid?: string }[] };
    doc.Statement = doc.Statement.filter((x) => x.Sid !== "DecodeDenials");
    spoke.inlinePolicies.GatehouseSpoke = JSON.stringify(doc);
    try {
      const r = await b.call("alice", "POST", "/v1/denials/decode", {
        encoded: encodedFor(SESSION),
        accountId: STAGING,
      });
      expect(r.status).toBe(502);
      expect(r.json.code).toBe("AWS_DENIED");
      expect(r.json.detail).toMatch(/sts:DecodeAuthorizationMessage/);
    } finally {
      spoke.inlinePolicies.GatehouseSpoke = saved;
    }
  });

  it("without a token the route is refused", async () => {
    const r = await fetch(`${b.broker.url}/v1/denials/decode`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ encoded: encodedFor(SESSION) }),
    });
    expect(r.status).toBe(401);
  });
});
