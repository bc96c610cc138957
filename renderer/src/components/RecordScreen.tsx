// "Record": run a command with one of the person's roles and see every AWS call it made — allowed, denied with
// AWS's message — and the least-privilege policy for all of them. The window only PROPOSES the command: main asks
// the person in a native dialog (the exact argv, the role, the folder) and starts nothing without their yes.
// "Request what was denied" opens the request panel with exactly the denied actions; "Save policy" writes the
// whole policy where the person chooses.

import { useCallback, useEffect, useId, useMemo, useState } from "react";
import type { Role } from "../../../shared/api.ts";
import { splitCommandLine } from "../../../shared/command-line.ts";
import type { ErrorDraft } from "../../../shared/ipc.ts";
import type { RecordedCall, RecordState } from "../../../shared/recording.ts";
import { errorCode, errorText, gatehouse } from "../gatehouse.ts";
import type { ShowToast } from "../useToast.ts";

const POLL_MS = 500;

const TITLES: Record<string, string> = {
  RECORDING_REFUSED: "You did not confirm the command; nothing was started.",
  RECORDING_BUSY: "A recording is already running.",
  RECORDING_RATE_LIMITED: "Wait a moment before starting another recording.",
  ROLE_NOT_FOUND: "You cannot use this role.",
  BAD_REQUEST: "This command cannot be run.",
  NO_DENIAL: "Nothing to request.",
  DENIAL_NOT_REQUESTABLE: "A request cannot fix these denials.",
  DENIAL_TARGET_UNKNOWN: "Gatehouse does not manage this role.",
};

interface Props {
  toast: ShowToast;
  onSignedOut(): void;
  /** The denials drafted into one request: the request panel opens with it. */
  onRequestDenied(draft: ErrorDraft): void;
}

/** Identical calls once, with a count: a loop of 500 ListUsers is one row. */
function grouped(calls: readonly RecordedCall[]): { call: RecordedCall; count: number }[] {
  const out = new Map<string, { call: RecordedCall; count: number }>();
  for (const c of calls) {
    const key = JSON.stringify([c.service, c.api, c.status, c.errorCode, c.errorMessage, c.resources]);
    const hit = out.get(key);
    if (hit) hit.count++;
    else out.set(key, { call: c, count: 1 });
  }
  return [...out.values()];
}

function CallTable({ label, calls, messages }: { label: string; calls: RecordedCall[]; messages: boolean }) {
  return (
    <table className="access-table record-table" aria-label={label}>
      <thead>
        <tr>
          <th scope="col">Call</th>
          <th scope="col">Actions</th>
          <th scope="col">Count</th>
          {messages ? <th scope="col">AWS said</th> : null}
        </tr>
      </thead>
      <tbody>
        {grouped(calls).map(({ call, count }) => (
          <tr key={`${call.service}:${call.api}:${call.errorMessage ?? ""}:${call.resources.join(",")}`}>
            <td className="mono">
              {call.service}:{call.api}
            </td>
            <td className="mono">
              {call.actions.join(", ")}
              {call.mapping === "guess" ? <span className="muted"> (guess)</span> : null}
            </td>
            <td>{count}</td>
            {messages ? (
              <td className="mono record-message">
                {call.errorCode ?? (call.status ? `HTTP ${call.status}` : "no answer")}
                {call.errorMessage ? `: ${call.errorMessage}` : ""}
              </td>
            ) : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function RecordScreen({ toast, onSignedOut, onRequestDenied }: Props) {
  const id = useId();
  const [roles, setRoles] = useState<Role[]>([]);
  const [role, setRole] = useState("");
  const [line, setLine] = useState("");
  const [cwd, setCwd] = useState("");
  const [proxy, setProxy] = useState(false);
  const [state, setState] = useState<RecordState | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<{ title: string; detail: string; code?: string } | null>(null);

  const split = useMemo(() => (line.trim() === "" ? null : splitCommandLine(line)), [line]);

  const failed = useCallback(
    (err: unknown, fallback: string) => {
      const code = errorCode(err);
      if (code === "NOT_SIGNED_IN") onSignedOut();
      else
        setProblem({
          title: (code && TITLES[code]) ?? fallback,
          detail: errorText(err),
          ...(code ? { code } : {}),
        });
    },
    [onSignedOut],
  );

  useEffect(() => {
    gatehouse()
      .roles()
      .then((list) => {
        setRoles(list);
        setRole((r) => r || list[0]?.ref || "");
      })
      .catch((e) => failed(e, "Your roles could not be listed."));
    gatehouse()
      .recordStatus()
      .then(setState)
      .catch(() => undefined);
  }, [failed]);

  const live = state?.state === "running" || state?.state === "confirming";
  useEffect(() => {
    if (!live) return;
    const timer = window.setInterval(() => {
      gatehouse()
        .recordStatus()
        .then(setState)
        .catch(() => undefined);
    }, POLL_MS);
    return () => window.clearInterval(timer);
  }, [live]);

  const start = async () => {
    setProblem(null);
    if (!split) {
      setProblem({ title: "Type the command to record first.", detail: "For example: aws s3 ls" });
      return;
    }
    if (!split.ok) {
      setProblem({ title: "This command line cannot be read.", detail: `${split.error}.` });
      return;
    }
    if (!role) {
      setProblem({ title: "Choose a role first.", detail: "The command runs with its credentials." });
      return;
    }
    setBusy(true);
    try {
      setState(
        await gatehouse().recordStart({
          role,
          command: split.argv,
          ...(cwd.trim() ? { cwd: cwd.trim() } : {}),
          proxy,
        }),
      );
    } catch (e) {
      failed(e, "The command could not be recorded.");
    } finally {
      setBusy(false);
    }
  };

  const stop = async () => {
    try {
      setState(await gatehouse().recordStop());
    } catch (e) {
      failed(e, "The command could not be stopped.");
    }
  };

  const requestDenied = async () => {
    setProblem(null);
    try {
      onRequestDenied(await gatehouse().recordDraft());
    } catch (e) {
      failed(e, "The denials could not be drafted into a request.");
    }
  };

  const savePolicy = async () => {
    try {
      const { path } = await gatehouse().recordSavePolicy();
      if (path) toast("ok", "Policy saved", path);
    } catch (e) {
      failed(e, "The policy could not be saved.");
    }
  };

  const calls = state?.calls ?? [];
  const allowed = calls.filter((c) => c.outcome === "allowed");
  const denied = calls.filter((c) => c.outcome === "denied");
  const otherwise = calls.filter((c) => c.outcome === "error");
  const recording = state?.recording ?? null;

  return (
    <section className="record-screen" aria-labelledby={`${id}-title`}>
      <header className="screen-head">
        <h2 id={`${id}-title`}>Record a command</h2>
      </header>
      <p className="muted">
        Runs a command with a role's credentials and lists every AWS call it makes, the calls denied with
        AWS's messages, and the least-privilege policy for all of them. You confirm the exact command before
        it runs.
      </p>
      <form
        className="record-form"
        aria-label="Record a command"
        onSubmit={(e) => {
          e.preventDefault();
          void start();
        }}
      >
        <div className="field">
          <label htmlFor={`${id}-role`}>Role</label>
          <select id={`${id}-role`} value={role} onChange={(e) => setRole(e.target.value)} disabled={live}>
            {roles.map((r) => (
              <option key={r.ref} value={r.ref}>
                {r.ref}
              </option>
            ))}
          </select>
        </div>
        <div className="field wide">
          <label htmlFor={`${id}-command`}>Command</label>
          <input
            id={`${id}-command`}
            type="text"
            className="mono"
            spellCheck={false}
            value={line}
            disabled={live}
            placeholder="aws s3 ls   or   sh -c './deploy.sh'"
            aria-describedby={`${id}-argv`}
            onChange={(e) => setLine(e.target.value)}
          />
          <span id={`${id}-argv`} className="hint">
            {split?.ok ? (
              <>
                Runs, without a shell:{" "}
                <span className="mono" data-testid="record-argv">
                  {JSON.stringify(split.argv)}
                </span>
              </>
            ) : split ? (
              <span className="invalid">{split.error}</span>
            ) : (
              "Quotes group words as in a shell; nothing else is expanded."
            )}
          </span>
        </div>
        <div className="field wide">
          <label htmlFor={`${id}-cwd`}>Working folder</label>
          <input
            id={`${id}-cwd`}
            type="text"
            className="mono"
            spellCheck={false}
            value={cwd}
            disabled={live}
            placeholder="your home folder"
            onChange={(e) => setCwd(e.target.value)}
          />
        </div>
        <div className="field check">
          <input
            id={`${id}-proxy`}
            type="checkbox"
            className="check-input"
            checked={proxy}
            disabled={live}
            onChange={(e) => setProxy(e.target.checked)}
          />
          <label htmlFor={`${id}-proxy`} className="check-label">
            Also record through an HTTPS proxy (JS SDK v3, Go SDK v2, Terraform)
          </label>
        </div>
        <div className="form-actions start">
          {live ? (
            <button type="button" className="btn" onClick={stop}>
              Stop
            </button>
          ) : (
            <button type="submit" className="btn primary" disabled={busy}>
              {busy ? "Waiting for your confirmation…" : "Record"}
            </button>
          )}
        </div>
      </form>

      {problem ? (
        <div className="alert error" role="alert" aria-label="Recording problem">
          <strong className="alert-title">{problem.title}</strong> {problem.detail}
          {problem.code ? <span className="code"> [{problem.code}]</span> : null}
        </div>
      ) : null}

      {state && state.state !== "idle" ? (
        <section className="record-result" aria-label="Recording" data-state={state.state}>
          <p data-testid="record-summary">
            {live ? "Recording" : "Recorded"} {calls.length} AWS {calls.length === 1 ? "call" : "calls"} as{" "}
            <strong>{state.role}</strong>: {allowed.length} allowed, {denied.length} denied,{" "}
            {otherwise.length} failed otherwise
            {state.state === "done" && state.exitCode !== null
              ? ` · ${state.stopped ? "stopped, " : ""}exit code ${state.exitCode}`
              : ""}
          </p>
          {state.error ? (
            <div className="alert error" role="alert" aria-label="Command failed">
              <strong className="alert-title">The command could not be run.</strong> {state.error}
            </div>
          ) : null}
          {allowed.length ? (
            <>
              <h3 className="section-heading">Allowed</h3>
              <CallTable label="Allowed calls" calls={allowed} messages={false} />
            </>
          ) : null}
          {denied.length ? (
            <>
              <h3 className="section-heading">Denied</h3>
              <CallTable label="Denied calls" calls={denied} messages={true} />
            </>
          ) : null}
          {otherwise.length ? (
            <>
              <h3 className="section-heading">Failed (not a permission problem)</h3>
              <CallTable label="Failed calls" calls={otherwise} messages={true} />
            </>
          ) : null}
          {recording ? (
            <>
              {recording.guessed.length ? (
                <p className="muted">
                  Guessed from the service prefix (check them):{" "}
                  <span className="mono">{recording.guessed.join(", ")}</span>
                </p>
              ) : null}
              <div className="form-actions start">
                <button
                  type="button"
                  className="btn primary"
                  disabled={denied.length === 0}
                  onClick={requestDenied}
                >
                  Request what was denied
                </button>
                <button type="button" className="btn" disabled={calls.length === 0} onClick={savePolicy}>
                  Save policy
                </button>
              </div>
              {calls.length ? (
                <>
                  <h3 className="section-heading">Least-privilege policy for every call</h3>
                  <pre className="mono record-policy" data-testid="record-policy">
                    {JSON.stringify(recording.policy, null, 2)}
                  </pre>
                </>
              ) : null}
            </>
          ) : null}
          <details className="record-output">
            <summary>Command output{state.outputTruncated ? " (cut: only the start is kept)" : ""}</summary>
            <pre className="mono" data-testid="record-output">
              {state.output}
            </pre>
          </details>
        </section>
      ) : null}
    </section>
  );
}
