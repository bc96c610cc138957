// IAM in the emulator with the official @aws-sdk/client-iam, called with the spoke role's credentials
// as Gatehouse calls it: bulk reads with paging, roles, users, tags, inline policies, AWS's validation,
// limits and authorisation.

import {
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  GetAccountAuthorizationDetailsCommand,
  type GetAccountAuthorizationDetailsCommandOutput,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  type IAMClient,
  ListRolePoliciesCommand,
  ListRolesCommand,
  ListRoleTagsCommand,
  ListUserPoliciesCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  TagRoleCommand,
  TagUserCommand,
  UntagRoleCommand,
  UntagUserCommand,
} from "@aws-sdk/client-iam";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import { CENTRAL, expectAwsError, PROD, STAGING, spokeRole, viaCentral, workRole } from "../support/aws.ts";
import { DEMO_KEY, iam, startDemoEmulator } from "../support/emulator.ts";

let e: Emulator;
/** The spoke role in prod, with retries off so that every error reaches the test as sent. */
let spoke: IAMClient;
let admin: IAMClient;

const EXTRA_ROLES = 23;
const extraRoleName = (i: number) => `Extra-${String(i).padStart(2, "0")}`;
const trustCentral = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { AWS: `arn:aws:iam::${CENTRAL}:role/GatehouseCentral` },
      Action: "sts:AssumeRole",
    },
  ],
});

/** An identity policy whose size, as IAM counts it (no insignificant white space), is exactly `size`. */
function sizedPolicy(size: number, sid = "Pad"): string {
  const build = (pad: string) =>
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Sid: sid, Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${pad}` }],
    });
  const base = build("").length;
  if (size < base) throw new Error(`a policy is at least ${base} characters`);
  return build("b".repeat(size - base));
}

const allow = (action: string, resource = "*") =>
  JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: action, Resource: resource }],
  });

beforeAll(async () => {
  e = await startDemoEmulator();
  spoke = iam(e, await viaCentral(e, spokeRole(PROD), "gatehouse"), 1);
  admin = iam(e, await viaCentral(e, workRole(PROD, "Admin"), "admin"), 1);
  for (let i = 0; i < EXTRA_ROLES; i++) {
    await admin.send(
      new CreateRoleCommand({
        RoleName: extraRoleName(i),
        Path: i % 5 === 0 ? "/team/" : "/",
        AssumeRolePolicyDocument: trustCentral,
        Tags: [{ Key: "index", Value: String(i) }],
      }),
    );
  }
});

afterAll(async () => {
  await e?.close();
});

describe("GetAccountAuthorizationDetails", () => {
  it("returns roles with their tags, trust, inline and managed policies, documents URL-encoded", async () => {
    const out = await spoke.send(
      new GetAccountAuthorizationDetailsCommand({ Filter: ["Role"], MaxItems: 1000 }),
    );
    expect(out.IsTruncated).toBe(false);
    expect(out.UserDetailList).toEqual([]);
    const byName = new Map(out.RoleDetailList?.map((r) => [r.RoleName, r]));
    expect([...byName.keys()]).toEqual(
      expect.arrayContaining(["Admin", "Billing", "GatehouseSpoke", "ReadOnly", extraRoleName(0)]),
    );
    expect(byName.size).toBe(4 + EXTRA_ROLES);

    const readOnly = byName.get("ReadOnly")!;
    expect(readOnly.Arn).toBe(workRole(PROD, "ReadOnly"));
    expect(readOnly.Path).toBe("/");
    expect(readOnly.RoleId).toMatch(/^AROA/);
    expect(readOnly.Tags).toEqual([{ Key: "gatehouse-authorized", Value: "engineers" }]);
    expect(readOnly.AttachedManagedPolicies).toEqual([
      { PolicyName: "ReadOnlyAccess", PolicyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess" },
    ]);
    // AWS sends policy documents URL-encoded; the SDK passes them on as sent.
    expect(readOnly.AssumeRolePolicyDocument).toMatch(/^%7B%22Version%22%3A%222012-10-17%22/);
    const trust = JSON.parse(decodeURIComponent(readOnly.AssumeRolePolicyDocument!));
    expect(trust.Statement[0].Principal).toEqual({ AWS: `arn:aws:iam::${CENTRAL}:role/GatehouseCentral` });

    const spokeRoleDetail = byName.get("GatehouseSpoke")!;
    expect(spokeRoleDetail.RolePolicyList?.map((p) => p.PolicyName)).toEqual(["GatehouseSpoke"]);
    const encoded = spokeRoleDetail.RolePolicyList![0]!.PolicyDocument!;
    expect(encoded).not.toContain("{");
    const doc = JSON.parse(decodeURIComponent(encoded));
    expect(doc.Statement.map((s: { Sid: string }) => s.Sid)).toEqual([
      "ReadIam",
      "ChangeTagsAndInlinePolicies",
      "DecodeDenials",
    ]);
    expect(byName.get("Billing")!.Tags ?? []).toEqual([]);
  });

  it("returns users with their tags and inline policies", async () => {
    const out = await spoke.send(new GetAccountAuthorizationDetailsCommand({ Filter: ["User"] }));
    expect(out.RoleDetailList).toEqual([]);
    expect(out.UserDetailList?.map((u) => u.UserName)).toEqual(["deploy-bot"]);
    const bot = out.UserDetailList![0]!;
    expect(bot.Arn).toBe(`arn:aws:iam::${PROD}:user/deploy-bot`);
    expect(bot.Tags).toEqual([{ Key: "gatehouse-authorized", Value: "platform-admins" }]);
    expect(bot.UserPolicyList?.map((p) => p.PolicyName)).toEqual(["Deploy"]);
    expect(
      JSON.parse(decodeURIComponent(bot.UserPolicyList![0]!.PolicyDocument!)).Statement[0].Resource,
    ).toBe("arn:aws:s3:::prod-artifacts/*");
  });

  it("pages with MaxItems and Marker through every item once, users, roles, then managed policies", async () => {
    const all = await spoke.send(new GetAccountAuthorizationDetailsCommand({ MaxItems: 1000 }));
    const expected = [
      ...all.UserDetailList!.map((u) => `user:${u.UserName}`),
      ...all.RoleDetailList!.map((r) => `role:${r.RoleName}`),
      ...all.Policies!.map((p) => `policy:${p.Arn}`),
    ];
    // The AWS-managed policies attached in the account come last, as AWS lists them.
    expect(all.Policies!.length).toBeGreaterThan(0);
    expect(expected).toHaveLength(1 + 4 + EXTRA_ROLES + all.Policies!.length);

    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    let last: GetAccountAuthorizationDetailsCommandOutput;
    do {
      last = await spoke.send(new GetAccountAuthorizationDetailsCommand({ MaxItems: 4, Marker: marker }));
      pages++;
      const items = [
        ...last.UserDetailList!.map((u) => `user:${u.UserName}`),
        ...last.RoleDetailList!.map((r) => `role:${r.RoleName}`),
        ...last.Policies!.map((p) => `policy:${p.Arn}`),
      ];
      expect(items.length).toBeLessThanOrEqual(4);
      expect(items.length).toBeGreaterThan(0);
      seen.push(...items);
      marker = last.Marker;
      expect(Boolean(marker)).toBe(last.IsTruncated);
    } while (last.IsTruncated);
    expect(pages).toBe(Math.ceil(expected.length / 4));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expected);
  });

  it("rejects an unknown Filter value", async () => {
    await expectAwsError(
      spoke.send(new GetAccountAuthorizationDetailsCommand({ Filter: ["Robot" as "Role"] })),
      "ValidationError",
      400,
      "Member must satisfy enum value set",
    );
  });

  it("shows only the caller's own account", async () => {
    const staging = iam(e, await viaCentral(e, spokeRole(STAGING)), 1);
    const out = await staging.send(new GetAccountAuthorizationDetailsCommand({ Filter: ["Role"] }));
    expect(out.RoleDetailList?.map((r) => r.RoleName).sort()).toEqual([
      "DataPipeline",
      "Developer",
      "GatehouseSpoke",
    ]);
    expect(out.RoleDetailList?.every((r) => r.Arn?.startsWith(`arn:aws:iam::${STAGING}:role/`))).toBe(true);
  });

  it("is denied to the broker user, whose only policy lets it assume GatehouseCentral", async () => {
    await expectAwsError(
      iam(e, DEMO_KEY, 1).send(new GetAccountAuthorizationDetailsCommand({})),
      "AccessDenied",
      403,
      `User: arn:aws:iam::${CENTRAL}:user/gatehouse-broker is not authorized to perform: iam:GetAccountAuthorizationDetails on resource: * because no identity-based policy allows the iam:GetAccountAuthorizationDetails action`,
    );
  });
});

describe("roles", () => {
  it("ListRoles pages in name order with no duplicates or gaps, and filters by PathPrefix", async () => {
    const names: string[] = [];
    let marker: string | undefined;
    do {
      const page = await spoke.send(new ListRolesCommand({ MaxItems: 5, Marker: marker }));
      expect(page.Roles!.length).toBeLessThanOrEqual(5);
      // ListRoles leaves tags out, as AWS does.
      expect(page.Roles!.every((r) => r.Tags === undefined)).toBe(true);
      names.push(...page.Roles!.map((r) => r.RoleName!));
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    expect(names).toHaveLength(4 + EXTRA_ROLES);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual([...names].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));

    const team = await spoke.send(new ListRolesCommand({ PathPrefix: "/team/" }));
    expect(team.Roles?.map((r) => r.RoleName)).toEqual([0, 5, 10, 15, 20].map(extraRoleName));
    expect(team.Roles?.every((r) => r.Path === "/team/")).toBe(true);
  });

  it("GetRole returns the role with tags, description, max session and URL-encoded trust", async () => {
    const { Role } = await spoke.send(new GetRoleCommand({ RoleName: "ReadOnly" }));
    expect(Role).toMatchObject({
      RoleName: "ReadOnly",
      Path: "/",
      Arn: workRole(PROD, "ReadOnly"),
      Description: "Read-only access to prod",
      MaxSessionDuration: 43200,
      Tags: [{ Key: "gatehouse-authorized", Value: "engineers" }],
    });
    expect(Role?.CreateDate).toBeInstanceOf(Date);
    expect(JSON.parse(decodeURIComponent(Role!.AssumeRolePolicyDocument!)).Version).toBe("2012-10-17");
    // Role names are unique regardless of case, and found that way.
    expect((await spoke.send(new GetRoleCommand({ RoleName: "readonly" }))).Role?.RoleName).toBe("ReadOnly");
    await expectAwsError(
      spoke.send(new GetRoleCommand({ RoleName: "Nobody" })),
      "NoSuchEntity",
      404,
      "The role with name Nobody cannot be found.",
    );
  });

  it("TagRole/UntagRole change tags that GetRole and ListRoleTags show at once", async () => {
    await spoke.send(
      new TagRoleCommand({
        RoleName: "Billing",
        Tags: [
          { Key: "gatehouse-authorized", Value: "finance" },
          { Key: "cost-center", Value: "42" },
        ],
      }),
    );
    expect((await spoke.send(new GetRoleCommand({ RoleName: "Billing" }))).Role?.Tags).toEqual([
      { Key: "gatehouse-authorized", Value: "finance" },
      { Key: "cost-center", Value: "42" },
    ]);
    // Tagging an existing key replaces its value.
    await spoke.send(
      new TagRoleCommand({
        RoleName: "Billing",
        Tags: [{ Key: "gatehouse-authorized", Value: "finance:bob" }],
      }),
    );
    const tags = await spoke.send(new ListRoleTagsCommand({ RoleName: "Billing" }));
    expect(tags.Tags).toEqual([
      { Key: "gatehouse-authorized", Value: "finance:bob" },
      { Key: "cost-center", Value: "42" },
    ]);
    expect(tags.IsTruncated).toBe(false);
    await spoke.send(new UntagRoleCommand({ RoleName: "Billing", TagKeys: ["cost-center", "not-there"] }));
    expect((await spoke.send(new GetRoleCommand({ RoleName: "Billing" }))).Role?.Tags).toEqual([
      { Key: "gatehouse-authorized", Value: "finance:bob" },
    ]);
    await spoke.send(new UntagRoleCommand({ RoleName: "Billing", TagKeys: ["gatehouse-authorized"] }));
    expect((await spoke.send(new ListRoleTagsCommand({ RoleName: "Billing" }))).Tags).toEqual([]);
    await expectAwsError(
      spoke.send(new TagRoleCommand({ RoleName: "Nobody", Tags: [{ Key: "a", Value: "b" }] })),
      "NoSuchEntity",
      404,
    );
  });

  it("a role holds at most 50 tags → LimitExceeded", async () => {
    const tags = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ Key: `k${from + i}`, Value: "v" }));
    await spoke.send(new TagRoleCommand({ RoleName: extraRoleName(1), Tags: tags(0, 49) }));
    // One existing "index" tag + 49 = 50: full. One more is too many.
    expect((await spoke.send(new ListRoleTagsCommand({ RoleName: extraRoleName(1) }))).Tags).toHaveLength(50);
    await expectAwsError(
      spoke.send(new TagRoleCommand({ RoleName: extraRoleName(1), Tags: tags(49, 1) })),
      "LimitExceeded",
      409,
      "Cannot exceed quota for TagsPerRole: 50",
    );
    // Changing the value of an existing key adds nothing and is allowed.
    await spoke.send(new TagRoleCommand({ RoleName: extraRoleName(1), Tags: [{ Key: "k0", Value: "w" }] }));
    await expectAwsError(
      spoke.send(new TagRoleCommand({ RoleName: extraRoleName(2), Tags: tags(0, 51) })),
      "ValidationError",
      400,
      "Member must have length less than or equal to 50",
    );
  });

  it("invalid tag keys and values → ValidationError", async () => {
    for (const Key of ["bad#key", "k".repeat(129), "semi;colon"]) {
      await expectAwsError(
        spoke.send(new TagRoleCommand({ RoleName: "Billing", Tags: [{ Key, Value: "v" }] })),
        "ValidationError",
        400,
        "tags.1.member.key",
      );
    }
    await expectAwsError(
      spoke.send(new TagRoleCommand({ RoleName: "Billing", Tags: [{ Key: "k", Value: "v".repeat(257) }] })),
      "ValidationError",
      400,
      "tags.1.member.value",
    );
    await expectAwsError(
      spoke.send(new UntagRoleCommand({ RoleName: "Billing", TagKeys: ["bad#key"] })),
      "ValidationError",
      400,
    );
    // Unicode letters, spaces and the allowed punctuation are fine.
    await spoke.send(
      new TagRoleCommand({ RoleName: "Billing", Tags: [{ Key: "Équipe data_2 .:/=+-@", Value: "ok" }] }),
    );
    await spoke.send(new UntagRoleCommand({ RoleName: "Billing", TagKeys: ["Équipe data_2 .:/=+-@"] }));
  });

  it("inline role policies: put, list, get (URL-encoded), replace, delete", async () => {
    const doc = allow("s3:ListBucket", "arn:aws:s3:::prod-logs");
    await spoke.send(
      new PutRolePolicyCommand({ RoleName: "Billing", PolicyName: "Logs", PolicyDocument: doc }),
    );
    const list = await spoke.send(new ListRolePoliciesCommand({ RoleName: "Billing" }));
    expect(list.PolicyNames).toEqual(["Billing", "Logs"]);
    expect(list.IsTruncated).toBe(false);
    const got = await spoke.send(new GetRolePolicyCommand({ RoleName: "Billing", PolicyName: "Logs" }));
    expect(got.RoleName).toBe("Billing");
    expect(got.PolicyName).toBe("Logs");
    expect(got.PolicyDocument).toBe(encodeURIComponent(doc));

    const replaced = allow("s3:GetObject", "arn:aws:s3:::prod-logs/*");
    await spoke.send(
      new PutRolePolicyCommand({ RoleName: "Billing", PolicyName: "Logs", PolicyDocument: replaced }),
    );
    expect(
      decodeURIComponent(
        (await spoke.send(new GetRolePolicyCommand({ RoleName: "Billing", PolicyName: "Logs" })))
          .PolicyDocument!,
      ),
    ).toBe(replaced);

    await spoke.send(new DeleteRolePolicyCommand({ RoleName: "Billing", PolicyName: "Logs" }));
    expect((await spoke.send(new ListRolePoliciesCommand({ RoleName: "Billing" }))).PolicyNames).toEqual([
      "Billing",
    ]);
    await expectAwsError(
      spoke.send(new GetRolePolicyCommand({ RoleName: "Billing", PolicyName: "Logs" })),
      "NoSuchEntity",
      404,
      "The role policy with name Logs cannot be found.",
    );
    await expectAwsError(
      spoke.send(new DeleteRolePolicyCommand({ RoleName: "Billing", PolicyName: "Logs" })),
      "NoSuchEntity",
      404,
    );
    await expectAwsError(
      spoke.send(new PutRolePolicyCommand({ RoleName: "Nobody", PolicyName: "P", PolicyDocument: doc })),
      "NoSuchEntity",
      404,
    );
  });

  it("CreateRole/DeleteRole with AWS's conflicts", async () => {
    const created = await admin.send(
      new CreateRoleCommand({
        RoleName: "Temporary",
        Path: "/tmp/",
        AssumeRolePolicyDocument: trustCentral,
        Description: "made by a test",
        MaxSessionDuration: 7200,
        Tags: [{ Key: "owner", Value: "test" }],
      }),
    );
    expect(created.Role).toMatchObject({
      RoleName: "Temporary",
      Path: "/tmp/",
      Arn: `arn:aws:iam::${PROD}:role/tmp/Temporary`,
      MaxSessionDuration: 7200,
      Tags: [{ Key: "owner", Value: "test" }],
    });
    expect(created.Role?.RoleId).toMatch(/^AROA[A-Z2-7]{17}$/);
    await expectAwsError(
      admin.send(new CreateRoleCommand({ RoleName: "temporary", AssumeRolePolicyDocument: trustCentral })),
      "EntityAlreadyExists",
      409,
      "Role with name temporary already exists.",
    );
    await admin.send(
      new PutRolePolicyCommand({
        RoleName: "Temporary",
        PolicyName: "P",
        PolicyDocument: allow("s3:GetObject"),
      }),
    );
    await expectAwsError(
      admin.send(new DeleteRoleCommand({ RoleName: "Temporary" })),
      "DeleteConflict",
      409,
      "Cannot delete entity, must delete policies first.",
    );
    await admin.send(new DeleteRolePolicyCommand({ RoleName: "Temporary", PolicyName: "P" }));
    await admin.send(new DeleteRoleCommand({ RoleName: "Temporary" }));
    await expectAwsError(admin.send(new GetRoleCommand({ RoleName: "Temporary" })), "NoSuchEntity", 404);
    await expectAwsError(
      admin.send(new DeleteRoleCommand({ RoleName: "Temporary" })),
      "NoSuchEntity",
      404,
      "The role with name Temporary cannot be found.",
    );
  });

  it("CreateRole validates the trust policy, path and MaxSessionDuration", async () => {
    const noPrincipal = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "sts:AssumeRole" }],
    });
    await expectAwsError(
      admin.send(new CreateRoleCommand({ RoleName: "NoPrincipal", AssumeRolePolicyDocument: noPrincipal })),
      "MalformedPolicyDocument",
      400,
    );
    await expectAwsError(
      admin.send(
        new CreateRoleCommand({
          RoleName: "BadPath",
          Path: "no-slashes",
          AssumeRolePolicyDocument: trustCentral,
        }),
      ),
      "ValidationError",
      400,
      "'path'",
    );
    await expectAwsError(
      admin.send(
        new CreateRoleCommand({
          RoleName: "Long",
          MaxSessionDuration: 43201,
          AssumeRolePolicyDocument: trustCentral,
        }),
      ),
      "ValidationError",
      400,
      "maxSessionDuration",
    );
  });

  it("the spoke role may not create or delete roles", async () => {
    await expectAwsError(
      spoke.send(new CreateRoleCommand({ RoleName: "Sneaky", AssumeRolePolicyDocument: trustCentral })),
      "AccessDenied",
      403,
      `User: arn:aws:sts::${PROD}:assumed-role/GatehouseSpoke/gatehouse is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::${PROD}:role/Sneaky`,
    );
    await expectAwsError(spoke.send(new DeleteRoleCommand({ RoleName: "Billing" })), "AccessDenied", 403);
  });
});

describe("users", () => {
  it("ListUsers, GetUser and user tags", async () => {
    const users = await spoke.send(new ListUsersCommand({}));
    expect(users.Users?.map((u) => u.UserName)).toEqual(["deploy-bot"]);
    expect(users.IsTruncated).toBe(false);
    const { User } = await spoke.send(new GetUserCommand({ UserName: "deploy-bot" }));
    expect(User).toMatchObject({
      UserName: "deploy-bot",
      Arn: `arn:aws:iam::${PROD}:user/deploy-bot`,
      Tags: [{ Key: "gatehouse-authorized", Value: "platform-admins" }],
    });
    expect(User?.UserId).toMatch(/^AIDA/);
    await expectAwsError(
      spoke.send(new GetUserCommand({ UserName: "nobody" })),
      "NoSuchEntity",
      404,
      "The user with name nobody cannot be found.",
    );
    // Without a UserName, GetUser means the caller, which a role session is not.
    await expectAwsError(spoke.send(new GetUserCommand({})), "ValidationError", 400);

    await spoke.send(
      new TagUserCommand({ UserName: "deploy-bot", Tags: [{ Key: "team", Value: "release" }] }),
    );
    expect((await spoke.send(new GetUserCommand({ UserName: "deploy-bot" }))).User?.Tags).toEqual([
      { Key: "gatehouse-authorized", Value: "platform-admins" },
      { Key: "team", Value: "release" },
    ]);
    await spoke.send(new UntagUserCommand({ UserName: "deploy-bot", TagKeys: ["team"] }));
    expect((await spoke.send(new ListUserTagsCommand({ UserName: "deploy-bot" }))).Tags).toEqual([
      { Key: "gatehouse-authorized", Value: "platform-admins" },
    ]);
    await expectAwsError(
      spoke.send(new TagUserCommand({ UserName: "deploy-bot", Tags: [{ Key: "bad#key", Value: "v" }] })),
      "ValidationError",
      400,
    );
    const many = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
    await expectAwsError(
      spoke.send(new TagUserCommand({ UserName: "deploy-bot", Tags: many })),
      "LimitExceeded",
      409,
      "Cannot exceed quota for TagsPerUser: 50",
    );
  });

  it("inline user policies: put, list, get, delete", async () => {
    const doc = allow("s3:GetObject", "arn:aws:s3:::prod-artifacts/*");
    await spoke.send(
      new PutUserPolicyCommand({ UserName: "deploy-bot", PolicyName: "Read", PolicyDocument: doc }),
    );
    expect((await spoke.send(new ListUserPoliciesCommand({ UserName: "deploy-bot" }))).PolicyNames).toEqual([
      "Deploy",
      "Read",
    ]);
    const got = await spoke.send(new GetUserPolicyCommand({ UserName: "deploy-bot", PolicyName: "Read" }));
    expect(got).toMatchObject({
      UserName: "deploy-bot",
      PolicyName: "Read",
      PolicyDocument: encodeURIComponent(doc),
    });
    await spoke.send(new DeleteUserPolicyCommand({ UserName: "deploy-bot", PolicyName: "Read" }));
    await expectAwsError(
      spoke.send(new GetUserPolicyCommand({ UserName: "deploy-bot", PolicyName: "Read" })),
      "NoSuchEntity",
      404,
      "The user policy with name Read cannot be found.",
    );
    await expectAwsError(
      spoke.send(new DeleteUserPolicyCommand({ UserName: "deploy-bot", PolicyName: "Read" })),
      "NoSuchEntity",
      404,
    );
  });
});

describe("validation and limits", () => {
  it("names that break AWS's patterns → ValidationError", async () => {
    const doc = allow("s3:GetObject");
    await expectAwsError(
      spoke.send(new GetRoleCommand({ RoleName: "has space" })),
      "ValidationError",
      400,
      "at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern",
    );
    await expectAwsError(
      spoke.send(new GetRoleCommand({ RoleName: "r".repeat(65) })),
      "ValidationError",
      400,
      "Member must have length less than or equal to 64",
    );
    await expectAwsError(
      spoke.send(new PutRolePolicyCommand({ RoleName: "Billing", PolicyName: "a/b", PolicyDocument: doc })),
      "ValidationError",
      400,
      "'policyName'",
    );
    await expectAwsError(
      spoke.send(
        new PutRolePolicyCommand({ RoleName: "Billing", PolicyName: "p".repeat(129), PolicyDocument: doc }),
      ),
      "ValidationError",
      400,
      "Member must have length less than or equal to 128",
    );
    await expectAwsError(
      spoke.send(new GetUserCommand({ UserName: "bad:user" })),
      "ValidationError",
      400,
      "'userName'",
    );
    await expectAwsError(
      admin.send(new CreateRoleCommand({ RoleName: "bad*name", AssumeRolePolicyDocument: trustCentral })),
      "ValidationError",
      400,
    );
  });

  it.each([
    ["invalid JSON", '{"Version": "2012-10-17", "Statement": [', /invalid Json/],
    ["no Statement", JSON.stringify({ Version: "2012-10-17" }), /Statement/],
    [
      "a Principal in an identity policy",
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "*" }],
      }),
      /should not specify a principal/,
    ],
    [
      "a bad Effect",
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Maybe", Action: "s3:GetObject", Resource: "*" }],
      }),
      /Effect/,
    ],
    [
      "a bad Version",
      JSON.stringify({
        Version: "2020-01-01",
        Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }],
      }),
      /version/,
    ],
    [
      "no Resource",
      JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject" }] }),
      /resources/,
    ],
  ])("a policy with %s → MalformedPolicyDocument", async (_why, PolicyDocument, message) => {
    await expectAwsError(
      spoke.send(new PutRolePolicyCommand({ RoleName: "Billing", PolicyName: "Bad", PolicyDocument })),
      "MalformedPolicyDocument",
      400,
      message,
    );
    await expectAwsError(
      spoke.send(new PutUserPolicyCommand({ UserName: "deploy-bot", PolicyName: "Bad", PolicyDocument })),
      "MalformedPolicyDocument",
      400,
      message,
    );
  });

  it("a role's inline policies may total 10,240 characters, white space not counted", async () => {
    const role = extraRoleName(3);
    await spoke.send(
      new PutRolePolicyCommand({ RoleName: role, PolicyName: "A", PolicyDocument: sizedPolicy(6000) }),
    );
    // Pretty-printed, B is longer than 4,240 characters, but IAM does not count the white space.
    const b = JSON.stringify(JSON.parse(sizedPolicy(4240)), null, 8);
    expect(b.length).toBeGreaterThan(4240);
    await spoke.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: "B", PolicyDocument: b }));
    await expectAwsError(
      spoke.send(
        new PutRolePolicyCommand({ RoleName: role, PolicyName: "C", PolicyDocument: sizedPolicy(200) }),
      ),
      "LimitExceeded",
      409,
      `Maximum policy size of 10240 bytes exceeded for role ${role}`,
    );
    // Replacing a policy counts its new size only, not both.
    await expectAwsError(
      spoke.send(
        new PutRolePolicyCommand({ RoleName: role, PolicyName: "B", PolicyDocument: sizedPolicy(4241) }),
      ),
      "LimitExceeded",
      409,
    );
    await spoke.send(
      new PutRolePolicyCommand({ RoleName: role, PolicyName: "B", PolicyDocument: sizedPolicy(4000) }),
    );
    await spoke.send(
      new PutRolePolicyCommand({ RoleName: role, PolicyName: "C", PolicyDocument: sizedPolicy(240) }),
    );
    expect((await spoke.send(new ListRolePoliciesCommand({ RoleName: role }))).PolicyNames).toEqual([
      "A",
      "B",
      "C",
    ]);
  });

  it("a user's inline policies may total 2,048 characters", async () => {
    const deploy = await spoke.send(
      new GetUserPolicyCommand({ UserName: "deploy-bot", PolicyName: "Deploy" }),
    );
    const used = JSON.stringify(JSON.parse(decodeURIComponent(deploy.PolicyDocument!))).length;
    await expectAwsError(
      spoke.send(
        new PutUserPolicyCommand({
          UserName: "deploy-bot",
          PolicyName: "Big",
          PolicyDocument: sizedPolicy(2049 - used),
        }),
      ),
      "LimitExceeded",
      409,
      "Maximum policy size of 2048 bytes exceeded for user deploy-bot",
    );
    await spoke.send(
      new PutUserPolicyCommand({
        UserName: "deploy-bot",
        PolicyName: "Big",
        PolicyDocument: sizedPolicy(2048 - used),
      }),
    );
    await spoke.send(new DeleteUserPolicyCommand({ UserName: "deploy-bot", PolicyName: "Big" }));
  });
});

describe("authorisation by identity policies", () => {
  it("a work role with ReadOnlyAccess may read but not change IAM", async () => {
    const readOnly = iam(e, await viaCentral(e, workRole(PROD, "ReadOnly"), "alice"), 1);
    expect((await readOnly.send(new GetRoleCommand({ RoleName: "Billing" }))).Role?.RoleName).toBe("Billing");
    await expectAwsError(
      readOnly.send(
        new PutRolePolicyCommand({ RoleName: "Billing", PolicyName: "Escalate", PolicyDocument: allow("*") }),
      ),
      "AccessDenied",
      403,
      `User: arn:aws:sts::${PROD}:assumed-role/ReadOnly/alice is not authorized to perform: iam:PutRolePolicy on resource: ${workRole(PROD, "Billing")} because no identity-based policy allows the iam:PutRolePolicy action`,
    );
    await expectAwsError(
      readOnly.send(new TagRoleCommand({ RoleName: "Billing", Tags: [{ Key: "a", Value: "b" }] })),
      "AccessDenied",
      403,
    );
    // Nothing was written.
    expect((await spoke.send(new ListRolePoliciesCommand({ RoleName: "Billing" }))).PolicyNames).toEqual([
      "Billing",
    ]);
  });

  it("an explicit Deny wins over AdministratorAccess, at once", async () => {
    const deny = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Deny", Action: "iam:get*", Resource: `arn:aws:iam::${PROD}:role/Bill*` }],
    });
    await spoke.send(
      new PutRolePolicyCommand({ RoleName: "Admin", PolicyName: "DenyBilling", PolicyDocument: deny }),
    );
    const fresh = iam(e, await viaCentral(e, workRole(PROD, "Admin"), "bob"), 1);
    for (const client of [admin, fresh]) {
      await expectAwsError(
        client.send(new GetRoleCommand({ RoleName: "Billing" })),
        "AccessDenied",
        403,
        /on resource: arn:aws:iam::222222222222:role\/Billing with an explicit deny in an identity-based policy$/,
      );
      expect((await client.send(new GetRoleCommand({ RoleName: "ReadOnly" }))).Role?.RoleName).toBe(
        "ReadOnly",
      );
      expect((await client.send(new ListRoleTagsCommand({ RoleName: "Billing" }))).Tags).toEqual([]);
    }
    await spoke.send(new DeleteRolePolicyCommand({ RoleName: "Admin", PolicyName: "DenyBilling" }));
    expect((await fresh.send(new GetRoleCommand({ RoleName: "Billing" }))).Role?.RoleName).toBe("Billing");
  });
});
