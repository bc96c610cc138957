// `gatehouse exec ROLE -- CMD…`: runs CMD with credentials for one role, from a local server or the env.

import { type ChildProcess, type StdioOptions, spawn } from "node:child_process";
import { constants } from "node:os";
import { GatehouseError } from "../../shared/errors.ts";
import { type SessionCredentials, startEcsServer } from "./ecs-server.ts";
import { regionVariables } from "./region.ts";

export interface ExecOptions {
  /** The role the credentials are for; handed to CMD as GATEHOUSE_ROLE. */
  role: string;
  /** CMD and its arguments, run without a shell. */
  command: string[];
  getCredentials: () => Promise<SessionCredentials>;
  /** server: an ECS-style endpoint the SDKs refresh from by themselves; env: static keys in the env. */
  mode: "server" | "env";
  /**
   * The environment CMD starts from (default: this process's). CMD gets exactly this, minus other
   * credential sources, plus ours, GATEHOUSE_ROLE and the region: nothing of Gatehouse's own.
   */
  env?: NodeJS.ProcessEnv;
  /** Set as AWS_REGION and AWS_DEFAULT_REGION unless `env` has either (like aws-vault). */
  region?: string;
  stdio?: StdioOptions;
  /** CMD's working directory (default: this process's). */
  cwd?: string;
  /**
   * CMD leads a process group of its own (the tray's recording stops the whole group), and this process's
   * signals are not forwarded: the app is not CMD's terminal.
   */
  group?: boolean;
  /** CMD once started (the tray's recording reads its output and may stop it). */
  onSpawn?: (child: ChildProcess) => void;
  /** More variables for CMD (a recording's CSM port and proxy); the credential variables still win. */
  extraEnv?: Record<string, string>;
  log?: (line: string) => void;
  /**
   * When CMD dies by a signal, kill this process with the same signal once cleaned up, so its own parent
   * (a shell) sees a death by signal rather than an exit code. The CLI sets this; tests in-process do not.
   */
  reraise?: boolean;
}

/** Signals a terminal or supervisor sends to us that CMD must receive too. */
export const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Re-raised on ourselves: these only end a process (SIGUSR1 would start Node's debugger, SIGQUIT dump core). */
const RERAISED_SIGNALS = new Set<NodeJS.Signals>(["SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"]);

/**
 * Variables that would make an SDK pick other credentials than ours: static keys come first in every
 * chain, the JS SDK prefers AWS_PROFILE to static keys, and a RELATIVE_URI or token file wins over the
 * FULL_URI and token we set.
 */
export const CREDENTIAL_VARIABLES = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_SECURITY_TOKEN",
  "AWS_CREDENTIAL_EXPIRATION",
  "AWS_PROFILE",
  "AWS_DEFAULT_PROFILE",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
] as const;

/** The environment for CMD: the base minus every other credential source, plus ours and the region. Pure. */
export function childEnv(
  base: NodeJS.ProcessEnv,
  role: string,
  ours: Record<string, string>,
  region?: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  for (const k of CREDENTIAL_VARIABLES) delete env[k];
  return { ...env, ...regionVariables(base, region), ...ours, GATEHOUSE_ROLE: role };
}

/** The shell convention for a death by signal: 128 + the signal's number. */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

export async function runExec(opts: ExecOptions): Promise<number> {
  const [file, ...args] = opts.command;
  if (!file)
    throw new GatehouseError("BAD_ARGUMENT", "exec needs a command to run: gatehouse exec ROLE -- CMD…");
  const base = opts.env ?? process.env;

  // Fetched before CMD starts in both modes: a sign-in problem fails here, once, not inside CMD's SDK
  // (whose container provider gives up after a second), and the agent's cache is warm for CMD's first call.
  const first = await opts.getCredentials();
  if (!first.accessKeyId || !first.secretAccessKey || !first.sessionToken)
    throw new GatehouseError("INTERNAL", "The agent returned incomplete credentials.");
  if (!(Date.parse(first.expiration) > Date.now()))
    throw new GatehouseError("INTERNAL", "The agent returned credentials that had expired.");

  const server =
    opts.mode === "server"
      ? await startEcsServer({ getCredentials: opts.getCredentials, ...(opts.log ? { log: opts.log } : {}) })
      : undefined;
  // The token goes into CMD's environment only: never an argument, a file or a log line (aws-vault #556).
  const env = childEnv(
    base,
    opts.role,
    {
      ...opts.extraEnv,
      ...(server
        ? { AWS_CONTAINER_CREDENTIALS_FULL_URI: server.url, AWS_CONTAINER_AUTHORIZATION_TOKEN: server.token }
        : {
            AWS_ACCESS_KEY_ID: first.accessKeyId,
            AWS_SECRET_ACCESS_KEY: first.secretAccessKey,
            AWS_SESSION_TOKEN: first.sessionToken,
            AWS_CREDENTIAL_EXPIRATION: new Date(first.expiration).toISOString(),
          }),
    },
    opts.region,
  );

  const forward = (signal: NodeJS.Signals) => {
    child?.kill(signal);
  };
  let child: ReturnType<typeof spawn> | undefined;
  let died: NodeJS.Signals | null = null;
  try {
    child = spawn(file, args, {
      env,
      stdio: opts.stdio ?? "inherit",
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      ...(opts.group ? { detached: true } : {}),
    });
    // Forward from the first moment: a signal in between would otherwise end us and orphan CMD.
    if (!opts.group) for (const s of FORWARDED_SIGNALS) process.on(s, forward);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child!.once("exit", (code, signal) => resolve({ code, signal }));
    });
    await new Promise<void>((resolve, reject) => {
      child!.once("spawn", () => {
        opts.onSpawn?.(child!);
        resolve();
      });
      // Kept for the child's lifetime: a later error (a failed kill) must not crash us as unhandled.
      child!.on("error", (e: NodeJS.ErrnoException) =>
        reject(
          new GatehouseError("BAD_ARGUMENT", `Cannot run ${JSON.stringify(file)}: ${e.code ?? e.message}`, {
            cause: e,
          }),
        ),
      );
    });
    const { code, signal } = await exited;
    died = signal;
    return signal ? exitCodeForSignal(signal) : (code ?? 1);
  } finally {
    for (const s of FORWARDED_SIGNALS) process.off(s, forward);
    await server?.close();
    if (died && opts.reraise && RERAISED_SIGNALS.has(died)) process.kill(process.pid, died);
  }
}
