// `grants export`: read the grants from the broker's database (SQLite or PostgreSQL) in two queries, turn
// them into the one model and render the asked format. Used by `gatehouse-broker grants export` and by
// GET /v1/admin/grants/export.

import { GatehouseError } from "../../shared/errors.ts";
import { type GrantExportFormat, grantExportFileName } from "../../shared/grants-export.ts";
import type { RequestKind, TargetState } from "../../shared/requests.ts";
import type { Db, Param } from "../db/index.ts";
import { renderCloudFormation, renderJson } from "./cloudformation.ts";
import { type ExportFilter, type GrantExport, type GrantRow, toExport } from "./model.ts";
import { renderTerraform } from "./terraform.ts";

export type { ExportedGrant, ExportFilter, ExportMode, GrantExport, GrantRow } from "./model.ts";

function where(f: ExportFilter, now: Date): { sql: string; args: Param[] } {
  const parts: string[] = [];
  const args: Param[] = [];
  if (f.mode === "expired-since") {
    if (!f.since) throw new GatehouseError("BAD_ARGUMENT", "expired-since needs a date");
    parts.push("t.state = 'expired'", "t.updated_at >= ?");
    args.push(f.since);
  } else {
    parts.push("t.state = 'applied'");
    if (f.mode === "active") {
      parts.push("(t.expires_at IS NULL OR t.expires_at > ?)");
      args.push(now.toISOString());
    }
  }
  if (f.permanentOnly) parts.push("t.expires_at IS NULL");
  if (f.accounts?.length) {
    parts.push(`t.account_id IN (${f.accounts.map(() => "?").join(", ")})`);
    args.push(...f.accounts);
  }
  return { sql: parts.join(" AND "), args };
}

/** The targets the filter selects, oldest grant first within each account, with their approvers. */
export function readGrantRows(db: Db, f: ExportFilter, now = new Date()): GrantRow[] {
  const w = where(f, now);
  // One snapshot: a grant applied between the two reads would otherwise lack its approvers.
  return db.transaction(
    () => {
      // Arrays, not objects, from the driver: for 10,000 rows, its making an object per row took longer
      // than the query itself; the literal below is made once per row, in GrantRow's shape.
      const rows = db.values(
        `SELECT t.request_id, t.n, r.kind, t.state, t.account_id, t.type, t.name, t.arn, t.policy_name,
          t.policy, t.applied_policy, t.policy_arn, t.group_name, r.requester, r.justification,
          t.applied_at, t.expires_at, t.updated_at, t.drift, t.note
        FROM targets t JOIN requests r ON r.id = t.request_id
        WHERE ${w.sql}
        ORDER BY t.account_id, t.applied_at, t.request_id, t.n`,
        w.args,
      );
      const approvers = new Map<string, string[]>();
      for (const [requestId, n, approver] of db.values(
        `SELECT a.request_id, a.n, a.approver
        FROM approvals a JOIN targets t ON t.request_id = a.request_id AND t.n = a.n
        WHERE a.superseded_at IS NULL AND ${w.sql}
        ORDER BY a.time, a.approver`,
        w.args,
      ) as [string, number, string][]) {
        const key = `${requestId}\n${Number(n)}`;
        const list = approvers.get(key);
        if (list) list.push(approver);
        else approvers.set(key, [approver]);
      }
      return rows.map((v): GrantRow => {
        const requestId = v[0] as string;
        const n = Number(v[1]);
        return {
          requestId,
          n,
          kind: v[2] as RequestKind,
          state: v[3] as TargetState,
          accountId: v[4] as string,
          type: v[5] as "role" | "user",
          name: v[6] as string,
          arn: v[7] as string,
          policyName: v[8] as string | null,
          policy: v[9] as string | null,
          appliedPolicy: v[10] as string | null,
          policyArn: v[11] as string | null,
          groupName: v[12] as string | null,
          requester: v[13] as string,
          justification: v[14] as string,
          approvers: approvers.get(`${requestId}\n${n}`) ?? [],
          appliedAt: v[15] as string | null,
          expiresAt: v[16] as string | null,
          updatedAt: v[17] as string,
          drift: v[18] as string | null,
          note: v[19] as string | null,
        };
      });
    },
    { snapshot: true },
  );
}

export function renderExport(e: GrantExport, format: GrantExportFormat): string {
  if (format === "terraform") return renderTerraform(e);
  if (format === "cloudformation") return renderCloudFormation(e);
  return renderJson(e);
}

export interface ExportResult {
  text: string;
  count: number;
  format: GrantExportFormat;
  fileName: string;
  contentType: string;
  generatedAt: string;
}

export function exportGrants(
  db: Db,
  opts: { format: GrantExportFormat; filter: ExportFilter; accountNames: ReadonlyMap<string, string> },
  now = new Date(),
): ExportResult {
  const e = toExport(readGrantRows(db, opts.filter, now), opts.filter, opts.accountNames, now);
  return {
    text: renderExport(e, opts.format),
    count: e.grants.length,
    format: opts.format,
    fileName: grantExportFileName(opts.format, e.generatedAt),
    contentType:
      opts.format === "terraform" ? "text/plain; charset=utf-8" : "application/json; charset=utf-8",
    generatedAt: e.generatedAt,
  };
}

/**
 * `--account` values (ids or names from the configuration) as account ids; an unknown one is refused
 * rather than silently exporting nothing.
 */
export function resolveAccounts(
  given: readonly string[],
  accounts: readonly { id: string; name: string }[],
  code: "BAD_ARGUMENT" | "BAD_REQUEST" = "BAD_ARGUMENT",
): string[] {
  return given.map((v) => {
    const a = accounts.find((x) => x.id === v || x.name.toLowerCase() === v.toLowerCase());
    if (a) return a.id;
    if (/^\d{12}$/.test(v)) return v; // an account no longer configured may still have grants
    throw new GatehouseError(code, `unknown account "${v}" (an account id or a configured name)`);
  });
}

/** A date or timestamp given on the command line or in a query, as ISO 8601 (UTC). */
export function parseSince(v: string, code: "BAD_ARGUMENT" | "BAD_REQUEST" = "BAD_ARGUMENT"): string {
  const t = /^\d{4}-\d\d-\d\d$/.test(v) ? Date.parse(`${v}T00:00:00Z`) : Date.parse(v);
  if (!/^\d{4}-\d\d-\d\d/.test(v) || Number.isNaN(t))
    throw new GatehouseError(code, `expired-since takes a date (YYYY-MM-DD) or an ISO 8601 time, not "${v}"`);
  return new Date(t).toISOString();
}
