// The managed-policy and group-membership kinds over HTTP against the real broker and emulator: request →
// approve → applied in IAM (and usable by a session) → expiry → reverted; drift at expiry when IAM was
// changed behind Gatehouse's back; refusals (unknown policy or group, quotas, escalation, roles in groups)
// before any IAM call.

import {
  GetAccountAuthorizationDetailsCommand,
  ListAttachedRolePoliciesCommand,
  ListGroupsForUserCommand,
  ListRolesCommand,
} from "@aws-sdk/client-iam";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRequestsStore } from "../../broker/requests-store.ts";
import type { Emulator } from "../../dev/aws/server.ts";
import type { PermissionRequest } from "../../shared/requests.ts";
import { viaCentral } from "../support/aws.ts";
import { iam, startDemoEmulator } from "../support/emulator.ts";
import {
  asRequest,
  BILLING,
  HookReceiver,
  RequestsBroker,
  signPeople,
  until,
  type Who,
} from "../support/requests.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

const PROD = "222222222222";
const ANALYST = `arn:aws:iam::${PROD}:user/analyst`;
const BUSY = `arn:aws:iam::${PROD}:user/busy`;
const ANALYST_KEY = { accessKeyId: "AKIAANALYSTTEST00001", secretAccessKey: "analyst-secret" };
const IAM_READ = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
const REPORTS = `arn:aws:iam::${PROD}:policy/teams/ReportsReader`;
/** Ten read-only AWS-managed policies: a user holding them is at the default quota. */
const TEN = [
  "AmazonS3ReadOnlyAccess",
  "AmazonEC2ReadOnlyAccess",
  "AmazonDynamoDBReadOnlyAccess",
  "AmazonSQSReadOnlyAccess",
  "AmazonSNSReadOnlyAccess",
  "CloudWatchReadOnlyAccess",
  "AmazonRDSReadOnlyAccess",
  "AmazonVPCReadOnlyAccess",
  "AmazonMSKReadOnlyAccess",
  "AWSLambda_ReadOnlyAccess",
].map((n) => `arn:aws:iam::aws:policy/${n}`);

let emulator: Emulator;
let issuer: TestIssuer;
let tokens: Record<Who, string>;
let b: RequestsBroker;
const hook = new HookReceiver();

const prod = () => emulator.world.accounts.get(PROD)!;
const calls = () => emulator.calls.length;
const iamCallsSince = (n: number) =>
  emulator.calls.slice(n).filter((c) => !["AssumeRole", "GetCallerIdentity"].includes(c.action));
const later = (hours: number) => new Date(Date.now() + hours * 3600_000);

function addWorld(): void {
  const w = emulator.world;
  const acct = prod();
  const date = "2024-01-01T00:00:00Z";
  const user = (name: string, extra: Partial<Parameters<typeof w.putUser>[1]> = {}) =>
    w.putUser(acct, {
      name,
      path: "/",
      id: `AIDA${name.toUpperCase().padEnd(17, "X")}`,
      createDate: date,
      tags: [],
      inlinePolicies: {},
      managedPolicies: [],
      accessKeys: [],
      groups: [],
      ...extra,
    });
  const group = (name: string, inline: Record<string, unknown> = {}, managed: string[] = []) =>
    w.putGroup(acct, {
      name,
      path: "/",
      id: `AGPA${name.toUpperCase().padEnd(17, "X")}`,
      createDate: date,
      inlinePolicies: Object.fromEntries(Object.entries(inline).map(([k, v]) => [k, JSON.stringify(v)])),
      managedPolicies: managed,
    });
  // staging's spoke may not read the account summary: its quotas are unknown, IAM's defaults assumed.
  const stagingSpoke = w.accounts.get("333333333333")!.roles.get("gatehousespoke")!;
  stagingSpoke.inlinePolicies = {
    ...stagingSpoke.inlinePolicies,
    NoSummary: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Deny", Action: "iam:GetAccountSummary", Resource: "*" }],
    }),
  };
  group("IamReaders", {}, [IAM_READ]);
  group("IamAdmins", {
    Everything: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iam:*", Resource: "*" }] },
  });
  const teams = Array.from({ length: 10 }, (_, i) => `Team${i}`);
  for (const t of teams) group(t);
  user("analyst", {
    accessKeys: [
      {
        id: ANALYST_KEY.accessKeyId,
        secret: ANALYST_KEY.secretAccessKey,
        status: "Active",
        createDate: date,
      },
    ],
  });
  user("busy", { managedPolicies: TEN, groups: teams });
  w.putPolicy(acct, {
    name: "ReportsReader",
    path: "/teams/",
    id: "ANPAREPORTSREADER0001",
    createDate: date,
    updateDate: date,
    defaultVersionId: "v1",
    versions: [
      {
        versionId: "v1",
        createDate: date,
        document: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::prod-reports/*" }],
        }),
      },
    ],
  });
}

beforeAll(async () => {
  emulator = await startDemoEmulator();
  addWorld();
  issuer = await startTestIssuer();
  await hook.start();
  tokens = await signPeople(issuer);
  b = new RequestsBroker({
    emulator,
    issuer,
    tokens,
    extra: `requests:
  approver_groups: [approvers]
  allow_permanent: true
  webhook_url: ${hook.url}
`,
  });
  await b.start();
});

afterAll(async () => {
  await b?.close();
  await issuer?.close();
  await emulator?.close();
  await hook.close();
});

const request = (who: Who, body: Record<string, unknown>) =>
  b.call(who, "POST", "/v1/requests", {
    justification: "need it for the quarterly review",
    expiry: "PT8H",
    ...body,
  });
const approve = async (id: string) =>
  asRequest((await b.call("bob", "POST", `/v1/requests/${id}/approve`, {})).json);
const targetOf = async (id: string) => (await b.get("alice", id)).targets[0]!;
const auditFor = (action: string, id: string) =>
  b.broker.store.listAudit({ action }).filter((e) => e.target?.startsWith(id));

describe("the sync reads what requests check", () => {
  it("groups with their policies, customer-managed policies, quotas and each user's groups", () => {
    const data = b.broker.store.accountIam(PROD)!;
    expect(data.groups.find((g) => g.name === "IamReaders")).toMatchObject({ managedPolicies: [IAM_READ] });
    expect(data.policies.find((p) => p.arn === REPORTS)?.document).toContain("prod-reports");
    expect(data.quotas).toEqual({
      attachedPoliciesPerRole: 10,
      attachedPoliciesPerUser: 10,
      groupsPerUser: 10,
    });
    expect(b.broker.store.getUser(BUSY)?.groups).toHaveLength(10);
  });

  it("a spoke refused GetAccountSummary: the sync is good, the quotas unknown, and the status says so", () => {
    const data = b.broker.store.accountIam("333333333333")!;
    expect(data.quotas).toBeNull();
    expect(data.quotasError).toMatch(/AccessDenied/);
    const status = b.broker.store.syncStatuses().find((s) => s.accountId === "333333333333")!;
    expect(status.state).toBe("ok");
    expect(status.warning).toMatch(/quotas are unknown .*AccessDenied.*IAM's defaults/);
    expect(b.broker.store.syncStatuses().find((s) => s.accountId === PROD)!.warning).toBeUndefined();
  });
});

describe("managed policy on a role", () => {
  let id = "";

  it("a Billing session may not list roles before", async () => {
    const creds = await viaCentral(emulator, BILLING);
    await expect(iam(emulator, creds, 1).send(new ListRolesCommand({}))).rejects.toMatchObject({
      name: "AccessDenied",
    });
  });

  it("alice asks for IAMReadOnlyAccess by name; bob approves; it is attached at once and the session may list roles", async () => {
    const r = await request("alice", {
      kind: "managed-policy",
      targets: ["prod/Billing"],
      policyArn: "IAMReadOnlyAccess",
    });
    expect(r.status).toBe(201);
    const req = asRequest(r.json);
    id = req.id;
    expect(req.targets[0]).toMatchObject({
      arn: BILLING,
      state: "pending",
      policyArn: IAM_READ,
      policyName: null,
    });
    const done = await approve(id);
    expect(done.targets[0]).toMatchObject({ state: "applied", policyArn: IAM_READ, error: null });
    const spoke = iam(emulator, await viaCentral(emulator, BILLING), 1);
    expect((await spoke.send(new ListRolesCommand({}))).Roles?.length).toBeGreaterThan(0);
    expect(prod().roles.get("billing")!.managedPolicies).toContain(IAM_READ);
    expect(b.broker.store.getRole(BILLING)!.managedPolicies).toContain(IAM_READ);
    const attached = await spoke.send(new ListAttachedRolePoliciesCommand({ RoleName: "Billing" }));
    expect(attached.AttachedPolicies?.map((p) => p.PolicyArn)).toContain(IAM_READ);
    expect(auditFor("request.create", id)[0]!.detail).toMatchObject({
      kind: "managed-policy",
      policyArn: IAM_READ,
    });
    expect(auditFor("request.apply", id)[0]!.detail).toMatchObject({ arn: BILLING, policyArn: IAM_READ });
  });

  it("the same policy again is refused (already attached), with no IAM call", async () => {
    const before = calls();
    const r = await request("alice", { kind: "managed-policy", targets: [BILLING], policyArn: IAM_READ });
    expect(r.status).toBe(400);
    expect(r.json.detail).toMatch(/already attached/);
    expect(iamCallsSince(before)).toEqual([]);
  });

  it("at expiry it is detached in IAM and the broker; the session may no longer list roles", async () => {
    expect(await b.broker.requests.expireDue(later(9))).toBeGreaterThanOrEqual(1);
    expect(prod().roles.get("billing")!.managedPolicies).not.toContain(IAM_READ);
    expect(b.broker.store.getRole(BILLING)!.managedPolicies).not.toContain(IAM_READ);
    const t = await targetOf(id);
    expect(t).toMatchObject({ state: "expired", drift: null });
    expect(auditFor("request.expire", id)[0]!.detail).toMatchObject({
      policyArn: IAM_READ,
      alreadyGone: false,
    });
    await expect(
      iam(emulator, await viaCentral(emulator, BILLING), 1).send(new ListRolesCommand({})),
    ).rejects.toMatchObject({ name: "AccessDenied" });
  });

  it("every webhook message about it names the policy, as the audit rows do (text and an added field)", async () => {
    await until(() => hook.of(id, "expired").length === 1, 10_000, "the expired webhook");
    const got = hook.of(id);
    expect(got.map((d) => d.body.gatehouse.event)).toEqual(["new", "approved", "applied", "expired"]);
    for (const d of got) {
      expect(d.body.gatehouse.granted).toEqual({ kind: "managed-policy", names: [IAM_READ] });
      expect(d.body.gatehouse.targets).toEqual([BILLING]);
      expect(d.body.text).toContain(`: \`${BILLING}\` · managed policy \`${IAM_READ}\``);
    }
  });

  it("a customer-managed policy by ARN; detached behind Gatehouse's back → drift reported once, target expired", async () => {
    const r = await request("alice", { kind: "managed-policy", targets: [BILLING], policyArn: REPORTS });
    expect(r.status).toBe(201);
    const rid = asRequest(r.json).id;
    expect((await approve(rid)).targets[0]!.state).toBe("applied");
    expect(prod().roles.get("billing")!.managedPolicies).toContain(REPORTS);
    // Someone detaches it in the console.
    const role = prod().roles.get("billing")!;
    role.managedPolicies = role.managedPolicies.filter((a) => a !== REPORTS);
    expect(await b.broker.requests.expireDue(later(9))).toBe(1);
    const t = await targetOf(rid);
    expect(t.state).toBe("expired");
    expect(t.drift).toMatch(/detached from .*Billing outside Gatehouse/);
    expect(auditFor("request.drift", rid)).toHaveLength(1);
    expect(auditFor("request.expire", rid)[0]!.detail).toMatchObject({ alreadyGone: true });
    expect((await b.get("alice", rid)).events.map((e) => e.type)).toContain("drift");
    // No error loop: nothing is due any more.
    expect(await b.broker.requests.expireDue(later(10))).toBe(0);
    await until(() => hook.of(rid, "drift").length === 1, 10_000, "the drift webhook");
    expect(hook.of(rid, "drift")[0]!.body.gatehouse.granted).toEqual({
      kind: "managed-policy",
      names: [REPORTS],
    });
  });
});

describe("managed policy refusals, before any IAM call", () => {
  const refused = async (body: Record<string, unknown>, status: number, code: string, message: RegExp) => {
    const before = calls();
    const r = await request("alice", { kind: "managed-policy", ...body });
    expect({ status: r.status, code: r.json.code }).toEqual({ status, code });
    expect(r.json.detail).toMatch(message);
    expect(iamCallsSince(before)).toEqual([]);
  };

  it("a policy that does not exist, by name or ARN", async () => {
    await refused(
      { targets: [BILLING], policyArn: "NoSuchPolicyAnywhere" },
      404,
      "POLICY_NOT_FOUND",
      /"NoSuchPolicyAnywhere"/,
    );
    await refused(
      { targets: [BILLING], policyArn: "arn:aws:iam::aws:policy/NoSuchThing" },
      404,
      "POLICY_NOT_FOUND",
      /NoSuchThing/,
    );
    await refused(
      { targets: [BILLING], policyArn: `arn:aws:iam::${PROD}:policy/Missing` },
      404,
      "POLICY_NOT_FOUND",
      /Missing in account 222222222222/,
    );
  });

  it("the account's quota of attached policies (10 of 10)", async () => {
    await refused(
      { targets: [BUSY], policyArn: IAM_READ },
      422,
      "QUOTA_EXCEEDED",
      /busy has 10 of 10 managed policies attached \(account quota 10\)/,
    );
  });

  it("AdministratorAccess and IAMFullAccess are escalation: refused", async () => {
    await refused(
      { targets: [BILLING], policyArn: "AdministratorAccess" },
      422,
      "POLICY_REFUSED",
      /PRIVILEGE_ESCALATION/,
    );
    await refused(
      { targets: [ANALYST], policyArn: "arn:aws:iam::aws:policy/IAMFullAccess" },
      422,
      "POLICY_REFUSED",
      /escalation|PRIVILEGE/i,
    );
  });

  it("a pending request counts toward the quota and the same policy is not requested twice", async () => {
    const r = await request("alice", { kind: "managed-policy", targets: [ANALYST], policyArn: IAM_READ });
    expect(r.status).toBe(201);
    await refused({ targets: [ANALYST], policyArn: IAM_READ }, 400, "BAD_REQUEST", /already requested/);
    await b.call("alice", "POST", `/v1/requests/${asRequest(r.json).id}/cancel`);
  });
});

describe("group membership", () => {
  let id = "";

  it("alice asks for analyst in IamReaders; bob approves; analyst is a member and may list roles", async () => {
    const analyst = iam(emulator, ANALYST_KEY, 1);
    await expect(analyst.send(new ListRolesCommand({}))).rejects.toMatchObject({ name: "AccessDenied" });
    const r = await request("alice", { kind: "group-membership", targets: [ANALYST], group: "iamreaders" });
    expect(r.status).toBe(201);
    id = asRequest(r.json).id;
    expect(asRequest(r.json).targets[0]).toMatchObject({
      arn: ANALYST,
      groupName: "IamReaders",
      state: "pending",
    });
    expect((await approve(id)).targets[0]!.state).toBe("applied");
    expect(prod().users.get("analyst")!.groups).toContain("IamReaders");
    expect(b.broker.store.getUser(ANALYST)!.groups).toContain("IamReaders");
    const spoke = iam(emulator, await viaCentral(emulator, `arn:aws:iam::${PROD}:role/GatehouseSpoke`), 1);
    const g = await spoke.send(new ListGroupsForUserCommand({ UserName: "analyst" }));
    expect(g.Groups?.map((x) => x.GroupName)).toEqual(["IamReaders"]);
    expect((await analyst.send(new ListRolesCommand({}))).Roles?.length).toBeGreaterThan(0);
    expect(auditFor("request.apply", id)[0]!.detail).toMatchObject({ groupName: "IamReaders" });
  });

  it("at expiry analyst is removed from the group and may no longer list roles", async () => {
    expect(await b.broker.requests.expireDue(later(9))).toBeGreaterThanOrEqual(1);
    expect(prod().users.get("analyst")!.groups).not.toContain("IamReaders");
    expect((await targetOf(id)).state).toBe("expired");
    await expect(iam(emulator, ANALYST_KEY, 1).send(new ListRolesCommand({}))).rejects.toMatchObject({
      name: "AccessDenied",
    });
    // The broker's copy follows (the re-read after expiry runs in the background of the expiry).
    expect(b.broker.store.getUser(ANALYST)!.groups ?? []).not.toContain("IamReaders");
  });

  it("every webhook message about it names the group", async () => {
    await until(() => hook.of(id, "expired").length === 1, 10_000, "the expired webhook");
    for (const d of hook.of(id)) {
      expect(d.body.gatehouse.granted).toEqual({ kind: "group-membership", names: ["IamReaders"] });
      expect(d.body.text).toContain(`: \`${ANALYST}\` · IAM group \`IamReaders\``);
    }
  });

  it("removed behind Gatehouse's back → drift reported once, target expired, no error loop", async () => {
    const r = await request("alice", { kind: "group-membership", targets: [ANALYST], group: "IamReaders" });
    const rid = asRequest(r.json).id;
    expect((await approve(rid)).targets[0]!.state).toBe("applied");
    const u = prod().users.get("analyst")!;
    u.groups = u.groups.filter((g) => g !== "IamReaders");
    expect(await b.broker.requests.expireDue(later(9))).toBe(1);
    const t = await targetOf(rid);
    expect(t.state).toBe("expired");
    expect(t.drift).toMatch(/removed from group IamReaders outside Gatehouse/);
    expect(auditFor("request.drift", rid)).toHaveLength(1);
    expect(await b.broker.requests.expireDue(later(10))).toBe(0);
  });

  it("removed while granted: the next sync reports the drift once; the expiry settles it without reporting again", async () => {
    const rid = asRequest(
      (await request("alice", { kind: "group-membership", targets: [ANALYST], group: "IamReaders" })).json,
    ).id;
    expect((await approve(rid)).targets[0]!.state).toBe("applied");
    const u = prod().users.get("analyst")!;
    u.groups = u.groups.filter((g) => g !== "IamReaders");
    // Applied a moment ago: a sync now could have raced the apply, so it does not judge this grant yet.
    await b.broker.syncer.syncAll();
    expect((await targetOf(rid)).drift).toBeNull();
    // Applied ten minutes before the sync: it is judged, and found gone.
    const s = openRequestsStore(b.db);
    s.patch(rid, 0, { appliedAt: new Date(Date.now() - 600_000).toISOString() });
    s.close();
    await b.broker.syncer.syncAll();
    const t = await targetOf(rid);
    expect(t.state).toBe("applied");
    expect(t.drift).toMatch(/in IAM group IamReaders: gone from IAM .*removed outside Gatehouse/);
    await b.broker.syncer.syncAll();
    expect(auditFor("request.drift", rid)).toHaveLength(1);
    await until(() => hook.of(rid, "drift").length === 1, 10_000, "the drift webhook");
    expect(await b.broker.requests.expireDue(later(9))).toBe(1);
    expect((await targetOf(rid)).state).toBe("expired");
    expect(auditFor("request.drift", rid)).toHaveLength(1);
    expect(auditFor("request.expire", rid)[0]!.detail).toMatchObject({ alreadyGone: true });
  });

  it("refused before any IAM call: unknown group, a role, quota of 10 groups, a group granting iam:*", async () => {
    const cases: [Record<string, unknown>, number, string, RegExp][] = [
      [
        { targets: [ANALYST], group: "Nope" },
        404,
        "GROUP_NOT_FOUND",
        /no IAM group "Nope" in account 222222222222/,
      ],
      [{ targets: [BILLING], group: "IamReaders" }, 400, "BAD_REQUEST", /groups hold users, not roles/],
      [
        { targets: [BUSY], group: "IamReaders" },
        422,
        "QUOTA_EXCEEDED",
        /busy is in 10 of 10 groups \(account quota 10\)/,
      ],
      [
        { targets: [ANALYST], group: "IamAdmins" },
        422,
        "POLICY_REFUSED",
        /group IamAdmins's policy Everything/,
      ],
      [{ targets: [BUSY], group: "Team3" }, 400, "BAD_REQUEST", /already in group Team3/],
    ];
    for (const [body, status, code, message] of cases) {
      const before = calls();
      const r = await request("alice", { kind: "group-membership", ...body });
      expect({ status: r.status, code: r.json.code, message: r.json.detail }).toMatchObject({
        status,
        code,
        message: expect.stringMatching(message),
      });
      expect(iamCallsSince(before)).toEqual([]);
    }
  });

  it("an approver's policy edit is refused for these kinds; an expiry edit works", async () => {
    const r = await request("alice", { kind: "group-membership", targets: [ANALYST], group: "IamReaders" });
    const rid = asRequest(r.json).id;
    const edit = await b.call("bob", "POST", `/v1/requests/${rid}/approve`, { policy: "{}" });
    expect(edit.json.code).toBe("BAD_REQUEST");
    const at = new Date(Date.now() + 2 * 3600_000).toISOString();
    const ok = await b.call("bob", "POST", `/v1/requests/${rid}/approve`, { expiresAt: at });
    expect(asRequest(ok.json).targets[0]).toMatchObject({ state: "applied", expiresAt: at });
    expect(await b.broker.requests.expireDue(later(3))).toBe(1);
    expect(prod().users.get("analyst")!.groups).not.toContain("IamReaders");
  });
});

describe("permanent", () => {
  it("a permanent attachment (requests.allow_permanent) has no expiry and is never detached", async () => {
    const r = await request("alice", {
      kind: "managed-policy",
      targets: [ANALYST],
      policyArn: "AmazonS3ReadOnlyAccess",
      expiry: "permanent",
    });
    expect(r.status).toBe(201);
    const rid = asRequest(r.json).id;
    expect(asRequest(r.json).expirySeconds).toBeNull();
    expect((await approve(rid)).targets[0]).toMatchObject({ state: "applied", expiresAt: null });
    const arn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";
    expect(prod().users.get("analyst")!.managedPolicies).toContain(arn);
    expect(await b.broker.requests.expireDue(later(24 * 365))).toBe(0);
    expect(prod().users.get("analyst")!.managedPolicies).toContain(arn);
    // Taken off again so the account ends as it began.
    const u = prod().users.get("analyst")!;
    u.managedPolicies = u.managedPolicies.filter((a) => a !== arn);
  });
});

describe("the spoke's view", () => {
  it("GetAccountAuthorizationDetails shows no Gatehouse leftovers after every expiry", async () => {
    const spoke = iam(emulator, await viaCentral(emulator, `arn:aws:iam::${PROD}:role/GatehouseSpoke`), 1);
    const out = await spoke.send(new GetAccountAuthorizationDetailsCommand({ Filter: ["Role", "User"] }));
    const billing = out.RoleDetailList?.find((r) => r.RoleName === "Billing");
    expect(billing?.AttachedManagedPolicies ?? []).toEqual([]);
    const analyst = out.UserDetailList?.find((u) => u.UserName === "analyst");
    expect(analyst?.GroupList ?? []).toEqual([]);
    const open = (await b.call("alice", "GET", "/v1/requests")).json.requests as PermissionRequest[];
    expect(
      open.flatMap((r) => r.targets).filter((t) => t.state === "applied" && t.expiresAt !== null),
    ).toEqual([]);
  });
});
