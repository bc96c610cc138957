// `gatehouse-broker access report --config FILE [--format csv|json] [--unused-days N] [--out FILE]`: the
// access review read from the broker's database on its host (the roles as last synced, the audit, the
// grants), the same report as GET /v1/admin/access-report. Audited as the operating-system user.

import { closeSync, fchmodSync, openSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { accessReportCsv, MAX_UNUSED_DAYS } from "../../shared/access-report.ts";
import { GatehouseError } from "../../shared/errors.ts";
import { AccessIndex } from "../access-index.ts";
import { accessReport } from "../access-report/service.ts";
import type { BrokerConfig } from "../config.ts";
import type { Db } from "../db/index.ts";
import { ownRoleNames } from "../own-roles.ts";
import { withPrivateUmask } from "../private-files.ts";
import { openRequestsStore } from "../requests-store.ts";
import type { Store } from "../store.ts";
import { indexStoredRoles } from "../sync.ts";
import { TagWatch } from "../tag-watch.ts";

export interface AccessReportInput {
  sub: string | undefined;
  format: "csv" | "json";
  unusedDays: number | undefined;
  out: string | undefined;
}

/** The flags as typed, checked: a wrong value is a BAD_ARGUMENT, never a silent default. */
export function accessReportInput(v: {
  sub: string | undefined;
  format: string | undefined;
  unusedDays: string | undefined;
  out: string | undefined;
}): AccessReportInput {
  if (v.sub !== "report")
    throw new GatehouseError("BAD_ARGUMENT", `unknown access command "${v.sub ?? ""}" (report)`);
  const format = v.format ?? "csv";
  if (format !== "csv" && format !== "json")
    throw new GatehouseError("BAD_ARGUMENT", "--format is csv or json");
  let unusedDays: number | undefined;
  if (v.unusedDays !== undefined) {
    unusedDays = Number(v.unusedDays);
    if (!/^\d+$/.test(v.unusedDays) || unusedDays < 1 || unusedDays > MAX_UNUSED_DAYS)
      throw new GatehouseError(
        "BAD_ARGUMENT",
        `--unused-days is a whole number of days from 1 to ${MAX_UNUSED_DAYS}`,
      );
  }
  return { sub: v.sub, format, unusedDays, out: v.out };
}

export function runAccessReport(
  config: BrokerConfig,
  store: Store,
  db: Db,
  input: AccessReportInput,
  out: (s: string) => void,
): number {
  const index = new AccessIndex(
    { authorized: config.access.tag_keys, cliOnly: config.access.cli_only_tag_keys },
    config.oidc.force_groups_lowercase,
    new Map(config.aws.accounts.map((a) => [a.id, a.name])),
    ownRoleNames(config),
  );
  indexStoredRoles(store, new TagWatch(config, store, { notify: () => undefined }), index);
  const requests = openRequestsStore(db);
  try {
    const report = accessReport(
      { config, index, db, requests },
      input.unusedDays !== undefined ? { unusedDays: input.unusedDays } : {},
    );
    store.appendAudit({
      actor: `os-user:${userInfo().username}`,
      action: "access.report",
      target: null,
      outcome: "ok",
      detail: {
        format: input.format,
        unusedDays: report.unusedDays,
        people: report.totals.people,
        roles: report.totals.roles,
        via: "gatehouse-broker access report",
      },
    });
    const text =
      input.format === "csv" ? accessReportCsv(report.people) : `${JSON.stringify(report, null, 2)}\n`;
    // Everyone's access is sensitive: a file written for it is the owner's only.
    if (input.out) {
      const fd = withPrivateUmask(() => openSync(input.out!, "w", 0o600));
      try {
        fchmodSync(fd, 0o600); // also when the file was there before
        writeFileSync(fd, text);
      } finally {
        closeSync(fd);
      }
    } else out(text.replace(/\n$/, ""));
    return 0;
  } finally {
    requests.close();
  }
}
