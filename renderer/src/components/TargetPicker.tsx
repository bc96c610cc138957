// Choosing what a request is for: a search over every synced role and IAM user of the configured accounts
// (the person's own roles first), the chosen ones shown as removable chips.

import { type KeyboardEvent, useEffect, useId, useRef, useState } from "react";
import type { RequestTarget } from "../../../shared/ipc.ts";
import { errorText, gatehouse } from "../gatehouse.ts";

const SEARCH_DELAY_MS = 150;
const LIMIT = 50;

interface Props {
  /** Role access names roles only. */
  rolesOnly: boolean;
  /** Group membership names IAM users only. */
  usersOnly?: boolean;
  selected: RequestTarget[];
  onChange(targets: RequestTarget[]): void;
}

export const targetName = (t: RequestTarget) =>
  t.type === "user" ? `${t.accountName}/user ${t.name}` : `${t.accountName}/${t.name}`;

export function TargetPicker({ rolesOnly, usersOnly = false, selected, onChange }: Props) {
  const id = useId();
  const [query, setQuery] = useState("");
  const [results, setResults] = useState<RequestTarget[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const seq = useRef(0);
  const listRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const mine = ++seq.current;
    const timer = window.setTimeout(
      async () => {
        try {
          const q = query.trim();
          const found = await gatehouse().requestTargets(q ? { query: q, limit: LIMIT } : { limit: LIMIT });
          if (mine !== seq.current) return;
          // Stable: the person's own roles first, then the broker's order.
          setResults([...found.filter((t) => t.mine), ...found.filter((t) => !t.mine)]);
          setError(null);
        } catch (e) {
          if (mine === seq.current) setError(errorText(e));
        }
      },
      query ? SEARCH_DELAY_MS : 0,
    );
    return () => window.clearTimeout(timer);
  }, [query]);

  const chosen = new Set(selected.map((t) => t.arn));
  const shown = (results ?? []).filter(
    (t) => (!rolesOnly || t.type === "role") && (!usersOnly || t.type === "user"),
  );

  const toggle = (t: RequestTarget) =>
    onChange(chosen.has(t.arn) ? selected.filter((s) => s.arn !== t.arn) : [...selected, t]);

  const options = () => Array.from(listRef.current?.querySelectorAll<HTMLElement>('[role="option"]') ?? []);
  const onListKey = (e: KeyboardEvent<HTMLElement>, t?: RequestTarget) => {
    const all = options();
    const at = all.indexOf(document.activeElement as HTMLElement);
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const next = e.key === "ArrowDown" ? Math.min(at + 1, all.length - 1) : at - 1;
      if (next < 0) document.getElementById(`${id}-search`)?.focus();
      else all[next]?.focus();
    } else if (t && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      toggle(t);
    }
  };

  return (
    <div className="field wide target-picker">
      <label htmlFor={`${id}-search`}>Find a role or user</label>
      <input
        id={`${id}-search`}
        type="search"
        placeholder="Account, role or user name, ARN…"
        spellCheck={false}
        autoComplete="off"
        value={query}
        aria-controls={`${id}-list`}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") {
            e.preventDefault();
            options()[0]?.focus();
          }
        }}
      />
      {error ? (
        <div className="alert error" role="alert">
          <strong className="alert-title">Roles and users could not be searched.</strong> {error}
        </div>
      ) : null}
      <div
        ref={listRef}
        id={`${id}-list`}
        className="target-list"
        role="listbox"
        aria-label="Roles and users"
        aria-multiselectable="true"
        aria-busy={results === null}
      >
        {shown.map((t) => (
          <div
            key={t.arn}
            role="option"
            tabIndex={-1}
            aria-selected={chosen.has(t.arn)}
            data-arn={t.arn}
            onClick={() => toggle(t)}
            onKeyDown={(e) => onListKey(e, t)}
            title={t.arn}
          >
            <span className="check-mark" aria-hidden="true">
              {chosen.has(t.arn) ? "✓" : ""}
            </span>
            <span className="mono target-name">{targetName(t)}</span>
            <span className="muted target-kind">{t.type === "user" ? "IAM user" : "role"}</span>
            {t.mine ? <span className="badge">yours</span> : null}
            <span className="muted target-account">{t.accountId}</span>
            {t.description ? <span className="target-desc muted">{t.description}</span> : null}
          </div>
        ))}
        {results !== null && shown.length === 0 ? (
          <div className="target-none muted">Nothing matches “{query.trim()}”.</div>
        ) : null}
      </div>
      <div className="chosen" aria-live="polite">
        {selected.length === 0 ? (
          <span className="hint">
            Choose at least one {rolesOnly ? "role" : usersOnly ? "IAM user" : "role or user"} above.
          </span>
        ) : (
          <ul className="chips" aria-label="Chosen targets">
            {selected.map((t) => (
              <li key={t.arn} className="chip">
                <span className="mono">{targetName(t)}</span>
                <button
                  type="button"
                  className="icon-btn"
                  aria-label={`Remove ${targetName(t)}`}
                  onClick={() => onChange(selected.filter((s) => s.arn !== t.arn))}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
