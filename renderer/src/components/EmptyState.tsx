// What someone with no roles at all sees: why, and what to do about it.

import { Icon } from "./Icon.tsx";

export function EmptyState({
  email,
  groups,
  onRefresh,
  onRequestAccess,
}: {
  email: string | null;
  groups: readonly string[];
  onRefresh(): void;
  /** Opens the request panel for access to a role. */
  onRequestAccess?: () => void;
}) {
  return (
    <section className="empty-state" aria-labelledby="empty-title">
      <div className="empty-icon" aria-hidden="true">
        <Icon name="lock" />
      </div>
      <h2 id="empty-title">You can't use any AWS role yet</h2>
      <p>
        Signed in as <strong>{email ?? "you"}</strong>
        {groups.length > 0 ? (
          <>
            {" "}
            (groups: <span className="mono">{groups.join(", ")}</span>)
          </>
        ) : (
          ", in no groups"
        )}
        , but no role names you or your groups.
      </p>
      <ol className="empty-steps">
        <li>
          <strong>Ask for access.</strong> Your approvers grant roles by tag: a role's{" "}
          <code>gatehouse-authorized</code> tag lists the groups and people who may use it.
        </li>
        <li>
          <strong>Request it here.</strong> Name the role, say why and for how long; an approver grants it in
          Gatehouse, and it shows up here.
        </li>
        <li>
          <strong>Then check again.</strong> A new grant shows up at once.
        </li>
      </ol>
      <div className="empty-actions">
        {onRequestAccess ? (
          <button type="button" className="btn primary" onClick={onRequestAccess}>
            <Icon name="key" />
            Request access to a role
          </button>
        ) : null}
        <button type="button" className={onRequestAccess ? "btn" : "btn primary"} onClick={onRefresh}>
          <Icon name="refresh" />
          Check again
        </button>
      </div>
    </section>
  );
}
