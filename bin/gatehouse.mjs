#!/usr/bin/env node
// The gatehouse command. `credential-process` runs on every AWS CLI call, so it takes a fast path of
// plain JavaScript with Node built-ins only; every other command loads the TypeScript CLI.

if (process.argv[2] === "credential-process") {
  const { credentialProcess } = await import("../electron/cli/credential-process.mjs");
  process.exitCode = await credentialProcess(process.argv.slice(3));
} else {
  const { register } = await import("tsx/esm/api");
  // The pinned AWS SDK runs on Node 20; its notice about future releases needing Node 22 is not for users.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  register();
  await import("../electron/cli/main.ts");
}
