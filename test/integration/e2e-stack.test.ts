// `npm start` (`gatehouse-dev stack`) as a person meets it: the stack comes up on free ports, the three
// commands it prints work exactly as printed (the sign-in through its --no-browser URL), a second stack on the
// same ports and directory says it is already running, and Ctrl-C stops everything with exit 0.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, outputs, ROOT, run, sleep, waitFor } from "../support/e2e.ts";

const ALICE_DEVELOPER = "arn:aws:sts::333333333333:assumed-role/Developer/alice@example.com";

let dir: string;
let stack: ChildProcess;
let stackOut = "";
let stackErr = "";
let stackExit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
let ports: { aws: number; idp: number; broker: number };
const running = new Set<ChildProcess>();

/** The person's terminal: HOME in the temporary directory, none of our settings. */
function terminalEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: dir, LANG: "C.UTF-8", AWS_PAGER: "" };
}

function stackArgs(): string[] {
  return [
    join(ROOT, "bin/gatehouse-dev.mjs"),
    "stack",
    "--dir",
    join(dir, "demo"),
    "--aws-port",
    String(ports.aws),
    "--idp-port",
    String(ports.idp),
    "--broker-port",
    String(ports.broker),
    "--auto-login",
    "alice@example.com",
  ];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-stack-"));
  ports = { aws: await freePort(), idp: await freePort(), broker: await freePort() };
  stack = spawn(process.execPath, stackArgs(), {
    cwd: ROOT,
    env: terminalEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(stack);
  stack.stdout!.setEncoding("utf8").on("data", (d: string) => (stackOut += d));
  stack.stderr!.setEncoding("utf8").on("data", (d: string) => (stackErr += d));
  stackExit = new Promise((resolve) => stack.once("exit", (code, signal) => resolve({ code, signal })));
  await waitFor(
    "the stack to come up",
    () => {
      if (stack.exitCode !== null) throw new Error(`the stack exited ${stack.exitCode}:\n${stackErr}`);
      return stackOut.includes("Ctrl-C stops everything.");
    },
    25_000,
  );
});

afterAll(async () => {
  for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** The lines the stack prints under "In another terminal:". */
function printedCommands() {
  const lines = stackOut.split("\n").map((l) => l.trim());
  const start = lines.indexOf("In another terminal:");
  const [exportLine, loginLine, rolesLine, awsLine] = lines.slice(start + 1, start + 5);
  return { exportLine: exportLine!, loginLine: loginLine!, rolesLine: rolesLine!, awsLine: awsLine! };
}

describe("npm start", () => {
  it("says what runs where, and prints three commands to try", () => {
    expect(stackOut).toContain("Gatehouse demo stack is up");
    expect(stackOut).toContain(`http://127.0.0.1:${ports.aws}`);
    expect(stackOut).toContain(`http://127.0.0.1:${ports.idp}`);
    expect(stackOut).toContain(`http://127.0.0.1:${ports.broker}`);
    const c = printedCommands();
    expect(c.exportLine).toMatch(/^export GATEHOUSE_HOME=\S+ AWS_CONFIG_FILE=\S+$/);
    expect(c.loginLine).toMatch(/ login --no-browser /);
    expect(c.rolesLine).toMatch(/ roles /);
    expect(c.awsLine).toMatch(/^aws sts get-caller-identity --profile staging-Developer --endpoint-url /);
  });

  it("the printed commands work as printed: sign in through the URL, list roles, an aws call", async () => {
    const { exportLine, loginLine, rolesLine, awsLine } = printedCommands();
    const bash = (line: string) => ["-c", `${exportLine}\n${line}`];

    // The sign-in waits while the person opens the URL it prints; the follower is their browser.
    const login = spawn("bash", bash(loginLine), {
      cwd: dir,
      env: terminalEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(login);
    let loginOut = "";
    let loginErr = "";
    login.stdout!.setEncoding("utf8").on("data", (d: string) => (loginOut += d));
    login.stderr!.setEncoding("utf8").on("data", (d: string) => (loginErr += d));
    const loginExit = new Promise<number | null>((resolve) => login.once("exit", (code) => resolve(code)));
    await waitFor("the sign-in URL", () => /^\s+http:\/\/\S+$/m.test(loginErr), 15_000);
    const url = /^\s+(http:\/\/\S+)$/m.exec(loginErr)![1]!;
    expect(url.startsWith(`http://127.0.0.1:${ports.idp}/`)).toBe(true);
    const jar = join(dir, "cookies");
    const browser = await run(
      "/usr/bin/curl",
      ["-sSL", "-c", jar, "-b", jar, "-o", "/dev/null", url],
      terminalEnv(),
    );
    expect(browser.code).toBe(0);
    expect(await loginExit).toBe(0);
    outputs.push(loginOut, loginErr);
    expect(loginOut.trim()).toBe("Signed in as alice@example.com (engineers, data)");

    const roles = await run("bash", bash(rolesLine), terminalEnv(), { cwd: dir });
    expect(roles.code).toBe(0);
    expect(roles.stdout).toMatch(/^staging\/Developer\s+333333333333\s/m);

    const aws = await run("bash", bash(awsLine), terminalEnv(), { cwd: dir });
    expect(aws.stderr).toBe("");
    expect(aws.code).toBe(0);
    expect((JSON.parse(aws.stdout) as { Arn: string }).Arn).toBe(ALICE_DEVELOPER);
  });

  it("a second stack on the same ports and directory says one is already running, and exits non-zero", async () => {
    const second = await run(process.execPath, stackArgs(), terminalEnv(), { timeoutMs: 20_000 });
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain("already running");
    // The first one is untouched.
    expect(stack.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${ports.broker}/healthz`)).status).toBe(200);
  });

  it("Ctrl-C (SIGINT) stops every part, exit 0", async () => {
    stack.kill("SIGINT");
    const { code, signal } = await stackExit;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(stackErr).toContain("stopped on SIGINT");
    await sleep(100);
    for (const port of Object.values(ports)) {
      await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    }
  });
});
