// The window's header: the app's name, the sections, and what applies to the whole window (refresh, settings,
// sign out).

import type { ReactNode } from "react";
import { Icon } from "./Icon.tsx";

interface Props {
  /** The signed-in window's sections (the tab bar). */
  tabs?: ReactNode;
  onRefresh?: () => void;
  refreshing?: boolean;
  onOpenSettings(): void;
  onSignOut?: () => void;
}

export function TopBar({ tabs, onRefresh, refreshing, onOpenSettings, onSignOut }: Props) {
  return (
    <header className="top-bar">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true">
          G
        </span>
        <span className="brand-name">Gatehouse</span>
      </div>
      {tabs}
      <nav className="top-actions" aria-label="App">
        {onRefresh ? (
          <button
            type="button"
            className="btn ghost"
            onClick={onRefresh}
            disabled={refreshing}
            title="Ask the broker for your roles again"
          >
            <Icon name="refresh" className={refreshing ? "spin" : undefined} />
            Refresh
          </button>
        ) : null}
        <button type="button" className="btn ghost" onClick={onOpenSettings} title="Settings (Ctrl+,)">
          <Icon name="settings" />
          Settings
        </button>
        {onSignOut ? (
          <button type="button" className="btn ghost" onClick={onSignOut}>
            <Icon name="signOut" />
            Sign out
          </button>
        ) : null}
      </nav>
    </header>
  );
}
