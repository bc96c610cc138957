#!/usr/bin/env node
// The gatehouse command. `credential-process` runs on every AWS CLI call, so it takes a fast path of
// plain JavaScript with Node built-ins only; every other command loads the TypeScript CLI.

if (process.argv[2] === "credential-process") {
  const { credentialProcess } = await import("../electron/cli/credential-process.mjs");
  process.exitCode = await credentialProcess(process.argv.slice(3));
} else {
  const { register } = await import("tsx/esm/api");
  // Nothing is added to process.env here: `exec` hands this environment to the person's own programs,
  // and the CLI loads no AWS SDK whose warnings would need silencing.
  register();
  const { main } = await import("../electron/cli/main.ts");
  await main(process.argv.slice(2));
}
