// The full CLI inside the single-file `gatehouse`: every command and the agent client, loaded by sea-main.ts
// from the binary's asset when the command is not the credential_process fast path.

import common from "./agent-common.cjs";

// This bundle has its own copy of agent-common: it too must know that the binary is its own agent.
common.self.command = [process.execPath];

export { callAgent } from "./agent-client.mjs";
export { main } from "./main.ts";
