// The zod side of `grants export` (the renderer imports grants-export.ts only: its CSP forbids eval).

import { z } from "zod";
import { GRANT_EXPORT_FORMATS } from "./grants-export.ts";

const flag = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

/** GET /v1/admin/grants/export: `account` may repeat (?account=a&account=b). */
export const grantsExportQuerySchema = z.strictObject({
  format: z.enum(GRANT_EXPORT_FORMATS).optional(),
  active: flag.optional(),
  account: z.union([z.string().min(1), z.array(z.string().min(1)).max(100)]).optional(),
  expiredSince: z.string().min(10).max(40).optional(),
  permanentOnly: flag.optional(),
  /** Answer `{ format, fileName, … , text }` as JSON instead of the file itself (the tray's client). */
  envelope: flag.optional(),
});
export type GrantsExportQuery = z.input<typeof grantsExportQuerySchema>;

export const grantsExportEnvelopeSchema = z.object({
  format: z.enum(GRANT_EXPORT_FORMATS),
  fileName: z.string(),
  generatedAt: z.string(),
  count: z.number().int(),
  text: z.string(),
});
export type GrantsExportEnvelope = z.infer<typeof grantsExportEnvelopeSchema>;
