// `gatehouse-broker grants export --config FILE [--format terraform|cloudformation|json] [--active]
// [--account ID|NAME]… [--expired-since DATE] [--permanent-only] [--out FILE]`: every grant Gatehouse
// applied, as the IaC resource that holds it (broker/grants-export/), read from the broker's database on
// its host (SQLite or PostgreSQL). Audited as the operating-system user.

import { writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { GatehouseError } from "../../shared/errors.ts";
import { GRANT_EXPORT_FORMATS, type GrantExportFormat } from "../../shared/grants-export.ts";
import type { BrokerConfig } from "../config.ts";
import type { Db } from "../db/index.ts";
import { type ExportFilter, exportGrants, parseSince, resolveAccounts } from "../grants-export/index.ts";
import { openRequestsStore } from "../requests-store.ts";
import type { Store } from "../store.ts";

export interface GrantsExportInput {
  format: GrantExportFormat;
  filter: ExportFilter;
  out: string | undefined;
}

/** The flags as typed, checked before the database is opened: a wrong value is a BAD_ARGUMENT. */
export function grantsExportInput(
  config: BrokerConfig,
  v: {
    sub: string | undefined;
    format: string | undefined;
    active: boolean;
    accounts: string[] | undefined;
    expiredSince: string | undefined;
    permanentOnly: boolean;
    out: string | undefined;
  },
): GrantsExportInput {
  if (v.sub !== "export")
    throw new GatehouseError("BAD_ARGUMENT", `unknown grants command "${v.sub ?? ""}" (export)`);
  const format = v.format ?? "terraform";
  if (!(GRANT_EXPORT_FORMATS as readonly string[]).includes(format))
    throw new GatehouseError("BAD_ARGUMENT", `--format is one of ${GRANT_EXPORT_FORMATS.join(", ")}`);
  if (v.active && v.expiredSince !== undefined)
    throw new GatehouseError("BAD_ARGUMENT", "--active and --expired-since exclude each other");
  const filter: ExportFilter =
    v.expiredSince !== undefined
      ? { mode: "expired-since", since: parseSince(v.expiredSince) }
      : { mode: v.active ? "active" : "applied" };
  if (v.accounts?.length) filter.accounts = resolveAccounts(v.accounts, config.aws.accounts);
  if (v.permanentOnly) filter.permanentOnly = true;
  return { format: format as GrantExportFormat, filter, out: v.out };
}

export function runGrantsExport(
  config: BrokerConfig,
  store: Store,
  db: Db,
  input: GrantsExportInput,
  out: (s: string) => void,
  err: (s: string) => void,
): number {
  // The requests' tables at their current version (a database no broker has started on since an upgrade).
  openRequestsStore(db).close();
  const result = exportGrants(db, {
    format: input.format,
    filter: input.filter,
    accountNames: new Map(config.aws.accounts.map((a) => [a.id, a.name])),
  });
  store.appendAudit({
    actor: `os-user:${userInfo().username}`,
    action: "grants.export",
    target: null,
    outcome: "ok",
    detail: {
      format: input.format,
      filter: input.filter,
      grants: result.count,
      via: "gatehouse-broker grants export",
    },
  });
  // Policy documents and who holds what, but no secret: a plain file, readable as the directory allows.
  if (input.out) {
    writeFileSync(input.out, result.text, { mode: 0o644 });
    err(`exported ${result.count} grant(s) to ${input.out}`);
  } else out(result.text.replace(/\n$/, ""));
  return 0;
}
