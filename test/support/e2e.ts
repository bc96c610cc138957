// End-to-end tests of the `gatehouse` CLI with everything really started: the emulator, the dev IdP with
// auto-login, the broker, and agents as child processes (`node bin/gatehouse.mjs agent`) in temporary homes.
// Every command's output is kept (to look for secrets in it), and every agent is stopped by its pid afterwards.

import { type ChildProcess, spawn } from "node:child_process";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Emulator } from "../../dev/aws/server.ts";
import { type DevIdp, startIdp } from "../../dev/idp/provider.ts";
import type { Settings } from "../../electron/agent/settings.ts";
import { agentRequest } from "../../electron/cli/agent-client.mjs";
import { type StartedBroker, startTestBroker } from "./broker.ts";
import { startDemoEmulator } from "./emulator.ts";

export const ROOT = resolve(import.meta.dirname, "../..");
export const GATEHOUSE = join(ROOT, "bin/gatehouse.cjs");
export const AWS_CLI = "/usr/bin/aws";
const CURL = "/usr/bin/curl";

export interface System {
  emulator: Emulator;
  idp: DevIdp;
  broker: StartedBroker;
  /** Stops the broker (idempotent), e.g. to see what the agent does while it is down. */
  stopBroker(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The emulator with the demo organisation, the dev IdP signing everyone in as alice, and a broker on both.
 * `formLogin`: the IdP shows its login form instead, so several people (homes from formLoginHome) sign in
 * to the one issuer. `prepare` changes the emulator's world before the broker first syncs it.
 */
export async function startSystem(
  opts: { brokerExtra?: string; formLogin?: boolean; prepare?: (emulator: Emulator) => void } = {},
): Promise<System> {
  const emulator = await startDemoEmulator();
  opts.prepare?.(emulator);
  const idp = await startIdp(opts.formLogin ? { port: 0 } : { port: 0, autoLogin: "alice@example.com" });
  const broker = await startTestBroker({
    issuer: idp.issuer,
    awsUrl: emulator.url,
    ...(opts.brokerExtra ? { extra: opts.brokerExtra } : {}),
  });
  let brokerStopped: Promise<void> | undefined;
  const stopBroker = () => {
    brokerStopped ??= broker.stop();
    return brokerStopped;
  };
  return {
    emulator,
    idp,
    broker,
    stopBroker,
    async close() {
      await stopBroker();
      await idp.close();
      await emulator.close();
    },
  };
}

export interface Home {
  /** The temporary directory: HOME of every command, holding the agent's home and the AWS config file. */
  dir: string;
  /** GATEHOUSE_HOME. */
  home: string;
  awsConfig: string;
  socket: string;
  log: string;
  /** The environment of every command run for this home (no credentials of the person running the tests). */
  env: NodeJS.ProcessEnv;
}

const homes: Home[] = [];
const children = new Set<ChildProcess>();
/** stdout and stderr of every command run, to search for secrets. */
export const outputs: string[] = [];

/**
 * A temporary home with its settings.json for this system. The agent's "browser" follows redirects with a
 * cookie jar (outside the home), which completes the IdP's auto-login at the agent's loopback callback.
 */
export function makeHome(
  system: Pick<System, "broker" | "idp">,
  settings: Partial<Settings> = {},
  opts: { homeMode?: number; autostart?: boolean } = {},
): Home {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-e2e-"));
  const home = join(dir, "home");
  mkdirSync(home, { mode: opts.homeMode ?? 0o700 });
  if (opts.homeMode !== undefined) chmodSync(home, opts.homeMode);
  const awsConfig = join(dir, "aws-config");
  writeFileSync(
    join(home, "settings.json"),
    `${JSON.stringify(
      {
        brokerUrl: system.broker.url,
        issuer: system.idp.issuer,
        cliCommand: `node ${GATEHOUSE}`,
        awsConfigFile: awsConfig,
        signInTimeoutSeconds: 20,
        ...settings,
      },
      null,
      2,
    )}\n`,
    { mode: 0o600 },
  );
  const jar = join(dir, "cookies");
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    LANG: "C.UTF-8",
    GATEHOUSE_HOME: home,
    GATEHOUSE_BROWSER: `${CURL} -sSL -c ${jar} -b ${jar} -o /dev/null`,
    AWS_CONFIG_FILE: awsConfig,
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
    AWS_PAGER: "",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    ...(opts.autostart ? {} : { GATEHOUSE_NO_AUTOSTART: "1" }),
  };
  // The keychain (Secret Service) is reached over the test's private D-Bus session.
  for (const k of ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"])
    if (process.env[k]) env[k] = process.env[k];
  const h: Home = {
    dir,
    home,
    awsConfig,
    socket: join(home, "agent.sock"),
    log: join(home, "agent.log"),
    env,
  };
  homes.push(h);
  return h;
}

/** A home whose agent's "browser" fills the dev IdP's login form as `email` (see startSystem's formLogin). */
export function formLoginHome(system: Pick<System, "broker" | "idp">, email: string): Home {
  const h = makeHome(system, { tokenStore: "file" });
  h.env.GATEHOUSE_BROWSER = `${process.execPath} ${join(ROOT, "test/support/form-login-browser.mjs")}`;
  h.env.GATEHOUSE_TEST_LOGIN = email;
  return h;
}

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (killed after timeoutMs) and keeps its output. */
export function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { timeoutMs?: number; cwd?: string; input?: string } = {},
): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      env,
      cwd: opts.cwd ?? ROOT,
      // Standard input only when the test gives some: otherwise a command that reads it would wait forever.
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] as ["pipe", "pipe", "pipe"],
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    children.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      outputs.push(stdout, stderr);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** `gatehouse ARGS…` for this home. */
export function gatehouse(home: Home, ...args: string[]): Promise<Result> {
  return run(process.execPath, [GATEHOUSE, ...args], home.env);
}

/** A loopback port free a moment ago (for servers that must be told their port up front). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The agent's status over its socket, or undefined when none answers. */
export async function agentStatus(home: Home): Promise<{ pid: number; signedIn: boolean } | undefined> {
  try {
    return (await agentRequest("GET", "/v1/status", undefined, home.env)) as {
      pid: number;
      signedIn: boolean;
    };
  } catch {
    return undefined;
  }
}

/**
 * `gatehouse agent` as a child process of the test, its output appended to agent.log in the home as when the
 * CLI starts it. Resolves once it answers on its socket.
 */
export async function startAgent(home: Home, env: NodeJS.ProcessEnv = home.env): Promise<ChildProcess> {
  const log = openSync(home.log, "a", 0o600);
  const child = spawn(process.execPath, [GATEHOUSE, "agent"], { env, stdio: ["ignore", log, log] });
  closeSync(log);
  children.add(child);
  child.once("exit", () => children.delete(child));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the agent exited (${child.exitCode ?? child.signalCode}):\n${agentLog(home)}`);
    if ((await agentStatus(home))?.pid === child.pid) return child;
    await sleep(50);
  }
  throw new Error(`the agent did not answer in 15 s:\n${agentLog(home)}`);
}

export function agentLog(home: Home): string {
  return existsSync(home.log) ? readFileSync(home.log, "utf8") : "(no agent.log)";
}

/** Whether a process runs (a zombie does not). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

export async function waitFor(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Stops one home's agent (the test's child or one the CLI started): shutdown over the socket, else SIGKILL. */
export async function stopAgent(home: Home): Promise<void> {
  const status = await agentStatus(home);
  if (!status) return;
  await agentRequest("POST", "/v1/shutdown", {}, home.env).catch(() => undefined);
  try {
    await waitFor(`agent ${status.pid} to exit`, () => !alive(status.pid), 5000);
  } catch {
    killAgentPid(status.pid);
  }
}

/** SIGKILL an agent by its pid, once sure the pid is still a gatehouse agent (not a reused number). */
export function killAgentPid(pid: number): void {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    if (cmdline.includes(GATEHOUSE) && cmdline.includes("agent")) process.kill(pid, "SIGKILL");
  } catch {}
}

/** For afterAll: every agent and command still running is stopped, every temporary home removed. */
export async function cleanUp(): Promise<void> {
  for (const h of homes) await stopAgent(h).catch(() => undefined);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  children.clear();
  for (const h of homes.splice(0)) rmSync(h.dir, { recursive: true, force: true });
}

/** The sum of a Prometheus counter's samples whose labels include `labels`. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

export async function brokerCredentialCalls(system: System): Promise<number> {
  return metric(await system.broker.metrics.registry.metrics(), "gatehouse_http_requests_total", {
    route: "/v1/credentials",
    method: "POST",
    status: "200",
  });
}

/** Sessions the emulator has issued for a role (every successful AssumeRole of it makes one). */
export function sessionsOf(system: System, roleName: string): number {
  return [...system.emulator.world.sessions.values()].filter((s) => s.roleName === roleName).length;
}

/** Every file under dir, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => !d.isDirectory())
    .map((d) => join(d.parentPath, d.name));
}

export interface ProcessCredentials {
  Version: number;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
}
