// `gatehouse-dev aws` as a real child process: the ready line, SDK calls against it, clean exit on
// SIGTERM, exit code 2 with an error code for bad flags, --state across restarts, and --generate.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import {
  GetRolePolicyCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
  PutRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { assumeRole, CENTRAL, CENTRAL_ROLE, credentialsOf, PROD, spokeRole } from "../support/aws.ts";
import { type Credentials, DEMO_KEY, iam, sts } from "../support/emulator.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/gatehouse-dev.mjs");
const READY =
  /^gatehouse-dev aws listening on (http:\/\/127\.0\.0\.1:\d+) \((\d+) accounts, (\d+) roles, (\d+) users\)$/;

const running = new Set<ChildProcess>();
const tmp = mkdtempSync(join(tmpdir(), "gatehouse-emulator-cli-"));

afterEach(() => {
  // A failed test may leave its emulator running: stop the ones this file started.
  for (const child of running)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  running.clear();
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  url: string;
  counts: { accounts: number; roles: number; users: number };
  stdoutLines: string[];
  stderr: () => string;
}

/** Start the emulator and wait for its one ready line on stdout. */
function start(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [BIN, "aws", "--port", "0", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const stdoutLines: string[] = [];
  return new Promise((resolvePromise, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      stdoutLines.push(line);
      if (stdoutLines.length > 1) return;
      const m = READY.exec(line);
      if (!m) return reject(new Error(`unexpected first line: ${line}`));
      resolvePromise({
        child,
        url: m[1]!,
        counts: { accounts: Number(m[2]), roles: Number(m[3]), users: Number(m[4]) },
        stdoutLines,
        stderr: () => stderr,
      });
    });
    child.once("exit", (code) =>
      reject(new Error(`emulator exited (${code}) before it was ready: ${stderr}`)),
    );
  });
}

function stop(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null) return resolvePromise(child.exitCode);
    child.once("exit", (code) => resolvePromise(code));
    child.kill(signal);
  });
}

/** Run the emulator expecting it to refuse to start. */
function refuse(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, "aws", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => {
    stdout += d;
  });
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  return new Promise((resolvePromise) => {
    child.once("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

async function spokeCredentials(url: string): Promise<Credentials> {
  const e = { url };
  const central = credentialsOf(await assumeRole(e, DEMO_KEY, { RoleArn: CENTRAL_ROLE }));
  return credentialsOf(await assumeRole(e, central, { RoleArn: spokeRole(PROD) }));
}

describe("gatehouse-dev aws as a process", () => {
  it("prints one ready line, serves the SDK, and exits 0 on SIGTERM", async () => {
    const { child, url, counts, stdoutLines, stderr } = await start([]);
    // The demo organisation: central, prod and staging.
    expect(counts).toEqual({ accounts: 3, roles: 8, users: 2 });
    const id = await sts({ url }, DEMO_KEY, 1).send(new GetCallerIdentityCommand({}));
    expect(id.Arn).toBe(`arn:aws:iam::${CENTRAL}:user/gatehouse-broker`);
    expect(await stop(child)).toBe(0);
    expect(stderr()).toContain("stopped on SIGTERM");
    expect(stdoutLines).toHaveLength(1);
    // Nothing listens there any more.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it("exits 0 on SIGINT too", async () => {
    const { child, url } = await start([]);
    expect(await (await fetch(`${url}/healthz`)).text()).toBe("ok");
    expect(await stop(child, "SIGINT")).toBe(0);
  });

  it("bad flags exit 2 with a message that names an error code", async () => {
    const [port, generate, fixture, unknown] = await Promise.all([
      refuse(["--port", "abc"]),
      refuse(["--generate", "foo=1"]),
      refuse(["--fixture", join(tmp, "missing.yaml")]),
      refuse(["--no-such-flag"]),
    ]);
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/--port must be 0-65535; got "abc" \[BAD_ARGUMENT\]/);
    expect(generate.code).toBe(2);
    expect(generate.stderr).toMatch(
      /--generate expects accounts=N,roles=M,users=K\[,ous=J\]; got "foo=1" \[BAD_ARGUMENT\]/,
    );
    expect(fixture.code).toBe(2);
    expect(fixture.stderr).toMatch(/cannot read fixture .*missing\.yaml.* \[BAD_FIXTURE\]/);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/\[BAD_ARGUMENT\]/);
    for (const r of [port, generate, fixture, unknown]) expect(r.stdout).toBe("");
  });

  it("--state keeps IAM changes (and live sessions) across a restart", async () => {
    const state = join(tmp, "state.json");
    const doc = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::kept/*" }],
    });
    const first = await start(["--state", state]);
    const spoke = await spokeCredentials(first.url);
    await iam({ url: first.url }, spoke, 1).send(
      new PutRolePolicyCommand({ RoleName: "Billing", PolicyName: "Kept", PolicyDocument: doc }),
    );
    expect(await stop(first.child)).toBe(0);
    expect(JSON.parse(readFileSync(state, "utf8")).version).toBe(1);

    const second = await start(["--state", state]);
    // The spoke session issued before the restart still signs calls.
    const got = await iam({ url: second.url }, spoke, 1).send(
      new GetRolePolicyCommand({ RoleName: "Billing", PolicyName: "Kept" }),
    );
    expect(decodeURIComponent(got.PolicyDocument!)).toBe(doc);
    // Each change is written when it is made: even a killed emulator keeps it.
    await iam({ url: second.url }, spoke, 1).send(
      new PutRolePolicyCommand({ RoleName: "Billing", PolicyName: "AlsoKept", PolicyDocument: doc }),
    );
    expect(await stop(second.child, "SIGKILL")).toBe(null);

    const third = await start(["--state", state]);
    const policies = await iam({ url: third.url }, await spokeCredentials(third.url), 1).send(
      new ListRolePoliciesCommand({ RoleName: "Billing" }),
    );
    expect(policies.PolicyNames).toEqual(["AlsoKept", "Billing", "Kept"]);
    expect(await stop(third.child)).toBe(0);
  });

  it("--generate builds an organisation of the asked size and prints the counts", async () => {
    const { child, url, counts } = await start(["--generate", "accounts=3,roles=5,users=1"]);
    // The central account (broker user, GatehouseCentral) plus 3 spokes, each with GatehouseSpoke,
    // 5 roles and 1 user.
    expect(counts).toEqual({ accounts: 4, roles: 1 + 3 * 6, users: 1 + 3 });
    const central = credentialsOf(await assumeRole({ url }, DEMO_KEY, { RoleArn: CENTRAL_ROLE }));
    const spoke = credentialsOf(await assumeRole({ url }, central, { RoleArn: spokeRole("200000000001") }));
    const roles = await iam({ url }, spoke, 1).send(new ListRolesCommand({}));
    expect(roles.Roles?.map((r) => r.RoleName)).toEqual([
      "GatehouseSpoke",
      "role-00000",
      "role-00001",
      "role-00002",
      "role-00003",
      "role-00004",
    ]);
    expect(await stop(child)).toBe(0);
  });
});
