// Condition keys of session credentials in the emulator, as AWS evaluates them: aws:SourceIdentity,
// aws:TokenIssueTime (with DateLessThan / DateGreaterThan) and aws:PrincipalTag/* — what a per-person
// "revoke sessions issued before T" deny policy relies on.

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  DeleteRolePolicyCommand,
  type IAMClient,
  ListRolesCommand,
  PutRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import {
  assumeRole,
  centralCredentials,
  credentialsOf,
  expectAwsError,
  STAGING,
  spokeRole,
  viaCentral,
  workRole,
} from "../support/aws.ts";
import { type Credentials, iam, startDemoEmulator } from "../support/emulator.ts";

const run = promisify(execFile);
let e: Emulator;
let spoke: IAMClient;
let central: Credentials;
const DEVELOPER = workRole(STAGING, "Developer");

/** A Developer session in staging, as the broker issues it: the person's e-mail as source identity. */
async function developerSession(
  email: string,
  tags: { Key: string; Value: string }[] = [],
): Promise<IAMClient> {
  return iam(e, await developerCredentials(email, tags), 1);
}

async function developerCredentials(
  email: string,
  tags: { Key: string; Value: string }[] = [],
): Promise<Credentials> {
  const out = await assumeRole(e, central, {
    RoleArn: DEVELOPER,
    RoleSessionName: email.replace("@", "_"),
    SourceIdentity: email,
    ...(tags.length > 0 ? { Tags: tags } : {}),
  });
  expect(out.SourceIdentity).toBe(email);
  return credentialsOf(out);
}

const denyAll = (condition: Record<string, Record<string, string>>) =>
  JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Sid: "Revoke", Effect: "Deny", Action: "*", Resource: "*", Condition: condition }],
  });

/** Wait until the wall clock has passed the next whole second, and return that second (epoch ms). */
async function nextSecond(): Promise<number> {
  const t = (Math.floor(Date.now() / 1000) + 1) * 1000;
  await new Promise((r) => setTimeout(r, t - Date.now() + 20));
  return t;
}
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

beforeAll(async () => {
  e = await startDemoEmulator();
  central = await centralCredentials(e);
  spoke = iam(e, await viaCentral(e, spokeRole(STAGING), "gatehouse"), 1);
});
afterAll(async () => {
  await e?.close();
});
afterEach(async () => {
  await spoke
    .send(new DeleteRolePolicyCommand({ RoleName: "Developer", PolicyName: "GatehouseRevoke" }))
    .catch(() => {});
});

describe("aws:SourceIdentity and aws:TokenIssueTime", () => {
  it("a deny for alice's sessions issued before T stops those only; dave's and her later ones keep working", async () => {
    const aliceBefore = await developerSession("alice@example.com");
    const dave = await developerSession("dave@example.com");
    await aliceBefore.send(new ListRolesCommand({}));
    const revokedAt = await nextSecond();
    const aliceAfter = await developerSession("alice@example.com");
    await spoke.send(
      new PutRolePolicyCommand({
        RoleName: "Developer",
        PolicyName: "GatehouseRevoke",
        PolicyDocument: denyAll({
          StringEquals: { "aws:SourceIdentity": "alice@example.com" },
          DateLessThan: { "aws:TokenIssueTime": iso(revokedAt) },
        }),
      }),
    );
    await expectAwsError(
      aliceBefore.send(new ListRolesCommand({})),
      "AccessDenied",
      403,
      /iam:ListRoles .*explicit deny/,
    );
    expect((await dave.send(new ListRolesCommand({}))).Roles?.length).toBeGreaterThan(0);
    expect((await aliceAfter.send(new ListRolesCommand({}))).Roles?.length).toBeGreaterThan(0);

    // Taking the policy away lets her older session work again (it was a deny, not a revocation).
    await spoke.send(new DeleteRolePolicyCommand({ RoleName: "Developer", PolicyName: "GatehouseRevoke" }));
    await aliceBefore.send(new ListRolesCommand({}));
  });

  it("DateGreaterThan on aws:TokenIssueTime, with T as epoch seconds, stops only sessions issued after T", async () => {
    const before = await developerSession("alice@example.com");
    const t = await nextSecond();
    const after = await developerSession("alice@example.com");
    await spoke.send(
      new PutRolePolicyCommand({
        RoleName: "Developer",
        PolicyName: "GatehouseRevoke",
        PolicyDocument: denyAll({ DateGreaterThanEquals: { "aws:TokenIssueTime": String(t / 1000) } }),
      }),
    );
    await before.send(new ListRolesCommand({}));
    await expectAwsError(after.send(new ListRolesCommand({})), "AccessDenied", 403);
  });

  it("a hostile source identity that only looks like alice's is not matched by StringEquals", async () => {
    const lookalike = await developerSession("Alice@example.com");
    await spoke.send(
      new PutRolePolicyCommand({
        RoleName: "Developer",
        PolicyName: "GatehouseRevoke",
        PolicyDocument: denyAll({ StringEquals: { "aws:SourceIdentity": "alice@example.com" } }),
      }),
    );
    await lookalike.send(new ListRolesCommand({}));
  });
});

describe("through the real aws CLI", () => {
  it("alice's session issued before T gets AccessDenied from `aws iam list-roles`; dave's lists roles", async () => {
    const alice = await developerCredentials("alice@example.com");
    const dave = await developerCredentials("dave@example.com");
    const revokedAt = await nextSecond();
    await spoke.send(
      new PutRolePolicyCommand({
        RoleName: "Developer",
        PolicyName: "GatehouseRevoke",
        PolicyDocument: denyAll({
          StringEquals: { "aws:SourceIdentity": "alice@example.com" },
          DateLessThan: { "aws:TokenIssueTime": iso(revokedAt) },
        }),
      }),
    );
    const cli = (c: Credentials) =>
      run("/usr/bin/aws", ["iam", "list-roles", "--endpoint-url", e.url, "--output", "json"], {
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: c.accessKeyId,
          AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
          AWS_SESSION_TOKEN: c.sessionToken ?? "",
          AWS_DEFAULT_REGION: "us-east-1",
          AWS_CONFIG_FILE: "/dev/null",
          AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
          AWS_PAGER: "",
        },
      });
    const denied = await cli(alice).then(
      () => undefined,
      (err: { stderr: string; code: number }) => err,
    );
    expect(denied?.code).not.toBe(0);
    expect(denied?.stderr).toMatch(/AccessDenied.*iam:ListRoles/s);
    expect(JSON.parse((await cli(dave)).stdout).Roles.length).toBeGreaterThan(0);
  });
});

describe("aws:PrincipalTag/*", () => {
  it("session tags are principal tags: a deny on team=red stops red sessions, not blue ones", async () => {
    const red = await developerSession("alice@example.com", [{ Key: "team", Value: "red" }]);
    const blue = await developerSession("dave@example.com", [{ Key: "team", Value: "blue" }]);
    await spoke.send(
      new PutRolePolicyCommand({
        RoleName: "Developer",
        PolicyName: "GatehouseRevoke",
        PolicyDocument: denyAll({ StringEquals: { "aws:PrincipalTag/team": "red" } }),
      }),
    );
    await expectAwsError(red.send(new ListRolesCommand({})), "AccessDenied", 403);
    await blue.send(new ListRolesCommand({}));
  });

  it("the role's own tags are principal tags of its sessions too", async () => {
    const s = await developerSession("dave@example.com");
    await spoke.send(
      new PutRolePolicyCommand({
        RoleName: "Developer",
        PolicyName: "GatehouseRevoke",
        PolicyDocument: denyAll({ StringLike: { "aws:PrincipalTag/gatehouse-authorized": "engineers*" } }),
      }),
    );
    await expectAwsError(s.send(new ListRolesCommand({})), "AccessDenied", 403);
  });
});
