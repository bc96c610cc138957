// The access review's CSV writer and limits, without zod, so the renderer can bundle it under its strict
// CSP: the tray's download equals `gatehouse-broker access report`'s output. Types come from the schemas.

import type { AccessReason, ReportPerson } from "./access-report.ts";

/** Access unused for this many days is flagged unless the caller says otherwise. */
export const DEFAULT_UNUSED_DAYS = 90;
/** Ten years: beyond that "unused" means nothing an auditor would ask. */
export const MAX_UNUSED_DAYS = 3650;

export const ACCESS_CSV_COLUMNS = [
  "email",
  "account_id",
  "account_name",
  "role",
  "arn",
  "level",
  "why",
  "until",
  "last_credentials",
  "last_console",
  "last_used",
  "unused",
  "groups_from",
  "groups_at",
] as const;

/** A reason as one readable phrase: `group engineers in gatehouse-authorized`, `grant REQ until …`. */
export function describeReason(r: AccessReason): string {
  if (r.kind === "grant") return `grant ${r.requestId} until ${r.until ?? "permanent"}`;
  return `${r.via} ${r.principal} in ${r.tagKey}`;
}

/**
 * One CSV cell (RFC 4180), safe to open in a spreadsheet: group names, e-mails and tag values are written
 * by others (the IdP, whoever tags in AWS), so a cell starting with `=`, `+`, `-`, `@`, tab or CR is
 * prefixed with `'` and read as text, never as a formula (CSV injection).
 */
export function csvCell(value: string | null | boolean): string {
  if (value === null) return "";
  if (typeof value === "boolean") return value ? "yes" : "no";
  // The first character by code, not a regular expression: the CSV of a large organisation has millions of cells.
  const c = value.charCodeAt(0);
  const s = c === 61 || c === 43 || c === 45 || c === 64 || c === 9 || c === 13 ? `'${value}` : value;
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const NEEDS_QUOTES = /[",\r\n]/;

/** The rows of the CSV: one per person and role (people without a role get one row with the role empty). */
export function accessReportCsvRows(people: readonly ReportPerson[]): string[] {
  const lines: string[] = [];
  for (const p of people) {
    const tail = [p.groupsFrom, p.groupsAt];
    if (p.roles.length === 0) {
      lines.push([p.email, "", "", "", "", "", "", "", "", "", "", "", ...tail].map(csvCell).join(","));
      continue;
    }
    for (const r of p.roles)
      lines.push(
        [
          p.email,
          r.accountId,
          r.accountName,
          r.roleName,
          r.arn,
          r.level,
          r.reasons.map(describeReason).join("; "),
          r.until,
          r.lastCredentials,
          r.lastConsole,
          r.lastUsed,
          r.unused,
          ...tail,
        ]
          .map(csvCell)
          .join(","),
      );
  }
  return lines;
}

export function accessReportCsv(people: readonly ReportPerson[]): string {
  return `${[ACCESS_CSV_COLUMNS.join(","), ...accessReportCsvRows(people)].join("\r\n")}\r\n`;
}
