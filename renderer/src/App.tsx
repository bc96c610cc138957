// The tray app's window: the sign-in screen or the signed-in sections (roles, requests, approvals), the status bar, settings and toasts, and the
// window-wide keyboard shortcuts. Everything it knows comes from window.gatehouse.

import { type ReactNode, useCallback, useEffect, useRef, useState } from "react";
import type { DesktopStatus, UiSettings } from "../../shared/ipc.ts";
import { SettingsDialog } from "./components/SettingsDialog.tsx";
import { SignInScreen } from "./components/SignInScreen.tsx";
import { StatusBar } from "./components/StatusBar.tsx";
import { Toast } from "./components/Toast.tsx";
import { Workspace } from "./components/Workspace.tsx";
import { errorText, gatehouse } from "./gatehouse.ts";
import { applyTheme } from "./theme.ts";
import { useToast } from "./useToast.ts";

const STATUS_POLL_MS = 15_000;

type Phase =
  | { kind: "starting" }
  | { kind: "failed"; error: string }
  | { kind: "signedOut" }
  | { kind: "signedIn" };

function isTyping(el: Element | null): boolean {
  return (
    el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement
  );
}

export function App() {
  const [phase, setPhase] = useState<Phase>({ kind: "starting" });
  const [status, setStatus] = useState<DesktopStatus | null>(null);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [toast, showToast, dismissToast] = useToast();
  const searchRef = useRef<HTMLInputElement>(null);

  const refreshStatus = useCallback(async () => {
    try {
      const s = await gatehouse().status();
      setStatus(s);
      return s;
    } catch {
      return null;
    }
  }, []);

  const start = useCallback(async () => {
    setPhase({ kind: "starting" });
    try {
      const api = gatehouse();
      const [s, settings] = await Promise.all([api.status(), api.getSettings()]);
      applyTheme(settings.theme);
      setStatus(s);
      setPhase({ kind: s.signedIn ? "signedIn" : "signedOut" });
    } catch (e) {
      setPhase({ kind: "failed", error: errorText(e) });
    }
  }, []);

  useEffect(() => {
    void start();
  }, [start]);

  // Broker reachability and cached credentials change behind the window's back: look every so often.
  useEffect(() => {
    if (phase.kind !== "signedIn") return;
    const id = window.setInterval(() => void refreshStatus(), STATUS_POLL_MS);
    return () => window.clearInterval(id);
  }, [phase.kind, refreshStatus]);

  const focusSearch = useCallback(() => {
    searchRef.current?.focus();
    searchRef.current?.select();
  }, []);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (mod && e.key === ",") {
        e.preventDefault();
        setSettingsOpen(true);
      } else if (settingsOpen) {
        return;
      } else if (
        (mod && e.key.toLowerCase() === "k") ||
        (e.key === "/" && !mod && !isTyping(document.activeElement))
      ) {
        if (!searchRef.current) return;
        e.preventDefault();
        focusSearch();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [settingsOpen, focusSearch]);

  const signedIn = useCallback(() => {
    setPhase({ kind: "signedIn" });
    void refreshStatus();
  }, [refreshStatus]);

  const signedOut = useCallback(() => {
    setPhase({ kind: "signedOut" });
    void refreshStatus();
  }, [refreshStatus]);

  const onStatusChanged = useCallback(() => void refreshStatus(), [refreshStatus]);

  const settingsSaved = useCallback(
    (s: UiSettings) => {
      applyTheme(s.theme);
      showToast("ok", "Settings saved");
      void refreshStatus();
    },
    [showToast, refreshStatus],
  );
  const openSettings = useCallback(() => setSettingsOpen(true), []);

  let screen: ReactNode;
  switch (phase.kind) {
    case "starting":
      screen = (
        <main className="center-message" role="status">
          <span className="spinner" aria-hidden="true" /> Starting…
        </main>
      );
      break;
    case "failed":
      screen = (
        <main className="center-message">
          <div className="alert error" role="alert">
            <strong className="alert-title">Gatehouse could not start.</strong> {phase.error}
          </div>
          <button type="button" className="btn primary" onClick={start}>
            Try again
          </button>
        </main>
      );
      break;
    case "signedOut":
      screen = (
        <SignInScreen
          brokerUrl={status?.brokerUrl ?? null}
          onSignedIn={signedIn}
          onOpenSettings={openSettings}
        />
      );
      break;
    case "signedIn":
      screen = (
        <Workspace
          status={status}
          searchRef={searchRef}
          focusSearch={focusSearch}
          toast={showToast}
          onStatusChanged={onStatusChanged}
          onSignedOut={signedOut}
          onOpenSettings={openSettings}
        />
      );
      break;
  }

  return (
    <div className="app">
      {screen}
      <StatusBar status={phase.kind === "signedIn" ? status : null} />
      <Toast toast={toast} onDismiss={dismissToast} />
      <SettingsDialog open={settingsOpen} onClose={() => setSettingsOpen(false)} onSaved={settingsSaved} />
    </div>
  );
}
