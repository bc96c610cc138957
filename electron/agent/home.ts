// The agent's state directory (GATEHOUSE_HOME, default ~/.gatehouse): created 0700, tightened if looser.

import { chmodSync, mkdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export interface AgentPaths {
  home: string;
  /** The agent's local endpoint: a Unix socket (0600) inside the 0700 home; a named pipe on Windows. */
  socket: string;
  settings: string;
  /** The broker's published sign-in settings (/v1/client-config) and the broker URL they came from. */
  clientConfig: string;
  /** The opt-in file store for the refresh token (0600), used only when settings choose it. */
  tokenFile: string;
  log: string;
  /**
   * Present while someone is signed in on this machine (no secret in it). A lapsed session of a person
   * who signed in re-opens the browser once; someone who never signed in is told to run `gatehouse login`.
   */
  signedInMarker: string;
}

export function agentPaths(env: NodeJS.ProcessEnv = process.env): AgentPaths {
  const home = resolve(env.GATEHOUSE_HOME || join(homedir(), ".gatehouse"));
  const socket =
    process.platform === "win32"
      ? `\\\\.\\pipe\\gatehouse-${Buffer.from(home).toString("base64url").slice(0, 40)}`
      : join(home, "agent.sock");
  return {
    home,
    socket,
    settings: join(home, "settings.json"),
    clientConfig: join(home, "client-config.json"),
    tokenFile: join(home, "refresh-token"),
    log: join(home, "agent.log"),
    signedInMarker: join(home, "signed-in"),
  };
}

/** Create the home 0700, or tighten it if it exists with looser permissions. */
export function ensureHome(paths: AgentPaths): void {
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  if (process.platform !== "win32" && (statSync(paths.home).mode & 0o077) !== 0) chmodSync(paths.home, 0o700);
}
