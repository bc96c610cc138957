// Settings as a modal dialog: broker URL, where consoles open, refresh window, profile name template,
// launch at login and theme. Only changed fields are sent; main validates them against the same schema.

import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import type { UiSettings } from "../../../shared/ipc.ts";
import { errorText, gatehouse } from "../gatehouse.ts";
import { Icon } from "./Icon.tsx";

interface Props {
  open: boolean;
  onClose(): void;
  onSaved(settings: UiSettings): void;
}

type Draft = Omit<UiSettings, "refreshWindowSeconds"> & { refreshWindowSeconds: string };

function problems(d: Draft): Partial<Record<keyof UiSettings, string>> {
  const out: Partial<Record<keyof UiSettings, string>> = {};
  const url = URL.parse(d.brokerUrl);
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:"))
    out.brokerUrl = "Enter an http:// or https:// URL.";
  const secs = Number(d.refreshWindowSeconds);
  if (!Number.isInteger(secs) || secs < 60 || secs > 3000)
    out.refreshWindowSeconds = "Enter a whole number of seconds from 60 to 3000.";
  if (!d.profileTemplate.includes("{role}")) out.profileTemplate = "The template must contain {role}.";
  else if (d.profileTemplate.length > 128) out.profileTemplate = "Keep the template under 128 characters.";
  return out;
}

function preview(template: string): string {
  return template
    .replaceAll("{account}", "staging")
    .replaceAll("{accountId}", "333333333333")
    .replaceAll("{role}", "Developer");
}

export function SettingsDialog({ open, onClose, onSaved }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  const [saved, setSaved] = useState<UiSettings | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [touched, setTouched] = useState(false);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      dialog.showModal();
      setError(null);
      setTouched(false);
      setDraft(null);
      gatehouse()
        .getSettings()
        .then((s) => {
          setSaved(s);
          setDraft({ ...s, refreshWindowSeconds: String(s.refreshWindowSeconds) });
        })
        .catch((e) => setError(errorText(e)));
    } else if (!open && dialog.open) dialog.close();
  }, [open]);

  const issues = draft ? problems(draft) : {};
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => {
    setDraft((d) => (d ? { ...d, [key]: value } : d));
    setTouched(true);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!draft || !saved) return;
    setTouched(true);
    if (Object.keys(issues).length > 0) return;
    const next: UiSettings = { ...draft, refreshWindowSeconds: Number(draft.refreshWindowSeconds) };
    const patch: Partial<UiSettings> = {};
    for (const k of Object.keys(next) as (keyof UiSettings)[]) {
      if (next[k] !== saved[k]) (patch as Record<string, unknown>)[k] = next[k];
    }
    setSaving(true);
    setError(null);
    try {
      const result = Object.keys(patch).length > 0 ? await gatehouse().updateSettings(patch) : saved;
      onSaved(result);
      onClose();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setSaving(false);
    }
  };

  const field = (name: keyof UiSettings) => ({
    id: `${id}-${name}`,
    "aria-invalid": touched && issues[name] ? true : undefined,
    "aria-describedby": `${id}-${name}-hint`,
  });
  const hint = (name: keyof UiSettings, text: string) => (
    <span id={`${id}-${name}-hint`} className={touched && issues[name] ? "hint invalid" : "hint"}>
      {touched && issues[name] ? issues[name] : text}
    </span>
  );

  return (
    <dialog ref={ref} className="settings" aria-labelledby={`${id}-title`} onClose={onClose}>
      <form method="dialog" onSubmit={submit} noValidate>
        <header className="dialog-head">
          <h2 id={`${id}-title`}>Settings</h2>
          <button type="button" className="icon-btn" aria-label="Close settings" onClick={onClose}>
            <Icon name="close" />
          </button>
        </header>
        {error ? (
          <div className="alert error" role="alert">
            {error}
          </div>
        ) : null}
        {draft ? (
          <div className="dialog-body">
            <div className="field wide">
              <label htmlFor={`${id}-brokerUrl`}>Broker URL</label>
              <input
                {...field("brokerUrl")}
                type="url"
                value={draft.brokerUrl}
                spellCheck={false}
                onChange={(e) => set("brokerUrl", e.target.value)}
              />
              {hint("brokerUrl", "Your company's Gatehouse broker. A new URL is used from the next start.")}
            </div>

            <fieldset className="field wide">
              <legend>Open consoles in</legend>
              <div className="segmented">
                <label>
                  <input
                    type="radio"
                    name="consoleMode"
                    checked={draft.consoleMode === "browser"}
                    onChange={() => set("consoleMode", "browser")}
                  />
                  <span>Your browser</span>
                </label>
                <label>
                  <input
                    type="radio"
                    name="consoleMode"
                    checked={draft.consoleMode === "window"}
                    onChange={() => set("consoleMode", "window")}
                  />
                  <span>An app window</span>
                </label>
              </div>
              <span className="hint">
                App windows keep a separate session per role, so consoles of several accounts stay open side
                by side.
              </span>
            </fieldset>

            <div className="field">
              <label htmlFor={`${id}-refreshWindowSeconds`}>Refresh window (seconds)</label>
              <input
                {...field("refreshWindowSeconds")}
                type="number"
                inputMode="numeric"
                min={60}
                max={3000}
                step={30}
                value={draft.refreshWindowSeconds}
                onChange={(e) => set("refreshWindowSeconds", e.target.value)}
              />
              {hint("refreshWindowSeconds", "Credentials are renewed when less than this is left (60–3000).")}
            </div>

            <div className="field">
              <label htmlFor={`${id}-profileTemplate`}>Profile name template</label>
              <input
                {...field("profileTemplate")}
                type="text"
                className="mono"
                spellCheck={false}
                value={draft.profileTemplate}
                onChange={(e) => set("profileTemplate", e.target.value)}
              />
              {hint("profileTemplate", `{account}, {accountId}, {role} → ${preview(draft.profileTemplate)}`)}
            </div>

            <fieldset className="field">
              <legend>Theme</legend>
              <div className="segmented">
                {(["system", "light", "dark"] as const).map((t) => (
                  <label key={t}>
                    <input
                      type="radio"
                      name="theme"
                      checked={draft.theme === t}
                      onChange={() => set("theme", t)}
                    />
                    <span>{t === "system" ? "System" : t === "light" ? "Light" : "Dark"}</span>
                  </label>
                ))}
              </div>
            </fieldset>
            <div className="field check">
              <input
                id={`${id}-launchAtLogin`}
                type="checkbox"
                className="check-input"
                checked={draft.launchAtLogin}
                onChange={(e) => set("launchAtLogin", e.target.checked)}
              />
              <label htmlFor={`${id}-launchAtLogin`} className="check-label">
                Launch Gatehouse when I log in
              </label>
            </div>
          </div>
        ) : error ? null : (
          <div className="dialog-body loading" role="status">
            <span className="spinner" aria-hidden="true" /> Loading settings…
          </div>
        )}
        <footer className="dialog-foot">
          <button type="button" className="btn ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={!draft || saving}>
            {saving ? "Saving…" : "Save"}
          </button>
        </footer>
      </form>
    </dialog>
  );
}
