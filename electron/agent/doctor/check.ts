// What a `gatehouse doctor` check is: a small module with an id that looks at one thing and answers with
// lines, each ok, a warning or a failure, every failure carrying the fix a person can apply.

import type { AgentPaths } from "../home.ts";
import type { Settings } from "../settings.ts";

export type Status = "ok" | "warn" | "fail" | "skip";

export interface Finding {
  /** The check's id, and for checks that answer several lines a sub-id (`aws-config.block`). */
  id: string;
  status: Status;
  message: string;
  /** What to do about it; every warn and fail has one. */
  fix?: string;
  /** How long it took (the --role steps). */
  ms?: number;
}

export interface DoctorContext {
  env: NodeJS.ProcessEnv;
  paths: AgentPaths;
  /** Undefined when settings.json cannot be read (the settings check says why; others use the defaults). */
  settings: Settings;
  settingsError?: string;
  /** This CLI's version, to compare with the agent's. */
  version: string;
  /** The role for the end-to-end steps (`--role`), if any. */
  role?: string;
  /** Shared between checks: the broker's answer (for the clock), the agent's status. */
  memo: Map<string, unknown>;
}

export interface Check {
  id: string;
  run(ctx: DoctorContext): Promise<Finding[]>;
}

export const ok = (id: string, message: string, ms?: number): Finding => ({
  id,
  status: "ok",
  message,
  ...(ms !== undefined ? { ms } : {}),
});
export const warn = (id: string, message: string, fix: string): Finding => ({
  id,
  status: "warn",
  message,
  fix,
});
export const fail = (id: string, message: string, fix: string, ms?: number): Finding => ({
  id,
  status: "fail",
  message,
  fix,
  ...(ms !== undefined ? { ms } : {}),
});
export const skip = (id: string, message: string): Finding => ({ id, status: "skip", message });
