// The access review (issue 16): who may use which role, why and until when, and when they last used it.
// One schema for the broker's admin route, `gatehouse-broker access report` and the tray's Access view;
// the CSV writer all three use is in access-report-csv.ts (no zod: the renderer's CSP forbids eval).

import { z } from "zod";
import { MAX_UNUSED_DAYS } from "./access-report-csv.ts";

export {
  ACCESS_CSV_COLUMNS,
  accessReportCsv,
  accessReportCsvRows,
  csvCell,
  DEFAULT_UNUSED_DAYS,
  describeReason,
  MAX_UNUSED_DAYS,
} from "./access-report-csv.ts";

export const accessReportQuerySchema = z.strictObject({
  format: z.enum(["json", "csv"]).optional(),
  unusedDays: z.coerce.number().int().min(1).max(MAX_UNUSED_DAYS).optional(),
});
export type AccessReportQuery = z.infer<typeof accessReportQuerySchema>;

/** Why a person may use a role: a principal named in an access tag, or a role-access grant. */
export const accessReasonSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("tag"),
    /** The access tag's key on the role, as the role carries it. */
    tagKey: z.string(),
    /** The item of the tag's value that matched (as the index compares it). */
    principal: z.string(),
    via: z.enum(["group", "email"]),
    level: z.enum(["console", "cli"]),
  }),
  z.object({
    kind: z.literal("grant"),
    /** The approved request whose role-access target grants it. */
    requestId: z.string(),
    /** ISO 8601, or null for a permanent grant. */
    until: z.string().nullable(),
  }),
]);
export type AccessReason = z.infer<typeof accessReasonSchema>;

export const personRoleSchema = z.object({
  arn: z.string(),
  accountId: z.string(),
  accountName: z.string(),
  roleName: z.string(),
  level: z.enum(["console", "cli"]),
  reasons: z.array(accessReasonSchema),
  /** When the access ends: null while any reason is open-ended (a tag, a permanent grant). */
  until: z.string().nullable(),
  lastCredentials: z.string().nullable(),
  lastConsole: z.string().nullable(),
  /** The later of the two. */
  lastUsed: z.string().nullable(),
  /** Not used (credentials or console) within the report's `unusedDays`. */
  unused: z.boolean(),
});
export type PersonRole = z.infer<typeof personRoleSchema>;

export const reportPersonSchema = z.object({
  email: z.string(),
  /** The groups the access was computed from (see `groupsFrom`, `groupsAt`). */
  groups: z.array(z.string()),
  /** The source that gave the groups ("audit": the last token the broker saw); null: unknown, e-mail tags only. */
  groupsFrom: z.string().nullable(),
  groupsAt: z.string().nullable(),
  /** A directory listed more groups than the audit row keeps: roles through the others may be missing. */
  groupsTruncated: z.boolean(),
  /** Which sources know this person ("audit", "grants", …). */
  sources: z.array(z.string()),
  lastSignIn: z.string().nullable(),
  roles: z.array(personRoleSchema),
});
export type ReportPerson = z.infer<typeof reportPersonSchema>;

export const reportRoleSchema = z.object({
  arn: z.string(),
  accountId: z.string(),
  accountName: z.string(),
  roleName: z.string(),
  /** Every principal the role's access tags name, whether or not a known person matches it. */
  principals: z.array(
    z.object({ principal: z.string(), tagKey: z.string(), level: z.enum(["console", "cli"]) }),
  ),
  people: z.array(
    z.object({
      email: z.string(),
      level: z.enum(["console", "cli"]),
      lastUsed: z.string().nullable(),
      unused: z.boolean(),
    }),
  ),
});
export type ReportRole = z.infer<typeof reportRoleSchema>;

export const accessReportSchema = z.object({
  generatedAt: z.string(),
  unusedDays: z.number().int(),
  totals: z.object({
    people: z.number().int(),
    roles: z.number().int(),
    /** Person-role pairs. */
    access: z.number().int(),
    unused: z.number().int(),
  }),
  people: z.array(reportPersonSchema),
  roles: z.array(reportRoleSchema),
});
export type AccessReport = z.infer<typeof accessReportSchema>;
