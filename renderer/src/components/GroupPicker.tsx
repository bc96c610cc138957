// The group-membership part of the request panel: the IAM groups of the chosen users' account, as the
// broker's last sync read them, one to choose.

import { useEffect, useId, useState } from "react";
import type { CatalogueGroup } from "../../../shared/catalogue.ts";
import { errorText, gatehouse } from "../gatehouse.ts";

interface Props {
  /** The account of the chosen users; no groups are listed before one is chosen. */
  account: string | undefined;
  value: string | undefined;
  onChange(group: string | undefined): void;
}

export function GroupPicker({ account, value, onChange }: Props) {
  const id = useId();
  const [groups, setGroups] = useState<CatalogueGroup[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let alive = true;
    setGroups(null);
    setError(null);
    if (!account) return;
    gatehouse()
      .catalogueGroups({ account })
      .then(
        (g) => alive && setGroups(g),
        (e) => alive && setError(errorText(e)),
      );
    return () => {
      alive = false;
    };
  }, [account]);

  return (
    <fieldset className="field wide catalogue-choices" aria-describedby={`${id}-hint`}>
      <legend>IAM group</legend>
      {error ? (
        <div className="alert error" role="alert">
          <strong className="alert-title">The account's groups could not be listed.</strong> {error}
        </div>
      ) : null}
      {!account ? (
        <span id={`${id}-hint`} className="hint">
          Choose the IAM user first: the groups are those of its account.
        </span>
      ) : groups === null ? (
        <span id={`${id}-hint`} className="hint">
          Loading the account's groups…
        </span>
      ) : groups.length === 0 ? (
        <span id={`${id}-hint`} className="hint">
          The account has no IAM groups (as of its last sync).
        </span>
      ) : (
        <>
          <ul className="catalogue-list">
            {groups.map((g) => (
              <li key={g.arn} title={g.arn}>
                <label className="catalogue-policy">
                  <input
                    type="radio"
                    name={`${id}-group`}
                    value={g.name}
                    checked={value === g.name}
                    onChange={() => onChange(g.name)}
                  />
                  <span className="mono">{g.name}</span>
                  {g.path !== "/" ? <span className="muted mono">{g.path}</span> : null}
                </label>
              </li>
            ))}
          </ul>
          <span id={`${id}-hint`} className="hint">
            The users are added to the group, and removed from it when the request expires.
          </span>
        </>
      )}
    </fieldset>
  );
}
