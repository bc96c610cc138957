// Entry of the single-file `gatehouse` (a Node single executable application built by build/cli/build.mjs):
// like bin/gatehouse.cjs, `credential-process` runs the small fast path before anything else is evaluated.

import common from "./agent-common.cjs";
import cp from "./credential-process.cjs";

// The binary is its own agent: `gatehouse agent` is this same file (no Node.js, no script path).
common.self.command = [process.execPath];

const argv = process.argv.slice(2);
if (argv[0] === "credential-process") {
  void cp
    .credentialProcess(argv.slice(1), {
      fallback: async (method, path, body) =>
        (await import("./agent-client.mjs")).callAgent(method, path, body),
    })
    .then((code) => {
      process.exitCode = code;
    });
} else {
  void import("./main.ts").then((m) => m.main(argv));
}
