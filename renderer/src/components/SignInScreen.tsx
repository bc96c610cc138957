// The first screen: the broker's URL (all a person types; the broker names the IdP) and one button that signs
// in through the company's SSO in the system browser.

import { useRef, useState } from "react";
import { errorCode, errorText, gatehouse } from "../gatehouse.ts";
import { Icon } from "./Icon.tsx";

interface Props {
  brokerUrl: string | null;
  onSignedIn(): void;
  onOpenSettings(): void;
}

export function SignInScreen({ brokerUrl, onSignedIn, onOpenSettings }: Props) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ code?: string; text: string } | null>(null);
  const [url, setUrl] = useState(brokerUrl ?? "");
  const cancelled = useRef(false);

  const signIn = async (e?: React.FormEvent) => {
    e?.preventDefault();
    setBusy(true);
    setError(null);
    cancelled.current = false;
    try {
      const wanted = url.trim();
      if (!URL.canParse(wanted) || !/^https?:$/.test(new URL(wanted).protocol))
        throw new Error("Enter your company's Gatehouse URL (https://…).");
      if (wanted !== brokerUrl) await gatehouse().setBroker({ brokerUrl: wanted });
      await gatehouse().signIn();
      onSignedIn();
    } catch (e) {
      if (!cancelled.current) {
        const code = errorCode(e);
        setError({ text: errorText(e), ...(code ? { code } : {}) });
      }
    } finally {
      setBusy(false);
    }
  };

  // Signing out abandons a sign-in under way (the agent stops waiting for the browser).
  const cancel = async () => {
    cancelled.current = true;
    await gatehouse()
      .signOut()
      .catch(() => undefined);
  };

  return (
    <main className="signin">
      <section className="signin-card" aria-labelledby="signin-title" aria-busy={busy}>
        <div className="brand-mark large" aria-hidden="true">
          G
        </div>
        <h1 id="signin-title">Sign in to Gatehouse</h1>
        <p className="lead">
          One sign-in with your company's single sign-on gives you every AWS role your groups may use:
          consoles in one click, short-lived credentials for the CLI and SDKs.
        </p>
        {error ? (
          <div className="alert error" role="alert">
            <strong className="alert-title">Sign-in did not complete.</strong> {error.text}
            {error.code ? <span className="code mono">{error.code}</span> : null}
          </div>
        ) : null}
        {busy ? (
          <div className="progress" role="status">
            <span className="spinner" aria-hidden="true" />
            <div>
              <strong>Waiting for your browser…</strong>
              <span>
                Finish signing in in the browser tab that just opened; this window carries on by itself.
              </span>
            </div>
          </div>
        ) : null}
        <form className="signin-actions" onSubmit={signIn}>
          <label htmlFor="signin-broker">Your company's Gatehouse URL</label>
          <input
            id="signin-broker"
            className="mono"
            type="url"
            inputMode="url"
            placeholder="https://gatehouse.example.com"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            disabled={busy}
            required
          />
          <button type="submit" className="btn primary large" disabled={busy}>
            <Icon name="key" />
            Sign in with SSO
          </button>
          {busy ? (
            <button type="button" className="btn ghost" onClick={cancel}>
              Cancel
            </button>
          ) : null}
        </form>
        <p className="signin-foot">
          <button type="button" className="link" onClick={onOpenSettings}>
            Settings
          </button>
        </p>
      </section>
    </main>
  );
}
