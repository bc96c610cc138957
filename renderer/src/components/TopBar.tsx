// The window's header: the app's name and what applies to the whole window (refresh, settings, sign out).

import { Icon } from "./Icon.tsx";

interface Props {
  onRefresh?: () => void;
  refreshing?: boolean;
  onOpenSettings(): void;
  onSignOut?: () => void;
}

export function TopBar({ onRefresh, refreshing, onOpenSettings, onSignOut }: Props) {
  return (
    <header className="top-bar">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true">
          G
        </span>
        <span className="brand-name">Gatehouse</span>
      </div>
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
