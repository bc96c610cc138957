// Entry of the single-file `gatehouse` (a Node single executable application built by build/cli/build.mjs):
// only the `credential-process` fast path is in this small script, so each AWS CLI call compiles little;
// every other command (and the fast path's fallback) loads the full CLI from the binary's asset `cli.cjs`.

import common from "./agent-common.cjs";
import cp from "./credential-process.cjs";

interface FullCli {
  main(argv: string[]): Promise<void>;
  callAgent(method: string, path: string, body: unknown): Promise<unknown>;
}

// The binary is its own agent: `gatehouse agent` is this same file (no Node.js, no script path).
common.self.command = [process.execPath];

/** The full CLI (electron/cli/sea-full.ts), compiled with the V8 code cache made at build time. */
function full(): FullCli {
  const sea = require("node:sea") as { getAsset(key: string, enc?: string): string | ArrayBuffer };
  const vm = require("node:vm") as typeof import("node:vm");
  const source = sea.getAsset("cli.cjs", "utf8") as string;
  const cachedData = Buffer.from(sea.getAsset("cli.cache") as ArrayBuffer);
  const script = new vm.Script(source, { filename: "gatehouse-cli.cjs", cachedData });
  const module = { exports: {} as FullCli };
  // The SEA's require loads built-ins only, which is all the bundle asks for.
  (script.runInThisContext() as (...a: unknown[]) => void)(module.exports, require, module);
  return module.exports;
}

const argv = process.argv.slice(2);
if (argv[0] === "credential-process") {
  void cp
    .credentialProcess(argv.slice(1), {
      fallback: async (m, p, b) => {
        try {
          return await full().callAgent(m, p, b);
        } catch (e) {
          // The full CLI's AgentError is its own bundle's class: carry its code over to this one's.
          const code = (e as { code?: string }).code;
          if (code && /^[A-Z_]+$/.test(code)) throw new common.AgentError(code, (e as Error).message);
          throw e;
        }
      },
    })
    .then((code) => {
      process.exitCode = code;
    });
} else {
  void full().main(argv);
}
