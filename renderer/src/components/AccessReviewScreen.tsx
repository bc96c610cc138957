// The access review for Gatehouse administrators (issue 16), read-only: every person's roles with why and
// until when, last use and unused access, or every role's people; filters, and a CSV download of what the
// filters show (the same CSV as `gatehouse-broker access report`).

import { useCallback, useEffect, useMemo, useState } from "react";
import type { AccessReport, ReportPerson } from "../../../shared/access-report.ts";
import {
  accessReportCsv,
  DEFAULT_UNUSED_DAYS,
  describeReason,
  MAX_UNUSED_DAYS,
} from "../../../shared/access-report-csv.ts";
import { errorCode, errorText, gatehouse } from "../gatehouse.ts";
import type { ShowToast } from "../useToast.ts";
import { GrantsExportPanel } from "./GrantsExportPanel.tsx";

interface Props {
  toast: ShowToast;
  onSignedOut(): void;
}

/** More rows than this are not drawn (the download has them all); filters narrow the view. */
const SHOWN = 500;

interface Filters {
  who: string;
  account: string;
  role: string;
  unusedOnly: boolean;
}

/** People and their roles as the filters leave them; a person whose roles are all filtered out goes. */
export function filterReport(people: readonly ReportPerson[], f: Filters): ReportPerson[] {
  const who = f.who.trim().toLowerCase();
  const role = f.role.trim().toLowerCase();
  const roleFiltered = f.account !== "" || role !== "" || f.unusedOnly;
  const out: ReportPerson[] = [];
  for (const p of people) {
    if (who && !p.email.includes(who) && !p.groups.some((g) => g.toLowerCase().includes(who))) continue;
    if (!roleFiltered) {
      out.push(p);
      continue;
    }
    const roles = p.roles.filter(
      (r) =>
        (f.account === "" || r.accountId === f.account) &&
        (role === "" || r.roleName.toLowerCase().includes(role) || r.arn.toLowerCase().includes(role)) &&
        (!f.unusedOnly || r.unused),
    );
    if (roles.length > 0) out.push({ ...p, roles });
  }
  return out;
}

const when = (iso: string | null) => (iso === null ? "never" : new Date(iso).toLocaleString());

export function AccessReviewScreen({ toast, onSignedOut }: Props) {
  const [report, setReport] = useState<AccessReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [days, setDays] = useState(String(DEFAULT_UNUSED_DAYS));
  const [filters, setFilters] = useState<Filters>({ who: "", account: "", role: "", unusedOnly: false });
  const [view, setView] = useState<"people" | "roles">("people");

  const load = useCallback(
    async (unusedDays: number) => {
      try {
        setReport(await gatehouse().accessReport({ unusedDays }));
        setError(null);
      } catch (e) {
        if (errorCode(e) === "NOT_SIGNED_IN") onSignedOut();
        else setError(errorText(e));
      }
    },
    [onSignedOut],
  );

  useEffect(() => {
    void load(DEFAULT_UNUSED_DAYS);
  }, [load]);

  const daysValid = /^\d+$/.test(days) && Number(days) >= 1 && Number(days) <= MAX_UNUSED_DAYS;
  const people = useMemo(() => (report ? filterReport(report.people, filters) : []), [report, filters]);
  const rows = useMemo(() => people.flatMap((p) => p.roles.map((r) => ({ p, r }))), [people]);
  const shownRoles = useMemo(() => {
    if (!report) return [];
    const arns = new Set(rows.map((x) => x.r.arn));
    const emails = new Set(people.map((p) => p.email));
    return report.roles
      .filter((r) => arns.has(r.arn))
      .map((r) => ({ ...r, people: r.people.filter((p) => emails.has(p.email)) }));
  }, [report, rows, people]);
  const accounts = useMemo(() => {
    const m = new Map<string, string>();
    for (const r of report?.roles ?? []) m.set(r.accountId, r.accountName);
    return [...m].sort((a, b) => a[1].localeCompare(b[1]));
  }, [report]);

  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));

  const download = () => {
    if (!report) return;
    const blob = new Blob([accessReportCsv(people)], { type: "text/csv;charset=utf-8" });
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = `gatehouse-access-${report.generatedAt.slice(0, 10)}.csv`;
    document.body.append(a);
    a.click();
    a.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
    toast("ok", `CSV of ${rows.length} rows downloaded`);
  };

  return (
    <section className="access-review" data-testid="access-review">
      <header className="screen-head">
        <h2>Access review</h2>
        <button type="button" onClick={download} disabled={!report}>
          Download CSV
        </button>
      </header>
      {error ? <p role="alert">{error}</p> : null}
      <GrantsExportPanel toast={toast} onSignedOut={onSignedOut} />
      <form className="access-filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Person or group{" "}
          <input type="search" value={filters.who} onChange={(e) => set({ who: e.target.value })} />
        </label>
        <label>
          Account{" "}
          <select value={filters.account} onChange={(e) => set({ account: e.target.value })}>
            <option value="">All accounts</option>
            {accounts.map(([id, name]) => (
              <option key={id} value={id}>
                {name} ({id})
              </option>
            ))}
          </select>
        </label>
        <label>
          Role <input type="search" value={filters.role} onChange={(e) => set({ role: e.target.value })} />
        </label>
        <label>
          <input
            type="checkbox"
            checked={filters.unusedOnly}
            onChange={(e) => set({ unusedOnly: e.target.checked })}
          />{" "}
          Unused only
        </label>
        <label>
          Unused after{" "}
          <input
            type="number"
            min={1}
            max={MAX_UNUSED_DAYS}
            value={days}
            aria-invalid={!daysValid}
            onChange={(e) => {
              setDays(e.target.value);
              if (/^\d+$/.test(e.target.value)) {
                const n = Number(e.target.value);
                if (n >= 1 && n <= MAX_UNUSED_DAYS) void load(n);
              }
            }}
          />{" "}
          days
        </label>
        <fieldset className="access-view">
          <legend className="sr-only">Show</legend>
          <label>
            <input type="radio" checked={view === "people"} onChange={() => setView("people")} /> By person
          </label>
          <label>
            <input type="radio" checked={view === "roles"} onChange={() => setView("roles")} /> By role
          </label>
        </fieldset>
      </form>
      {!daysValid ? (
        <p role="alert">Unused after is a whole number of days from 1 to {MAX_UNUSED_DAYS}.</p>
      ) : null}
      {report === null ? (
        error ? null : (
          <p>Loading…</p>
        )
      ) : (
        <>
          <p className="access-summary" data-testid="access-summary">
            {people.length} people · {rows.length} accesses · {rows.filter((x) => x.r.unused).length} unused
            for {report.unusedDays} days · generated {when(report.generatedAt)}
          </p>
          {view === "people" ? (
            <table className="access-table" aria-label="Access by person">
              <thead>
                <tr>
                  <th scope="col">Person</th>
                  <th scope="col">Role</th>
                  <th scope="col">Level</th>
                  <th scope="col">Why</th>
                  <th scope="col">Until</th>
                  <th scope="col">Last used</th>
                </tr>
              </thead>
              <tbody>
                {rows.slice(0, SHOWN).map(({ p, r }) => (
                  <tr key={`${p.email}\n${r.arn}`} data-unused={r.unused ? "yes" : "no"}>
                    <td>{p.email}</td>
                    <td title={r.arn}>
                      {r.accountName}/{r.roleName}
                    </td>
                    <td>{r.level === "cli" ? "CLI only" : "console + CLI"}</td>
                    <td>{r.reasons.map(describeReason).join("; ")}</td>
                    <td>{r.until === null ? "—" : when(r.until)}</td>
                    <td>
                      {when(r.lastUsed)}
                      {r.unused ? <span className="badge badge-unused"> unused</span> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <table className="access-table" aria-label="Access by role">
              <thead>
                <tr>
                  <th scope="col">Role</th>
                  <th scope="col">People</th>
                </tr>
              </thead>
              <tbody>
                {shownRoles.slice(0, SHOWN).map((r) => (
                  <tr key={r.arn}>
                    <td title={r.arn}>
                      {r.accountName}/{r.roleName}
                    </td>
                    <td>
                      {r.people
                        .map(
                          (p) =>
                            `${p.email}${p.level === "cli" ? " (CLI)" : ""}${p.unused ? " — unused" : ""}`,
                        )
                        .join(", ")}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {(view === "people" ? rows.length : shownRoles.length) > SHOWN ? (
            <p className="muted">
              Showing the first {SHOWN}; narrow the filters, or download the CSV for everything.
            </p>
          ) : null}
          {rows.length === 0 ? <p>No access matches these filters.</p> : null}
        </>
      )}
    </section>
  );
}
