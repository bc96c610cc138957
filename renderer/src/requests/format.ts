// Words and small computations the request screens share: expiry choices, durations and ages, target names,
// state labels, which actions a request offers, and line diffs in the broker's "- ", "+ ", "  " form.

import type { PermissionRequest, TargetState } from "../../../shared/requests.ts";

export const HOUR = 3600;
export const DAY = 86_400;
export const MIN_EXPIRY = HOUR;
export const MAX_EXPIRY = 90 * DAY;

export interface ExpiryPreset {
  /** The ISO 8601 duration sent to the broker. */
  value: string;
  label: string;
  seconds: number;
}

export const EXPIRY_PRESETS: readonly ExpiryPreset[] = [
  { value: "PT1H", label: "1 hour", seconds: HOUR },
  { value: "PT2H", label: "2 hours", seconds: 2 * HOUR },
  { value: "PT4H", label: "4 hours", seconds: 4 * HOUR },
  { value: "PT8H", label: "8 hours", seconds: 8 * HOUR },
  { value: "P1D", label: "1 day", seconds: DAY },
  { value: "P3D", label: "3 days", seconds: 3 * DAY },
  { value: "P7D", label: "7 days", seconds: 7 * DAY },
  { value: "P14D", label: "14 days", seconds: 14 * DAY },
  { value: "P30D", label: "30 days", seconds: 30 * DAY },
  { value: "P90D", label: "90 days", seconds: 90 * DAY },
];

/** A custom expiry of `amount` hours or days in seconds, or the reason it is not acceptable. */
export function customExpiry(amount: string, unit: "hours" | "days"): number | string {
  const n = Number(amount.trim());
  if (amount.trim() === "" || !Number.isInteger(n) || n <= 0) return "a whole number of hours or days";
  const seconds = n * (unit === "hours" ? HOUR : DAY);
  if (seconds < MIN_EXPIRY || seconds > MAX_EXPIRY) return "between 1 hour and 90 days";
  return seconds;
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;

/** "8 hours", "7 days", "1 day 6 hours", "45 minutes". */
export function durationText(seconds: number): string {
  const d = Math.floor(seconds / DAY);
  const h = Math.floor((seconds % DAY) / HOUR);
  const m = Math.round((seconds % HOUR) / 60);
  if (d > 0) return h > 0 ? `${plural(d, "day")} ${plural(h, "hour")}` : plural(d, "day");
  if (h > 0) return m > 0 ? `${plural(h, "hour")} ${m} min` : plural(h, "hour");
  return plural(Math.max(m, 1), "minute");
}

/** How long a request asks for: "permanent", "for 8 hours". */
export function expiryText(seconds: number | null): string {
  return seconds === null ? "permanent" : `for ${durationText(seconds)}`;
}

/** How long ago: "just now", "12 min", "3 h", "2 days". */
export function ageText(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return "just now";
  if (s < HOUR) return `${Math.floor(s / 60)} min`;
  if (s < DAY) return `${Math.floor(s / HOUR)} h`;
  return plural(Math.floor(s / DAY), "day");
}

const dateTime = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short" });

export function whenText(iso: string | null | undefined): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : dateTime.format(t);
}

export const STATE_TEXT: Record<TargetState, string> = {
  pending: "Pending approval",
  approved: "Approved",
  applying: "Applying",
  applied: "Applied",
  expired: "Expired",
  rejected: "Rejected",
  cancelled: "Cancelled",
  failed: "Failed",
};

/** Colour family of a state's badge. */
/** "1 of 2 approvals" while a target waits for more than one; "1 approval" once there is one of one. */
export function approvalsText(given: number, required: number, state: TargetState): string {
  if (required > 1 && state === "pending") return `${given} of ${required} approvals`;
  if (given === 0) return "";
  return given === 1 ? "1 approval" : `${given} approvals`;
}

export function stateTone(s: TargetState): "wait" | "ok" | "off" | "bad" {
  if (s === "pending" || s === "approved" || s === "applying") return "wait";
  if (s === "applied") return "ok";
  if (s === "failed" || s === "rejected") return "bad";
  return "off";
}

/** `prod/Billing`, `prod/user deploy-bot`: the account's name when known, else its id. */
export function targetLabel(
  t: { accountId: string; type: "role" | "user"; name: string },
  accounts: ReadonlyMap<string, string>,
): string {
  const account = accounts.get(t.accountId) ?? t.accountId;
  return t.type === "user" ? `${account}/user ${t.name}` : `${account}/${t.name}`;
}

const CANCELLABLE: readonly TargetState[] = ["pending", "approved", "failed"];

export const canCancel = (r: PermissionRequest) => r.targets.some((t) => CANCELLABLE.includes(t.state));
export const canRetry = (r: PermissionRequest) => r.targets.some((t) => t.state === "failed");

export const KIND_TEXT: Record<PermissionRequest["kind"], string> = {
  "inline-policy": "Inline policy",
  "role-access": "Role access",
  "managed-policy": "Managed policy",
  "group-membership": "Group membership",
};

export interface DiffLine {
  kind: "add" | "del" | "same";
  text: string;
}

/** The broker's diff text ("- ", "+ ", "  " before each line) as lines to show. */
export function parseDiff(diff: string): DiffLine[] {
  return diff
    .split("\n")
    .filter((l, i, all) => !(l === "" && i === all.length - 1))
    .map((l) =>
      l.startsWith("+ ")
        ? { kind: "add", text: l.slice(2) }
        : l.startsWith("- ")
          ? { kind: "del", text: l.slice(2) }
          : { kind: "same", text: l.startsWith("  ") ? l.slice(2) : l },
    );
}

/** A line diff of two texts (longest common subsequence), in the same form the broker uses. */
export function lineDiff(before: string, after: string): DiffLine[] {
  const a = before.split("\n");
  const b = after.split("\n");
  // Beyond a few thousand lines the table gets large; a policy is at most 12 000 characters.
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ kind: "same", text: a[i]! });
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push({ kind: "del", text: a[i++]! });
    else out.push({ kind: "add", text: b[j++]! });
  }
  while (i < n) out.push({ kind: "del", text: a[i++]! });
  while (j < m) out.push({ kind: "add", text: b[j++]! });
  return out;
}

/** An ISO duration for an expiry choice: a preset's value, or a custom number of seconds. */
export function expiryValue(choice: string, seconds: number | string): string | number | undefined {
  if (choice !== "custom") return choice;
  return typeof seconds === "number" ? seconds : undefined;
}

/** IAM's inline policy limits (as in shared/policy-lint.ts, which is not bundled: it carries the catalogue). */
export const ROLE_INLINE_LIMIT = 10_240;
export const USER_INLINE_LIMIT = 2_048;

export const JUSTIFICATION_MIN = 10;
export const JUSTIFICATION_MAX = 2000;

/** Why a justification is not acceptable yet, or null. */
export function justificationProblem(text: string): string | null {
  const n = text.trim().length;
  if (n < JUSTIFICATION_MIN) return `Say why you need it, in at least ${JUSTIFICATION_MIN} characters.`;
  if (n > JUSTIFICATION_MAX) return `At most ${JUSTIFICATION_MAX} characters (now ${n}).`;
  return null;
}

/** A string being typed as an element of Action / NotAction: where its text starts, and that text. */
export function actionPrefixAt(textBefore: string): { start: number; prefix: string } | null {
  const m = /"(Action|NotAction)"\s*:\s*(?:\[(?:\s*"[^"\]]*"\s*,)*\s*)?"([A-Za-z0-9:*-]*)$/.exec(textBefore);
  if (!m) return null;
  const prefix = m[2] ?? "";
  return { start: textBefore.length - prefix.length, prefix };
}
