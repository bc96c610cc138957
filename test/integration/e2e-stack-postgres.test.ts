// `npm start -- --postgres` as a person meets it: a private PostgreSQL cluster, two brokers on one database
// and the load balancer on the broker's port. Credentials come through the load balancer from both brokers
// (each reply names its broker, and the stack prints which one served what), the data is in PostgreSQL, the
// agent of the printed commands goes through the load balancer, and Ctrl-C stops everything, the cluster too.

import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInWithForm } from "../../dev/idp/login.ts";
import type { CredentialsResponse } from "../../shared/api.ts";
import { freePort, outputs, ROOT, run, sleep, waitFor } from "../support/e2e.ts";
import { sts } from "../support/emulator.ts";

const ALICE_DEVELOPER = "arn:aws:sts::333333333333:assumed-role/Developer/alice@example.com";

let dir: string;
let stack: ChildProcess;
let stackOut = "";
let stackErr = "";
let stackExit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
let ports: { aws: number; idp: number; broker: number };
const running = new Set<ChildProcess>();

function terminalEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: dir, LANG: "C.UTF-8", AWS_PAGER: "" };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-stack-pg-"));
  ports = { aws: await freePort(), idp: await freePort(), broker: await freePort() };
  stack = spawn(
    process.execPath,
    [
      join(ROOT, "bin/gatehouse-dev.mjs"),
      "stack",
      "--postgres",
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
    ],
    { cwd: ROOT, env: terminalEnv(), stdio: ["ignore", "pipe", "pipe"] },
  );
  running.add(stack);
  stack.stdout!.setEncoding("utf8").on("data", (d: string) => (stackOut += d));
  stack.stderr!.setEncoding("utf8").on("data", (d: string) => (stackErr += d));
  stackExit = new Promise((resolve) => stack.once("exit", (code, signal) => resolve({ code, signal })));
  // initdb and two brokers' migrations and syncs: slower than the SQLite stack on a loaded machine.
  await waitFor(
    "the stack to come up",
    () => {
      if (stack.exitCode !== null) throw new Error(`the stack exited ${stack.exitCode}:\n${stackErr}`);
      return stackOut.includes("Ctrl-C stops everything.");
    },
    90_000,
  );
}, 120_000);

afterAll(async () => {
  for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** What the stack printed about its brokers and its database. */
function printed() {
  const brokers = [...stackOut.matchAll(/^\s+(broker-\d)\s+(http:\/\/127\.0\.0\.1:\d+)\s/gm)].map((m) => ({
    name: m[1]!,
    url: m[2]!,
  }));
  const db = /^\s+PostgreSQL\s+(postgres:\/\/\S+)\s+private cluster in (\S+),/m.exec(stackOut);
  return { brokers, database: db?.[1], dataDir: db?.[2] };
}

const lbUrl = () => `http://127.0.0.1:${ports.broker}`;

describe("npm start -- --postgres", () => {
  it("prints the load balancer on the broker's port, two brokers of their own and the PostgreSQL database", () => {
    expect(stackOut).toContain("Gatehouse demo stack is up");
    expect(stackOut).toMatch(new RegExp(`^\\s+broker\\s+${lbUrl()}\\s+the load balancer`, "m"));
    const { brokers, database, dataDir } = printed();
    expect(brokers.map((b) => b.name)).toEqual(["broker-1", "broker-2"]);
    expect(new Set(brokers.map((b) => b.url)).size).toBe(2);
    expect(brokers.map((b) => b.url)).not.toContain(lbUrl());
    expect(database).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/gatehouse_demo$/);
    expect(database).not.toContain(":5432/");
    expect(existsSync(dataDir!)).toBe(true);
    // The agent is pointed at the load balancer, never at one broker.
    const settings = JSON.parse(readFileSync(join(dir, "demo/home/settings.json"), "utf8")) as {
      brokerUrl: string;
    };
    expect(settings.brokerUrl).toBe(lbUrl());
  });

  it("both brokers hand out working credentials through the load balancer, and the stack says who served what", async () => {
    const { access_token: token } = await signInWithForm(
      `http://127.0.0.1:${ports.idp}`,
      "alice@example.com",
    );
    const servedBy: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${lbUrl()}/v1/credentials`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ role: "staging/Developer" }),
      });
      const text = await r.text();
      expect(r.status, text).toBe(200);
      servedBy.push(r.headers.get("x-gatehouse-backend")!);
      const { accessKeyId, secretAccessKey, sessionToken } = JSON.parse(text) as CredentialsResponse;
      const creds = { accessKeyId, secretAccessKey, sessionToken };
      const who = await sts({ url: `http://127.0.0.1:${ports.aws}` }, creds).send(
        new GetCallerIdentityCommand({}),
      );
      expect(who.Arn).toBe(ALICE_DEVELOPER);
    }
    expect(new Set(servedBy)).toEqual(new Set(["broker-1", "broker-2"]));
    await waitFor(
      "the stack to print both brokers serving credentials",
      () =>
        stackOut.includes("lb: POST /v1/credentials → broker-1 (200)") &&
        stackOut.includes("lb: POST /v1/credentials → broker-2 (200)"),
    );
  });

  it("keeps its data in the PostgreSQL database: roles synced and every issue audited", async () => {
    const client = new pg.Client({ connectionString: printed().database });
    await client.connect();
    try {
      const roles = await client.query<{ n: string }>("SELECT count(*) AS n FROM roles");
      expect(Number(roles.rows[0]!.n)).toBeGreaterThan(0);
      const audit = await client.query<{ n: string }>("SELECT count(*) AS n FROM audit");
      expect(Number(audit.rows[0]!.n)).toBeGreaterThanOrEqual(6);
    } finally {
      await client.end();
    }
  });

  it("the printed commands work through the load balancer: sign in, list roles, an aws call", async () => {
    const lines = stackOut.split("\n").map((l) => l.trim());
    const start = lines.indexOf("In another terminal:");
    const [exportLine, loginLine, rolesLine, awsLine] = lines.slice(start + 1, start + 5) as string[];
    expect(exportLine).toMatch(/^export GATEHOUSE_HOME=\S+ AWS_CONFIG_FILE=\S+$/);
    const bash = (line: string) => ["-c", `${exportLine}\n${line}`];

    // The sign-in prints its URL and waits; curl is the person's browser (the IdP signs alice in).
    const login = spawn("bash", bash(loginLine!), {
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

    const roles = await run("bash", bash(rolesLine!), terminalEnv(), { cwd: dir });
    expect(roles.code).toBe(0);
    expect(roles.stdout).toMatch(/^staging\/Developer\s+333333333333\s/m);
    expect(stackOut).toMatch(/^lb: GET \/v1\/roles → broker-\d \(200\)$/m);

    const aws = await run("bash", bash(awsLine!), terminalEnv(), { cwd: dir });
    expect(aws.stderr).toBe("");
    expect(aws.code).toBe(0);
    expect((JSON.parse(aws.stdout) as { Arn: string }).Arn).toBe(ALICE_DEVELOPER);
  });

  it("without PostgreSQL's binaries it says so with a stable code, exits 2 and leaves nothing listening", async () => {
    const other = { aws: await freePort(), idp: await freePort(), broker: await freePort() };
    const r = await run(
      process.execPath,
      [
        join(ROOT, "bin/gatehouse-dev.mjs"),
        "stack",
        "--postgres",
        "--dir",
        join(dir, "demo-no-pg"),
        "--aws-port",
        String(other.aws),
        "--idp-port",
        String(other.idp),
        "--broker-port",
        String(other.broker),
      ],
      { ...terminalEnv(), GATEHOUSE_PG_BIN: join(dir, "no-postgres-here") },
      { timeoutMs: 30_000 },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^gatehouse-dev stack: .*GATEHOUSE_PG_BIN.* \[POSTGRES_NOT_INSTALLED\]$/m);
    expect(r.stdout).not.toContain("Gatehouse demo stack is up");
    for (const port of Object.values(other))
      await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });

  it("Ctrl-C while it is still starting stops the cluster it started and leaves no folder behind", async () => {
    const other = { aws: await freePort(), idp: await freePort(), broker: await freePort() };
    // Its own TMPDIR, so that the cluster's temporary folder is found (and missed) there only.
    // The cluster's folder is handed to the postgres user, who must be able to walk down to it.
    const tmp = join(dir, "tmp-early");
    mkdirSync(tmp, { mode: 0o711 });
    chmodSync(dir, 0o711);
    const demo = join(dir, "demo-early");
    const early = spawn(
      process.execPath,
      [
        join(ROOT, "bin/gatehouse-dev.mjs"),
        "stack",
        "--postgres",
        "--dir",
        demo,
        "--aws-port",
        String(other.aws),
        "--idp-port",
        String(other.idp),
        "--broker-port",
        String(other.broker),
      ],
      { cwd: ROOT, env: { ...terminalEnv(), TMPDIR: tmp }, stdio: ["ignore", "pipe", "pipe"] },
    );
    running.add(early);
    let err = "";
    early.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
    const exited = new Promise<number | null>((resolve) => early.once("exit", (code) => resolve(code)));
    // broker-1's log is opened once the cluster runs and before the stack is up.
    await waitFor(
      "the first broker to start",
      () => {
        if (early.exitCode !== null) throw new Error(`the stack exited ${early.exitCode}:\n${err}`);
        return existsSync(join(demo, "broker-1.log"));
      },
      60_000,
    );
    expect(readdirSync(tmp).filter((f) => f.startsWith("gh-pg-"))).toHaveLength(1);
    early.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(err).toContain("stopped on SIGINT while starting");
    expect(readdirSync(tmp).filter((f) => f.startsWith("gh-pg-"))).toEqual([]);
  }, 120_000);

  it("Ctrl-C (SIGINT) stops every part, the PostgreSQL cluster too, exit 0", async () => {
    const { brokers, dataDir } = printed();
    stack.kill("SIGINT");
    const { code, signal } = await stackExit;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(stackErr).toContain("stopped on SIGINT");
    await sleep(100);
    for (const url of [lbUrl(), ...brokers.map((b) => b.url), `http://127.0.0.1:${ports.aws}`]) {
      await expect(fetch(`${url}/`)).rejects.toThrow();
    }
    const pgPort = Number(/127\.0\.0\.1:(\d+)\//.exec(printed().database!)![1]);
    const probe = new pg.Client({
      host: "127.0.0.1",
      port: pgPort,
      user: "postgres",
      connectionTimeoutMillis: 2000,
    });
    await expect(probe.connect()).rejects.toThrow();
    expect(existsSync(dataDir!)).toBe(false);
  });
});
