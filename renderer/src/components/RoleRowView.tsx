// One role in the list: favourite star, name (matches marked), CLI-only badge, description, and its actions.

import { memo } from "react";
import type { Role } from "../../../shared/api.ts";
import type { RoleRow } from "../roles/search.ts";
import { Highlight } from "./Highlight.tsx";
import { Icon } from "./Icon.tsx";

export type CopyKind = "profile" | "credentialProcess" | "envExport";

/** The row's copy buttons: what each copies, its accessible name, tooltip and text. */
const COPIES: readonly { kind: CopyKind; label: string; title: string; text: string }[] = [
  {
    kind: "profile",
    label: "Copy profile name",
    title: "Copy the AWS CLI profile name (P)",
    text: "profile",
  },
  {
    kind: "credentialProcess",
    label: "Copy credential_process line",
    title: "Copy the credential_process line for ~/.aws/config",
    text: "credential_process",
  },
  {
    kind: "envExport",
    label: "Copy env export",
    title: "Copy export AWS_… lines with fresh credentials (E)",
    text: "env",
  },
];

export interface RoleActions {
  openConsole(role: Role): void;
  copy(role: Role, kind: CopyKind): void;
  toggleFavourite(role: Role): void;
  /** Opens the request panel for more permissions on this role (absent where requests are not offered). */
  requestPermissions?(role: Role): void;
}

interface Props {
  row: RoleRow;
  index: number;
  start: number;
  /** The row that Tab reaches and arrow keys move from (roving tabindex). */
  active: boolean;
  favourite: boolean;
  terms: readonly string[];
  actions: RoleActions;
}

export const RoleRowView = memo(function RoleRowView({
  row,
  index,
  start,
  active,
  favourite,
  terms,
  actions,
}: Props) {
  const { role, section } = row;
  const tab = active ? 0 : -1;
  const pinned = section !== "accounts";
  return (
    // A focusable list item (roving tabindex): Enter opens the console, F / P / C / E act on it (RoleList).
    <li
      className={`row role-row${active ? " active" : ""}`}
      data-index={index}
      data-key={row.key}
      data-role-ref={role.ref}
      data-section={section}
      tabIndex={tab}
      aria-label={`${role.ref}${role.cliOnly ? ", CLI only" : ""}`}
      style={{ transform: `translateY(${start}px)` }}
    >
      <button
        type="button"
        className={`star${favourite ? " on" : ""}`}
        aria-pressed={favourite}
        aria-label="Favourite"
        title={favourite ? "Remove from favourites (F)" : "Add to favourites (F)"}
        tabIndex={tab}
        onClick={() => actions.toggleFavourite(role)}
      >
        <Icon name="star" />
      </button>
      <div className="role-main">
        <div className="role-title">
          {pinned ? (
            <span className="role-account">
              <Highlight text={role.accountName} terms={terms} />
              <span className="sep">/</span>
            </span>
          ) : null}
          <span className="role-name">
            <Highlight text={role.roleName} terms={terms} />
          </span>
          {role.cliOnly ? (
            <span className="badge" title="CLI and SDKs only: this role has no console access">
              CLI only
            </span>
          ) : null}
        </div>
        <div className="role-sub">
          {pinned ? <span className="mono">{role.accountId}</span> : null}
          {pinned && role.description ? <span className="dot">·</span> : null}
          {role.description ? <Highlight text={role.description} terms={terms} /> : null}
          {!pinned && !role.description ? <span className="mono">{role.arn}</span> : null}
        </div>
      </div>
      <div className="role-actions">
        <button
          type="button"
          className="btn primary"
          disabled={role.cliOnly}
          title={role.cliOnly ? "This role is for the CLI only" : "Open the AWS console as this role (Enter)"}
          tabIndex={tab}
          onClick={() => actions.openConsole(role)}
        >
          <Icon name="external" />
          Open console
        </button>
        <div className="copy-group">
          <span className="copy-label" aria-hidden="true">
            Copy
          </span>
          {COPIES.map((c) => (
            <button
              key={c.kind}
              type="button"
              className="btn chip"
              aria-label={c.label}
              title={c.title}
              tabIndex={tab}
              onClick={() => actions.copy(role, c.kind)}
            >
              {c.text}
            </button>
          ))}
        </div>
        {actions.requestPermissions ? (
          <button
            type="button"
            className="btn ghost"
            aria-label="Request permissions"
            title="Ask for more permissions on this role"
            tabIndex={tab}
            onClick={() => actions.requestPermissions?.(role)}
          >
            <Icon name="key" />
            More…
          </button>
        ) : null}
      </div>
    </li>
  );
});
