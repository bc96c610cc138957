#!/usr/bin/env node
// The installed `gatehouse` command. `credential-process` runs on every AWS CLI call, so it stays in
// CommonJS with node:net alone (no ES module loader: about a tenth of Node's start-up); every other
// command goes to bin/gatehouse.mjs (the TypeScript CLI).
"use strict";

if (process.argv[2] === "credential-process") {
  require("../electron/cli/credential-process.cjs")
    .credentialProcess(process.argv.slice(3), {
      fallback: async (
        /** @type {string} */ method,
        /** @type {string} */ path,
        /** @type {unknown} */ body,
      ) => (await import("../electron/cli/agent-client.mjs")).callAgent(method, path, body),
    })
    .then((/** @type {number} */ code) => {
      process.exitCode = code;
    });
} else {
  import("./gatehouse.mjs");
}
