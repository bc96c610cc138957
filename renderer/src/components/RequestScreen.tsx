// The request panel: what for (roles or users, or access to a role), the policy from a template edited in
// the policy editor with its risk and findings, the justification and the expiry; then send.

import { type FormEvent, useId, useState } from "react";
import type { ErrorDraft, RequestTarget } from "../../../shared/ipc.ts";
import {
  POLICY_TEMPLATES,
  policyTemplate,
  type TemplateId,
  templateExamples,
  templateProblems,
} from "../../../shared/policy/templates.ts";
import type { CreateRequest, PermissionRequest, RequestKind } from "../../../shared/requests.ts";
import { errorCode, errorText, gatehouse } from "../gatehouse.ts";
import {
  customExpiry,
  durationText,
  EXPIRY_PRESETS,
  expiryValue,
  JUSTIFICATION_MAX,
  justificationProblem,
  ROLE_INLINE_LIMIT,
  USER_INLINE_LIMIT,
} from "../requests/format.ts";
import { GroupPicker } from "./GroupPicker.tsx";
import { PolicyEditor } from "./LazyPolicyEditor.tsx";
import { ManagedPolicyPicker } from "./ManagedPolicyPicker.tsx";
import { ErrorDraftSummary, PasteError } from "./PasteError.tsx";
import type { LintState } from "./PolicyEditor.tsx";
import { LintSummary } from "./RequestParts.tsx";
import { TargetPicker } from "./TargetPicker.tsx";

export interface RequestDraft {
  kind: RequestKind;
  targets: RequestTarget[];
  templateId: TemplateId;
  params: Record<string, string>;
  /** The editor's text. */
  policy: string;
  /** What the template last made: when the text still is this, parameters keep changing it. */
  generated: string;
  justification: string;
  /** A preset's ISO duration, or "custom". */
  expiry: string;
  customAmount: string;
  customUnit: "hours" | "days";
  /** Set while the policy is the one drafted from a pasted error (not a template's). */
  fromError?: ErrorDraft;
  /** managed-policy: the policy to attach. */
  policyArn?: string;
  /** group-membership: the IAM group to add the users to. */
  group?: string;
}

/** The policy a template makes from what is typed so far (examples stand in for empty fields). */
function generate(id: TemplateId, params: Record<string, string>): string {
  const t = policyTemplate(id);
  const examples = templateExamples(t);
  const values = Object.fromEntries(
    t.parameters.map((p) => [p.key, params[p.key]?.trim() ? params[p.key]!.trim() : examples[p.key]!]),
  );
  return t.make(values);
}

export function newDraft(kind: RequestKind = "inline-policy", targets: RequestTarget[] = []): RequestDraft {
  const policy = generate("s3-read", {});
  return {
    kind,
    targets,
    templateId: "s3-read",
    params: {},
    policy,
    generated: policy,
    justification: "",
    expiry: "PT8H",
    customAmount: "",
    customUnit: "hours",
  };
}

/**
 * The drafted policy on the role or user denied (a pasted error, or a recording's denials); the justification
 * says what was denied unless one is typed.
 */
export function withErrorDraft(d: RequestDraft, e: ErrorDraft): RequestDraft {
  return {
    ...d,
    kind: "inline-policy",
    targets: [e.target],
    policy: e.policy,
    generated: e.policy,
    fromError: e,
    justification: d.justification.trim()
      ? d.justification
      : `AWS denied ${e.actions.filter((a) => !e.dependent.includes(a)).join(", ")}`.slice(
          0,
          JUSTIFICATION_MAX,
        ),
  };
}

interface Props {
  draft: RequestDraft;
  onDraft(update: (d: RequestDraft) => RequestDraft): void;
  onCreated(r: PermissionRequest): void;
  onSignedOut(): void;
  /** The broker allows requests that never expire (`requests.allow_permanent`). */
  allowPermanent?: boolean;
}

export function RequestScreen({ draft, onDraft, onCreated, onSignedOut, allowPermanent = false }: Props) {
  const id = useId();
  const [lint, setLint] = useState<LintState>({ kind: "checking" });
  const [tried, setTried] = useState(false);
  const [sending, setSending] = useState(false);
  const [sendError, setSendError] = useState<string | null>(null);

  const template = policyTemplate(draft.templateId);
  const handEdited = draft.policy !== draft.generated;
  const paramProblems = handEdited || draft.fromError ? {} : templateProblems(template, draft.params);
  const custom = customExpiry(draft.customAmount, draft.customUnit);
  const expiry = expiryValue(draft.expiry, custom);
  const justification = justificationProblem(draft.justification);
  const hasUser = draft.targets.some((t) => t.type === "user");
  const isPolicy = draft.kind === "inline-policy";
  const isAttach = draft.kind === "managed-policy";
  const isGroup = draft.kind === "group-membership";
  const isAccess = draft.kind === "role-access";
  // A managed policy or a group lives in one account: the first target's.
  const account = draft.targets[0]?.accountId;

  const problems: string[] = [];
  if (draft.targets.length === 0)
    problems.push(
      isAccess
        ? "Choose the role you need."
        : isGroup
          ? "Choose at least one IAM user."
          : "Choose at least one role or user.",
    );
  if (isAttach && !draft.policyArn) problems.push("Choose a managed policy.");
  if (isGroup && !draft.group) problems.push("Choose a group.");
  if ((isGroup || isAttach) && draft.targets.some((t) => t.accountId !== account))
    problems.push("Choose targets of one account: the policy or group is that account's.");
  if (isPolicy) {
    for (const p of template.parameters)
      if (paramProblems[p.key]) problems.push(`${p.label}: ${paramProblems[p.key]}.`);
    if (lint.kind === "checking")
      problems.push("The policy is still being checked: send it again in a moment.");
    else if (lint.kind === "failed") problems.push("The policy could not be checked.");
    else if (!lint.result.valid) problems.push("Fix the policy's errors first (marked in the editor).");
  }
  if (justification) problems.push(justification);
  if (expiry === undefined) problems.push(`Expiry: ${custom}.`);

  const set = <K extends keyof RequestDraft>(key: K, value: RequestDraft[K]) =>
    onDraft((d) => ({ ...d, [key]: value }));

  const chooseTemplate = (templateId: TemplateId) =>
    onDraft((d) => {
      const policy = generate(templateId, d.params);
      return { ...d, templateId, policy, generated: policy, fromError: undefined };
    });

  const fromError = (e: ErrorDraft) => onDraft((d) => withErrorDraft(d, e));

  const setParam = (key: string, value: string) =>
    onDraft((d) => {
      const params = { ...d.params, [key]: value };
      if (d.policy !== d.generated) return { ...d, params };
      const policy = generate(d.templateId, params);
      return { ...d, params, policy, generated: policy };
    });

  const resetToTemplate = () =>
    onDraft((d) => {
      const policy = generate(d.templateId, d.params);
      return { ...d, policy, generated: policy };
    });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    setSendError(null);
    if (problems.length > 0 || expiry === undefined) return;
    const body: CreateRequest = {
      kind: draft.kind,
      targets: draft.targets.map((t) => t.arn),
      justification: draft.justification.trim(),
      expiry,
      ...(isPolicy ? { policy: draft.policy } : {}),
      ...(isAttach && draft.policyArn ? { policyArn: draft.policyArn } : {}),
      ...(isGroup && draft.group ? { group: draft.group } : {}),
    };
    setSending(true);
    try {
      const created = await gatehouse().createRequest(body);
      setTried(false);
      onCreated(created);
    } catch (err) {
      if (errorCode(err) === "NOT_SIGNED_IN") onSignedOut();
      else setSendError(errorText(err));
    } finally {
      setSending(false);
    }
  };

  return (
    <form className="request-form" onSubmit={submit} noValidate aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="screen-title">
        Request permissions
      </h2>

      <fieldset className="field wide">
        <legend>What do you need?</legend>
        <div className="segmented">
          <label>
            <input
              type="radio"
              name={`${id}-kind`}
              checked={isPolicy}
              onChange={() => set("kind", "inline-policy")}
            />
            <span>More permissions (a policy)</span>
          </label>
          <label>
            <input
              type="radio"
              name={`${id}-kind`}
              checked={isAttach}
              onChange={() => set("kind", "managed-policy")}
            />
            <span>Attach a managed policy</span>
          </label>
          <label>
            <input
              type="radio"
              name={`${id}-kind`}
              checked={isGroup}
              onChange={() =>
                onDraft((d) => ({
                  ...d,
                  kind: "group-membership",
                  targets: d.targets.filter((t) => t.type === "user"),
                }))
              }
            />
            <span>Add a user to a group</span>
          </label>
          <label>
            <input
              type="radio"
              name={`${id}-kind`}
              checked={isAccess}
              onChange={() =>
                onDraft((d) => ({
                  ...d,
                  kind: "role-access",
                  targets: d.targets.filter((t) => t.type === "role"),
                }))
              }
            />
            <span>Access to a role</span>
          </label>
        </div>
        <span className="hint">
          {isPolicy
            ? "An inline policy is added to the roles or users you choose, and removed when it expires."
            : isAttach
              ? "An AWS-managed or the account's own policy is attached to the roles or users you choose, and detached when it expires."
              : isGroup
                ? "The IAM users you choose are added to a group of their account, and removed when it expires."
                : "You may use the role for a while, as if it were tagged for you."}
        </span>
      </fieldset>

      {isPolicy ? <PasteError onDrafted={fromError} onSignedOut={onSignedOut} /> : null}

      <TargetPicker
        rolesOnly={isAccess}
        usersOnly={isGroup}
        selected={draft.targets}
        onChange={(targets) => set("targets", targets)}
      />
      {isAccess && draft.targets.some((t) => t.mine) ? (
        <p className="hint">
          You can already use{" "}
          {draft.targets.filter((t) => t.mine).length > 1 ? "some of these roles" : "this role"}.
        </p>
      ) : null}

      {isAttach ? (
        <ManagedPolicyPicker
          value={draft.policyArn}
          onChange={(arn) => set("policyArn", arn)}
          account={account}
        />
      ) : null}
      {isGroup ? (
        <GroupPicker account={account} value={draft.group} onChange={(g) => set("group", g)} />
      ) : null}

      {isPolicy ? (
        <section className="policy-section" aria-labelledby={`${id}-policy-title`}>
          <h3 id={`${id}-policy-title`} className="section-heading">
            Policy
          </h3>
          {draft.fromError ? (
            <ErrorDraftSummary draft={draft.fromError} onClear={() => chooseTemplate(draft.templateId)} />
          ) : (
            <div className="template-row">
              <div className="field">
                <label htmlFor={`${id}-template`}>Template</label>
                <select
                  id={`${id}-template`}
                  value={draft.templateId}
                  onChange={(e) => chooseTemplate(e.target.value as TemplateId)}
                >
                  {POLICY_TEMPLATES.map((t) => (
                    <option key={t.id} value={t.id}>
                      {t.title}
                    </option>
                  ))}
                </select>
                <span className="hint">{template.summary}</span>
              </div>
              {template.parameters.map((p) => {
                const problem = tried || draft.params[p.key] ? paramProblems[p.key] : undefined;
                return (
                  <div className="field grow" key={`${template.id}-${p.key}`}>
                    <label htmlFor={`${id}-param-${p.key}`}>{p.label}</label>
                    <input
                      id={`${id}-param-${p.key}`}
                      type="text"
                      className="mono"
                      spellCheck={false}
                      autoComplete="off"
                      placeholder={p.example}
                      value={draft.params[p.key] ?? ""}
                      aria-invalid={problem ? true : undefined}
                      aria-describedby={`${id}-param-${p.key}-hint`}
                      onChange={(e) => setParam(p.key, e.target.value)}
                    />
                    <span id={`${id}-param-${p.key}-hint`} className={`hint${problem ? " invalid" : ""}`}>
                      {problem
                        ? `${problem[0]?.toUpperCase()}${problem.slice(1)}.`
                        : handEdited
                          ? "You edited the policy: this no longer changes it."
                          : `For example ${p.example}`}
                    </span>
                  </div>
                );
              })}
            </div>
          )}
          {handEdited && !draft.fromError ? (
            <p className="hint">
              You edited the policy by hand.{" "}
              <button type="button" className="link" onClick={resetToTemplate}>
                Start again from the template
              </button>
            </p>
          ) : null}
          <PolicyEditor
            value={draft.policy}
            onChange={(text) => set("policy", text)}
            onLint={setLint}
            label="Policy"
          />
          <p className="hint">Ctrl+Space completes actions inside "Action"; F8 moves to the next finding.</p>
          <LintSummary
            state={lint}
            id={`${id}-lint`}
            limit={hasUser ? USER_INLINE_LIMIT : ROLE_INLINE_LIMIT}
          />
        </section>
      ) : null}

      <div className="field wide">
        <label htmlFor={`${id}-justification`}>Justification</label>
        <textarea
          id={`${id}-justification`}
          rows={3}
          maxLength={JUSTIFICATION_MAX + 200}
          value={draft.justification}
          aria-invalid={tried && justification ? true : undefined}
          aria-describedby={`${id}-justification-hint`}
          placeholder="What you are working on and why this access is needed"
          onChange={(e) => set("justification", e.target.value)}
        />
        <span id={`${id}-justification-hint`} className={`hint${tried && justification ? " invalid" : ""}`}>
          {tried && justification
            ? justification
            : `Approvers read this. ${draft.justification.trim().length} / ${JUSTIFICATION_MAX} characters.`}
        </span>
      </div>

      <div className="expiry-row">
        <div className="field">
          <label htmlFor={`${id}-expiry`}>Expires after</label>
          <select id={`${id}-expiry`} value={draft.expiry} onChange={(e) => set("expiry", e.target.value)}>
            {EXPIRY_PRESETS.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
            <option value="custom">Other…</option>
            {allowPermanent ? <option value="permanent">Permanent (until removed)</option> : null}
          </select>
        </div>
        {draft.expiry === "custom" ? (
          <>
            <div className="field">
              <label htmlFor={`${id}-amount`}>How long</label>
              <input
                id={`${id}-amount`}
                type="number"
                inputMode="numeric"
                min={1}
                value={draft.customAmount}
                aria-invalid={typeof custom === "string" && draft.customAmount ? true : undefined}
                onChange={(e) => set("customAmount", e.target.value)}
              />
            </div>
            <div className="field">
              <label htmlFor={`${id}-unit`}>Unit</label>
              <select
                id={`${id}-unit`}
                value={draft.customUnit}
                onChange={(e) => set("customUnit", e.target.value as "hours" | "days")}
              >
                <option value="hours">hours</option>
                <option value="days">days</option>
              </select>
            </div>
            <span className={`hint expiry-hint${typeof custom === "string" ? " invalid" : ""}`}>
              {typeof custom === "string" ? `Expiry: ${custom}.` : durationText(custom)}
            </span>
          </>
        ) : draft.expiry === "permanent" ? (
          <span className="hint expiry-hint">
            {isPolicy
              ? "The policy stays"
              : isAttach
                ? "The policy stays attached"
                : isGroup
                  ? "The users stay in the group"
                  : "Access stays"}{" "}
            until someone removes it; approvers see that.
          </span>
        ) : (
          <span className="hint expiry-hint">
            {isPolicy
              ? "The policy is removed"
              : isAttach
                ? "The policy is detached"
                : isGroup
                  ? "The users leave the group"
                  : "Access ends"}{" "}
            this long after approval (1 hour to 90 days).
          </span>
        )}
      </div>

      {tried && problems.length > 0 ? (
        <div className="alert error" role="alert">
          <strong className="alert-title">The request is not ready.</strong>
          <ul className="problems">
            {problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {sendError ? (
        <div className="alert error" role="alert">
          <strong className="alert-title">The request was not sent.</strong> {sendError}
        </div>
      ) : null}
      <div className="form-actions">
        <button type="submit" className="btn primary" disabled={sending}>
          {sending ? "Sending…" : "Send request"}
        </button>
      </div>
    </form>
  );
}
