// The kill switch's admin API: revoking a person's live AWS sessions, letting them in again, and the
// state of every role's deny statement (what the admin view and `gatehouse-broker` show).

import { z } from "zod";

export const personParamSchema = z.strictObject({
  email: z
    .string()
    .trim()
    .min(3)
    .max(254)
    // No slashes, spaces, colons or quotes: the address ends up in audit rows, URLs and IAM policies.
    .regex(/^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/, "an e-mail address"),
});

export const revokeSessionsSchema = z.strictObject({
  /** Why (an incident, an offboarding ticket): kept in the audit. */
  reason: z.string().trim().min(1).max(500),
});

export const killSwitchQuerySchema = z.strictObject({
  email: z.string().trim().max(254).optional(),
});

export const roleItemSchema = z.object({
  roleArn: z.string(),
  accountId: z.string(),
  roleName: z.string(),
  until: z.string(),
  state: z.enum(["pending", "written", "failed", "removed"]),
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
  writtenAt: z.string().nullable(),
  removedAt: z.string().nullable(),
});

export const revocationSchema = z.object({
  id: z.string(),
  email: z.string(),
  sourceIdentity: z.string(),
  revokedAt: z.string(),
  denyBefore: z.string(),
  actor: z.string(),
  reason: z.string().nullable(),
  restoredAt: z.string().nullable(),
  doneAt: z.string().nullable(),
});

export const killSwitchStatusSchema = z.object({
  revocations: z.array(z.object({ revocation: revocationSchema, items: z.array(roleItemSchema) })),
});
export type KillSwitchStatus = z.infer<typeof killSwitchStatusSchema>;
