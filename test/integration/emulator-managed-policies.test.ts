// AWS-managed policies in the emulator are the real documents from the pinned dataset: sessions of roles
// holding PowerUserAccess, AdministratorAccess, ReadOnlyAccess and IAMReadOnlyAccess may do what those
// documents say, and any AWS-managed policy in the dataset can be attached by ARN.

import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteRolePolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  type IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolesCommand,
  PutRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsManagedPolicy, awsManagedPolicyArns } from "../../dev/aws/managed-policies.ts";
import type { Emulator } from "../../dev/aws/server.ts";
import { CENTRAL, expectAwsError, PROD, STAGING, viaCentral, workRole } from "../support/aws.ts";
import { iam, startDemoEmulator } from "../support/emulator.ts";

let e: Emulator;
let powerUser: IAMClient;
let admin: IAMClient;
let readOnly: IAMClient;

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

beforeAll(async () => {
  e = await startDemoEmulator();
  powerUser = iam(e, await viaCentral(e, workRole(STAGING, "Developer"), "alice"), 1);
  admin = iam(e, await viaCentral(e, workRole(PROD, "Admin"), "admin"), 1);
  readOnly = iam(e, await viaCentral(e, workRole(PROD, "ReadOnly"), "reader"), 1);
});
afterAll(async () => {
  await e?.close();
});

describe("the dataset", () => {
  it("holds the real documents: PowerUserAccess has its second statement with iam:ListRoles", () => {
    expect(awsManagedPolicyArns().length).toBeGreaterThan(1000);
    const pu = JSON.parse(awsManagedPolicy("arn:aws:iam::aws:policy/PowerUserAccess")!.document);
    expect(pu.Statement).toHaveLength(2);
    expect(pu.Statement[1].Action).toContain("iam:ListRoles");
    expect(awsManagedPolicy("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")?.path).toBe(
      "/service-role/",
    );
    expect(awsManagedPolicy("arn:aws:iam::aws:policy/NotARealPolicy")).toBeUndefined();
  });
});

describe("sessions behave as the real documents say", () => {
  it("PowerUserAccess may call iam:ListRoles but not iam:CreateUser or iam:CreateRole", async () => {
    const roles = await powerUser.send(new ListRolesCommand({}));
    expect(roles.Roles?.map((r) => r.RoleName)).toContain("Developer");
    await expectAwsError(
      powerUser.send(new CreateUserCommand({ UserName: "mallory" })),
      "AccessDenied",
      403,
      /iam:CreateUser/,
    );
    await expectAwsError(
      powerUser.send(new CreateRoleCommand({ RoleName: "Escalate", AssumeRolePolicyDocument: trustCentral })),
      "AccessDenied",
      403,
    );
  });

  it("AdministratorAccess may create a user", async () => {
    const out = await admin.send(new CreateUserCommand({ UserName: "created-by-admin" }));
    expect(out.User?.Arn).toBe(`arn:aws:iam::${PROD}:user/created-by-admin`);
    await expectAwsError(
      admin.send(new CreateUserCommand({ UserName: "created-by-admin" })),
      "EntityAlreadyExists",
      409,
    );
  });

  it("ReadOnlyAccess may read IAM but neither create users nor write policies", async () => {
    await readOnly.send(new ListRolesCommand({}));
    await readOnly.send(new GetRoleCommand({ RoleName: "Admin" }));
    await expectAwsError(readOnly.send(new CreateUserCommand({ UserName: "x" })), "AccessDenied", 403);
    await expectAwsError(
      readOnly.send(
        new PutRolePolicyCommand({
          RoleName: "ReadOnly",
          PolicyName: "more",
          PolicyDocument: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
          }),
        }),
      ),
      "AccessDenied",
      403,
    );
  });

  it("IAMReadOnlyAccess, attached by ARN, may read IAM and nothing more", async () => {
    await admin.send(
      new CreateRoleCommand({ RoleName: "IamReader", AssumeRolePolicyDocument: trustCentral }),
    );
    await admin.send(
      new AttachRolePolicyCommand({
        RoleName: "IamReader",
        PolicyArn: "arn:aws:iam::aws:policy/IAMReadOnlyAccess",
      }),
    );
    const reader = iam(e, await viaCentral(e, workRole(PROD, "IamReader"), "iam-reader"), 1);
    await reader.send(new GetRoleCommand({ RoleName: "Admin" }));
    await reader.send(new ListAttachedRolePoliciesCommand({ RoleName: "IamReader" }));
    await expectAwsError(reader.send(new CreateUserCommand({ UserName: "y" })), "AccessDenied", 403);
    await expectAwsError(
      reader.send(new DeleteRolePolicyCommand({ RoleName: "Admin", PolicyName: "x" })),
      "AccessDenied",
      403,
    );
  });
});

describe("attaching AWS-managed policies by ARN", () => {
  it("any policy in the dataset attaches (paths included); one that is not there is NoSuchEntity", async () => {
    const msk = "arn:aws:iam::aws:policy/AmazonMSKReadOnlyAccess";
    const lambda = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";
    await admin.send(new AttachRolePolicyCommand({ RoleName: "Billing", PolicyArn: msk }));
    await admin.send(new AttachRolePolicyCommand({ RoleName: "Billing", PolicyArn: lambda }));
    const attached = await admin.send(new ListAttachedRolePoliciesCommand({ RoleName: "Billing" }));
    expect(attached.AttachedPolicies).toEqual([
      { PolicyName: "AmazonMSKReadOnlyAccess", PolicyArn: msk },
      { PolicyName: "AWSLambdaBasicExecutionRole", PolicyArn: lambda },
    ]);
    const missing = "arn:aws:iam::aws:policy/AmazonMSKReadOnlyAccessButFake";
    await expectAwsError(
      admin.send(new AttachRolePolicyCommand({ RoleName: "Billing", PolicyArn: missing })),
      "NoSuchEntity",
      404,
      `Policy ${missing} does not exist or is not attachable.`,
    );
  });

  it("hostile ARNs (prototype names, another partition, wildcards) are refused without a crash", async () => {
    for (const arn of [
      "arn:aws:iam::aws:policy/__proto__",
      "arn:aws:iam::aws:policy/constructor",
      `arn:aws:iam::${PROD}:policy/__proto__`,
    ]) {
      await expectAwsError(
        admin.send(new AttachRolePolicyCommand({ RoleName: "Billing", PolicyArn: arn })),
        "NoSuchEntity",
        404,
      );
    }
    for (const arn of [
      "arn:aws-cn:iam::aws:policy/ReadOnlyAccess",
      "arn:aws:iam::aws:policy/*",
      "ReadOnlyAccess",
    ]) {
      await expectAwsError(
        admin.send(new AttachRolePolicyCommand({ RoleName: "Billing", PolicyArn: arn })),
        arn.length < 20 ? "ValidationError" : "InvalidInput",
        400,
      );
    }
  });

  it("GetPolicy and GetPolicyVersion report the dataset's default version and document", async () => {
    const arn = "arn:aws:iam::aws:policy/PowerUserAccess";
    const policy = (await admin.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy!;
    expect(policy.DefaultVersionId).toMatch(/^v\d+$/);
    const version = await admin.send(
      new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: policy.DefaultVersionId }),
    );
    const doc = JSON.parse(decodeURIComponent(version.PolicyVersion!.Document!));
    expect(doc).toEqual(JSON.parse(awsManagedPolicy(arn)!.document));
    await expectAwsError(
      admin.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: "v999" })),
      "NoSuchEntity",
      404,
    );
  });
});
