// @ts-check
// `gatehouse credential-process` for ES module callers (bin/gatehouse.mjs): the CommonJS fast path with
// the full agent client (which starts an agent when none runs) as its fallback.

import { callAgent } from "./agent-client.mjs";
import cp from "./credential-process.cjs";

/** @param {string[]} argv */
export function credentialProcess(argv) {
  return cp.credentialProcess(argv, { fallback: (method, path, body) => callAgent(method, path, body) });
}
