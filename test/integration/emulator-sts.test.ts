// STS in the emulator with the official @aws-sdk/client-sts: identities, role chains, AssumeRole's
// validation, trust evaluation, session tags, source identity, and SigV4 checking of every call.

import { CreateRoleCommand, GetRoleCommand, ListRolesCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import {
  assumeRole,
  CENTRAL,
  CENTRAL_ROLE,
  centralCredentials,
  credentialsOf,
  expectAwsError,
  failure,
  PROD,
  STAGING,
  spokeRole,
  viaCentral,
  workRole,
} from "../support/aws.ts";
import { type Credentials, DEMO_KEY, iam, startDemoEmulator, sts } from "../support/emulator.ts";

let e: Emulator;
let central: Credentials;
let prodAdmin: Credentials;

const trust = (principal: string, actions: string[], condition?: unknown) =>
  JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: principal },
        Action: actions,
        ...(condition ? { Condition: condition } : {}),
      },
    ],
  });

beforeAll(async () => {
  e = await startDemoEmulator();
  central = await centralCredentials(e);
  prodAdmin = await viaCentral(e, workRole(PROD, "Admin"), "admin");
  // Roles the demo organisation lacks, made the way an administrator would: with CreateRole.
  const admin = iam(e, prodAdmin);
  const create = (RoleName: string, doc: string) =>
    admin.send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: doc }));
  await create("NoTagSession", trust(CENTRAL_ROLE, ["sts:AssumeRole"]));
  await create(
    "ExternalPartner",
    trust(CENTRAL_ROLE, ["sts:AssumeRole"], { StringEquals: { "sts:ExternalId": "partner-7f3a" } }),
  );
  await create(
    "SourceIdentityHop",
    trust(workRole(PROD, "Admin"), ["sts:AssumeRole", "sts:SetSourceIdentity"]),
  );
  await create("NoSetSourceIdentity", trust(workRole(PROD, "Admin"), ["sts:AssumeRole"]));
});

afterAll(async () => {
  await e?.close();
});

const whoAmI = (c: Credentials) => sts(e, c, 1).send(new GetCallerIdentityCommand({}));

describe("identities and role chains", () => {
  it("GetCallerIdentity names the broker user with its account and user id", async () => {
    const id = await whoAmI(DEMO_KEY);
    expect(id.Arn).toBe(`arn:aws:iam::${CENTRAL}:user/gatehouse-broker`);
    expect(id.Account).toBe(CENTRAL);
    expect(id.UserId).toMatch(/^AIDA[A-Z2-7]{17}$/);
    expect(id.$metadata.httpStatusCode).toBe(200);
    expect(id.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("assumes central, then the spoke and work roles, with AWS's assumed-role ARNs and ids", async () => {
    const toCentral = await assumeRole(e, DEMO_KEY, { RoleArn: CENTRAL_ROLE, RoleSessionName: "broker" });
    expect(toCentral.AssumedRoleUser?.Arn).toBe(
      `arn:aws:sts::${CENTRAL}:assumed-role/GatehouseCentral/broker`,
    );
    expect(toCentral.AssumedRoleUser?.AssumedRoleId).toMatch(/^AROA[A-Z2-7]{17}:broker$/);
    expect(toCentral.Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(toCentral.Credentials?.SessionToken).toBeTruthy();
    const centralCreds = credentialsOf(toCentral);

    const toSpoke = await assumeRole(e, centralCreds, {
      RoleArn: spokeRole(PROD),
      RoleSessionName: "gatehouse",
    });
    expect(toSpoke.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${PROD}:assumed-role/GatehouseSpoke/gatehouse`);
    const spoke = credentialsOf(toSpoke);
    const spokeId = await whoAmI(spoke);
    expect(spokeId.Account).toBe(PROD);
    expect(spokeId.Arn).toBe(toSpoke.AssumedRoleUser?.Arn);
    expect(spokeId.UserId).toBe(toSpoke.AssumedRoleUser?.AssumedRoleId);
    // The AssumedRoleId is the role's unique id (as IAM reports it) and the session name.
    const role = await iam(e, spoke).send(new GetRoleCommand({ RoleName: "GatehouseSpoke" }));
    expect(toSpoke.AssumedRoleUser?.AssumedRoleId).toBe(`${role.Role?.RoleId}:gatehouse`);

    for (const [account, name] of [
      [PROD, "ReadOnly"],
      [PROD, "Admin"],
      [STAGING, "Developer"],
      [STAGING, "DataPipeline"],
    ] as const) {
      const out = await assumeRole(e, centralCreds, {
        RoleArn: workRole(account, name),
        RoleSessionName: "alice@example.com",
      });
      const id = await whoAmI(credentialsOf(out));
      expect(id.Arn).toBe(`arn:aws:sts::${account}:assumed-role/${name}/alice@example.com`);
      expect(id.Account).toBe(account);
    }
  });

  it("issued credentials sign later calls; a tampered session token is refused", async () => {
    const spoke = await viaCentral(e, spokeRole(STAGING));
    const roles = await iam(e, spoke).send(new ListRolesCommand({}));
    expect(roles.Roles?.map((r) => r.RoleName)).toContain("Developer");
    await expectAwsError(
      whoAmI({ ...spoke, sessionToken: `${spoke.sessionToken}x` }),
      "InvalidClientTokenId",
      403,
      "The security token included in the request is invalid.",
    );
    await expectAwsError(
      whoAmI({ accessKeyId: spoke.accessKeyId, secretAccessKey: spoke.secretAccessKey }),
      "InvalidClientTokenId",
      403,
    );
  });

  it("a role whose trust does not name the caller refuses it", async () => {
    const spoke = await viaCentral(e, spokeRole(PROD));
    await expectAwsError(
      assumeRole(e, spoke, { RoleArn: workRole(PROD, "ReadOnly") }),
      "AccessDenied",
      403,
      `User: arn:aws:sts::${PROD}:assumed-role/GatehouseSpoke/alice is not authorized to perform: sts:AssumeRole on resource: ${workRole(PROD, "ReadOnly")}`,
    );
  });

  it("a nonexistent role is refused exactly like an untrusted one", async () => {
    // Billing trusts GatehouseCentral only, so the broker user may not assume it directly.
    const untrusted = await expectAwsError(
      assumeRole(e, DEMO_KEY, { RoleArn: workRole(PROD, "Billing") }),
      "AccessDenied",
      403,
    );
    const missing = await expectAwsError(
      assumeRole(e, DEMO_KEY, { RoleArn: workRole(PROD, "NoSuchRole") }),
      "AccessDenied",
      403,
    );
    const missingAccount = await expectAwsError(
      assumeRole(e, central, { RoleArn: "arn:aws:iam::999999999999:role/Anything" }),
      "AccessDenied",
      403,
    );
    const shape = (err: Error, arn: string) => err.message.replace(arn, "<ROLE>");
    expect(shape(untrusted, workRole(PROD, "Billing"))).toBe(shape(missing, workRole(PROD, "NoSuchRole")));
    expect(shape(missing, workRole(PROD, "NoSuchRole"))).toBe(
      `User: arn:aws:iam::${CENTRAL}:user/gatehouse-broker is not authorized to perform: sts:AssumeRole on resource: <ROLE>`,
    );
    expect(missingAccount.message).toBe(
      `User: arn:aws:sts::${CENTRAL}:assumed-role/GatehouseCentral/central is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::999999999999:role/Anything`,
    );
  });
});

describe("AssumeRole validation", () => {
  it.each([
    [
      "too short",
      "a",
      /at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2/,
    ],
    [
      "too long",
      "s".repeat(65),
      /at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64/,
    ],
    [
      "bad characters",
      "alice smith!",
      /at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern/,
    ],
  ])("RoleSessionName %s → ValidationError", async (_why, name, message) => {
    await expectAwsError(
      assumeRole(e, DEMO_KEY, { RoleArn: CENTRAL_ROLE, RoleSessionName: name }),
      "ValidationError",
      400,
      message,
    );
  });

  it("accepts the edge lengths and every allowed character of RoleSessionName", async () => {
    for (const name of ["ab", "s".repeat(64), "a_b+c=d,e.f@g-h"]) {
      const out = await assumeRole(e, DEMO_KEY, { RoleArn: CENTRAL_ROLE, RoleSessionName: name });
      expect(out.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${CENTRAL}:assumed-role/GatehouseCentral/${name}`);
    }
  });

  it("DurationSeconds below 900 or above 43200 → ValidationError", async () => {
    await expectAwsError(
      assumeRole(e, DEMO_KEY, { RoleArn: CENTRAL_ROLE, DurationSeconds: 899 }),
      "ValidationError",
      400,
      "Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    );
    await expectAwsError(
      assumeRole(e, DEMO_KEY, { RoleArn: CENTRAL_ROLE, DurationSeconds: 43201 }),
      "ValidationError",
      400,
      "Member must have value less than or equal to 43200",
    );
  });

  it("DurationSeconds sets the expiry; above the role's MaxSessionDuration it is refused", async () => {
    const before = Date.now();
    const out = await assumeRole(e, DEMO_KEY, { RoleArn: CENTRAL_ROLE, DurationSeconds: 900 });
    const expires = out.Credentials!.Expiration!.getTime();
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 900_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 900_000);
    // GatehouseCentral keeps the default MaxSessionDuration of one hour.
    await expectAwsError(
      assumeRole(e, DEMO_KEY, { RoleArn: CENTRAL_ROLE, DurationSeconds: 7200 }),
      "ValidationError",
      400,
      "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    );
  });

  it("role chaining is capped at one hour even when the role allows twelve", async () => {
    // prod ReadOnly has MaxSessionDuration 43200, but central → ReadOnly is role chaining.
    await expectAwsError(
      assumeRole(e, central, { RoleArn: workRole(PROD, "ReadOnly"), DurationSeconds: 3601 }),
      "ValidationError",
      400,
      "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    );
    const ok = await assumeRole(e, central, { RoleArn: workRole(PROD, "ReadOnly"), DurationSeconds: 3600 });
    expect(ok.Credentials!.Expiration!.getTime()).toBeLessThanOrEqual(Date.now() + 3600_000);
  });

  it("a malformed RoleArn → ValidationError", async () => {
    await expectAwsError(
      assumeRole(e, central, { RoleArn: "arn:aws:iam::222222222222:user/deploy-bot" }),
      "ValidationError",
      400,
    );
    await expectAwsError(assumeRole(e, central, { RoleArn: "short" }), "ValidationError", 400, "roleArn");
  });
});

describe("source identity", () => {
  it("is returned, carried through role chaining and cannot be changed", async () => {
    const admin = await assumeRole(e, central, {
      RoleArn: workRole(PROD, "Admin"),
      RoleSessionName: "alice",
      SourceIdentity: "alice@example.com",
    });
    expect(admin.SourceIdentity).toBe("alice@example.com");
    const adminCreds = credentialsOf(admin);
    // GetCallerIdentity does not report it.
    const id = await whoAmI(adminCreds);
    expect(id).not.toHaveProperty("SourceIdentity");
    expect(id.Arn).toBe(`arn:aws:sts::${PROD}:assumed-role/Admin/alice`);

    // Not passed again on the next hop, it is still there.
    const hop = await assumeRole(e, adminCreds, { RoleArn: workRole(PROD, "SourceIdentityHop") });
    expect(hop.SourceIdentity).toBe("alice@example.com");
    const sameAgain = await assumeRole(e, adminCreds, {
      RoleArn: workRole(PROD, "SourceIdentityHop"),
      SourceIdentity: "alice@example.com",
    });
    expect(sameAgain.SourceIdentity).toBe("alice@example.com");
    await expectAwsError(
      assumeRole(e, adminCreds, { RoleArn: workRole(PROD, "SourceIdentityHop"), SourceIdentity: "mallory" }),
      "AccessDenied",
      403,
      /source identity cannot be changed/i,
    );
    // Carrying it still needs sts:SetSourceIdentity in the next role's trust.
    await expectAwsError(
      assumeRole(e, adminCreds, { RoleArn: workRole(PROD, "NoSetSourceIdentity") }),
      "AccessDenied",
      403,
      "sts:SetSourceIdentity",
    );
    // Without a source identity the same role can be assumed.
    const plain = await assumeRole(e, prodAdmin, { RoleArn: workRole(PROD, "NoSetSourceIdentity") });
    expect(plain.SourceIdentity).toBeUndefined();
  });

  it("a trust policy without sts:SetSourceIdentity refuses one (GatehouseSpoke)", async () => {
    await expectAwsError(
      assumeRole(e, central, { RoleArn: spokeRole(PROD), SourceIdentity: "alice@example.com" }),
      "AccessDenied",
      403,
      `is not authorized to perform: sts:SetSourceIdentity on resource: ${spokeRole(PROD)}`,
    );
  });

  it("is validated like AWS does", async () => {
    await expectAwsError(
      assumeRole(e, central, { RoleArn: workRole(PROD, "ReadOnly"), SourceIdentity: "a" }),
      "ValidationError",
      400,
      "sourceIdentity",
    );
    await expectAwsError(
      assumeRole(e, central, { RoleArn: workRole(PROD, "ReadOnly"), SourceIdentity: "aws:me" }),
      "ValidationError",
      400,
    );
  });
});

describe("session tags", () => {
  const tagged = () =>
    assumeRole(e, DEMO_KEY, {
      RoleArn: CENTRAL_ROLE,
      RoleSessionName: "tagged",
      Tags: [
        { Key: "team", Value: "platform" },
        { Key: "project", Value: "gatehouse" },
      ],
      TransitiveTagKeys: ["team"],
    });

  it("are accepted with transitive keys and counted in PackedPolicySize", async () => {
    const out = await tagged();
    expect(out.PackedPolicySize).toBeGreaterThan(0);
    expect(out.PackedPolicySize).toBeLessThanOrEqual(100);
  });

  it("a transitive key that is not among the tags is refused", async () => {
    await expectAwsError(
      assumeRole(e, DEMO_KEY, {
        RoleArn: CENTRAL_ROLE,
        Tags: [{ Key: "team", Value: "platform" }],
        TransitiveTagKeys: ["project"],
      }),
      "InvalidParameterValue",
      400,
      "The specified transitive tag key must be included in the requested tags.",
    );
  });

  it("transitive tags carry to the next hop and may not be overridden there", async () => {
    const first = credentialsOf(await tagged());
    await expectAwsError(
      assumeRole(e, first, { RoleArn: workRole(PROD, "ReadOnly"), Tags: [{ Key: "Team", Value: "other" }] }),
      "InvalidParameterValue",
      400,
      /conflict with transitive session tags/,
    );
    // A non-transitive key from the first hop may be set again.
    const ok = await assumeRole(e, first, {
      RoleArn: workRole(PROD, "ReadOnly"),
      Tags: [{ Key: "project", Value: "other" }],
    });
    expect(ok.PackedPolicySize).toBeGreaterThan(0);
    // The carried tag needs sts:TagSession in the next role's trust even when no tags are passed.
    await expectAwsError(
      assumeRole(e, first, { RoleArn: workRole(PROD, "NoTagSession") }),
      "AccessDenied",
      403,
      "sts:TagSession",
    );
  });

  it("a trust policy without sts:TagSession refuses tags", async () => {
    await expectAwsError(
      assumeRole(e, central, {
        RoleArn: workRole(PROD, "NoTagSession"),
        Tags: [{ Key: "team", Value: "x" }],
      }),
      "AccessDenied",
      403,
      `User: arn:aws:sts::${CENTRAL}:assumed-role/GatehouseCentral/central is not authorized to perform: sts:TagSession on resource: ${workRole(PROD, "NoTagSession")}`,
    );
    const untagged = await assumeRole(e, central, { RoleArn: workRole(PROD, "NoTagSession") });
    expect(untagged.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${PROD}:assumed-role/NoTagSession/test-session`);
    expect(untagged.PackedPolicySize).toBeUndefined();
  });

  it("invalid tags are refused", async () => {
    await expectAwsError(
      assumeRole(e, DEMO_KEY, { RoleArn: CENTRAL_ROLE, Tags: [{ Key: "bad#key", Value: "x" }] }),
      "ValidationError",
      400,
      "tags.1.member.key",
    );
    // The aws: prefix is reserved for AWS's own tags.
    const reserved = await failure(
      assumeRole(e, DEMO_KEY, { RoleArn: CENTRAL_ROLE, Tags: [{ Key: "aws:team", Value: "x" }] }),
    );
    expect(reserved.$metadata).toMatchObject({ httpStatusCode: 400 });
    expect(reserved.message).toMatch(/aws:/);
  });
});

describe("ExternalId and session policies", () => {
  it("a trust condition on sts:ExternalId needs the right ExternalId", async () => {
    const arn = workRole(PROD, "ExternalPartner");
    await expectAwsError(assumeRole(e, central, { RoleArn: arn }), "AccessDenied", 403, "sts:AssumeRole");
    await expectAwsError(
      assumeRole(e, central, { RoleArn: arn, ExternalId: "partner-0000" }),
      "AccessDenied",
      403,
    );
    const ok = await assumeRole(e, central, { RoleArn: arn, ExternalId: "partner-7f3a" });
    expect(ok.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${PROD}:assumed-role/ExternalPartner/test-session`);
  });

  it("a session policy is accepted and narrows what the session may do", async () => {
    const Policy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "iam:GetRole", Resource: "*" }],
    });
    const out = await assumeRole(e, central, { RoleArn: workRole(PROD, "Admin"), Policy });
    expect(out.PackedPolicySize).toBeGreaterThan(0);
    const narrowed = iam(e, credentialsOf(out), 1);
    const role = await narrowed.send(new GetRoleCommand({ RoleName: "Billing" }));
    expect(role.Role?.Arn).toBe(workRole(PROD, "Billing"));
    await expectAwsError(narrowed.send(new ListRolesCommand({})), "AccessDenied", 403, "iam:ListRoles");
    // The same role without a session policy may list roles.
    const full = await iam(e, prodAdmin).send(new ListRolesCommand({}));
    expect(full.Roles?.length).toBeGreaterThan(0);
  });

  it("a malformed session policy → MalformedPolicyDocument", async () => {
    await expectAwsError(
      assumeRole(e, central, { RoleArn: workRole(PROD, "Admin"), Policy: "{not json" }),
      "MalformedPolicyDocument",
      400,
    );
  });
});

describe("SigV4 checking", () => {
  it("expired temporary credentials → ExpiredToken", async () => {
    const creds = await viaCentral(e, workRole(PROD, "ReadOnly"));
    expect((await whoAmI(creds)).Account).toBe(PROD);
    const res = await fetch(`${e.url}/__admin/expire-session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ accessKeyId: creds.accessKeyId }),
    });
    expect(res.status).toBe(200);
    await expectAwsError(
      whoAmI(creds),
      "ExpiredToken",
      403,
      "The security token included in the request is expired",
    );
    await expectAwsError(iam(e, creds, 1).send(new ListRolesCommand({})), "ExpiredToken", 403);
  });

  it("an unknown access key → InvalidClientTokenId", async () => {
    await expectAwsError(
      whoAmI({ accessKeyId: "AKIAUNKNOWNKEY000000", secretAccessKey: "whatever-secret" }),
      "InvalidClientTokenId",
      403,
      "The security token included in the request is invalid.",
    );
  });

  it("a wrong secret → SignatureDoesNotMatch", async () => {
    await expectAwsError(
      whoAmI({ accessKeyId: DEMO_KEY.accessKeyId, secretAccessKey: "not-the-secret" }),
      "SignatureDoesNotMatch",
      403,
      "The request signature we calculated does not match the signature you provided.",
    );
  });

  const skewed = (minutes: number) =>
    new STSClient({
      endpoint: e.url,
      region: "us-east-1",
      credentials: DEMO_KEY,
      maxAttempts: 1,
      retryMode: "standard",
      systemClockOffset: minutes * 60 * 1000,
    }).send(new GetCallerIdentityCommand({}));

  it("a clock more than 5 minutes behind → SignatureDoesNotMatch: Signature expired", async () => {
    await expectAwsError(
      skewed(-10),
      "SignatureDoesNotMatch",
      403,
      /^Signature expired: \d{8}T\d{6}Z is now earlier than/,
    );
  });

  it("a clock more than 5 minutes ahead → SignatureDoesNotMatch: Signature not yet current", async () => {
    await expectAwsError(
      skewed(10),
      "SignatureDoesNotMatch",
      403,
      /^Signature not yet current: \d{8}T\d{6}Z is still later than/,
    );
  });

  it("a skew within 5 minutes is accepted", async () => {
    expect((await skewed(-4)).Account).toBe(CENTRAL);
    expect((await skewed(4)).Account).toBe(CENTRAL);
  });

  it("the server's Date header lets the SDK correct its clock for the next call", async () => {
    const client = new STSClient({
      endpoint: e.url,
      region: "us-east-1",
      credentials: DEMO_KEY,
      maxAttempts: 1,
      retryMode: "standard",
      systemClockOffset: -10 * 60 * 1000,
    });
    await expectAwsError(client.send(new GetCallerIdentityCommand({})), "SignatureDoesNotMatch", 403);
    expect(Math.abs(client.config.systemClockOffset ?? Number.NaN)).toBeLessThan(60_000);
    expect((await client.send(new GetCallerIdentityCommand({}))).Account).toBe(CENTRAL);
  });
});
