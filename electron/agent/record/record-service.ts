// The tray app's "Record": run one command under a recording with a role's credentials, for a person who asked
// for it in the window. The renderer can only PROPOSE a command: nothing starts until `confirm` (in the app, a
// native modal dialog showing the exact argv, the role and the folder) says yes. Plain Node, so the whole flow is
// tested without Electron; the Electron main passes a `confirm` built on dialog.showMessageBox.

import type { ChildProcess } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import { isAbsolute } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { GatehouseError } from "../../../shared/errors.ts";
import type { RecordedCall, Recording, RecordState } from "../../../shared/recording.ts";
import type { SessionCredentials } from "../ecs-server.ts";
import { runExec } from "../exec.ts";
import { type ActiveRecording, startRecording } from "./recording.ts";

/** What the renderer proposes and the person confirms, shown to them verbatim. */
export interface RecordProposal {
  /** The role reference as the person chose it ("staging/Developer"). */
  role: string;
  /** The program and its arguments, run without a shell. */
  command: string[];
  /** The working directory (absolute, an existing folder). */
  cwd: string;
  /** Whether the HTTPS proxy records too (JS SDK v3, Go SDK v2, Terraform). */
  proxy: boolean;
}

/** Yes only on the person's explicit confirmation; anything else (closed, cancelled, failed) is no. */
export type ConfirmRecording = (p: RecordProposal) => Promise<boolean>;

export interface RecordServiceOptions {
  confirm: ConfirmRecording;
  /** The role's credentials (the agent's cache); throws for a role the person may not use. */
  credentials(role: string): Promise<SessionCredentials>;
  /** The role's account and partition (ARNs from parameters); undefined when the person has no such role. */
  roleInfo(role: string): Promise<{ accountId: string; partition: string } | undefined>;
  /** The region for the command (AWS_REGION / AWS_DEFAULT_REGION). */
  region?(role: string): string | undefined;
  /** Where the few inherited variables come from (default: this process's environment). */
  baseEnv?: NodeJS.ProcessEnv;
  /** Bytes of the command's output kept (stdout and stderr together); the rest is counted, not kept. */
  maxOutput?: number;
  /** The least time between two proposals: a renderer cannot flood the person with dialogs. */
  minIntervalMs?: number;
  /** How long a stopped command has to end after SIGTERM before SIGKILL. */
  killGraceMs?: number;
  /** Where the recording proxy sends AWS calls instead of their host (tests: the emulator). */
  upstream?: string;
  /** Where "Save policy" writes: the app asks with a native save dialog; null when the person cancels. */
  choosePolicyPath?(suggested: string): Promise<string | null>;
}

const DEFAULT_MAX_OUTPUT = 256 * 1024;
const DEFAULT_MIN_INTERVAL_MS = 2000;
const DEFAULT_KILL_GRACE_MS = 3000;

/**
 * The only variables of the app's own environment the command gets: enough to find programs and a home
 * folder and to print in the person's language. Nothing else of the app's (its settings, tokens, whatever
 * the desktop session holds) reaches a recorded command; credentials and the recording's variables come on top.
 */
export const INHERITED_VARIABLES = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "LC_ALL",
  "LC_CTYPE",
  "TZ",
  "TMPDIR",
  "TEMP",
  "TMP",
  "SYSTEMROOT",
  "WINDIR",
  "COMSPEC",
  "PATHEXT",
] as const;

export function inheritedEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of INHERITED_VARIABLES) if (base[k] !== undefined) env[k] = base[k];
  return env;
}

interface Run {
  proposal: RecordProposal;
  startedAt: string;
  recording: ActiveRecording;
  child?: ChildProcess;
  output: string;
  outputBytes: number;
  truncated: boolean;
  stopRequested: boolean;
  exitCode: number | null;
  result: Recording | null;
  error: string | null;
  done: Promise<void>;
}

export class RecordService {
  private run: Run | undefined;
  private confirming = false;
  private lastProposal = Number.NEGATIVE_INFINITY;
  private readonly maxOutput: number;
  private readonly minIntervalMs: number;
  private readonly killGraceMs: number;

  constructor(private readonly opts: RecordServiceOptions) {
    this.maxOutput = opts.maxOutput ?? DEFAULT_MAX_OUTPUT;
    this.minIntervalMs = opts.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
    this.killGraceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  }

  private get running(): boolean {
    return this.run !== undefined && this.run.result === null && this.run.error === null;
  }

  /**
   * Checks the proposal, asks `confirm`, and only on a yes starts the recording and the command. Resolves once
   * the command has started (or failed to); its calls, output and result come through `status()`.
   */
  async start(p: RecordProposal): Promise<RecordState> {
    if (this.confirming || this.running)
      throw new GatehouseError(
        "RECORDING_BUSY",
        "a recording is already running or waiting for confirmation",
      );
    const now = Date.now();
    if (now - this.lastProposal < this.minIntervalMs)
      throw new GatehouseError("RECORDING_RATE_LIMITED", "wait a moment before starting another recording");
    const proposal = await this.check(p);
    // Counted from the dialogs shown: a typo refused above does not make the person wait.
    this.lastProposal = now;

    this.confirming = true;
    let yes = false;
    try {
      yes = (await this.opts.confirm(proposal)) === true;
    } catch {
      // A dialog that failed is not a yes.
      yes = false;
    } finally {
      this.confirming = false;
    }
    if (!yes)
      throw new GatehouseError("RECORDING_REFUSED", "the command was not confirmed; nothing was started");
    // Confirmation took the person's time: someone else may have started one meanwhile (never here, but cheap).
    if (this.running) throw new GatehouseError("RECORDING_BUSY");

    const info = await this.opts.roleInfo(proposal.role);
    const recording = await startRecording({
      csm: true,
      proxy: proposal.proxy,
      ...(this.opts.upstream ? { upstream: this.opts.upstream } : {}),
      ...(info ? { accountId: info.accountId, partition: info.partition } : {}),
    });
    let started!: () => void;
    const spawned = new Promise<void>((r) => {
      started = r;
    });
    const run: Run = {
      proposal,
      startedAt: new Date().toISOString(),
      recording,
      output: "",
      outputBytes: 0,
      truncated: false,
      stopRequested: false,
      exitCode: null,
      result: null,
      error: null,
      done: Promise.resolve(),
    };
    this.run = run;
    const region = this.opts.region?.(proposal.role);
    run.done = (async () => {
      let exitCode = 1;
      try {
        exitCode = await runExec({
          role: proposal.role,
          command: proposal.command,
          cwd: proposal.cwd,
          mode: "server",
          env: inheritedEnv(this.opts.baseEnv ?? process.env),
          ...(region ? { region } : {}),
          extraEnv: recording.env,
          // No terminal: output is read into the window; nothing is typed into the command.
          stdio: ["ignore", "pipe", "pipe"],
          group: true,
          getCredentials: () => this.opts.credentials(proposal.role),
          onSpawn: (child) => {
            run.child = child;
            this.capture(run, child);
            started();
          },
        });
      } catch (e) {
        run.error = e instanceof GatehouseError ? e.message : "the command could not be run";
        run.exitCode = null;
        await recording.stop({ role: proposal.role, command: proposal.command, exitCode: 1 });
        started();
        return;
      }
      run.exitCode = exitCode;
      run.result = await recording.stop({ role: proposal.role, command: proposal.command, exitCode });
    })();
    await spawned;
    return this.status();
  }

  private async check(p: RecordProposal): Promise<RecordProposal> {
    if (p.command.length === 0 || p.command[0]!.trim() === "")
      throw new GatehouseError("BAD_REQUEST", "name a program to run");
    if (p.command.some((a) => a.includes("\0")))
      throw new GatehouseError("BAD_REQUEST", "an argument holds a NUL character");
    if (!isAbsolute(p.cwd))
      throw new GatehouseError("BAD_REQUEST", "the working folder must be an absolute path");
    let isDir = false;
    try {
      isDir = statSync(p.cwd).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) throw new GatehouseError("BAD_REQUEST", `no folder ${JSON.stringify(p.cwd)}`);
    // Asked before the dialog: a person is never asked to confirm a role they cannot use.
    if (!(await this.opts.roleInfo(p.role)))
      throw new GatehouseError("ROLE_NOT_FOUND", `no access to ${p.role} (the Roles tab lists yours)`);
    return { role: p.role, command: [...p.command], cwd: p.cwd, proxy: p.proxy };
  }

  private capture(run: Run, child: ChildProcess): void {
    const decoder = new StringDecoder("utf8");
    const take = (chunk: Buffer) => {
      // Read to the end whatever the cap: a command whose pipe is not drained would hang.
      const room = this.maxOutput - run.outputBytes;
      if (room <= 0) {
        run.truncated = true;
        return;
      }
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      if (part.length < chunk.length) run.truncated = true;
      run.outputBytes += part.length;
      run.output += decoder.write(part);
    };
    child.stdout?.on("data", take);
    child.stderr?.on("data", take);
  }

  /** Stops the running command (SIGTERM to its process group, SIGKILL after a grace); its recording is kept. */
  async stop(): Promise<RecordState> {
    const run = this.run;
    if (!run || !this.running) return this.status();
    run.stopRequested = true;
    const child = run.child;
    if (child?.pid !== undefined) {
      signalGroup(child, "SIGTERM");
      const timer = setTimeout(() => signalGroup(child, "SIGKILL"), this.killGraceMs);
      timer.unref();
      await run.done;
      clearTimeout(timer);
    } else await run.done;
    return this.status();
  }

  /** Waits for the current recording to end (tests; the window polls `status()`). */
  async settled(): Promise<RecordState> {
    await this.run?.done;
    return this.status();
  }

  status(): RecordState {
    const run = this.run;
    if (!run)
      return {
        state: this.confirming ? "confirming" : "idle",
        role: null,
        command: [],
        cwd: null,
        proxy: false,
        startedAt: null,
        calls: [],
        output: "",
        outputTruncated: false,
        stopped: false,
        exitCode: null,
        error: null,
        recording: null,
      };
    const calls: RecordedCall[] = run.result ? run.result.calls : [...run.recording.calls];
    return {
      state: this.confirming ? "confirming" : this.running ? "running" : "done",
      role: run.proposal.role,
      command: run.proposal.command,
      cwd: run.proposal.cwd,
      proxy: run.proposal.proxy,
      startedAt: run.startedAt,
      calls,
      output: run.output,
      outputTruncated: run.truncated,
      stopped: run.stopRequested,
      exitCode: run.exitCode,
      error: run.error,
      recording: run.result,
    };
  }

  /** The finished recording, or NO_RECORDING. */
  finished(): Recording {
    const r = this.run?.result;
    if (!r) throw new GatehouseError("NO_RECORDING", "no finished recording: record a command first");
    return r;
  }

  /** "Save policy": the whole least-privilege policy as JSON, where the person chose in a native dialog. */
  async savePolicy(): Promise<{ path: string | null }> {
    const r = this.finished();
    if (!this.opts.choosePolicyPath)
      throw new GatehouseError("FORBIDDEN", "this app cannot ask where to save the policy");
    const path = await this.opts.choosePolicyPath("recorded-policy.json");
    if (!path) return { path: null };
    writeFileSync(path, `${JSON.stringify(r.policy, null, 2)}\n`, { mode: 0o644 });
    return { path };
  }

  /** Ends a running command when the app quits (the recording's CA key dies with it). */
  async dispose(): Promise<void> {
    if (this.running) await this.stop();
  }
}

/** Signal the command and whatever it started: `sh -c` leaves its children behind otherwise. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (process.platform !== "win32" && child.pid !== undefined) process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    // Already gone.
  }
}
