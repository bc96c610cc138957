// `gatehouse request … --wait`: poll a request until every target has settled (applied, or rejected, failed,
// cancelled, expired), with a gentle back-off, a deadline, and the one line a person reads for each target
// that did not make it. Transient trouble (the agent restarting, the broker unreachable) once the request
// has been seen is waited out.

import type { PermissionRequest, RequestTarget, TargetState } from "../../shared/requests.ts";
import { visible } from "../../shared/visible-text.ts";

/** States a target may still leave on its own (an approver or the broker moves it on). */
export const WAITING_STATES: readonly TargetState[] = ["pending", "approved", "applying"];
/** Settled states that are not success; `failed` counts (a retry is someone's decision, not a wait). */
export const BAD_STATES: readonly TargetState[] = ["rejected", "failed", "cancelled", "expired"];

/** Exit codes of a wait: applied, not applied, still waiting at the deadline (as timeout(1) does). */
export const EXIT_APPLIED = 0;
export const EXIT_NOT_APPLIED = 1;
export const EXIT_TIMEOUT = 124;

export const FIRST_DELAY_MS = 200;
export const MAX_DELAY_MS = 2000;
/** The default of `--timeout`: a day and a night for a person to answer. */
export const DEFAULT_TIMEOUT = "24h";

/** Codes worth waiting out: they say nothing about the request, only about the way to it. */
const TRANSIENT = new Set([
  "AGENT_UNREACHABLE",
  "BROKER_UNREACHABLE",
  "NOT_READY",
  "IDP_UNAVAILABLE",
  "AWS_UNAVAILABLE",
  "ECONNREFUSED",
  "ENOENT",
  "ECONNRESET",
]);

export function isTransient(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && TRANSIENT.has(code);
}

export const settled = (r: PermissionRequest) => r.targets.every((t) => !WAITING_STATES.includes(t.state));

/** The next pause: ×1.5 each time, from 200 ms up to 2 s. */
export const nextDelay = (ms: number) => Math.min(MAX_DELAY_MS, Math.round(ms * 1.5));

export type WaitOutcome =
  | { kind: "settled"; request: PermissionRequest; code: typeof EXIT_APPLIED | typeof EXIT_NOT_APPLIED }
  | { kind: "timeout"; request: PermissionRequest | undefined; lastError: unknown };

export interface WaitOptions {
  timeoutMs: number;
  /**
   * The request as last seen (e.g. as created). Transient errors are waited out only once the request has
   * been seen: a first read that fails says at once that the way to the broker is broken.
   */
  initial?: PermissionRequest;
  get(): Promise<PermissionRequest>;
  /** Called with each request read whose states differ from the last one's, and with transient errors. */
  progress?(r: PermissionRequest | undefined, error?: unknown): void;
  sleep?(ms: number): Promise<void>;
  now?(): number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Poll until settled or the deadline. Errors (not found, signed out…) are thrown, but for transient ones
 * (agent restarting, broker unreachable) once the request has been seen, which are waited out.
 */
export async function waitForRequest(o: WaitOptions): Promise<WaitOutcome> {
  const now = o.now ?? (() => performance.now());
  const sleep = o.sleep ?? defaultSleep;
  const deadline = now() + o.timeoutMs;
  let delay = FIRST_DELAY_MS;
  let last: PermissionRequest | undefined = o.initial;
  let lastError: unknown;
  let lastStates = "";
  for (;;) {
    try {
      const r = await o.get();
      last = r;
      lastError = undefined;
      if (settled(r)) {
        const ok = r.targets.every((t) => t.state === "applied");
        return { kind: "settled", request: r, code: ok ? EXIT_APPLIED : EXIT_NOT_APPLIED };
      }
      const states = r.targets.map((t) => t.state).join(",");
      if (states !== lastStates) o.progress?.(r);
      lastStates = states;
    } catch (e) {
      if (!isTransient(e) || last === undefined) throw e;
      lastError = e;
      o.progress?.(last, e);
    }
    const left = deadline - now();
    if (left <= 0) return { kind: "timeout", request: last, lastError };
    await sleep(Math.min(delay, left));
    delay = nextDelay(delay);
  }
}

/** Who moved a target into its state and why, from the request's events (the last such move). */
function lastMove(r: PermissionRequest, t: RequestTarget, event: string) {
  return r.events.filter((e) => e.target === t.n && e.type === event).at(-1);
}

const CODE: Partial<Record<TargetState, string>> = {
  rejected: "REQUEST_REJECTED",
  cancelled: "REQUEST_CANCELLED",
  expired: "REQUEST_EXPIRED",
  failed: "REQUEST_FAILED",
};

/** One line per target that was not applied: which, what happened, why, and a code. */
export function notAppliedLines(r: PermissionRequest): string[] {
  return r.targets
    .filter((t) => t.state !== "applied")
    .map((t) => {
      let why = "";
      let code = CODE[t.state] ?? t.state.toUpperCase();
      if (t.state === "rejected") {
        const e = lastMove(r, t, "reject");
        const reason = typeof e?.detail.reason === "string" ? e.detail.reason : "";
        why = `rejected${e ? ` by ${visible(e.actor)}` : ""}${reason ? `: ${visible(reason)}` : ""}`;
      } else if (t.state === "cancelled") {
        const e = lastMove(r, t, "cancel");
        why = `cancelled${e ? ` by ${visible(e.actor)}` : ""}`;
      } else if (t.state === "expired") {
        why = `expired${t.expiresAt ? ` at ${visible(t.expiresAt)}` : ""}`;
      } else if (t.state === "failed") {
        why = `failed${t.error ? `: ${visible(t.error.message)}` : ""}`;
        if (t.error) code = visible(t.error.code);
      } else why = t.state;
      return `gatehouse: request ${visible(r.id)}: ${visible(t.arn)} ${why} [${code}]`;
    });
}

/** One line of progress: the request and each target's state. */
export function progressLine(id: string, r: PermissionRequest | undefined, error?: unknown): string {
  if (error) return `gatehouse: request ${id}: still waiting (${visible((error as Error).message)})`;
  if (!r) return `gatehouse: request ${id}: waiting`;
  const states = r.targets.map((t) => `${visible(t.arn)} ${t.state}`).join(", ");
  return `gatehouse: request ${id}: waiting — ${states}`;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds from "30s", "10m", "2h", "1d" (a whole number and a unit, at least 1 s); null if not that. */
export function parseTimeout(text: string): number | null {
  const m = /^(\d{1,7})([smhd])$/.exec(text.trim());
  if (!m) return null;
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  return seconds >= 1 && seconds <= 366 * 86_400 ? seconds : null;
}
