// @ts-check
// What every way of talking to the agent shares, in CommonJS so that the credential_process fast path
// (bin/gatehouse.cjs) loads it without the ES module loader: where the socket is, the error type, the
// one-line explanations of the agent's codes.
"use strict";

const { homedir } = require("node:os");
const { join, resolve } = require("node:path");

/** @param {NodeJS.ProcessEnv} env */
function agentHome(env = process.env) {
  return resolve(env.GATEHOUSE_HOME || join(homedir(), ".gatehouse"));
}

/** @param {NodeJS.ProcessEnv} env */
function socketPath(env = process.env) {
  const home = agentHome(env);
  return process.platform === "win32"
    ? `\\\\.\\pipe\\gatehouse-${Buffer.from(home).toString("base64url").slice(0, 40)}`
    : join(home, "agent.sock");
}

class AgentError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** Whether a socket error means that no agent runs. @param {unknown} e */
function noAgent(e) {
  const code = /** @type {{ code?: string }} */ (e).code;
  return code === "ENOENT" || code === "ECONNREFUSED" || code === "ENOTSOCK";
}

/** One line a person understands for each code the agent may answer. @param {string} code @param {string} detail @param {string} [role] */
function explain(code, detail, role) {
  switch (code) {
    case "NOT_SIGNED_IN":
      return "not signed in: run `gatehouse login`";
    case "ROLE_NOT_FOUND":
      return `no access to ${role ?? "that role"}: \`gatehouse roles\` lists the roles you may use`;
    case "BROKER_UNREACHABLE":
      return `broker unreachable: ${detail}`;
    default:
      return detail;
  }
}

/**
 * How this program starts itself as `gatehouse agent`: unset for `node bin/gatehouse.mjs` (the default in
 * agent-client.mjs), set by the single-file binary's entry to the binary itself.
 * @type {{ command: string[] | undefined }}
 */
const self = { command: undefined };

module.exports = { agentHome, socketPath, AgentError, noAgent, explain, self };
