// Managed policies and IAM groups in the emulator with the official @aws-sdk/client-iam (and the real
// aws CLI): attach/detach within the account's quotas, customer-managed policies, groups and their
// policies counted in a member's permissions, GetAccountSummary, bulk reads, fixtures and the state file.

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  DeleteGroupPolicyCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetAccountAuthorizationDetailsCommand,
  GetAccountSummaryCommand,
  GetGroupCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  type IAMClient,
  ListAttachedGroupPoliciesCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListPoliciesCommand,
  ListRolesCommand,
  PutGroupPolicyCommand,
  RemoveUserFromGroupCommand,
} from "@aws-sdk/client-iam";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { worldFromObject } from "../../dev/aws/fixture.ts";
import { World } from "../../dev/aws/model.ts";
import { type Emulator, startEmulator } from "../../dev/aws/server.ts";
import { expectAwsError } from "../support/aws.ts";
import { iam } from "../support/emulator.ts";

const run = promisify(execFile);
const ACCT = "444444444444";
const RAISED = "555555555555";
const ADMIN = { accessKeyId: "AKIAACCESSADMIN00001", secretAccessKey: "admin-secret-1" };
const CAROL = { accessKeyId: "AKIAACCESSCAROL00001", secretAccessKey: "carol-secret-1" };
const RAISED_ADMIN = { accessKeyId: "AKIAACCESSRAISED0001", secretAccessKey: "raised-secret-1" };
const AWS_RO = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const allow = (action: string) => ({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: action, Resource: "*" }],
});
const trust = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { AWS: ACCT }, Action: "sts:AssumeRole" }],
};

const fixture = {
  accounts: [
    {
      id: ACCT,
      name: "access",
      policies: [
        {
          name: "ListRolesOnly",
          path: "/team/",
          description: "list roles",
          document: allow("iam:ListRoles"),
        },
      ],
      groups: [
        { name: "readers", policies: { list: allow("iam:ListRoles") } },
        { name: "iam-readers", managed_policies: ["arn:aws:iam::aws:policy/IAMReadOnlyAccess"] },
      ],
      roles: [{ name: "Worker", trust }],
      users: [
        {
          name: "admin",
          managed_policies: ["arn:aws:iam::aws:policy/AdministratorAccess"],
          access_keys: [{ id: ADMIN.accessKeyId, secret: ADMIN.secretAccessKey }],
        },
        { name: "carol", access_keys: [{ id: CAROL.accessKeyId, secret: CAROL.secretAccessKey }] },
        { name: "erin", groups: ["readers"] },
      ],
    },
    {
      id: RAISED,
      name: "raised",
      quotas: { attached_policies_per_role: 20 },
      users: [
        {
          name: "admin",
          managed_policies: ["arn:aws:iam::aws:policy/AdministratorAccess"],
          access_keys: [{ id: RAISED_ADMIN.accessKeyId, secret: RAISED_ADMIN.secretAccessKey }],
        },
      ],
    },
  ],
};

let e: Emulator;
let admin: IAMClient;
let carol: IAMClient;
let stateDir: string;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "gh-iam-access-"));
  const world = worldFromObject(fixture);
  world.attachStateFile(join(stateDir, "state.json"));
  e = await startEmulator({ world });
  admin = iam(e, ADMIN, 1);
  carol = iam(e, CAROL, 1);
});
afterAll(async () => {
  await e?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("managed policies", () => {
  it("attaching an AWS-managed policy to a user grants it; detaching takes it away; twice is NoSuchEntity", async () => {
    await expectAwsError(carol.send(new ListRolesCommand({})), "AccessDenied", 403);
    await admin.send(new AttachUserPolicyCommand({ UserName: "carol", PolicyArn: AWS_RO }));
    // Attaching twice is accepted and changes nothing, as in IAM.
    await admin.send(new AttachUserPolicyCommand({ UserName: "carol", PolicyArn: AWS_RO }));
    const listed = await admin.send(new ListAttachedUserPoliciesCommand({ UserName: "carol" }));
    expect(listed.AttachedPolicies).toEqual([{ PolicyName: "ReadOnlyAccess", PolicyArn: AWS_RO }]);
    expect((await carol.send(new ListRolesCommand({}))).Roles?.map((r) => r.RoleName)).toEqual(["Worker"]);
    await admin.send(new DetachUserPolicyCommand({ UserName: "carol", PolicyArn: AWS_RO }));
    await expectAwsError(carol.send(new ListRolesCommand({})), "AccessDenied", 403);
    await expectAwsError(
      admin.send(new DetachUserPolicyCommand({ UserName: "carol", PolicyArn: AWS_RO })),
      "NoSuchEntity",
      404,
      `Policy ${AWS_RO} was not found.`,
    );
  });

  it("refuses a policy that does not exist, a malformed ARN, another account's policy and an unknown role", async () => {
    const missing = "arn:aws:iam::aws:policy/NoSuchPolicyAtAll";
    await expectAwsError(
      admin.send(new AttachRolePolicyCommand({ RoleName: "Worker", PolicyArn: missing })),
      "NoSuchEntity",
      404,
      `Policy ${missing} does not exist or is not attachable.`,
    );
    await expectAwsError(
      admin.send(
        new AttachRolePolicyCommand({ RoleName: "Worker", PolicyArn: "arn:aws:iam::aws:nonsense/x" }),
      ),
      "InvalidInput",
      400,
      /is not valid/,
    );
    const foreign = `arn:aws:iam::${RAISED}:policy/Anything`;
    await expectAwsError(
      admin.send(new AttachUserPolicyCommand({ UserName: "carol", PolicyArn: foreign })),
      "NoSuchEntity",
      404,
    );
    await expectAwsError(
      admin.send(new AttachRolePolicyCommand({ RoleName: "Nobody", PolicyArn: AWS_RO })),
      "NoSuchEntity",
      404,
      "The role with name Nobody cannot be found.",
    );
    // A caller whose policies do not allow the call is refused before anything is looked up.
    await expectAwsError(
      carol.send(new AttachUserPolicyCommand({ UserName: "carol", PolicyArn: AWS_RO })),
      "AccessDenied",
      403,
      /iam:AttachUserPolicy/,
    );
  });

  it("creates customer-managed policies, reads them and their versions, and lists them", async () => {
    const created = await admin.send(
      new CreatePolicyCommand({
        PolicyName: "ReadRoles",
        PolicyDocument: JSON.stringify(allow("iam:GetRole")),
        Description: "read one role",
      }),
    );
    const arn = `arn:aws:iam::${ACCT}:policy/ReadRoles`;
    expect(created.Policy).toMatchObject({
      PolicyName: "ReadRoles",
      Arn: arn,
      DefaultVersionId: "v1",
      AttachmentCount: 0,
    });
    await expectAwsError(
      admin.send(
        new CreatePolicyCommand({ PolicyName: "readroles", PolicyDocument: JSON.stringify(allow("s3:*")) }),
      ),
      "EntityAlreadyExists",
      409,
    );
    await expectAwsError(
      admin.send(new CreatePolicyCommand({ PolicyName: "Bad", PolicyDocument: '{"Statement": 1}' })),
      "MalformedPolicyDocument",
      400,
    );
    const version = await admin.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: "v1" }));
    expect(JSON.parse(decodeURIComponent(version.PolicyVersion!.Document!))).toEqual(allow("iam:GetRole"));
    expect(version.PolicyVersion?.IsDefaultVersion).toBe(true);
    await expectAwsError(
      admin.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: "v2" })),
      "NoSuchEntity",
      404,
    );
    const fixturePolicy = await admin.send(
      new GetPolicyCommand({ PolicyArn: `arn:aws:iam::${ACCT}:policy/team/ListRolesOnly` }),
    );
    expect(fixturePolicy.Policy).toMatchObject({ Path: "/team/", Description: "list roles" });
    const aws = await admin.send(new GetPolicyCommand({ PolicyArn: AWS_RO }));
    expect(aws.Policy).toMatchObject({ PolicyName: "ReadOnlyAccess", IsAttachable: true });
    const local = await admin.send(new ListPoliciesCommand({ Scope: "Local" }));
    expect(local.Policies?.map((p) => p.PolicyName).sort()).toEqual(["ListRolesOnly", "ReadRoles"]);

    // A customer-managed policy attached to a user counts in its permissions.
    await admin.send(
      new AttachUserPolicyCommand({
        UserName: "carol",
        PolicyArn: `arn:aws:iam::${ACCT}:policy/team/ListRolesOnly`,
      }),
    );
    await carol.send(new ListRolesCommand({}));
    await admin.send(
      new DetachUserPolicyCommand({
        UserName: "carol",
        PolicyArn: `arn:aws:iam::${ACCT}:policy/team/ListRolesOnly`,
      }),
    );
  });

  it("enforces 10 attached policies per role with LimitExceeded; GetAccountSummary reports the quotas", async () => {
    for (let i = 0; i < 10; i++) {
      await admin.send(
        new CreatePolicyCommand({ PolicyName: `Q${i}`, PolicyDocument: JSON.stringify(allow(`s3:Get${i}`)) }),
      );
      await admin.send(
        new AttachRolePolicyCommand({ RoleName: "Worker", PolicyArn: `arn:aws:iam::${ACCT}:policy/Q${i}` }),
      );
    }
    await expectAwsError(
      admin.send(new AttachRolePolicyCommand({ RoleName: "Worker", PolicyArn: AWS_RO })),
      "LimitExceeded",
      409,
      "Cannot exceed quota for PoliciesPerRole: 10",
    );
    const attached = await admin.send(new ListAttachedRolePoliciesCommand({ RoleName: "Worker" }));
    expect(attached.AttachedPolicies).toHaveLength(10);
    await admin.send(
      new DetachRolePolicyCommand({ RoleName: "Worker", PolicyArn: `arn:aws:iam::${ACCT}:policy/Q0` }),
    );
    await admin.send(new AttachRolePolicyCommand({ RoleName: "Worker", PolicyArn: AWS_RO }));

    const summary = (await admin.send(new GetAccountSummaryCommand({}))).SummaryMap!;
    expect(summary).toMatchObject({
      AttachedPoliciesPerRoleQuota: 10,
      AttachedPoliciesPerUserQuota: 10,
      AttachedPoliciesPerGroupQuota: 10,
      GroupsPerUserQuota: 10,
      Users: 3,
      Roles: 1,
      Groups: 2,
    });
    expect(summary.Policies).toBeGreaterThanOrEqual(12);
    const raised = (await iam(e, RAISED_ADMIN, 1).send(new GetAccountSummaryCommand({}))).SummaryMap!;
    expect(raised.AttachedPoliciesPerRoleQuota).toBe(20);
  });
});

describe("IAM groups", () => {
  it("a group's inline and attached policies count for its members, and stop counting when they leave", async () => {
    await expectAwsError(carol.send(new ListRolesCommand({})), "AccessDenied", 403);
    await admin.send(new AddUserToGroupCommand({ GroupName: "readers", UserName: "carol" }));
    await carol.send(new ListRolesCommand({}));
    const groups = await admin.send(new ListGroupsForUserCommand({ UserName: "carol" }));
    expect(groups.Groups?.map((g) => g.GroupName)).toEqual(["readers"]);
    const members = await admin.send(new GetGroupCommand({ GroupName: "readers" }));
    expect(members.Users?.map((u) => u.UserName)).toEqual(["carol", "erin"]);
    await admin.send(new RemoveUserFromGroupCommand({ GroupName: "readers", UserName: "carol" }));
    await expectAwsError(carol.send(new ListRolesCommand({})), "AccessDenied", 403);
    await expectAwsError(
      admin.send(new RemoveUserFromGroupCommand({ GroupName: "readers", UserName: "carol" })),
      "NoSuchEntity",
      404,
    );
    // An AWS-managed policy attached to a group (IAMReadOnlyAccess) counts too.
    await admin.send(new AddUserToGroupCommand({ GroupName: "iam-readers", UserName: "carol" }));
    await carol.send(new ListRolesCommand({}));
    await admin.send(new RemoveUserFromGroupCommand({ GroupName: "iam-readers", UserName: "carol" }));
  });

  it("a group's policies put and attached at run time count for members, and stop when taken away", async () => {
    await admin.send(new CreateGroupCommand({ GroupName: "runtime" }));
    await admin.send(new AddUserToGroupCommand({ GroupName: "runtime", UserName: "carol" }));
    await expectAwsError(carol.send(new ListRolesCommand({})), "AccessDenied", 403);
    await admin.send(
      new PutGroupPolicyCommand({
        GroupName: "runtime",
        PolicyName: "list",
        PolicyDocument: JSON.stringify(allow("iam:ListRoles")),
      }),
    );
    await carol.send(new ListRolesCommand({}));
    await admin.send(new DeleteGroupPolicyCommand({ GroupName: "runtime", PolicyName: "list" }));
    await expectAwsError(carol.send(new ListRolesCommand({})), "AccessDenied", 403);
    await admin.send(new AttachGroupPolicyCommand({ GroupName: "runtime", PolicyArn: AWS_RO }));
    const attached = await admin.send(new ListAttachedGroupPoliciesCommand({ GroupName: "runtime" }));
    expect(attached.AttachedPolicies?.map((p) => p.PolicyArn)).toEqual([AWS_RO]);
    await carol.send(new ListRolesCommand({}));
    await admin.send(new DetachGroupPolicyCommand({ GroupName: "runtime", PolicyArn: AWS_RO }));
    await expectAwsError(carol.send(new ListRolesCommand({})), "AccessDenied", 403);
    await expectAwsError(
      admin.send(new DetachGroupPolicyCommand({ GroupName: "runtime", PolicyArn: AWS_RO })),
      "NoSuchEntity",
      404,
    );
    await admin.send(new RemoveUserFromGroupCommand({ GroupName: "runtime", UserName: "carol" }));
  });

  it("CreateGroup, duplicates, unknown groups, and 10 groups per user with LimitExceeded", async () => {
    const made = await admin.send(new CreateGroupCommand({ GroupName: "g-00", Path: "/teams/" }));
    expect(made.Group).toMatchObject({ GroupName: "g-00", Arn: `arn:aws:iam::${ACCT}:group/teams/g-00` });
    await expectAwsError(
      admin.send(new CreateGroupCommand({ GroupName: "G-00" })),
      "EntityAlreadyExists",
      409,
    );
    await expectAwsError(
      admin.send(new AddUserToGroupCommand({ GroupName: "nope", UserName: "carol" })),
      "NoSuchEntity",
      404,
      "The group with name nope cannot be found.",
    );
    await admin.send(new AddUserToGroupCommand({ GroupName: "g-00", UserName: "carol" }));
    for (let i = 1; i <= 10; i++) {
      await admin.send(new CreateGroupCommand({ GroupName: `g-${String(i).padStart(2, "0")}` }));
    }
    for (let i = 1; i < 10; i++) {
      await admin.send(
        new AddUserToGroupCommand({ GroupName: `g-${String(i).padStart(2, "0")}`, UserName: "carol" }),
      );
    }
    await expectAwsError(
      admin.send(new AddUserToGroupCommand({ GroupName: "g-10", UserName: "carol" })),
      "LimitExceeded",
      409,
      "Cannot exceed quota for GroupsPerUser: 10",
    );
    const groups = await admin.send(new ListGroupsForUserCommand({ UserName: "carol", MaxItems: 4 }));
    expect(groups.Groups).toHaveLength(4);
    expect(groups.IsTruncated).toBe(true);
  });

  it("GetAccountAuthorizationDetails lists groups with their policies, users' groups and managed policies", async () => {
    const out = await admin.send(new GetAccountAuthorizationDetailsCommand({}));
    const readers = out.GroupDetailList?.find((g) => g.GroupName === "readers");
    expect(readers?.GroupPolicyList?.map((p) => p.PolicyName)).toEqual(["list"]);
    expect(JSON.parse(decodeURIComponent(readers!.GroupPolicyList![0]!.PolicyDocument!))).toEqual(
      allow("iam:ListRoles"),
    );
    const iamReaders = out.GroupDetailList?.find((g) => g.GroupName === "iam-readers");
    expect(iamReaders?.AttachedManagedPolicies?.[0]?.PolicyName).toBe("IAMReadOnlyAccess");
    expect(out.UserDetailList?.find((u) => u.UserName === "erin")?.GroupList).toEqual(["readers"]);
    const local = out.Policies?.find((p) => p.PolicyName === "ListRolesOnly");
    expect(local?.PolicyVersionList?.[0]?.IsDefaultVersion).toBe(true);
    expect(out.Policies?.some((p) => p.Arn === AWS_RO)).toBe(true);
    const groupsOnly = await admin.send(new GetAccountAuthorizationDetailsCommand({ Filter: ["Group"] }));
    expect(groupsOnly.UserDetailList).toEqual([]);
    expect(groupsOnly.GroupDetailList?.length).toBeGreaterThanOrEqual(2);
  });

  it("the real aws CLI reads the account summary and a user's groups", async () => {
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: ADMIN.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_CONFIG_FILE: "/dev/null",
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      AWS_PAGER: "",
    };
    const cli = async (...args: string[]) =>
      JSON.parse(
        (await run("/usr/bin/aws", [...args, "--endpoint-url", e.url, "--output", "json"], { env })).stdout,
      );
    expect((await cli("iam", "get-account-summary")).SummaryMap.GroupsPerUserQuota).toBe(10);
    expect((await cli("iam", "list-groups-for-user", "--user-name", "erin")).Groups[0].GroupName).toBe(
      "readers",
    );
  });

  it("groups, memberships and customer-managed policies survive a restart from the state file", async () => {
    const world = World.fromStateFile(join(stateDir, "state.json"));
    const again = await startEmulator({ world });
    try {
      const client = iam(again, ADMIN, 1);
      const groups = await client.send(new ListGroupsForUserCommand({ UserName: "carol" }));
      expect(groups.Groups).toHaveLength(10);
      const policy = await client.send(
        new GetPolicyCommand({ PolicyArn: `arn:aws:iam::${ACCT}:policy/ReadRoles` }),
      );
      expect(policy.Policy?.Description).toBe("read one role");
      const attached = await client.send(new ListAttachedRolePoliciesCommand({ RoleName: "Worker" }));
      expect(attached.AttachedPolicies?.map((p) => p.PolicyArn)).toContain(AWS_RO);
    } finally {
      await again.close();
    }
  });
});

describe("fixtures with groups and managed policies are parsed strictly", () => {
  const base = (account: Record<string, unknown>) => ({ accounts: [{ id: ACCT, name: "x", ...account }] });
  it.each([
    ["a user in a group that does not exist", { users: [{ name: "u", groups: ["ghosts"] }] }, /group ghosts/],
    [
      "an AWS-managed policy that does not exist",
      { roles: [{ name: "R", trust, managed_policies: ["arn:aws:iam::aws:policy/MadeUp"] }] },
      /MadeUp does not exist/,
    ],
    ["an unknown key in a group", { groups: [{ name: "g", colour: "red" }] }, /colour|Unrecognized/],
    ["a malformed customer policy", { policies: [{ name: "p", document: { Statement: 3 } }] }, /policy p/],
    ["a quota above what AWS allows", { quotas: { attached_policies_per_role: 21 } }, /quotas/],
    ["a group listed twice", { groups: [{ name: "g" }, { name: "G" }] }, /listed twice/],
    [
      "a user in more than 10 groups",
      {
        groups: Array.from({ length: 11 }, (_, i) => ({ name: `g${i}` })),
        users: [{ name: "u", groups: Array.from({ length: 11 }, (_, i) => `g${i}`) }],
      },
      /more than 10 groups/,
    ],
  ])("refuses %s", (_what, account, message) => {
    expect(() => worldFromObject(base(account))).toThrow(message);
  });
});
