// `gatehouse exec` with real processes: the child's environment, credentials fetched from the server,
// exit codes and signals passed through, the token kept out of every argv, the server gone afterwards.

import { type ChildProcess, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { SessionCredentials } from "../../electron/agent/ecs-server.ts";
import { CREDENTIAL_VARIABLES, runExec } from "../../electron/agent/exec.ts";
import { GatehouseError } from "../../shared/errors.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const tmp = mkdtempSync(join(tmpdir(), "gatehouse-exec-"));
const ROLE = "prod/ReadOnly";

const CREDS: SessionCredentials = {
  accessKeyId: "ASIAEXECTEST00000001",
  secretAccessKey: "exec'secret$value",
  sessionToken: "exec-session-token",
  expiration: new Date(Date.now() + 3_600_000).toISOString(),
};

// The child: reports its environment, its own and its parent's command line, and what the server gave it,
// then behaves as CHILD_MODE says.
const CHILD = join(tmp, "child.cjs");
writeFileSync(
  CHILD,
  `const fs = require("node:fs");
const http = require("node:http");
const report = {
  pid: process.pid,
  ppid: process.ppid,
  env: process.env,
  selfCmdline: fs.readFileSync("/proc/self/cmdline", "latin1"),
  parentCmdline: fs.readFileSync("/proc/" + process.ppid + "/cmdline", "latin1"),
};
function fetchCredentials(url, token) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers: { Authorization: token } }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body: JSON.parse(body) }));
    }).on("error", reject);
  });
}
(async () => {
  const url = process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  if (url) report.fetched = await fetchCredentials(url, process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN);
  const mode = process.env.CHILD_MODE;
  if (mode === "trap")
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"])
      process.on(s, () => {
        process.stdout.write("child got " + s + "\\n");
        process.exit(3);
      });
  process.stdout.write(JSON.stringify(report) + "\\n");
  if (mode === "exit7") process.exit(7);
  if (mode === "selfterm") process.kill(process.pid, "SIGTERM");
  if (mode === "trap" || mode === "wait") setInterval(() => {}, 1000);
})();
`,
);

// runExec in a process of its own, so it can be signalled like `gatehouse exec` would be.
const EXEC_SCRIPT = join(tmp, "exec.mjs");
writeFileSync(
  EXEC_SCRIPT,
  `import { runExec } from ${JSON.stringify(pathToFileURL(join(ROOT, "electron/agent/exec.ts")).href)};
const creds = JSON.parse(process.env.TEST_CREDS);
process.exitCode = await runExec({
  role: ${JSON.stringify(ROLE)},
  command: [process.execPath, ${JSON.stringify(CHILD)}],
  getCredentials: async () => creds,
  mode: "server",
  reraise: true,
});
`,
);

const running = new Set<ChildProcess>();
const childPids = new Set<number>();
afterEach(() => {
  // A failed test may leave the exec script or its CMD running (CMD outlives a script killed hard).
  for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  running.clear();
  for (const pid of childPids)
    try {
      // Only if that pid is still our CMD, not a process that reused the number.
      if (readFileSync(`/proc/${pid}/cmdline`, "latin1").includes(CHILD)) process.kill(pid, "SIGKILL");
    } catch {}
  childPids.clear();
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

interface Report {
  pid: number;
  ppid: number;
  env: Record<string, string>;
  selfCmdline: string;
  parentCmdline: string;
  fetched?: { status: number; body: Record<string, string> };
}

let outputs = 0;
/** runExec in this process, the child's stdout going to a file that is parsed afterwards. */
async function execHere(
  mode: "server" | "env",
  childMode: string,
  extraEnv: Record<string, string> = {},
  log?: (line: string) => void,
): Promise<{ code: number; report: Report; env: NodeJS.ProcessEnv }> {
  const out = join(tmp, `out-${++outputs}.txt`);
  const fd = openSync(out, "w");
  const env = { ...process.env, CHILD_MODE: childMode, ...extraEnv };
  try {
    const code = await runExec({
      role: ROLE,
      command: [process.execPath, CHILD],
      getCredentials: async () => CREDS,
      mode,
      env,
      stdio: ["ignore", fd, "inherit"],
      ...(log ? { log } : {}),
    });
    const report = JSON.parse(readFileSync(out, "utf8").split("\n")[0]!) as Report;
    return { code, report, env };
  } finally {
    closeSync(fd);
  }
}

/** Resolves with the error code of a GET to url, or its status. */
function probe(url: string): Promise<string> {
  return new Promise((resolvePromise) => {
    get(url, { agent: false }, (res) => {
      res.resume();
      resolvePromise(String(res.statusCode));
    }).on("error", (e: NodeJS.ErrnoException) => resolvePromise(e.code ?? "error"));
  });
}

/** Every process's command line that this user can read, as `ps` would show them. */
function allCmdlines(): { pid: string; cmdline: string }[] {
  const lines: { pid: string; cmdline: string }[] = [];
  for (const pid of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      lines.push({ pid, cmdline: readFileSync(`/proc/${pid}/cmdline`, "latin1") });
    } catch {}
  }
  return lines;
}

const OTHER_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: "AKIAOLDSTATICKEY0001",
  AWS_SECRET_ACCESS_KEY: "old-secret",
  AWS_SESSION_TOKEN: "old-token",
  AWS_PROFILE: "someone-else",
  AWS_DEFAULT_PROFILE: "someone-else-default",
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/elsewhere",
};

describe("server mode", () => {
  it("the child gets the URL and token, fetches the role's credentials, and nothing else overrides them", async () => {
    const { code, report } = await execHere("server", "report", {
      ...OTHER_CREDENTIALS,
      KEEP_ME: "kept",
      AWS_REGION: "eu-west-1",
    });
    expect(code).toBe(0);
    expect(report.env.AWS_CONTAINER_CREDENTIALS_FULL_URI).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(report.env.AWS_CONTAINER_AUTHORIZATION_TOKEN).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(report.env.GATEHOUSE_ROLE).toBe(ROLE);
    for (const k of Object.keys(OTHER_CREDENTIALS)) expect(report.env[k]).toBeUndefined();
    expect(report.env.KEEP_ME).toBe("kept");
    expect(report.env.AWS_REGION).toBe("eu-west-1");
    expect(report.env.PATH).toBe(process.env.PATH);
    expect(report.fetched).toEqual({
      status: 200,
      body: {
        AccessKeyId: CREDS.accessKeyId,
        SecretAccessKey: CREDS.secretAccessKey,
        Token: CREDS.sessionToken,
        Expiration: CREDS.expiration,
      },
    });
  });

  it("AWS_PROFILE is removed", async () => {
    const { report } = await execHere("server", "report", { AWS_PROFILE: "default" });
    expect(report.env).not.toHaveProperty("AWS_PROFILE");
  });

  it("the server is closed once the child has exited: connection refused", async () => {
    const { report } = await execHere("server", "report");
    expect(await probe(report.env.AWS_CONTAINER_CREDENTIALS_FULL_URI!)).toBe("ECONNREFUSED");
  });

  it("the token is in no argv, neither the child's nor ours, and in no log line", async () => {
    const lines: string[] = [];
    const { report } = await execHere("server", "report", {}, (l) => lines.push(l));
    const token = report.env.AWS_CONTAINER_AUTHORIZATION_TOKEN!;
    expect(report.selfCmdline).not.toContain(token);
    expect(report.parentCmdline).not.toContain(token);
    expect(report.parentCmdline).toBe(readFileSync(`/proc/${process.pid}/cmdline`, "latin1"));
    expect(lines.some((l) => l.includes("200"))).toBe(true);
    for (const l of lines) expect(l).not.toContain(token);
  });

  it("each run has its own token and port", async () => {
    const a = await execHere("server", "report");
    const b = await execHere("server", "report");
    expect(a.report.env.AWS_CONTAINER_AUTHORIZATION_TOKEN).not.toBe(
      b.report.env.AWS_CONTAINER_AUTHORIZATION_TOKEN,
    );
  });
});

describe("env mode", () => {
  it("puts the keys in the env and keeps every unrelated variable as it was", async () => {
    const { code, report, env } = await execHere("env", "report", {
      AWS_PROFILE: "someone-else",
      KEEP_ME: "kept",
      AWS_REGION: "eu-west-1",
      AWS_DEFAULT_REGION: "eu-west-2",
      EMPTY: "",
    });
    expect(code).toBe(0);
    expect(report.env.AWS_ACCESS_KEY_ID).toBe(CREDS.accessKeyId);
    expect(report.env.AWS_SECRET_ACCESS_KEY).toBe(CREDS.secretAccessKey);
    expect(report.env.AWS_SESSION_TOKEN).toBe(CREDS.sessionToken);
    expect(report.env.AWS_CREDENTIAL_EXPIRATION).toBe(CREDS.expiration);
    expect(report.env.GATEHOUSE_ROLE).toBe(ROLE);
    // The JS SDK would prefer AWS_PROFILE to these keys.
    expect(report.env).not.toHaveProperty("AWS_PROFILE");
    expect(report.env).not.toHaveProperty("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    expect(report.env).not.toHaveProperty("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    const removed = new Set<string>(CREDENTIAL_VARIABLES);
    for (const [k, v] of Object.entries(env)) if (!removed.has(k)) expect(report.env[k], k).toBe(v);
    expect(report.fetched).toBeUndefined();
  });
});

describe("exit codes", () => {
  it("the child's exit code is returned: 7 → 7", async () => {
    expect((await execHere("server", "exit7")).code).toBe(7);
    expect((await execHere("env", "exit7")).code).toBe(7);
  });

  it("a child killed by SIGTERM → 143", async () => {
    expect((await execHere("server", "selfterm")).code).toBe(143);
  });

  it("a command that cannot run is a coded error, and the server does not outlive it", async () => {
    const lines: string[] = [];
    const err = await runExec({
      role: ROLE,
      command: [join(tmp, "no-such-command")],
      getCredentials: async () => CREDS,
      mode: "server",
      log: (l) => lines.push(l),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatehouseError);
    expect((err as GatehouseError).code).toBe("BAD_ARGUMENT");
    expect((err as GatehouseError).message).toContain("ENOENT");
    const url = /listening on (\S+)/.exec(lines.join("\n"))![1]!;
    expect(await probe(url)).toBe("ECONNREFUSED");
  });

  it("an empty command is refused", async () => {
    await expect(
      runExec({ role: ROLE, command: [], getCredentials: async () => CREDS, mode: "server" }),
    ).rejects.toMatchObject({ code: "BAD_ARGUMENT" });
  });

  it("when credentials cannot be had, the command never starts", async () => {
    const marker = join(tmp, "started");
    await expect(
      runExec({
        role: ROLE,
        command: ["sh", "-c", `touch ${marker}`],
        getCredentials: async () => {
          throw new GatehouseError("NOT_SIGNED_IN");
        },
        mode: "server",
      }),
    ).rejects.toMatchObject({ code: "NOT_SIGNED_IN" });
    expect(existsSync(marker)).toBe(false);
  });

  it("expired credentials are refused before the command starts", async () => {
    await expect(
      runExec({
        role: ROLE,
        command: ["true"],
        getCredentials: async () => ({ ...CREDS, expiration: new Date(Date.now() - 1).toISOString() }),
        mode: "env",
      }),
    ).rejects.toMatchObject({ code: "INTERNAL" });
  });

  it("signal listeners are removed afterwards", async () => {
    const before = ["SIGINT", "SIGTERM", "SIGHUP"].map((s) => process.listenerCount(s));
    await execHere("server", "report");
    expect(["SIGINT", "SIGTERM", "SIGHUP"].map((s) => process.listenerCount(s))).toEqual(before);
  });
});

describe("as its own process, signalled", () => {
  interface Started {
    proc: ChildProcess;
    report: Report;
    lines: string[];
    done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  }

  /** Start the exec script and wait for the child's report (by then the child has fetched credentials). */
  function startExec(childMode: string): Promise<Started> {
    const proc = spawn(process.execPath, ["--import", "tsx", EXEC_SCRIPT], {
      cwd: ROOT,
      env: { ...process.env, CHILD_MODE: childMode, TEST_CREDS: JSON.stringify(CREDS) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    running.add(proc);
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      proc.once("exit", (code, signal) => r({ code, signal })),
    );
    const lines: string[] = [];
    return new Promise((resolvePromise, reject) => {
      createInterface({ input: proc.stdout! }).on("line", (line) => {
        lines.push(line);
        if (!line.startsWith("{")) return;
        const report = JSON.parse(line) as Report;
        childPids.add(report.pid);
        resolvePromise({ proc, report, lines, done });
      });
      void done.then(() => reject(new Error(`exec script exited early: ${lines.join("\n")}`)));
    });
  }

  const alive = (pid: number) =>
    existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));

  it("while CMD runs, the token is in its environment and in no process's command line", async () => {
    const { proc, report, done } = await startExec("wait");
    const token = report.env.AWS_CONTAINER_AUTHORIZATION_TOKEN!;
    expect(report.fetched?.status).toBe(200);
    expect(report.ppid).toBe(proc.pid);
    expect(readFileSync(`/proc/${report.pid}/environ`, "latin1")).toContain(token);
    const cmdlines = allCmdlines();
    expect(cmdlines.map((c) => c.pid)).toEqual(
      expect.arrayContaining([String(report.pid), String(proc.pid)]),
    );
    expect(cmdlines.filter((c) => c.cmdline.includes(token))).toEqual([]);
    expect(readFileSync(`/proc/${proc.pid}/environ`, "latin1")).not.toContain(token);
    proc.kill("SIGTERM");
    await done;
  });

  it.each(["SIGTERM", "SIGINT", "SIGHUP"] as const)(
    "%s to exec reaches CMD; CMD's exit code comes back",
    async (sig) => {
      const { proc, report, lines, done } = await startExec("trap");
      proc.kill(sig);
      expect(await done).toEqual({ code: 3, signal: null });
      expect(lines).toContain(`child got ${sig}`);
      expect(alive(report.pid)).toBe(false);
    },
  );

  it("CMD killed by the forwarded SIGTERM: exec dies by SIGTERM too, and its server is gone", async () => {
    const { proc, report, done } = await startExec("wait");
    proc.kill("SIGTERM");
    const ended = await done;
    // Re-raised: the shell above sees a death by signal, as if it had run CMD itself.
    expect(ended).toEqual({ code: null, signal: "SIGTERM" });
    expect(alive(report.pid)).toBe(false);
    expect(await probe(report.env.AWS_CONTAINER_CREDENTIALS_FULL_URI!)).toBe("ECONNREFUSED");
  });
});
