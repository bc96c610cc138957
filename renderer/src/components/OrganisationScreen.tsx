// The Organisation view for Gatehouse administrators: every account with its sync state and doctor's
// findings (each with its fix), a button to sync one account now and one to run doctor.

import { useCallback, useEffect, useState } from "react";
import type { DoctorFindingView, Organisation } from "../../../shared/api.ts";
import { errorCode, errorText, gatehouse } from "../gatehouse.ts";
import type { ShowToast } from "../useToast.ts";

interface Props {
  toast: ShowToast;
  onSignedOut(): void;
}

const MARK: Record<DoctorFindingView["status"], string> = { error: "✗", warn: "!", info: "i", ok: "✓" };

function Finding({ f }: { f: DoctorFindingView }) {
  return (
    <li className={`finding finding-${f.status}`} data-status={f.status}>
      <span aria-hidden="true">{MARK[f.status]} </span>
      <span className="sr-only">{f.status}: </span>
      {f.role ? <strong>{f.role}: </strong> : null}
      {f.message}
      {f.fix ? <div className="finding-fix">Fix: {f.fix}</div> : null}
    </li>
  );
}

export function OrganisationScreen({ toast, onSignedOut }: Props) {
  const [org, setOrg] = useState<Organisation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const failed = useCallback(
    (e: unknown) => {
      if (errorCode(e) === "NOT_SIGNED_IN") onSignedOut();
      else setError(errorText(e));
    },
    [onSignedOut],
  );

  const load = useCallback(async () => {
    try {
      setOrg(await gatehouse().organisation());
      setError(null);
    } catch (e) {
      failed(e);
    }
  }, [failed]);

  useEffect(() => {
    void load();
  }, [load]);

  const runDoctor = async () => {
    setBusy("doctor");
    try {
      setOrg(await gatehouse().runDoctor());
    } catch (e) {
      failed(e);
    } finally {
      setBusy(null);
    }
  };

  const syncNow = async (accountId: string, name: string) => {
    setBusy(accountId);
    try {
      const s = await gatehouse().syncAccount({ accountId });
      toast(
        s.state === "ok" ? "ok" : "error",
        s.state === "ok" ? `${name} synced` : `${name} failed to sync`,
        s.error?.message,
      );
      await load();
    } catch (e) {
      failed(e);
    } finally {
      setBusy(null);
    }
  };

  return (
    <section className="organisation" data-testid="organisation">
      <header className="screen-head">
        <h2>Organisation</h2>
        <button type="button" onClick={() => void runDoctor()} disabled={busy !== null}>
          {busy === "doctor" ? "Checking…" : "Run doctor"}
        </button>
      </header>
      {error ? <p role="alert">{error}</p> : null}
      {org === null ? (
        <p>Loading…</p>
      ) : (
        <>
          <p className="org-summary">
            Accounts{" "}
            {org.accountsFrom === "organizations" ? "from AWS Organizations" : "listed in the configuration"}
            {org.discovery && !org.discovery.ok
              ? ` — reading the organisation failed: ${org.discovery.error?.message}`
              : ""}
            {org.doctorAt
              ? ` · doctor ran ${new Date(org.doctorAt).toLocaleString()}`
              : " · doctor has not run yet"}
          </p>
          {org.findings.length > 0 ? (
            <ul className="findings" aria-label="Findings about the broker and the central role">
              {org.findings.map((f) => (
                <Finding key={`${f.check}:${f.role ?? ""}:${f.message}`} f={f} />
              ))}
            </ul>
          ) : null}
          <ul className="org-accounts">
            {org.accounts.map((a) => {
              const problems = a.findings.filter((f) => f.status === "error").length;
              return (
                <li key={a.id} className="org-account" data-account={a.id}>
                  <div className="org-account-head">
                    <strong>{a.name}</strong> <span className="muted">{a.id}</span>{" "}
                    <span className="sync-state" data-state={a.sync?.state ?? "never"}>
                      {a.sync === null
                        ? "never synced"
                        : a.sync.state === "ok"
                          ? `synced ${new Date(a.sync.lastSuccessAt ?? "").toLocaleTimeString()} · ${a.sync.roles} roles`
                          : `sync failed: ${a.sync.error?.message ?? ""}`}
                    </span>{" "}
                    {problems > 0 ? <span className="badge badge-error">{problems} broken</span> : null}
                    <button type="button" onClick={() => void syncNow(a.id, a.name)} disabled={busy !== null}>
                      {busy === a.id ? "Syncing…" : "Sync now"}
                    </button>
                  </div>
                  {a.findings.length > 0 ? (
                    <ul className="findings">
                      {a.findings.map((f) => (
                        <Finding key={`${f.check}:${f.role ?? ""}:${f.message}`} f={f} />
                      ))}
                    </ul>
                  ) : null}
                </li>
              );
            })}
          </ul>
        </>
      )}
    </section>
  );
}
