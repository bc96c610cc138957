// Admins only: access-tag changes made outside Gatehouse that the broker holds (access.external_tag_changes:
// hold), each with what it adds and removes, and an Accept button that serves it from now on.

import { useCallback, useEffect, useState } from "react";
import type { AccessTags, TagChange } from "../../../shared/api.ts";
import { errorCode, errorText, gatehouse } from "../gatehouse.ts";
import { whenText } from "../requests/format.ts";
import type { ShowToast } from "../useToast.ts";
import { LoadedList, RequestHead, ScreenHead } from "./RequestParts.tsx";

interface Props {
  toast: ShowToast;
  onSignedOut(): void;
}

/** One line per tag key: `key: a : b`; "none" when the role had none. Plain text: React escapes it. */
function TagList({ tags, label }: { tags: AccessTags; label: string }) {
  const entries = Object.entries(tags);
  if (entries.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="tag-list" aria-label={label}>
      {entries.map(([k, v]) => (
        <li key={k} className="mono">
          {k}: {v.join(" : ")}
        </li>
      ))}
    </ul>
  );
}

export function TagChangesScreen({ toast, onSignedOut }: Props) {
  const [list, setList] = useState<TagChange[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [busy, setBusy] = useState<number | null>(null);

  const failed = useCallback(
    (e: unknown, what: string) => {
      if (errorCode(e) === "NOT_SIGNED_IN") onSignedOut();
      else toast("error", what, errorText(e));
    },
    [onSignedOut, toast],
  );

  const load = useCallback(async () => {
    setLoading(true);
    try {
      setList(await gatehouse().heldTagChanges());
      setError(null);
    } catch (e) {
      if (errorCode(e) === "NOT_SIGNED_IN") onSignedOut();
      else setError(errorText(e));
    } finally {
      setLoading(false);
    }
  }, [onSignedOut]);

  useEffect(() => {
    void load();
  }, [load]);

  const accept = async (c: TagChange) => {
    setBusy(c.id);
    try {
      await gatehouse().acceptTagChange({ id: c.id });
      setList((l) => l?.filter((x) => x.id !== c.id) ?? l);
      toast("ok", "Change accepted", `${c.name}: its access tags are served from now on`);
    } catch (e) {
      failed(e, "Could not accept the change");
      // Superseded meanwhile (or accepted by another admin): show what is held now.
      if (errorCode(e) === "TAG_CHANGE_NOT_HELD") void load();
    } finally {
      setBusy(null);
    }
  };

  return (
    <section className="requests-screen" aria-labelledby="tag-changes-title">
      <ScreenHead
        id="tag-changes-title"
        title="Held tag changes"
        loading={loading}
        onRefresh={() => void load()}
      />
      <p className="muted">
        Access tags changed outside Gatehouse. What a change adds is not served until an admin accepts it;
        what it removes already applies.
      </p>
      <LoadedList
        list={list}
        error={error}
        failedTitle="The held changes could not be loaded."
        loadingText="Loading held changes…"
        empty={
          <div className="center-message">
            <p>No access-tag change is waiting.</p>
          </div>
        }
      >
        {(changes) => (
          <ul className="request-list" aria-label="Held tag changes">
            {changes.map((c) => (
              <li key={c.id}>
                <article
                  className="request-card"
                  aria-labelledby={`tag-change-${c.id}`}
                  data-change-id={c.id}
                >
                  <RequestHead id={`tag-change-${c.id}`} title={c.arn} requestId={`#${c.id}`} />
                  <p className="request-meta muted">
                    {c.type === "role" ? "Role" : "IAM user"} · noticed {whenText(c.detectedAt)}
                    {c.recreated ? " · deleted and created again" : ""}
                  </p>
                  <dl className="tag-change">
                    <dt>Adds (held)</dt>
                    <dd>
                      <TagList tags={c.added} label="Added" />
                    </dd>
                    <dt>Removes (applied)</dt>
                    <dd>
                      <TagList tags={c.removed} label="Removed" />
                    </dd>
                    <dt>Before</dt>
                    <dd>
                      <TagList tags={c.before} label="Before" />
                    </dd>
                    <dt>After</dt>
                    <dd>
                      <TagList tags={c.after} label="After" />
                    </dd>
                  </dl>
                  <div className="card-actions">
                    <button
                      type="button"
                      className="btn primary"
                      disabled={busy === c.id}
                      onClick={() => void accept(c)}
                    >
                      Accept
                    </button>
                  </div>
                </article>
              </li>
            ))}
          </ul>
        )}
      </LoadedList>
    </section>
  );
}
