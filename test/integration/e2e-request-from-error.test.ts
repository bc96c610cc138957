// End to end, everything really started (emulator, dev IdP with its login form, broker, an agent per person):
// alice's AWS CLI call on staging/Developer is denied by the emulator; she pipes the error into
// `gatehouse request from-error -` and gets one request holding exactly the denied actions; bob approves it and
// the same calls then succeed. An explicit deny, unrelated text and a role Gatehouse does not manage end with
// exit 1, the reason on stderr and no request. EC2's encoded message is decoded by the broker and requested;
// a forged one, or one about a role alice may not use, ends with exit 1 and no request.

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeAuthorizationMessage } from "../../dev/aws/authorization-message.ts";
import { startIdp } from "../../dev/idp/provider.ts";
import type { PermissionRequest } from "../../shared/requests.ts";
import { startTestBroker } from "../support/broker.ts";
import {
  AWS_CLI,
  cleanUp,
  GATEHOUSE,
  gatehouse,
  type Home,
  makeHome,
  ROOT,
  run,
  type System,
  startAgent,
} from "../support/e2e.ts";
import { startDemoEmulator } from "../support/emulator.ts";

const STAGING = "333333333333";
const DEVELOPER = `arn:aws:iam::${STAGING}:role/Developer`;
const SESSION = `arn:aws:sts::${STAGING}:assumed-role/Developer/alice@example.com`;
const BROWSER = `${process.execPath} ${join(ROOT, "test/support/form-login-browser.mjs")}`;
const ASK = ["--justification", "deploy script needs to read roles", "--expires", "8h"];

let system: System | undefined;
let alice: Home;
let bob: Home;

function homeFor(s: System, email: string): Home {
  const h = makeHome(s, { tokenStore: "file" });
  h.env.GATEHOUSE_BROWSER = BROWSER;
  h.env.GATEHOUSE_TEST_LOGIN = email;
  return h;
}

/** alice runs the AWS CLI as staging/Developer through `gatehouse exec`. */
const asDeveloper = (...args: string[]) =>
  gatehouse(
    alice,
    "exec",
    "staging/Developer",
    "--",
    AWS_CLI,
    ...args,
    "--endpoint-url",
    system!.emulator.url,
    "--region",
    "us-east-1",
  );

/** `gatehouse request from-error` as alice, the text on standard input. */
const fromError = (text: string, ...extra: string[]) =>
  run(process.execPath, [GATEHOUSE, "request", "from-error", "-", ...ASK, ...extra], alice.env, {
    input: text,
  });

async function myRequests(): Promise<PermissionRequest[]> {
  const r = await gatehouse(alice, "request", "list", "--json");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as PermissionRequest[];
}

beforeAll(async () => {
  const emulator = await startDemoEmulator();
  const idp = await startIdp({ port: 0 });
  const broker = await startTestBroker({
    issuer: idp.issuer,
    awsUrl: emulator.url,
    extra: "requests:\n  approver_groups: [approvers]\n",
  });
  system = {
    emulator,
    idp,
    broker,
    stopBroker: () => broker.stop(),
    async close() {
      await broker.stop();
      await idp.close();
      await emulator.close();
    },
  };
  alice = homeFor(system, "alice@example.com");
  bob = homeFor(system, "bob@example.com");
  await Promise.all([startAgent(alice), startAgent(bob)]);
  const [a, b] = await Promise.all([gatehouse(alice, "login"), gatehouse(bob, "login")]);
  expect(a.stdout).toContain("Signed in as alice@example.com");
  expect(b.stdout).toContain("Signed in as bob@example.com");
}, 45_000);

afterAll(async () => {
  await cleanUp();
  await system?.close();
});

describe("gatehouse request from-error", () => {
  let log = "";
  let id = "";

  it("the emulator denies Developer's IAM calls with AWS's message", async () => {
    const list = await asDeveloper("iam", "list-users");
    const get = await asDeveloper("iam", "get-role", "--role-name", "DataPipeline");
    for (const r of [list, get]) {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`User: ${SESSION} is not authorized to perform`);
      expect(r.stderr).toContain("because no identity-based policy allows");
    }
    log = `${list.stderr}\n[retrying]\n${get.stderr}`;
  });

  it("alice pipes the log in: one request on Developer holding exactly the denied actions", async () => {
    const before = (await myRequests()).length;
    const r = await fromError(log, "--json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const req = JSON.parse(r.stdout) as PermissionRequest;
    id = req.id;
    expect(req.kind).toBe("inline-policy");
    expect(req.targets.map((t) => t.arn)).toEqual([DEVELOPER]);
    const policy = JSON.parse(req.policy!) as {
      Statement: { Action: string[]; Resource: string | string[] }[];
    };
    expect(policy.Statement.flatMap((s) => s.Action).sort()).toEqual(["iam:GetRole", "iam:ListUsers"]);
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({ Action: ["iam:ListUsers"], Resource: "*" }),
    );
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({
        Action: ["iam:GetRole"],
        Resource: `arn:aws:iam::${STAGING}:role/DataPipeline`,
      }),
    );
    expect(await myRequests()).toHaveLength(before + 1);
  });

  it("the text output names the target and the actions; the argument form works too", async () => {
    const [first] = log.split("[retrying]");
    const r = await run(
      process.execPath,
      [GATEHOUSE, "request", "from-error", first!.trim(), ...ASK],
      alice.env,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`From 1 denial: ${DEVELOPER}`);
    expect(r.stdout).toContain("Actions: iam:ListUsers");
    expect(r.stdout).toMatch(/^Request [0-9a-f]+ \(inline-policy\)$/m);
    // Not wanted in this test's later steps: cancel it.
    const cancelled = await gatehouse(
      alice,
      "request",
      "cancel",
      /^Request ([0-9a-f]+)/m.exec(r.stdout)![1]!,
    );
    expect(cancelled.code).toBe(0);
  });

  it("bob approves it; the calls that were denied now succeed", async () => {
    const ok = await gatehouse(bob, "request", "approve", id);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`${DEVELOPER}  applied`);
    const list = await asDeveloper("iam", "list-users");
    expect(list.stderr).toBe("");
    expect(list.code).toBe(0);
    const get = await asDeveloper("iam", "get-role", "--role-name", "DataPipeline");
    expect(get.code).toBe(0);
  });

  it.each([
    [
      "an explicit deny",
      `An error occurred (AccessDenied) when calling the DeleteRole operation: User: ${SESSION} is not authorized to perform: iam:DeleteRole on resource: arn:aws:iam::${STAGING}:role/Developer with an explicit deny in a service control policy`,
      /DENIAL_NOT_REQUESTABLE/,
      /Organizations/,
    ],
    ["unrelated text", "Error: connect ECONNREFUSED 127.0.0.1:443\n", /NO_DENIAL/, /no AWS access-denied/],
    [
      "a role Gatehouse does not manage",
      `User: arn:aws:sts::${STAGING}:assumed-role/Unmanaged/alice is not authorized to perform: s3:ListBucket on resource: arn:aws:s3:::b because no identity-based policy allows the s3:ListBucket action`,
      /DENIAL_TARGET_UNKNOWN/,
      /not a role Gatehouse manages/,
    ],
    [
      "Gatehouse's own spoke role (never a request target)",
      `User: arn:aws:sts::${STAGING}:assumed-role/GatehouseSpoke/x is not authorized to perform: iam:PutRolePolicy on resource: arn:aws:iam::${STAGING}:role/Admin because no identity-based policy allows the iam:PutRolePolicy action`,
      /DENIAL_TARGET_UNKNOWN/,
      /GatehouseSpoke/,
    ],
    [
      "a made-up wildcard action",
      `User: ${SESSION} is not authorized to perform: iam:* on resource: * because no identity-based policy allows the iam:* action`,
      /NO_DENIAL/,
      /no AWS access-denied/,
    ],
    [
      "an account Gatehouse does not manage",
      `User: arn:aws:sts::999999999999:assumed-role/Developer/alice is not authorized to perform: s3:ListBucket because no identity-based policy allows the s3:ListBucket action`,
      /DENIAL_TARGET_UNKNOWN/,
      /999999999999/,
    ],
  ])("%s → exit 1, the reason on stderr, no request", async (_name, text, code, why) => {
    const before = (await myRequests()).length;
    const r = await fromError(text, "--json");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(code);
    expect(r.stderr).toMatch(why);
    expect(await myRequests()).toHaveLength(before);
  });

  it("a log mixing a fixable denial and an explicit deny: the fixable one is requested, the other listed on stderr", async () => {
    const mixed = [
      `User: ${SESSION} is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::${STAGING}:user/ because no identity-based policy allows the iam:ListUsers action`,
      `User: ${SESSION} is not authorized to perform: iam:DeleteRole on resource: arn:aws:iam::${STAGING}:role/Developer with an explicit deny in a permissions boundary`,
    ].join("\n");
    const r = await fromError(mixed, "--json", "--wait", "--timeout", "2s");
    // --wait: nobody approves within 2 s, so the wait ends with 124 and the request stays pending.
    expect(r.code).toBe(124);
    expect(r.stderr).toMatch(/not requested: iam:DeleteRole: an explicit deny in a permissions boundary/);
    expect(r.stderr).toMatch(/\[TIMEOUT\]/);
    const req = JSON.parse(r.stdout) as PermissionRequest;
    expect(JSON.parse(req.policy!).Statement.flatMap((s: { Action: string[] }) => s.Action)).toEqual([
      "iam:ListUsers",
    ]);
    expect(req.targets[0]!.state).toBe("pending");
  });

  it("hostile text in the error is printed escaped, never raw", async () => {
    const r = await fromError(
      `User: arn:aws:sts::${STAGING}:assumed-role/Unmanaged\u001b]0;pwned\u0007/x is not authorized to perform: s3:ListBucket because no identity-based policy allows the s3:ListBucket action`,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain("\u001b");
    expect(r.stderr).not.toContain("\u0007");
  });
});

describe("where the broker lists targets only to approvers", () => {
  let broker2: Awaited<ReturnType<typeof startTestBroker>> | undefined;
  let alice2: Home;

  beforeAll(async () => {
    broker2 = await startTestBroker({
      issuer: system!.idp.issuer,
      awsUrl: system!.emulator.url,
      extra: "requests:\n  approver_groups: [approvers]\n  targets_visible_to: approvers\n",
    });
    alice2 = homeFor({ ...system!, broker: broker2 }, "alice@example.com");
    await startAgent(alice2);
    expect((await gatehouse(alice2, "login")).stdout).toContain("Signed in as alice@example.com");
  }, 45_000);
  afterAll(() => broker2?.stop());

  const fromError2 = (text: string) =>
    run(process.execPath, [GATEHOUSE, "request", "from-error", "-", ...ASK, "--json"], alice2.env, {
      input: text,
    });

  it("alice still gets her request: the principal's ARN is named and the broker resolves it", async () => {
    const r = await fromError2(
      `User: ${SESSION} is not authorized to perform: iam:ListGroups on resource: arn:aws:iam::${STAGING}:group/ because no identity-based policy allows the iam:ListGroups action`,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const req = JSON.parse(r.stdout) as PermissionRequest;
    expect(req.targets.map((t) => t.arn)).toEqual([DEVELOPER]);
  });

  it("a role Gatehouse does not manage is refused by the broker: exit 1, no request", async () => {
    const r = await fromError2(
      `User: arn:aws:sts::${STAGING}:assumed-role/Unmanaged/alice is not authorized to perform: s3:ListBucket because no identity-based policy allows the s3:ListBucket action`,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/\[[A-Z_]+\]$/m);
  });
});

describe("EC2's encoded authorization failure message, decoded by the broker", () => {
  const ec2Error = (principal: string, action = "ec2:RunInstances") =>
    `An error occurred (UnauthorizedOperation) when calling the RunInstances operation: You are not authorized to perform this operation. Encoded authorization failure message: ${encodeAuthorizationMessage(
      system!.emulator.world,
      {
        principal: { id: "AROAEXAMPLE:alice", arn: principal },
        action,
        resource: `arn:aws:ec2:us-east-1:${STAGING}:instance/*`,
        explicitDeny: false,
        conditions: { "ec2:InstanceType": ["t3.micro"] },
      },
    )}`;

  it("alice pipes in an EC2 error: decoded, one request on Developer with the decoded action", async () => {
    const before = (await myRequests()).length;
    const r = await fromError(ec2Error(SESSION), "--json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const req = JSON.parse(r.stdout) as PermissionRequest;
    expect(req.targets.map((t) => t.arn)).toEqual([DEVELOPER]);
    const policy = JSON.parse(req.policy!) as { Statement: { Action: string[]; Resource: unknown }[] };
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({
        Action: expect.arrayContaining(["ec2:RunInstances"]),
        Resource: `arn:aws:ec2:us-east-1:${STAGING}:instance/*`,
      }),
    );
    expect(await myRequests()).toHaveLength(before + 1);
    // Not wanted later: cancel it.
    expect((await gatehouse(alice, "request", "cancel", req.id)).code).toBe(0);
  });

  it.each<[string, () => string, RegExp]>([
    [
      "a forged message",
      () =>
        "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: You are not authorized to perform this operation. Encoded authorization failure message: Zm9yZ2VkLW1lc3NhZ2UtdGhhdC1uby1vbmUtZW5jb2RlZC1hdC1hbGwtYnktYW55LW1lYW5z",
      /DENIAL_UNDECODABLE/,
    ],
    [
      "a denial of a role alice may not use (prod/Billing)",
      () => ec2Error("arn:aws:sts::222222222222:assumed-role/Billing/x", "ec2:StopInstances"),
      /FORBIDDEN/,
    ],
  ])("%s → exit 1, the reason on stderr, nothing decoded shown, no request", async (_name, text, code) => {
    const before = (await myRequests()).length;
    const r = await fromError(text(), "--json");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(code);
    expect(r.stderr).not.toContain("ec2:StopInstances");
    expect(await myRequests()).toHaveLength(before);
  });
});
