// The approvals tab: the queue of requests waiting for this person (risk and age), and the chosen one with
// its justification, the policy in the editor (edits become a diff), lint findings, an expiry change and a
// comment; approve or reject.

import { type FormEvent, useEffect, useId, useState } from "react";
import type { MarkedLint } from "../../../shared/ipc.ts";
import type { PermissionRequest } from "../../../shared/requests.ts";
import { errorCode, errorText, gatehouse } from "../gatehouse.ts";
import {
  ageText,
  approvalsText,
  durationText,
  EXPIRY_PRESETS,
  expiryText,
  KIND_TEXT,
  lineDiff,
  ROLE_INLINE_LIMIT,
  targetLabel,
  USER_INLINE_LIMIT,
  whenText,
} from "../requests/format.ts";
import { useNow } from "../useNow.ts";
import type { ShowToast } from "../useToast.ts";
import { PolicyEditor } from "./LazyPolicyEditor.tsx";
import { ManagedPolicyView } from "./ManagedPolicyPicker.tsx";
import { RequestCard, requestTitle } from "./MyRequestsScreen.tsx";
import type { LintState } from "./PolicyEditor.tsx";
import {
  ApproverDiff,
  BreakGlassBadge,
  DiffView,
  LintSummary,
  LoadedList,
  RequestHead,
  RiskBadge,
  ScreenHead,
  StateBadge,
  usePolledRequests,
} from "./RequestParts.tsx";

interface Props {
  accounts: ReadonlyMap<string, string>;
  /** Approvals each target needs (the broker's approvals_required). */
  approvalsRequired: number;
  toast: ShowToast;
  onSignedOut(): void;
  /** The queue changed (the badge follows). */
  onChanged(count: number): void;
}

/** The policy an approver starts from: the one to apply (an earlier approver's edit), else the requested. */
const policyOf = (r: PermissionRequest) => r.targets.find((t) => t.policy !== null)?.policy ?? r.policy;

/** The requests waiting for this person's approval. */
const queue = () => gatehouse().approvals();

export function ApprovalsScreen({ accounts, approvalsRequired, toast, onSignedOut, onChanged }: Props) {
  const [selected, setSelected] = useState<string | null>(null);
  const { list, error, loading, load } = usePolledRequests(queue, onSignedOut, (got) => {
    onChanged(got.length);
    setSelected((s) => (s && got.some((r) => r.id === s) ? s : (got[0]?.id ?? null)));
  });
  const [risks, setRisks] = useState<Record<string, MarkedLint["risk"]>>({});
  const now = useNow(30_000);

  // Each queued policy's risk, for the queue (once per request).
  useEffect(() => {
    let alive = true;
    for (const r of list ?? []) {
      const policy = policyOf(r);
      const attach = r.kind === "managed-policy" ? r.targets.find((t) => t.policyArn) : undefined;
      if (attach?.policyArn && !risks[r.id]) {
        // A managed policy's risk is the catalogue's: the lint of its real document.
        gatehouse()
          .cataloguePolicy({ arn: attach.policyArn, account: attach.accountId })
          .then((d) => {
            if (alive) setRisks((m) => ({ ...m, [r.id]: d.risk }));
          })
          .catch(() => undefined);
        continue;
      }
      if (policy === null || risks[r.id]) continue;
      gatehouse()
        .lintPolicy({ policy })
        .then((l) => {
          if (alive) setRisks((m) => ({ ...m, [r.id]: l.risk }));
        })
        .catch(() => undefined);
    }
    return () => {
      alive = false;
    };
  }, [list, risks]);

  const current = list?.find((r) => r.id === selected) ?? null;

  const decided = (r: PermissionRequest, how: "approved" | "rejected") => {
    toast(
      "ok",
      how === "approved" ? "Approved" : "Rejected",
      `${requestTitle(r, accounts)} (${r.requester.email})`,
    );
    void load();
  };

  return (
    <section className="approvals-screen" aria-labelledby="approvals-title">
      <ScreenHead id="approvals-title" title="Approvals" loading={loading} onRefresh={() => void load()} />
      <LoadedList
        list={list}
        error={error}
        failedTitle="The approval queue could not be loaded."
        loadingText="Loading the queue…"
        empty={
          <div className="center-message">
            <p>Nothing waits for your approval.</p>
          </div>
        }
      >
        {(list) => (
          <div className="approvals-layout">
            <ul className="queue" aria-label="Approval queue">
              {list.map((r) => {
                const risk = risks[r.id];
                return (
                  <li key={r.id}>
                    <button
                      type="button"
                      className={`queue-item${r.id === selected ? " selected" : ""}`}
                      aria-pressed={r.id === selected}
                      onClick={() => setSelected(r.id)}
                      data-request-id={r.id}
                    >
                      <span className="queue-title">{requestTitle(r, accounts)}</span>
                      <span className="queue-meta">
                        <BreakGlassBadge request={r} />
                        {r.kind === "role-access" ? (
                          <span className="risk-badge risk-access">Role access</span>
                        ) : risk ? (
                          <RiskBadge risk={risk} />
                        ) : (
                          <span className="risk-badge">Checking…</span>
                        )}
                        <span className="muted">{r.requester.email}</span>
                        <span className="muted" title={whenText(r.createdAt)}>
                          {ageText(now - Date.parse(r.createdAt))}
                          {ageText(now - Date.parse(r.createdAt)) === "just now" ? "" : " ago"}
                        </span>
                      </span>
                    </button>
                  </li>
                );
              })}
            </ul>
            {current ? (
              <ApprovalDetail
                key={current.id}
                request={current}
                accounts={accounts}
                approvalsRequired={approvalsRequired}
                onDecided={decided}
                onSignedOut={onSignedOut}
              />
            ) : null}
          </div>
        )}
      </LoadedList>
      <RequestLookup accounts={accounts} toast={toast} onSignedOut={onSignedOut} />
    </section>
  );
}

/**
 * Any request this approver may see, by its id (from a notification): read-only, except that a target
 * whose policy was changed outside Gatehouse is settled here (delete the policy, or keep it unmanaged).
 */
function RequestLookup({
  accounts,
  toast,
  onSignedOut,
}: {
  accounts: ReadonlyMap<string, string>;
  toast: ShowToast;
  onSignedOut(): void;
}) {
  const id = useId();
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<PermissionRequest | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const failed = (e: unknown) => {
    if (errorCode(e) === "NOT_SIGNED_IN") onSignedOut();
    else setError(errorText(e));
  };

  const open = async (e: FormEvent) => {
    e.preventDefault();
    const wanted = query.trim();
    setError(null);
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(wanted)) {
      setFound(null);
      setError("A request id is letters, digits, - and _ (like the one in the notification).");
      return;
    }
    setBusy(true);
    try {
      setFound(await gatehouse().getRequest({ id: wanted }));
    } catch (err) {
      setFound(null);
      failed(err);
    } finally {
      setBusy(false);
    }
  };

  const resolve = async (target: number, action: "delete" | "keep") => {
    if (!found) return;
    setBusy(true);
    setError(null);
    try {
      const r = await gatehouse().resolveTarget({ id: found.id, target, action });
      setFound(r);
      toast(
        "ok",
        action === "delete" ? "Policy deleted" : "Policy kept, no longer managed",
        requestTitle(r, accounts),
      );
    } catch (err) {
      failed(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="lookup" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`} className="section-heading">
        Look up a request
      </h3>
      <form className="lookup-form" onSubmit={(e) => void open(e)} noValidate>
        <div className="field grow">
          <label htmlFor={`${id}-id`}>Request id</label>
          <input
            id={`${id}-id`}
            type="text"
            className="mono"
            spellCheck={false}
            autoComplete="off"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
        </div>
        <button type="submit" className="btn" disabled={busy}>
          Open
        </button>
      </form>
      {error ? (
        <div className="alert error" role="alert">
          {error}
        </div>
      ) : null}
      {found ? (
        <RequestCard
          request={found}
          accounts={accounts}
          open={false}
          busy={busy}
          onResolve={(n, a) => void resolve(n, a)}
        />
      ) : null}
    </section>
  );
}

function ApprovalDetail({
  request: r,
  accounts,
  approvalsRequired,
  onDecided,
  onSignedOut,
}: {
  request: PermissionRequest;
  accounts: ReadonlyMap<string, string>;
  approvalsRequired: number;
  onDecided(r: PermissionRequest, how: "approved" | "rejected"): void;
  onSignedOut(): void;
}) {
  const id = useId();
  const original = policyOf(r);
  const [policy, setPolicy] = useState(original ?? "");
  const [lint, setLint] = useState<LintState>({ kind: "checking" });
  const [expiry, setExpiry] = useState("");
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState<"approve" | "reject" | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const isPolicy = r.kind === "inline-policy" && original !== null;
  const editedPolicy = isPolicy && policy !== original;
  const hasUser = r.targets.some((t) => t.type === "user");

  const act = async (how: "approve" | "reject", e?: FormEvent) => {
    e?.preventDefault();
    setProblem(null);
    if (how === "reject" && !comment.trim()) {
      setProblem("Say why you reject it in the comment: the requester reads it.");
      return;
    }
    if (how === "approve" && editedPolicy) {
      if (lint.kind !== "done") {
        setProblem("Wait until your edit of the policy is checked.");
        return;
      }
      if (!lint.result.valid) {
        setProblem("Your edit of the policy has errors (marked in the editor): fix them first.");
        return;
      }
    }
    setBusy(how);
    try {
      const api = gatehouse();
      let out: PermissionRequest;
      if (how === "approve") {
        const preset = EXPIRY_PRESETS.find((p) => p.value === expiry);
        out = await api.approveRequest({
          id: r.id,
          ...(editedPolicy ? { policy } : {}),
          ...(preset ? { expiresAt: new Date(Date.now() + preset.seconds * 1000).toISOString() } : {}),
          ...(comment.trim() ? { comment: comment.trim() } : {}),
        });
      } else out = await api.rejectRequest({ id: r.id, reason: comment.trim() });
      onDecided(out, how === "approve" ? "approved" : "rejected");
    } catch (err) {
      if (errorCode(err) === "NOT_SIGNED_IN") onSignedOut();
      else setProblem(errorText(err));
    } finally {
      setBusy(null);
    }
  };

  return (
    <form
      className="approval-detail"
      aria-labelledby={`${id}-title`}
      onSubmit={(e) => void act("approve", e)}
      noValidate
    >
      <RequestHead id={`${id}-title`} title={requestTitle(r, accounts)} requestId={r.id} request={r} />
      <p className="request-meta">
        <strong>{r.requester.email}</strong>
        {r.requester.groups.length > 0 ? (
          <span className="muted"> (groups: {r.requester.groups.join(", ")})</span>
        ) : null}{" "}
        · {KIND_TEXT[r.kind]} · sent {whenText(r.createdAt)} · {expiryText(r.expirySeconds)}
      </p>
      <blockquote className="justification" aria-label="Justification">
        {r.justification}
      </blockquote>
      <ul className="target-states" aria-label="Targets">
        {r.targets.map((t) => (
          <li key={t.n} title={t.arn}>
            <span className="mono">{targetLabel(t, accounts)}</span>
            <StateBadge state={t.state} />
            <span className="muted">{t.type === "user" ? "IAM user" : "role"}</span>
            <span className="muted">{approvalsText(t.approvals, approvalsRequired, t.state)}</span>
          </li>
        ))}
      </ul>

      {r.approvals.filter((a) => a.diff).length > 0 ? (
        <div className="approvals">
          {r.approvals
            .filter((a) => a.diff)
            .map((a, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: approvals are an append-only list
              <div key={i} className="approval">
                <ApproverDiff approver={a.approver} diff={a.diff ?? ""} />
              </div>
            ))}
        </div>
      ) : null}

      {isPolicy ? (
        <section className="policy-section" aria-labelledby={`${id}-policy`}>
          <h4 id={`${id}-policy`} className="section-heading">
            Policy{" "}
            <span className="muted">(you may edit it before approving; the requester sees your changes)</span>
          </h4>
          <PolicyEditor value={policy} onChange={setPolicy} onLint={setLint} label="Policy to approve" />
          <LintSummary
            state={lint}
            id={`${id}-lint`}
            limit={hasUser ? USER_INLINE_LIMIT : ROLE_INLINE_LIMIT}
          />
          {editedPolicy ? (
            <>
              <p className="muted">
                Your changes{" "}
                <button type="button" className="link" onClick={() => setPolicy(original ?? "")}>
                  Undo them
                </button>
              </p>
              <DiffView lines={lineDiff(original ?? "", policy)} label="Your changes" />
            </>
          ) : null}
        </section>
      ) : r.kind === "managed-policy" && r.targets[0]?.policyArn ? (
        <ManagedPolicyView arn={r.targets[0].policyArn} account={r.targets[0].accountId} />
      ) : r.kind === "group-membership" ? (
        <p className="hint">
          Approving adds the users to the IAM group{" "}
          <strong className="mono">{r.targets[0]?.groupName ?? "?"}</strong> until the expiry.
        </p>
      ) : (
        <p className="hint">Approving lets {r.requester.email} use the role until the expiry.</p>
      )}

      <div className="expiry-row">
        <div className="field">
          <label htmlFor={`${id}-expiry`}>Expiry</label>
          <select id={`${id}-expiry`} value={expiry} onChange={(e) => setExpiry(e.target.value)}>
            <option value="">
              As requested
              {r.expirySeconds === null ? " (permanent)" : ` (${durationText(r.expirySeconds)})`}
            </option>
            {EXPIRY_PRESETS.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label} from now
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className="field wide">
        <label htmlFor={`${id}-comment`}>Comment</label>
        <textarea
          id={`${id}-comment`}
          rows={2}
          maxLength={2000}
          value={comment}
          placeholder="Optional when approving; the reason when rejecting"
          onChange={(e) => setComment(e.target.value)}
        />
      </div>
      {problem ? (
        <div className="alert error" role="alert">
          {problem}
        </div>
      ) : null}
      <div className="form-actions">
        <button
          type="button"
          className="btn danger"
          onClick={() => void act("reject")}
          disabled={busy !== null}
        >
          {busy === "reject" ? "Rejecting…" : "Reject"}
        </button>
        <button type="submit" className="btn primary" disabled={busy !== null}>
          {busy === "approve" ? "Approving…" : editedPolicy ? "Approve with my changes" : "Approve"}
        </button>
      </div>
    </form>
  );
}
