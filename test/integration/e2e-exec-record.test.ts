// `gatehouse exec --record`, everything really started (emulator, dev IdP, broker, an agent per person): alice
// records a script of real AWS CLI calls (client-side monitoring) and a JS SDK v3 script (the recording proxy)
// as staging/Developer; the denied calls are listed with their actions; --request-denied makes one request
// holding exactly those actions; after bob approves it the same script runs clean. No secret reaches the output
// or the saved recording.

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIdp } from "../../dev/idp/provider.ts";
import { type Recording, recordingSchema } from "../../shared/recording.ts";
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
const BROWSER = `${process.execPath} ${join(ROOT, "test/support/form-login-browser.mjs")}`;
const ASK = ["--justification", "the deploy script needs these", "--expires", "8h"];
/** Each recorded run starts the AWS CLI four times: seconds each on a loaded machine. */
const SLOW = 90_000;
const V3_SCRIPT = join(ROOT, "test/support/iam-v3-script.mjs");

let system: System | undefined;
let alice: Home;
let bob: Home;
const dir = mkdtempSync(join(tmpdir(), "gatehouse-record-test-"));

function homeFor(s: System, email: string): Home {
  const h = makeHome(s, { tokenStore: "file" });
  h.env.GATEHOUSE_BROWSER = BROWSER;
  h.env.GATEHOUSE_TEST_LOGIN = email;
  return h;
}

/** The task: IAM calls with the real AWS CLI, ListRoles allowed to Developer, ListUsers and GetRole not. */
function cliScript(): string {
  const aws = `${AWS_CLI} --endpoint-url ${system!.emulator.url} --region us-east-1 --output json`;
  return [
    `${aws} iam list-roles > /dev/null`,
    `${aws} iam list-users > /dev/null 2>&1 || echo denied-users`,
    `${aws} iam get-role --role-name DataPipeline > /dev/null 2>&1 || echo denied-role`,
    `${aws} iam list-roles > /dev/null`,
  ].join("\n");
}

/** `gatehouse ARGS…` as `who`, with room for four AWS CLI start-ups on a loaded machine. */
const slowly = (who: Home, ...args: string[]) =>
  run(process.execPath, [GATEHOUSE, ...args], who.env, { timeoutMs: SLOW - 10_000 });

const record = (...args: string[]) =>
  slowly(alice, "exec", "--record", "staging/Developer", ...args, "--", "sh", "-c", cliScript());

/** Every secret the child could have seen: the credentials it was served and the agent's token. */
async function secretsOf(home: Home): Promise<string[]> {
  const r = await run(
    process.execPath,
    [GATEHOUSE, "export", "staging/Developer", "--format", "json"],
    home.env,
  );
  const out: string[] = [];
  if (r.code === 0) {
    const j = JSON.parse(r.stdout) as Record<string, string>;
    for (const v of Object.values(j)) if (typeof v === "string" && v.length >= 16) out.push(v);
  }
  return out;
}

async function myRequests(): Promise<PermissionRequest[]> {
  const r = await gatehouse(alice, "request", "list", "--json");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as PermissionRequest[];
}

const actionsOf = (req: PermissionRequest) =>
  (JSON.parse(req.policy!) as { Statement: { Action: string[] }[] }).Statement.flatMap(
    (s) => s.Action,
  ).sort();

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

describe("gatehouse exec --record with the AWS CLI (client-side monitoring)", () => {
  let recording: Recording;

  it(
    "lists the allowed and the denied calls with their actions and AWS's messages",
    async () => {
      const save = join(dir, "cli.json");
      const r = await record("--save", save);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("denied-users");
      expect(r.stdout).toContain("denied-role");
      expect(r.stderr).toMatch(/Recorded 4 AWS calls as staging\/Developer: 2 allowed, 2 denied/);
      expect(r.stderr).toMatch(/^IAM:ListRoles\s+iam:ListRoles\s+2$/m);
      expect(r.stderr).toMatch(/^IAM:ListUsers\s+iam:ListUsers\s+1$/m);
      expect(r.stderr).toMatch(/^IAM:GetRole\s+iam:GetRole\s+1$/m);
      expect(r.stderr).toContain("is not authorized to perform: iam:ListUsers");
      expect(r.stderr).toContain("Least-privilege policy for every call:");
      recording = recordingSchema.parse(JSON.parse(readFileSync(save, "utf8")));
      expect(recording.calls.map((c) => `${c.api}:${c.outcome}`)).toEqual([
        "ListRoles:allowed",
        "ListUsers:denied",
        "GetRole:denied",
        "ListRoles:allowed",
      ]);
      expect(recording.calls.every((c) => c.source === "csm" && c.mapping === "dataset")).toBe(true);
      const denied = recording.calls.filter((c) => c.outcome === "denied");
      expect(denied.map((c) => c.errorCode)).toEqual(["AccessDenied", "AccessDenied"]);
      // GetRole's denial names the role: the policy is that narrow.
      expect(recording.policy.Statement).toContainEqual(
        expect.objectContaining({
          Action: ["iam:GetRole"],
          Resource: `arn:aws:iam::${STAGING}:role/DataPipeline`,
        }),
      );
      expect(recording.policy.Statement).toContainEqual(
        expect.objectContaining({ Action: ["iam:ListRoles", "iam:ListUsers"], Resource: "*" }),
      );
    },
    SLOW,
  );

  it(
    "--json prints the recording on stdout; --save-policy writes the whole policy",
    async () => {
      const policyFile = join(dir, "policy.json");
      const r = await record("--json", "--save-policy", policyFile);
      expect(r.code).toBe(0);
      const json = recordingSchema.parse(JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))));
      expect(json.calls).toHaveLength(4);
      const policy = JSON.parse(readFileSync(policyFile, "utf8"));
      expect(policy).toEqual(json.policy);
      expect(policy.Statement.flatMap((s: { Action: string[] }) => s.Action).sort()).toEqual([
        "iam:GetRole",
        "iam:ListRoles",
        "iam:ListUsers",
      ]);
    },
    SLOW,
  );

  it(
    "no access key, secret or session token in the output or the saved recording",
    async () => {
      const save = join(dir, "secrets.json");
      const r = await record("--save", save, "--json");
      const secrets = await secretsOf(alice);
      expect(secrets.length).toBeGreaterThanOrEqual(3);
      const everything = `${r.stdout}\n${r.stderr}\n${readFileSync(save, "utf8")}`;
      for (const s of secrets) expect(everything).not.toContain(s);
      expect(everything).not.toMatch(/ASIA[A-Z0-9]{12,}/);
      expect(everything).not.toMatch(/AccessKey|SessionToken/);
    },
    SLOW,
  );

  it(
    "--request-denied makes ONE request holding exactly the denied actions; after bob approves, the script runs clean",
    async () => {
      const before = (await myRequests()).length;
      const r = await record("--request-denied", ...ASK, "--json");
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))) as Recording & {
        request: PermissionRequest;
      };
      expect(out.request.kind).toBe("inline-policy");
      expect(out.request.targets.map((t) => t.arn)).toEqual([DEVELOPER]);
      expect(actionsOf(out.request)).toEqual(["iam:GetRole", "iam:ListUsers"]);
      expect(await myRequests()).toHaveLength(before + 1);

      const ok = await gatehouse(bob, "request", "approve", out.request.id);
      expect(ok.stderr).toBe("");
      expect(ok.stdout).toContain(`${DEVELOPER}  applied`);

      const again = await record();
      expect(again.code).toBe(0);
      expect(again.stdout).not.toContain("denied");
      expect(again.stderr).toMatch(/Recorded 4 AWS calls as staging\/Developer: 4 allowed, 0 denied/);
      // Nothing denied any more: --request-denied says so and asks for nothing.
      const none = await record("--request-denied", ...ASK);
      expect(none.code).toBe(0);
      expect(none.stderr).toContain("nothing was denied; no request made");
      expect(await myRequests()).toHaveLength(before + 1);
    },
    3 * SLOW,
  );
});

describe("gatehouse exec --record-proxy with the JS SDK v3 (the recording proxy)", () => {
  const proxied = (...args: string[]) =>
    slowly(
      alice,
      "exec",
      "--record-proxy",
      "staging/Developer",
      "--record-upstream",
      system!.emulator.url,
      ...args,
      "--",
      process.execPath,
      V3_SCRIPT,
      "Developer",
    );

  it(
    "reads each call through the proxy: the denied one is listed, its resource filled in from the parameters",
    async () => {
      const save = join(dir, "proxy.json");
      const r = await proxied("--save", save);
      expect(r.stdout).toContain("OK ListRoles");
      // bob approved ListUsers and GetRole on DataPipeline above; GetRole on Developer itself is still denied.
      expect(r.stdout).toContain("DENIED GetRole Developer AccessDenied");
      expect(r.code).toBe(1);
      const rec = recordingSchema.parse(JSON.parse(readFileSync(save, "utf8")));
      expect(rec.calls.map((c) => `${c.source}:${c.service}:${c.api}:${c.outcome}`)).toEqual([
        "proxy:iam:ListRoles:allowed",
        "proxy:iam:ListUsers:allowed",
        "proxy:iam:GetRole:denied",
      ]);
      const getRole = rec.calls[2]!;
      expect(getRole.resources).toEqual([`arn:aws:iam::${STAGING}:role/Developer`]);
      expect(getRole.errorMessage).toContain("is not authorized to perform: iam:GetRole");
      expect(rec.policy.Statement).toContainEqual(
        expect.objectContaining({
          Action: ["iam:GetRole"],
          Resource: `arn:aws:iam::${STAGING}:role/Developer`,
        }),
      );
      const secrets = await secretsOf(alice);
      for (const s of secrets) expect(`${r.stdout}${r.stderr}${readFileSync(save, "utf8")}`).not.toContain(s);
      expect(readFileSync(save, "utf8")).not.toMatch(/PRIVATE KEY|CERTIFICATE/);
    },
    SLOW,
  );

  it(
    "--request-denied through the proxy: one request for GetRole on Developer; approved, the v3 script runs clean",
    async () => {
      const r = await proxied("--request-denied", ...ASK, "--json");
      const out = JSON.parse(r.stdout.slice(r.stdout.indexOf("{\n"))) as Recording & {
        request: PermissionRequest;
      };
      expect(out.request.targets.map((t) => t.arn)).toEqual([DEVELOPER]);
      expect(actionsOf(out.request)).toEqual(["iam:GetRole"]);
      const ok = await gatehouse(bob, "request", "approve", out.request.id);
      expect(ok.stdout).toContain(`${DEVELOPER}  applied`);
      const again = await proxied();
      expect(again.stdout).toContain("OK GetRole Developer");
      expect(again.code).toBe(0);
      expect(again.stderr).toMatch(/3 allowed, 0 denied/);
    },
    2 * SLOW,
  );
});
