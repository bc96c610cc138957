// `npm start` opens the tray app where Electron can start: the stack calls tryStartTrayApp with the
// demo agent's environment (GATEHOUSE_HOME, AWS_CONFIG_FILE). Where it cannot start — no Electron
// binary (its download is disabled in this repository), no display, root on Linux (Chromium's sandbox
// refuses it, and the app does not run unsandboxed) — it returns that reason in one line, and the
// headless stack carries on. It builds the bundles first when they are missing.
//
// The app hosts the agent (its DesktopCore serves GATEHOUSE_HOME's socket), so "started" means that
// socket answers; call this before starting a headless agent on the same home, and start that agent
// only when the answer is a reason. An agent already answering there is a reason too.

import { type ChildProcess, spawn as nodeSpawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { socketAlive } from "../electron/agent/endpoint.ts";
import { agentPaths } from "../electron/agent/home.ts";

const ROOT = resolve(import.meta.dirname, "..");

export interface TrayLaunchDeps {
  platform?: NodeJS.Platform;
  /** Root is refused on Linux (undefined where there are no uids). */
  uid?: number | undefined;
  /** The Electron binary: what require("electron") returns in Node (it throws when none is installed). */
  electronPath?: () => string;
  exists?: (path: string) => boolean;
  /** Runs `npm run <script>`; returns an error line, or undefined on success. */
  runScript?: (script: string) => string | undefined;
  spawn?: (command: string, args: string[], env: NodeJS.ProcessEnv) => ChildProcess;
  /** Whether an agent answers on GATEHOUSE_HOME's socket. */
  agentAlive?: () => Promise<boolean>;
  /** How long the app has to bring its agent up (default 20 s); polled every `pollMs`. */
  startTimeoutMs?: number;
  pollMs?: number;
  root?: string;
}

function defaultElectronPath(): string {
  const path: unknown = createRequire(import.meta.url)("electron");
  if (typeof path !== "string") throw new Error("require('electron') did not return a path");
  return path;
}

function defaultRunScript(script: string): string | undefined {
  const r = spawnSync("npm", ["run", "--silent", script], { cwd: ROOT, encoding: "utf8", stdio: "pipe" });
  if (r.status === 0) return undefined;
  const lines = `${r.stderr ?? ""}${r.stdout ?? ""}`.trim().split("\n");
  return lines.at(-1) || `exit ${r.status ?? r.signal}`;
}

const defaultSpawn = (command: string, args: string[], env: NodeJS.ProcessEnv) =>
  nodeSpawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] });

export async function tryStartTrayApp(
  env: NodeJS.ProcessEnv,
  deps: TrayLaunchDeps = {},
): Promise<"started" | string> {
  const platform = deps.platform ?? process.platform;
  const uid = "uid" in deps ? deps.uid : process.getuid?.();
  const exists = deps.exists ?? existsSync;
  const root = deps.root ?? ROOT;
  const why = (reason: string) => `tray app not started: ${reason}; the headless stack keeps running`;

  let electron: string;
  try {
    electron = (deps.electronPath ?? defaultElectronPath)();
  } catch {
    return why("no Electron binary (node_modules/electron has none; its download is disabled)");
  }
  if (!exists(electron)) return why(`no Electron binary at ${electron}`);
  if (platform === "linux" && !env.DISPLAY && !env.WAYLAND_DISPLAY)
    return why("no display (neither DISPLAY nor WAYLAND_DISPLAY is set)");
  if (platform === "linux" && uid === 0)
    return why("running as root, where Electron's sandbox cannot start (run npm start as a normal user)");

  const runScript = deps.runScript ?? defaultRunScript;
  const main = resolve(root, "dist/electron/main.js");
  if (!exists(main) || !exists(resolve(root, "dist/electron/preload.cjs"))) {
    const error = runScript("build:electron");
    if (error) return why(`npm run build:electron failed: ${error}`);
  }
  if (!exists(resolve(root, "dist/renderer/index.html"))) {
    const error = runScript("build:renderer");
    if (error) return why(`npm run build:renderer failed: ${error}`);
  }

  const agentAlive = deps.agentAlive ?? (() => socketAlive(agentPaths(env).socket, 500));
  if (await agentAlive())
    return why(
      `an agent already runs in ${agentPaths(env).home} (the app hosts its own; stop that one first)`,
    );

  // ELECTRON_RUN_AS_NODE would make the binary a plain Node and ignore the app.
  const { ELECTRON_RUN_AS_NODE: _, ...childEnv } = env;
  const child = (deps.spawn ?? defaultSpawn)(electron, [main], childEnv);
  let ended: string | undefined;
  child.once("error", (e) => {
    ended ??= `electron did not run (${e.message})`;
  });
  child.once("exit", (code, signal) => {
    ended ??= `electron exited at start (${signal ?? `exit ${code}`})`;
  });
  const deadline = Date.now() + (deps.startTimeoutMs ?? 20_000);
  const pollMs = deps.pollMs ?? 200;
  for (;;) {
    if (ended) return why(ended);
    if (await agentAlive()) break;
    if (Date.now() >= deadline) {
      child.kill();
      return why(
        `the app did not bring its agent up within ${Math.round((deps.startTimeoutMs ?? 20_000) / 1000)} s`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  // The app ends with the stack (Ctrl-C reaches both; a stack stopped otherwise ends its child).
  process.once("exit", () => child.kill());
  return "started";
}
