// @ts-check
// Stands in for @napi-rs/keyring inside the single-file `gatehouse`: a binary cannot carry a native module,
// so its keychain binding is the file `gatehouse-keyring.node` beside the binary (build/cli/build.mjs copies
// it there; the app ships it in its resources), loaded on first use. Only `gatehouse agent` with the default
// keychain token store ever loads it; credential-process and the other commands talk to the agent.
"use strict";

const { createRequire } = require("node:module");
const { dirname, join } = require("node:path");

/** @type {any} */
let binding;
function load() {
  if (!binding) {
    const file = join(dirname(process.execPath), "gatehouse-keyring.node");
    try {
      // The SEA's own `require` loads built-ins only; one rooted at the binary loads files.
      binding = createRequire(process.execPath)(file);
    } catch (e) {
      // Node's message goes on with the require stack over several lines: its first line says it all.
      const why = /** @type {Error} */ (e).message.split("\n")[0];
      throw new Error(`the keychain module ${file} cannot be loaded (${why})`);
    }
  }
  return binding;
}

class AsyncEntry {
  /** @param {...unknown} args */
  constructor(...args) {
    // biome-ignore lint/correctness/noConstructorReturn: the native class stands in for this one
    return new (load().AsyncEntry)(...args);
  }
}

module.exports = { AsyncEntry };
