// The signed-in window's sections as a tab bar (arrow keys move between tabs); Approvals carries the count
// of requests waiting for the person; Tag changes, Organisation and Access review show only to admins.

import type { KeyboardEvent } from "react";

export type TabId =
  | "roles"
  | "request"
  | "mine"
  | "record"
  | "approvals"
  | "tags"
  | "organisation"
  | "access";

interface Props {
  current: TabId;
  /** Whether the person approves anything: the Approvals tab shows only then. */
  approver: boolean;
  pendingApprovals: number;
  /** Whether the person is a Gatehouse admin: the Tag changes, Organisation and Access review tabs show only then. */
  admin?: boolean;
  /** Whether the broker has said yet whether the person approves (tests wait for it). */
  loaded: boolean;
  onSelect(tab: TabId): void;
}

const LABELS: Record<TabId, string> = {
  roles: "Roles",
  request: "Request",
  mine: "My requests",
  record: "Record",
  approvals: "Approvals",
  tags: "Tag changes",
  organisation: "Organisation",
  access: "Access review",
};

export function Tabs({ current, approver, pendingApprovals, admin = false, loaded, onSelect }: Props) {
  const tabs: TabId[] = ["roles", "request", "mine", "record"];
  if (approver) tabs.push("approvals");
  if (admin) tabs.push("tags", "organisation", "access");
  const onKey = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft" && e.key !== "Home" && e.key !== "End") return;
    e.preventDefault();
    const at = tabs.indexOf(current);
    const next =
      e.key === "Home"
        ? 0
        : e.key === "End"
          ? tabs.length - 1
          : (at + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length;
    const tab = tabs[next]!;
    onSelect(tab);
    e.currentTarget.querySelector<HTMLElement>(`[data-tab="${tab}"]`)?.focus();
  };
  return (
    <div
      className="tabs"
      role="tablist"
      aria-label="Sections"
      onKeyDown={onKey}
      data-context={loaded ? "loaded" : "loading"}
    >
      {tabs.map((t) => (
        <button
          key={t}
          type="button"
          role="tab"
          data-tab={t}
          aria-selected={t === current}
          tabIndex={t === current ? 0 : -1}
          className={`tab${t === current ? " current" : ""}`}
          onClick={() => onSelect(t)}
        >
          {LABELS[t]}
          {t === "approvals" && pendingApprovals > 0 ? (
            <span className="tab-badge" data-testid="approvals-badge">
              {pendingApprovals}
              <span className="sr-only"> waiting</span>
            </span>
          ) : null}
        </button>
      ))}
    </div>
  );
}
