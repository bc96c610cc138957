// @ts-check
// `gatehouse credential-process --role ROLE`: what the AWS CLI and SDKs run for every call. CommonJS and
// node:net only (no ES module loader, no node:http, no bundle, zod or SDK): one HTTP/1.1 request written
// by hand on the agent's socket, the credential_process JSON printed. When no agent runs, `fallback`
// (the full client, which starts one) takes over.
"use strict";

const { connect } = require("node:net");
const { AgentError, explain, noAgent, socketPath } = require("./agent-common.cjs");

const USAGE =
  "usage: gatehouse credential-process --role ROLE   (ROLE: account/role, account-id/role or a role ARN)";

/** The body of an HTTP/1.1 response, de-chunked. @param {Buffer} raw */
function parseResponse(raw) {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) throw new AgentError("AGENT_UNREACHABLE", "the agent's answer was cut short");
  const head = raw.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? "")?.[1]);
  if (!status) throw new AgentError("AGENT_UNREACHABLE", "the agent answered something that is not HTTP");
  const chunked = head.some((h) => /^transfer-encoding:\s*chunked\s*$/i.test(h));
  let body = raw.subarray(end + 4);
  if (chunked) {
    /** @type {Buffer[]} */
    const parts = [];
    let at = 0;
    for (;;) {
      const nl = body.indexOf("\r\n", at);
      if (nl < 0) throw new AgentError("AGENT_UNREACHABLE", "the agent's answer was cut short");
      const size = Number.parseInt(body.subarray(at, nl).toString("latin1"), 16);
      if (!(size >= 0))
        throw new AgentError("AGENT_UNREACHABLE", "the agent answered something that is not HTTP");
      if (size === 0) break;
      parts.push(body.subarray(nl + 2, nl + 2 + size));
      at = nl + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  }
  return { status, text: body.toString("utf8") };
}

/**
 * POST a JSON body to the agent over its socket; resolves with the parsed answer, rejects with AgentError
 * (the agent's code) or the socket error (ENOENT / ECONNREFUSED when no agent runs).
 * @param {string} path @param {unknown} body @param {NodeJS.ProcessEnv} env @returns {Promise<any>}
 */
function post(path, body, env) {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body));
    const socket = connect(socketPath(env));
    /** @type {Buffer[]} */
    const chunks = [];
    socket.on("connect", () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: gatehouse-agent\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n`,
      );
      // Not end(): a half-closed socket may be dropped by the server before it answers; it closes after
      // answering (Connection: close).
      socket.write(payload);
    });
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", reject);
    socket.on("end", () => {
      try {
        const { status, text } = parseResponse(Buffer.concat(chunks));
        /** @type {any} */
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          throw new AgentError("AGENT_UNREACHABLE", "the agent answered something that is not JSON");
        }
        if (status >= 400)
          throw new AgentError(json?.code ?? "INTERNAL", json?.detail ?? `the agent answered ${status}`);
        resolve(json);
      } catch (e) {
        reject(e);
      }
    });
  });
}

/**
 * @param {string[]} argv
 * @param {{ fallback(method: string, path: string, body: unknown): Promise<any>, env?: NodeJS.ProcessEnv }} o
 * @returns {Promise<number>} the exit code
 */
async function credentialProcess(argv, o) {
  let role;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--role") role = argv[++i];
    else if (a?.startsWith("--role=")) role = a.slice(7);
    else if (a === "--help" || a === "-h") {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    } else {
      process.stderr.write(`gatehouse: unexpected argument "${a}" [BAD_ARGUMENT]\n${USAGE}\n`);
      return 2;
    }
  }
  if (!role) {
    process.stderr.write(`gatehouse: --role is required [BAD_ARGUMENT]\n${USAGE}\n`);
    return 2;
  }
  try {
    let c;
    try {
      c = await post("/v1/credentials", { role }, o.env ?? process.env);
    } catch (e) {
      // No agent: the full client starts one (or says why it cannot).
      if (!noAgent(e)) throw e;
      c = await o.fallback("POST", "/v1/credentials", { role });
    }
    // Never print what could not work: an empty key or an expired credential is an error, not output.
    if (
      c?.Version !== 1 ||
      !c.AccessKeyId ||
      !c.SecretAccessKey ||
      !c.SessionToken ||
      !(Date.parse(c.Expiration) > Date.now())
    ) {
      process.stderr.write("gatehouse: the agent returned unusable credentials [INTERNAL]\n");
      return 1;
    }
    process.stdout.write(`${JSON.stringify(c)}\n`);
    return 0;
  } catch (e) {
    const err =
      e instanceof AgentError
        ? e
        : new AgentError(
            "AGENT_UNREACHABLE",
            `the agent cannot be reached: ${/** @type {Error} */ (e).message}`,
          );
    process.stderr.write(`gatehouse: ${explain(err.code, err.message, role)} [${err.code}]\n`);
    return 1;
  }
}

module.exports = { credentialProcess, parseResponse, USAGE };
