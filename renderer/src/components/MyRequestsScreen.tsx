// My requests: each request with the state of each target, what an approver changed, the history, and
// cancel / retry where the state allows.

import { useCallback, useId, useState } from "react";
import type { PermissionRequest } from "../../../shared/requests.ts";
import { errorCode, errorText, gatehouse } from "../gatehouse.ts";
import { canCancel, canRetry, expiryText, KIND_TEXT, targetLabel, whenText } from "../requests/format.ts";
import type { ShowToast } from "../useToast.ts";
import {
  ApproverDiff,
  EventList,
  LoadedList,
  RequestHead,
  ScreenHead,
  StateBadge,
  usePolledRequests,
} from "./RequestParts.tsx";

interface Props {
  accounts: ReadonlyMap<string, string>;
  /** A request to show first and open (just sent). */
  highlight: string | null;
  toast: ShowToast;
  onSignedOut(): void;
  onNewRequest(): void;
}

export function requestTitle(r: PermissionRequest, accounts: ReadonlyMap<string, string>): string {
  return `${KIND_TEXT[r.kind]} for ${r.targets.map((t) => targetLabel(t, accounts)).join(", ")}`;
}

/** The requester's own requests, newest first. */
const newestFirst = async () =>
  [...(await gatehouse().myRequests())].sort((a, b) => b.createdAt.localeCompare(a.createdAt));

export function MyRequestsScreen({ accounts, highlight, toast, onSignedOut, onNewRequest }: Props) {
  const { list, setList, error, loading, load } = usePolledRequests(newestFirst, onSignedOut);
  const [busy, setBusy] = useState<string | null>(null);

  const failed = useCallback(
    (e: unknown, what: string) => {
      if (errorCode(e) === "NOT_SIGNED_IN") onSignedOut();
      else toast("error", what, errorText(e));
    },
    [onSignedOut, toast],
  );

  const act = async (r: PermissionRequest, what: "cancel" | "retry") => {
    setBusy(r.id);
    try {
      const api = gatehouse();
      const updated = await (what === "cancel"
        ? api.cancelRequest({ id: r.id })
        : api.retryRequest({ id: r.id }));
      setList((l) => l?.map((x) => (x.id === updated.id ? updated : x)) ?? l);
      toast("ok", what === "cancel" ? "Request cancelled" : "Trying again", requestTitle(r, accounts));
    } catch (e) {
      failed(e, what === "cancel" ? "Could not cancel the request" : "Could not retry the request");
    } finally {
      setBusy(null);
    }
  };

  return (
    <section className="requests-screen" aria-labelledby="my-requests-title">
      <ScreenHead
        id="my-requests-title"
        title="My requests"
        loading={loading}
        onRefresh={() => void load()}
      />
      <LoadedList
        list={list}
        error={error}
        failedTitle="Your requests could not be loaded."
        loadingText="Loading your requests…"
        empty={
          <div className="center-message">
            <p>You have not asked for anything yet.</p>
            <button type="button" className="btn primary" onClick={onNewRequest}>
              Request permissions
            </button>
          </div>
        }
      >
        {(list) => (
          <ul className="request-list" aria-label="Your requests">
            {list.map((r) => (
              <li key={r.id}>
                <RequestCard
                  request={r}
                  accounts={accounts}
                  open={r.id === highlight}
                  busy={busy === r.id}
                  onCancel={() => void act(r, "cancel")}
                  onRetry={() => void act(r, "retry")}
                />
              </li>
            ))}
          </ul>
        )}
      </LoadedList>
    </section>
  );
}

/** A request, its targets' states, approvals, policy and history; the actions the viewer may take. */
export function RequestCard({
  request: r,
  accounts,
  open,
  busy,
  onCancel,
  onRetry,
  onResolve,
}: {
  request: PermissionRequest;
  accounts: ReadonlyMap<string, string>;
  open: boolean;
  busy: boolean;
  /** The requester's actions (absent for an approver looking at someone else's request). */
  onCancel?: () => void;
  onRetry?: () => void;
  /** An approver settling a drifted target. */
  onResolve?: (target: number, action: "delete" | "keep") => void;
}) {
  const id = useId();
  const title = requestTitle(r, accounts);
  const edited = r.targets.find((t) => t.policy !== null && r.policy !== null && t.policy !== r.policy);
  return (
    <article
      className={`request-card${open ? " highlight" : ""}`}
      aria-labelledby={`${id}-title`}
      data-request-id={r.id}
    >
      <RequestHead id={`${id}-title`} title={title} requestId={r.id} request={r} />
      <p className="request-meta muted">
        Sent {whenText(r.createdAt)} · {expiryText(r.expirySeconds)}
      </p>
      <blockquote className="justification">{r.justification}</blockquote>

      <ul className="target-states" aria-label="Targets">
        {r.targets.map((t) => (
          <li key={t.n} data-arn={t.arn}>
            <span className="mono">{targetLabel(t, accounts)}</span>
            <StateBadge state={t.state} />
            {t.state === "applied" && t.expiresAt ? (
              <span className="muted">until {whenText(t.expiresAt)}</span>
            ) : t.expiresAt && t.state === "expired" ? (
              <span className="muted">since {whenText(t.expiresAt)}</span>
            ) : null}
            {t.policyName ? <span className="muted mono">{t.policyName}</span> : null}
            {t.error ? (
              <span className="target-error" role="note">
                {t.error.message} <span className="mono">[{t.error.code}]</span>
              </span>
            ) : null}
            {t.drift ? (
              <span className="target-error">
                Changed outside Gatehouse: {t.drift}
                {t.state === "applied" && !onResolve
                  ? " An approver decides whether it is deleted or kept."
                  : ""}
              </span>
            ) : null}
            {t.drift && t.state === "applied" && onResolve ? (
              <span className="resolve-actions">
                <button
                  type="button"
                  className="btn danger"
                  disabled={busy}
                  onClick={() => onResolve(t.n, "delete")}
                >
                  Delete the policy
                </button>
                <button type="button" className="btn" disabled={busy} onClick={() => onResolve(t.n, "keep")}>
                  Keep it, unmanaged
                </button>
              </span>
            ) : null}
            {t.note ? <span className="muted target-note">{t.note}</span> : null}
          </li>
        ))}
      </ul>

      {r.approvals.length > 0 ? (
        <div className="approvals">
          {r.approvals.map((a, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: approvals are an append-only list
            <div key={i} className="approval">
              <p>
                <strong>Approved by {a.approver}</strong> <span className="muted">{whenText(a.time)}</span>
                {r.targets.length > 1 ? (
                  <span className="muted"> ({r.targets.find((t) => t.n === a.target)?.name})</span>
                ) : null}
              </p>
              {a.comment ? <p className="approval-comment">“{a.comment}”</p> : null}
              {a.expiresAt ? <p className="muted">Expiry set to {whenText(a.expiresAt)}</p> : null}
              {a.diff ? <ApproverDiff approver={a.approver} diff={a.diff} /> : null}
            </div>
          ))}
        </div>
      ) : null}

      {r.policy !== null ? (
        <details className="policy-details" open={open}>
          <summary>{edited ? "Policy (as approved)" : "Policy"}</summary>
          <pre className="policy-text mono">{edited?.policy ?? r.policy}</pre>
        </details>
      ) : null}
      <details className="history">
        <summary>History ({r.events.length})</summary>
        <EventList request={r} />
      </details>

      {(onCancel && canCancel(r)) || (onRetry && canRetry(r)) ? (
        <div className="card-actions">
          {onRetry && canRetry(r) ? (
            <button type="button" className="btn" onClick={onRetry} disabled={busy}>
              Retry
            </button>
          ) : null}
          {onCancel && canCancel(r) ? (
            <button type="button" className="btn ghost danger" onClick={onCancel} disabled={busy}>
              Cancel request
            </button>
          ) : null}
        </div>
      ) : null}
    </article>
  );
}
