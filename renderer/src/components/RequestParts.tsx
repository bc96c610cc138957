// Pieces the request screens share: a polled list of requests with its heading and load states, a request's
// heading, the risk badge, lint findings, a diff, an approver's changes, a target's state, the history.

import { type ReactNode, useCallback, useEffect, useRef, useState } from "react";
import type { MarkedLint } from "../../../shared/ipc.ts";
import type { PermissionRequest, TargetState } from "../../../shared/requests.ts";
import { errorCode, errorText } from "../gatehouse.ts";
import { type DiffLine, parseDiff, STATE_TEXT, stateTone, whenText } from "../requests/format.ts";
import { Icon } from "./Icon.tsx";
import type { LintState } from "./PolicyEditor.tsx";

const POLL_MS = 15_000;

/**
 * Requests loaded now and every 15 s (and again on `load()`): NOT_SIGNED_IN calls `onSignedOut`, any other
 * failure sets `error` and keeps the list last loaded; `onLoaded` sees each list that arrives.
 */
export function usePolledRequests(
  fetch: () => Promise<PermissionRequest[]>,
  onSignedOut: () => void,
  onLoaded?: (list: PermissionRequest[]) => void,
) {
  const [list, setList] = useState<PermissionRequest[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const latest = useRef({ fetch, onLoaded });
  latest.current = { fetch, onLoaded };

  const load = useCallback(async () => {
    setLoading(true);
    try {
      const got = await latest.current.fetch();
      setList(got);
      setError(null);
      latest.current.onLoaded?.(got);
    } catch (e) {
      if (errorCode(e) === "NOT_SIGNED_IN") onSignedOut();
      else setError(errorText(e));
    } finally {
      setLoading(false);
    }
  }, [onSignedOut]);

  useEffect(() => {
    void load();
    const timer = window.setInterval(() => void load(), POLL_MS);
    return () => window.clearInterval(timer);
  }, [load]);

  return { list, setList, error, loading, load };
}

/** A list screen's title with its Refresh button (spinning while it loads). */
export function ScreenHead({
  id,
  title,
  loading,
  onRefresh,
}: {
  id: string;
  title: string;
  loading: boolean;
  onRefresh(): void;
}) {
  return (
    <div className="screen-head">
      <h2 id={id} className="screen-title">
        {title}
      </h2>
      <button type="button" className="btn ghost" onClick={onRefresh} disabled={loading}>
        <Icon name="refresh" className={loading ? "spin" : undefined} />
        Refresh
      </button>
    </div>
  );
}

/** A loaded list on a screen: why it could not be loaded, a spinner until it first arrives, `empty`, or the list. */
export function LoadedList<T>({
  list,
  error,
  failedTitle,
  loadingText,
  empty,
  children,
}: {
  list: T[] | null;
  error: string | null;
  failedTitle: string;
  loadingText: string;
  empty: ReactNode;
  children: (list: T[]) => ReactNode;
}) {
  return (
    <>
      {error ? (
        <div className="alert error" role="alert">
          <strong className="alert-title">{failedTitle}</strong> {error}
        </div>
      ) : null}
      {list === null ? (
        error ? null : (
          <div className="center-message" role="status">
            <span className="spinner" aria-hidden="true" /> {loadingText}
          </div>
        )
      ) : list.length === 0 ? (
        empty
      ) : (
        children(list)
      )}
    </>
  );
}

/** A request's title (with `id` for aria-labelledby) and its id. */
export function RequestHead({
  id,
  title,
  requestId,
  request,
}: {
  id: string;
  title: string;
  requestId: string;
  /** For the break-glass badge. */
  request?: Pick<PermissionRequest, "breakGlass" | "breakGlassReasons">;
}) {
  return (
    <header className="request-head">
      <h3 id={id}>{title}</h3>
      {request ? <BreakGlassBadge request={request} /> : null}
      <span className="muted mono request-id">{requestId}</span>
    </header>
  );
}

/**
 * SECURITY 31: the request can change access (permissions, trust, credentials, access tags) and the
 * broker's break-glass setting let it through; it applies only once an admin approves it.
 */
export function BreakGlassBadge({
  request,
}: {
  request: Pick<PermissionRequest, "breakGlass" | "breakGlassReasons">;
}) {
  if (!request.breakGlass) return null;
  return (
    <span
      className="break-glass-badge"
      data-testid="break-glass"
      title={(request.breakGlassReasons ?? []).join("\n")}
    >
      Break-glass · needs an admin
    </span>
  );
}

const RISK_TEXT = { low: "Low risk", medium: "Medium risk", high: "High risk", critical: "Critical risk" };

export function RiskBadge({ risk }: { risk: MarkedLint["risk"] }) {
  return (
    <span className={`risk-badge risk-${risk}`} data-testid="risk">
      {RISK_TEXT[risk]}
    </span>
  );
}

const SEVERITY_TEXT = { error: "Error", warning: "Warning", info: "Note" };

/** What the lint says about the policy being edited: risk with its reasons, size, and every finding. */
export function LintSummary({ state, id, limit }: { state: LintState; id?: string; limit?: number }) {
  if (state.kind === "checking")
    return (
      <div className="lint-summary" id={id} role="status">
        <span className="spinner small" aria-hidden="true" /> Checking the policy…
      </div>
    );
  if (state.kind === "failed")
    return (
      <div className="lint-summary" id={id}>
        <div className="alert error" role="alert">
          <strong className="alert-title">The policy could not be checked.</strong> {state.error}
        </div>
      </div>
    );
  const r = state.result;
  const errors = r.findings.filter((f) => f.severity === "error").length;
  return (
    <div className="lint-summary" id={id}>
      <div className="lint-head">
        <RiskBadge risk={r.risk} />
        <span className={r.valid ? "lint-ok" : "lint-bad"} role="status">
          {r.valid
            ? r.findings.length === 0
              ? "Valid policy, no findings"
              : `Valid policy, ${r.findings.length} ${r.findings.length === 1 ? "finding" : "findings"}`
            : `${errors} ${errors === 1 ? "error" : "errors"} to fix`}
        </span>
        <span className="muted size">
          {r.size.toLocaleString("en")}
          {limit ? ` / ${limit.toLocaleString("en")}` : ""} characters
        </span>
      </div>
      {r.reasons.length > 0 ? (
        <ul className="risk-reasons" aria-label="Why this risk">
          {r.reasons.map((x) => (
            <li key={x}>{x}</li>
          ))}
        </ul>
      ) : null}
      {r.findings.length > 0 ? (
        <ul className="findings" aria-label="Lint findings">
          {r.findings.map((f, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: findings have no identity beyond their order
            <li key={i} className={`finding ${f.severity}`}>
              <span className="finding-severity">{SEVERITY_TEXT[f.severity]}</span>
              <span className="finding-message">{f.message}</span>
              <span className="finding-where mono">
                {f.code}
                {f.path ? ` · ${f.path}` : ""}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function DiffView({ lines, label }: { lines: DiffLine[]; label: string }) {
  return (
    <figure className="diff-figure">
      <figcaption className="sr-only">{label}</figcaption>
      <pre className="diff" data-testid="diff">
        {lines.map((l, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a diff's lines are positional
          <span key={i} className={`diff-line ${l.kind}`}>
            {l.kind === "add" ? "+ " : l.kind === "del" ? "- " : "  "}
            {l.text}
            {"\n"}
          </span>
        ))}
      </pre>
    </figure>
  );
}

/** What an approver changed in the policy, as a diff. */
export function ApproverDiff({ approver, diff }: { approver: string; diff: string }) {
  return (
    <>
      <p className="muted">{approver} changed the policy:</p>
      <DiffView lines={parseDiff(diff)} label={`Changes by ${approver}`} />
    </>
  );
}

export function StateBadge({ state }: { state: TargetState }) {
  return (
    <span className={`state-badge ${stateTone(state)}`} data-state={state}>
      {STATE_TEXT[state]}
    </span>
  );
}

const EVENT_TEXT: Record<string, string> = {
  created: "Requested",
  approve: "Approved",
  approved: "Approved",
  reject: "Rejected",
  rejected: "Rejected",
  cancel: "Cancelled",
  cancelled: "Cancelled",
  apply: "Applying",
  applying: "Applying",
  applied: "Applied",
  fail: "Apply failed",
  failed: "Apply failed",
  retry: "Retried",
  expire: "Expired",
  expired: "Expired",
  expiring: "Expires within the hour",
  drift: "Changed outside Gatehouse",
  resolve: "Drift settled",
  resolved: "Drift settled",
};

function detailText(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .filter(([k, v]) => (typeof v === "string" || typeof v === "number") && k !== "diff" && k !== "policy")
    .map(([k, v]) => `${k}: ${v}`)
    .join(" · ");
}

export function EventList({ request }: { request: PermissionRequest }) {
  return (
    <ol className="events" aria-label="History">
      {request.events.map((e, i) => {
        const detail = detailText(e.detail);
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: events are an append-only list
          <li key={i}>
            <time dateTime={e.time}>{whenText(e.time)}</time> <strong>{EVENT_TEXT[e.type] ?? e.type}</strong>
            {request.targets.length > 1
              ? ` (${request.targets.find((t) => t.n === e.target)?.name ?? "all"})`
              : ""}{" "}
            by <span className="mono">{e.actor}</span>
            {detail ? <span className="muted"> — {detail}</span> : null}
          </li>
        );
      })}
    </ol>
  );
}
