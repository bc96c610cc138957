// "Paste an error" in the request panel: an AWS access-denied error (or a whole log) is read and drafted in
// main by the same parser and drafter as `gatehouse request from-error`; this only shows what came back.

import { useId, useState } from "react";
import type { ErrorDraft } from "../../../shared/ipc.ts";
import { errorCode, errorText, gatehouse } from "../gatehouse.ts";

/** What the CLI accepts too: a generous log, not a whole disk (the IPC contract refuses more). */
const MAX_TEXT = 1024 * 1024;

/** The title of the message for each way a text can fail to make a request; the broker's line follows it. */
const TITLES: Record<string, string> = {
  NO_DENIAL: "No AWS access-denied message in this text.",
  DENIAL_NOT_REQUESTABLE: "A request cannot fix this.",
  DENIAL_TARGET_UNKNOWN: "Gatehouse does not manage this role or user.",
  DENIAL_MIXED_PRINCIPALS: "These errors are for several roles or users.",
  DENIAL_UNDECODABLE: "AWS would not decode this encoded message.",
  FORBIDDEN: "You may not read this error's decoded message.",
};

interface Props {
  onDrafted(d: ErrorDraft): void;
  onSignedOut(): void;
}

export function PasteError({ onDrafted, onSignedOut }: Props) {
  const id = useId();
  const [text, setText] = useState("");
  const [reading, setReading] = useState(false);
  const [problem, setProblem] = useState<{ title: string; detail: string; code?: string } | null>(null);

  const read = async () => {
    setProblem(null);
    // Checked here so an empty paste says what to do instead of a parser's "no denial".
    if (text.trim() === "") {
      setProblem({ title: "Paste an AWS error first.", detail: "One error, or a whole log with several." });
      return;
    }
    if (text.length > MAX_TEXT) {
      setProblem({
        title: "This text is too long.",
        detail: "Paste the lines with the errors (1 MiB at most).",
      });
      return;
    }
    setReading(true);
    try {
      onDrafted(await gatehouse().draftFromError({ text }));
    } catch (err) {
      const code = errorCode(err);
      if (code === "NOT_SIGNED_IN") onSignedOut();
      else
        setProblem({
          title: (code && TITLES[code]) ?? "The error could not be read.",
          detail: errorText(err),
          ...(code ? { code } : {}),
        });
    } finally {
      setReading(false);
    }
  };

  return (
    <section className="paste-error" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`} className="section-heading">
        Paste an error
      </h3>
      <div className="field wide">
        <label htmlFor={`${id}-text`}>AWS error or log</label>
        <textarea
          id={`${id}-text`}
          className="mono"
          rows={4}
          spellCheck={false}
          value={text}
          aria-describedby={`${id}-hint`}
          placeholder="User: arn:aws:sts::…:assumed-role/ROLE/you is not authorized to perform: …"
          onChange={(e) => setText(e.target.value)}
        />
        <span id={`${id}-hint`} className="hint">
          Gatehouse finds the role or user that was denied and drafts a policy with every action denied (and
          the ones they depend on).
        </span>
      </div>
      <div className="form-actions start">
        <button type="button" className="btn" disabled={reading} onClick={read}>
          {reading ? "Reading…" : "Read the error"}
        </button>
      </div>
      {problem ? (
        <div className="alert error" role="alert" aria-label="Error not usable">
          <strong className="alert-title">{problem.title}</strong> {problem.detail}
          {problem.code ? <span className="code"> [{problem.code}]</span> : null}
          <div>No request was made.</div>
        </div>
      ) : null}
    </section>
  );
}

/** What the drafted policy answers, shown above the editor while the request comes from an error. */
export function ErrorDraftSummary({ draft, onClear }: { draft: ErrorDraft; onClear(): void }) {
  const denied = draft.actions.filter((a) => !draft.dependent.includes(a));
  return (
    <section className="error-draft" aria-label="From the error">
      <p>
        From {draft.denials} {draft.denials === 1 ? "denial" : "denials"}:{" "}
        <strong>
          {draft.target.accountName}/{draft.target.name}
        </strong>{" "}
        <span className="muted mono">{draft.target.arn}</span>
      </p>
      <ul aria-label="Actions">
        {denied.map((a) => (
          <li key={a} className="mono">
            {a}
          </li>
        ))}
        {draft.dependent.map((a) => (
          <li key={a} className="mono">
            {a} <span className="muted">(dependent, added)</span>
          </li>
        ))}
      </ul>
      {draft.refused.length > 0 ? (
        <ul aria-label="Not requested" className="refused">
          {draft.refused.map((r) => (
            <li key={`${r.action}-${r.reason}`}>
              Not requested: <span className="mono">{r.action}</span>: {r.reason}. Who can fix it: {r.fixer}.
            </li>
          ))}
        </ul>
      ) : null}
      <button type="button" className="link" onClick={onClear}>
        Use a template instead
      </button>
    </section>
  );
}
