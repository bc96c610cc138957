// @ts-check
// Talking to the agent's Unix socket from a CLI process, with Node built-ins only (this is on the path of
// every `aws` call through credential_process): requests, and starting the agent when none runs.

// Only what a request needs is imported up front: every module loaded shows in the time of each `aws`
// call. What starts an agent (node:child_process, node:fs, node:url) is imported when one is started.
import { request } from "node:http";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import common from "./agent-common.cjs";

const { AgentError, agentHome, explain, noAgent, socketPath } = common;

export { AgentError, agentHome, explain, noAgent, socketPath };

/**
 * One request to the agent. Resolves with the parsed JSON body; rejects with AgentError (the agent's
 * code) or with the socket error (ENOENT / ECONNREFUSED when no agent runs).
 * @param {string} method @param {string} path @param {unknown} [body] @param {NodeJS.ProcessEnv} [env]
 * @param {(line: unknown) => void} [onLine] receives each line of a streamed (NDJSON) answer
 * @returns {Promise<any>}
 */
export function agentRequest(method, path, body, env = process.env, onLine) {
  return new Promise((resolvePromise, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        // Our own connection, not the global http.Agent: one request per process needs no keep-alive
        // pool, and the Agent's servername check compiles an IPv6 regex (about 5 ms of every call).
        createConnection: () => connect(socketPath(env)),
        method,
        path,
        headers: payload
          ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        let buf = "";
        /** @type {unknown} */
        let last;
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          buf += chunk;
          if (!onLine) return;
          let nl = buf.indexOf("\n");
          while (nl >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line) {
              last = JSON.parse(line);
              onLine(last);
            }
            nl = buf.indexOf("\n");
          }
        });
        res.on("end", () => {
          let json;
          try {
            json = onLine && !buf.trim() ? last : JSON.parse(buf);
          } catch {
            return reject(
              new AgentError("AGENT_UNREACHABLE", "the agent answered something that is not JSON"),
            );
          }
          if ((res.statusCode ?? 500) >= 400) {
            return reject(
              new AgentError(
                json?.code ?? "INTERNAL",
                json?.detail ?? `the agent answered ${res.statusCode}`,
              ),
            );
          }
          resolvePromise(json);
        });
      },
    );
    req.on("error", reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/**
 * Start `gatehouse agent` in the background (like gpg-agent) and wait until it answers.
 * @param {NodeJS.ProcessEnv} env
 * @returns {Promise<void>}
 */
export async function startAgentInBackground(env = process.env) {
  const [{ spawn }, fs, { fileURLToPath }] = await Promise.all([
    import("node:child_process"),
    import("node:fs"),
    import("node:url"),
  ]);
  const { closeSync, fstatSync, mkdirSync, openSync, readFileSync } = fs;
  const home = agentHome(env);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  // One starter at a time: N CLIs that find no agent at once start one agent, not N (the others wait
  // for it to answer). A lock older than the start deadline is a crashed starter's and is taken over.
  const lock = join(home, "agent.starting");
  let owned = false;
  for (let i = 0; i < 2 && !owned; i++) {
    try {
      closeSync(openSync(lock, "wx", 0o600));
      owned = true;
    } catch (e) {
      if (/** @type {{ code?: string }} */ (e).code !== "EEXIST") throw e;
      let age = 0;
      try {
        age = Date.now() - fs.statSync(lock).mtimeMs;
      } catch {
        continue;
      }
      if (age < 15_000) return waitForOtherStarter(env, lock);
      fs.rmSync(lock, { force: true });
    }
  }
  if (!owned) return waitForOtherStarter(env, lock);
  try {
    await spawnAndWait(env, home, spawn, { closeSync, fstatSync, openSync, readFileSync }, fileURLToPath);
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/**
 * Another CLI is starting the agent: wait until it answers, or the starter gives up (its lock goes).
 * @param {NodeJS.ProcessEnv} env @param {string} lock
 * @returns {Promise<void>}
 */
async function waitForOtherStarter(env, lock) {
  const { existsSync } = await import("node:fs");
  const deadline = Date.now() + 16_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      await agentRequest("GET", "/v1/status", undefined, env);
      return;
    } catch (e) {
      if (!noAgent(e)) throw e;
    }
    // The starter failed (its agent exited): start one ourselves, which reports the reason.
    if (!existsSync(lock)) return startAgentInBackground(env);
  }
  throw new AgentError(
    "AGENT_UNREACHABLE",
    "the agent did not start in time (another gatehouse was starting it)",
  );
}

/**
 * @param {NodeJS.ProcessEnv} env @param {string} home @param {typeof import("node:child_process").spawn} spawn
 * @param {Pick<typeof import("node:fs"), "closeSync" | "fstatSync" | "openSync" | "readFileSync">} fs
 * @param {(u: string) => string} fileURLToPath
 */
async function spawnAndWait(env, home, spawn, fs, fileURLToPath) {
  const { closeSync, fstatSync, openSync, readFileSync } = fs;
  const logPath = join(home, "agent.log");
  const log = openSync(logPath, "a", 0o600);
  const logStart = fstatSync(log).size;
  // The single-file binary starts itself; from a checkout or npm, Node runs bin/gatehouse.mjs.
  const [file, ...args] = common.self.command ?? [
    process.execPath,
    join(dirname(fileURLToPath(import.meta.url)), "../../bin/gatehouse.mjs"),
  ];
  const child = spawn(/** @type {string} */ (file), [...args, "agent"], {
    detached: true,
    stdio: ["ignore", log, log],
    env,
  });
  closeSync(log);
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  child.unref();
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    // Exited before this attempt: one that lost the race to another CLI's agent finds that one answering.
    const gone = exited;
    try {
      await agentRequest("GET", "/v1/status", undefined, env);
      return;
    } catch (e) {
      if (!noAgent(e)) throw e;
    }
    if (gone) {
      // The agent could not start (no keychain, bad settings…): say why now, with its code, not after the deadline.
      const said = readFileSync(logPath).subarray(logStart).toString("utf8").trim().split("\n").pop() ?? "";
      const coded = /^gatehouse: (.*) \[([A-Z_]+)\]$/.exec(said);
      if (coded) throw new AgentError(coded[2] ?? "", `the agent could not start: ${coded[1]}`);
      throw new AgentError("AGENT_UNREACHABLE", `the agent did not start: ${said || `see ${logPath}`}`);
    }
  }
  throw new AgentError("AGENT_UNREACHABLE", `the agent did not start; see ${logPath}`);
}

/**
 * A request that starts the agent first when none runs (unless GATEHOUSE_NO_AUTOSTART=1).
 * @param {string} method @param {string} path @param {unknown} [body] @param {NodeJS.ProcessEnv} [env]
 * @param {(line: unknown) => void} [onLine]
 */
export async function callAgent(method, path, body, env = process.env, onLine) {
  try {
    return await agentRequest(method, path, body, env, onLine);
  } catch (e) {
    if (!noAgent(e)) throw e;
    if (env.GATEHOUSE_NO_AUTOSTART === "1") {
      throw new AgentError("AGENT_UNREACHABLE", "the agent is not running: start it with `gatehouse agent`");
    }
    await startAgentInBackground(env);
    return agentRequest(method, path, body, env, onLine);
  }
}
