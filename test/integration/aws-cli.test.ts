// The real AWS CLI v2 (/usr/bin/aws) against the emulator: static keys with --endpoint-url, and
// assume-role profiles (role_arn + source_profile), which reach STS through the emulator's HTTPS proxy.

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enableHttpsProxy } from "../../dev/aws/https-proxy.ts";
import type { Emulator } from "../../dev/aws/server.ts";
import { startDemoEmulator } from "../support/emulator.ts";

const AWS = "/usr/bin/aws";
const run = promisify(execFile);

let emulator: Emulator;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  emulator = await startDemoEmulator();
  dir = mkdtempSync(join(tmpdir(), "gatehouse-cli-"));
  const ca = await enableHttpsProxy(emulator.server, join(dir, "ca"));
  writeFileSync(
    join(dir, "config"),
    `[profile broker]
region = us-east-1

[profile central]
role_arn = arn:aws:iam::111111111111:role/GatehouseCentral
source_profile = broker
region = us-east-1

[profile prod-spoke]
role_arn = arn:aws:iam::222222222222:role/GatehouseSpoke
source_profile = central
role_session_name = cli-test
region = us-east-1

[profile prod-readonly]
role_arn = arn:aws:iam::222222222222:role/ReadOnly
source_profile = central
region = us-east-1

[profile staging-poweruser]
role_arn = arn:aws:iam::333333333333:role/Developer
source_profile = central
region = us-east-1

[profile chained-too-long]
role_arn = arn:aws:iam::222222222222:role/ReadOnly
source_profile = central
duration_seconds = 7200
region = us-east-1

[profile billing-direct]
role_arn = arn:aws:iam::222222222222:role/Billing
source_profile = broker
region = us-east-1
`,
  );
  writeFileSync(
    join(dir, "credentials"),
    "[broker]\naws_access_key_id = AKIAGATEHOUSEDEMO001\naws_secret_access_key = gatehouse-demo-secret\n",
  );
  env = {
    PATH: process.env.PATH,
    HOME: dir,
    AWS_CONFIG_FILE: join(dir, "config"),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, "credentials"),
    AWS_PAGER: "",
    AWS_EC2_METADATA_DISABLED: "true",
    HTTPS_PROXY: emulator.url,
    AWS_CA_BUNDLE: ca,
  };
});

afterAll(async () => {
  await emulator?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function aws(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await run(AWS, [...args, "--output", "json"], {
      env: { ...env, ...extraEnv },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

async function awsJson(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const r = await aws(args, extraEnv);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe("static keys with --endpoint-url", () => {
  it("GetCallerIdentity from environment keys", async () => {
    const out = await awsJson(["--endpoint-url", emulator.url, "sts", "get-caller-identity"], {
      AWS_ACCESS_KEY_ID: "AKIAGATEHOUSEDEMO001",
      AWS_SECRET_ACCESS_KEY: "gatehouse-demo-secret",
      AWS_DEFAULT_REGION: "us-east-1",
    });
    expect(out).toEqual({
      UserId: expect.stringMatching(/^AIDA[A-Z2-7]{17}$/),
      Account: "111111111111",
      Arn: "arn:aws:iam::111111111111:user/gatehouse-broker",
    });
  });

  it("AssumeRole from a static-keys profile, and AWS's error for a wrong secret", async () => {
    const out = await awsJson([
      "--endpoint-url",
      emulator.url,
      "--profile",
      "broker",
      "sts",
      "assume-role",
      "--role-arn",
      "arn:aws:iam::111111111111:role/GatehouseCentral",
      "--role-session-name",
      "cli-session",
    ]);
    const creds = out.Credentials as Record<string, string>;
    expect(creds.AccessKeyId).toMatch(/^ASIA/);
    expect(Date.parse(creds.Expiration!)).toBeGreaterThan(Date.now() + 3000_000);
    expect((out.AssumedRoleUser as Record<string, string>).Arn).toBe(
      "arn:aws:sts::111111111111:assumed-role/GatehouseCentral/cli-session",
    );

    const bad = await aws(["--endpoint-url", emulator.url, "sts", "get-caller-identity"], {
      AWS_ACCESS_KEY_ID: "AKIAGATEHOUSEDEMO001",
      AWS_SECRET_ACCESS_KEY: "not-the-secret",
      AWS_DEFAULT_REGION: "us-east-1",
    });
    expect(bad.code).toBe(254);
    expect(bad.stderr).toContain("(SignatureDoesNotMatch)");

    const unknown = await aws(["--endpoint-url", emulator.url, "sts", "get-caller-identity"], {
      AWS_ACCESS_KEY_ID: "AKIANOSUCHKEY0000000",
      AWS_SECRET_ACCESS_KEY: "whatever-secret",
      AWS_DEFAULT_REGION: "us-east-1",
    });
    expect(unknown.code).toBe(254);
    expect(unknown.stderr).toContain("(InvalidClientTokenId)");
  });

  it("an IAM call the user's policies do not allow is AccessDenied", async () => {
    const r = await aws(["--endpoint-url", emulator.url, "--profile", "broker", "iam", "list-roles"]);
    expect(r.code).toBe(254);
    expect(r.stderr).toMatch(
      /\(AccessDenied\) when calling the ListRoles operation: User: arn:aws:iam::111111111111:user\/gatehouse-broker is not authorized to perform: iam:ListRoles/,
    );
  });
});

describe("assume-role profiles (role_arn + source_profile)", () => {
  it("chains broker → central → spoke and shows the assumed-role identity", async () => {
    const out = await awsJson(["--profile", "prod-spoke", "sts", "get-caller-identity"]);
    expect(out.Account).toBe("222222222222");
    expect(out.Arn).toBe("arn:aws:sts::222222222222:assumed-role/GatehouseSpoke/cli-test");
    expect(out.UserId).toMatch(/^AROA[A-Z2-7]{17}:cli-test$/);
  });

  it("reads roles, tags and inline policies through the spoke role", async () => {
    const roles = await awsJson(["--profile", "prod-spoke", "iam", "list-roles"]);
    expect((roles.Roles as { RoleName: string }[]).map((r) => r.RoleName)).toEqual([
      "Admin",
      "Billing",
      "GatehouseSpoke",
      "ReadOnly",
    ]);
    const details = await awsJson([
      "--profile",
      "prod-spoke",
      "iam",
      "get-account-authorization-details",
      "--filter",
      "Role",
      "User",
      "--page-size",
      "2",
    ]);
    const roleList = details.RoleDetailList as {
      RoleName: string;
      Tags?: { Key: string; Value: string }[];
    }[];
    expect(roleList.map((r) => r.RoleName)).toEqual(["Admin", "Billing", "GatehouseSpoke", "ReadOnly"]);
    expect(roleList.find((r) => r.RoleName === "ReadOnly")?.Tags).toEqual([
      { Key: "gatehouse-authorized", Value: "engineers" },
    ]);
    const users = details.UserDetailList as {
      UserName: string;
      UserPolicyList: { PolicyDocument: unknown }[];
    }[];
    expect(users.map((u) => u.UserName)).toEqual(["deploy-bot"]);
    // The CLI decodes AWS's URL-encoded policy documents into JSON.
    expect(users[0]!.UserPolicyList[0]!.PolicyDocument).toMatchObject({ Version: "2012-10-17" });
  });

  it("tags a role and puts, reads and deletes an inline policy", async () => {
    const p = ["--profile", "prod-spoke", "iam"];
    expect(
      (
        await aws([
          ...p,
          "tag-role",
          "--role-name",
          "Billing",
          "--tags",
          "Key=gatehouse-authorized,Value=finance",
        ])
      ).code,
    ).toBe(0);
    const tags = await awsJson([...p, "list-role-tags", "--role-name", "Billing"]);
    expect(tags.Tags).toEqual([{ Key: "gatehouse-authorized", Value: "finance" }]);

    const doc = {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "s3:ListBucket", Resource: "arn:aws:s3:::reports" }],
    };
    const file = join(dir, "policy.json");
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const put = await aws([
      ...p,
      "put-role-policy",
      "--role-name",
      "Billing",
      "--policy-name",
      "gatehouse-req-1",
      "--policy-document",
      `file://${file}`,
    ]);
    expect(put).toMatchObject({ code: 0, stderr: "" });
    const got = await awsJson([
      ...p,
      "get-role-policy",
      "--role-name",
      "Billing",
      "--policy-name",
      "gatehouse-req-1",
    ]);
    expect(got).toEqual({ RoleName: "Billing", PolicyName: "gatehouse-req-1", PolicyDocument: doc });
    expect(
      (await aws([...p, "delete-role-policy", "--role-name", "Billing", "--policy-name", "gatehouse-req-1"]))
        .code,
    ).toBe(0);
    const gone = await aws([
      ...p,
      "get-role-policy",
      "--role-name",
      "Billing",
      "--policy-name",
      "gatehouse-req-1",
    ]);
    expect(gone.code).toBe(254);
    expect(gone.stderr).toContain(
      "(NoSuchEntity) when calling the GetRolePolicy operation: The role policy with name gatehouse-req-1 cannot be found.",
    );
  });

  it("reports IAM's validation errors as the CLI prints them", async () => {
    const p = ["--profile", "prod-spoke", "iam"];
    const malformed = await aws([
      ...p,
      "put-role-policy",
      "--role-name",
      "Billing",
      "--policy-name",
      "bad",
      "--policy-document",
      '{"Version":"2012-10-17"}',
    ]);
    expect(malformed.code).toBe(254);
    expect(malformed.stderr).toContain("(MalformedPolicyDocument)");
    const missing = await aws([...p, "get-role", "--role-name", "NoSuchRole"]);
    expect(missing.code).toBe(254);
    expect(missing.stderr).toContain(
      "(NoSuchEntity) when calling the GetRole operation: The role with name NoSuchRole cannot be found.",
    );
    const big = "x".repeat(2100);
    const tooBig = await aws([
      ...p,
      "put-user-policy",
      "--user-name",
      "deploy-bot",
      "--policy-name",
      "big",
      "--policy-document",
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Sid: big.slice(0, 10), Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${big}` },
        ],
      }),
    ]);
    expect(tooBig.code).toBe(254);
    expect(tooBig.stderr).toContain("(LimitExceeded)");
  });

  it("a read-only work role may read but not change IAM", async () => {
    const me = await awsJson(["--profile", "prod-readonly", "sts", "get-caller-identity"]);
    expect(me.Arn).toMatch(/^arn:aws:sts::222222222222:assumed-role\/ReadOnly\//);
    expect((await aws(["--profile", "prod-readonly", "iam", "get-role", "--role-name", "Admin"])).code).toBe(
      0,
    );
    const denied = await aws([
      "--profile",
      "prod-readonly",
      "iam",
      "tag-role",
      "--role-name",
      "Admin",
      "--tags",
      "Key=a,Value=b",
    ]);
    expect(denied.code).toBe(254);
    expect(denied.stderr).toContain("(AccessDenied) when calling the TagRole operation");
  });

  it("a PowerUserAccess session may list roles (the policy's second statement) but not create users", async () => {
    // The real document's second statement allows iam:ListRoles among a few IAM actions; a copy of
    // only its first (NotAction iam:*) statement wrongly denied it.
    const roles = await awsJson(["--profile", "staging-poweruser", "iam", "list-roles"]);
    expect((roles.Roles as { RoleName: string }[]).map((r) => r.RoleName)).toContain("Developer");
    const denied = await aws([
      "--profile",
      "staging-poweruser",
      "iam",
      "create-user",
      "--user-name",
      "mallory",
    ]);
    expect(denied.code).toBe(254);
    expect(denied.stderr).toContain("(AccessDenied) when calling the CreateUser operation");
  });

  it("role chaining is capped at one hour, and an untrusted role is refused", async () => {
    const chained = await aws(["--profile", "chained-too-long", "sts", "get-caller-identity"]);
    expect(chained.code).not.toBe(0);
    expect(chained.stderr).toContain(
      "(ValidationError) when calling the AssumeRole operation: The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    );
    const direct = await aws(["--profile", "billing-direct", "sts", "get-caller-identity"]);
    expect(direct.code).not.toBe(0);
    expect(direct.stderr).toContain(
      "(AccessDenied) when calling the AssumeRole operation: User: arn:aws:iam::111111111111:user/gatehouse-broker is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/Billing",
    );
  });
});
