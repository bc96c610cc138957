// The broker's HTTP API (/v1): every request and response body as a zod schema. Both the broker and
// its clients (agent, CLI, UI) use these; types come from them, never re-declared.

import { z } from "zod";

export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string(),
  instance: z.string().optional(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type Problem = z.infer<typeof problemSchema>;

export const meSchema = z.object({
  email: z.string(),
  groups: z.array(z.string()),
  admin: z.boolean(),
  /** Whether the person may approve any request (configured groups or a gatehouse-approvers tag). */
  approver: z.boolean().default(false),
  /** The broker's lint options: Gatehouse's own roles and the access tag keys (refused in requests). */
  lint: z.object({ protectedRoleArns: z.array(z.string()), accessTagKeys: z.array(z.string()) }).optional(),
  /** How requests work on this broker: approvals each target needs, whether "permanent" is allowed. */
  requests: z.object({ approvalsRequired: z.number().int(), allowPermanent: z.boolean() }).optional(),
});
export type Me = z.infer<typeof meSchema>;

export const roleSchema = z.object({
  /** `account-name/role-name`: what people type and what profiles name. */
  ref: z.string(),
  accountId: z.string(),
  accountName: z.string(),
  roleName: z.string(),
  arn: z.string(),
  description: z.string().nullable(),
  cliOnly: z.boolean(),
  maxSessionDuration: z.number().int(),
  tags: z.record(z.string(), z.string()),
});
export type Role = z.infer<typeof roleSchema>;

export const rolesResponseSchema = z.object({ roles: z.array(roleSchema) });

const roleInput = z.string().min(3).max(2048);

export const credentialsRequestSchema = z.strictObject({
  role: roleInput,
  durationSeconds: z.number().int().min(900).max(43_200).optional(),
});
export type CredentialsRequest = z.infer<typeof credentialsRequestSchema>;

export const credentialsResponseSchema = z.object({
  role: roleSchema,
  accessKeyId: z.string(),
  secretAccessKey: z.string(),
  sessionToken: z.string(),
  expiration: z.string(),
  durationSeconds: z.number().int(),
  /** Set when the duration given was shortened, and why. */
  clamped: z.string().nullable(),
});
export type CredentialsResponse = z.infer<typeof credentialsResponseSchema>;

export const consoleRequestSchema = z.strictObject({
  role: roleInput,
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/)
    .optional(),
  /** A page of the AWS console to land on (must be on the configured console's host). */
  destination: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
});
export type ConsoleRequest = z.infer<typeof consoleRequestSchema>;

export const consoleResponseSchema = z.object({
  role: roleSchema,
  url: z.string(),
  expiresAt: z.string(),
  sessionDurationSeconds: z.number().int(),
});
export type ConsoleResponse = z.infer<typeof consoleResponseSchema>;

export const accountSyncSchema = z.object({
  accountId: z.string(),
  name: z.string(),
  state: z.enum(["never", "ok", "error"]),
  lastAttemptAt: z.string().nullable(),
  lastSuccessAt: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  roles: z.number().int(),
  users: z.number().int(),
  durationMs: z.number().nullable(),
  /** Something a good sync could not read (the account's IAM quotas): what requests then assume. */
  warning: z.string().optional(),
});
export type AccountSync = z.infer<typeof accountSyncSchema>;
export const syncStatusSchema = z.object({ inProgress: z.boolean(), accounts: z.array(accountSyncSchema) });
export type SyncStatus = z.infer<typeof syncStatusSchema>;

/** One doctor finding (broker/onboarding/doctor.ts): what is wrong where, and the fix. */
export const doctorFindingSchema = z.object({
  check: z.enum(["base", "central", "organizations", "spoke", "work-role", "sync"]),
  status: z.enum(["ok", "error", "warn", "info"]),
  account: z.string().optional(),
  role: z.string().optional(),
  message: z.string(),
  fix: z.string().optional(),
});
export type DoctorFindingView = z.infer<typeof doctorFindingSchema>;

/** The admins' Organisation view: each account's sync state and doctor findings, and the rest of doctor's. */
export const organisationSchema = z.object({
  accountsFrom: z.enum(["list", "organizations"]),
  discovery: z
    .object({
      at: z.string(),
      ok: z.boolean(),
      accounts: z.number().int(),
      error: z.object({ code: z.string(), message: z.string() }).nullable(),
    })
    .nullable(),
  accounts: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      sync: accountSyncSchema.nullable(),
      findings: z.array(doctorFindingSchema),
    }),
  ),
  /** Findings not about one account (base identity, central role, organisation). */
  findings: z.array(doctorFindingSchema),
  /** When doctor last ran (POST /v1/organisation/doctor); null: not yet. */
  doctorAt: z.string().nullable(),
});
export type Organisation = z.infer<typeof organisationSchema>;

export const auditQuerySchema = z.strictObject({
  actor: z.string().max(320).optional(),
  action: z.string().max(64).optional(),
  since: z.iso.datetime().optional(),
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export const auditEntrySchema = z.object({
  seq: z.number().int(),
  time: z.string(),
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  outcome: z.string(),
  detail: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});
export const auditResponseSchema = z.object({ entries: z.array(auditEntrySchema) });

/** A role or IAM user a permission request can name: any synced one in a configured account. */
export const requestTargetSchema = z.object({
  arn: z.string(),
  accountId: z.string(),
  accountName: z.string(),
  type: z.enum(["role", "user"]),
  name: z.string(),
  description: z.string().nullable(),
  /** Whether the person can already use this role (it is in their role list). */
  mine: z.boolean(),
});
export type RequestTarget = z.infer<typeof requestTargetSchema>;
export const targetsResponseSchema = z.object({ targets: z.array(requestTargetSchema) });
export const targetsQuerySchema = z.strictObject({
  q: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/**
 * POST /v1/denials/decode: EC2's encoded authorization failure message, decoded by the broker through
 * sts:DecodeAuthorizationMessage in `accountId` (else in each managed account until one decodes it).
 */
export const decodeDenialRequestSchema = z.strictObject({
  // AWS's alphabet and a bound: the emulator and AWS refuse anything else anyway, this keeps junk off the wire.
  encoded: z
    .string()
    .min(8)
    .max(10240)
    .regex(/^[A-Za-z0-9_+/=-]+$/, "an encoded authorization message is letters, digits and -_+/="),
  accountId: z
    .string()
    .regex(/^\d{12}$/, "accountId is a 12-digit AWS account id")
    .optional(),
});
export type DecodeDenialRequest = z.infer<typeof decodeDenialRequestSchema>;
/** The decoded message as AWS returned it (JSON text) and the account that decoded it. */
export const decodeDenialResponseSchema = z.object({
  accountId: z.string(),
  decoded: z.string(),
});
export type DecodeDenialResponse = z.infer<typeof decodeDenialResponseSchema>;

/** A role's or user's access tags as Gatehouse compares them: lower-cased key → its principals, sorted. */
export const accessTagsSchema = z.record(z.string(), z.array(z.string()));
export type AccessTags = z.infer<typeof accessTagsSchema>;

/**
 * An access-tag change made outside Gatehouse, noticed by a sync (SECURITY 32). `held`: what it adds is
 * not served until an admin accepts it; `applied`: served at once (trust, alert, or a removal);
 * `superseded`: a later change (or the tags going back) replaced it before anyone accepted it.
 */
export const tagChangeSchema = z.object({
  id: z.number().int(),
  arn: z.string(),
  accountId: z.string(),
  type: z.enum(["role", "user"]),
  name: z.string(),
  before: accessTagsSchema,
  after: accessTagsSchema,
  /** Principals the change adds (held under `hold`) and removes (always applied at once). */
  added: accessTagsSchema,
  removed: accessTagsSchema,
  /** The role or user was deleted and created again (a new unique id) since the previous sync. */
  recreated: z.boolean(),
  mode: z.enum(["trust", "alert", "hold"]),
  state: z.enum(["held", "applied", "accepted", "superseded"]),
  detectedAt: z.string(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
});
export type TagChange = z.infer<typeof tagChangeSchema>;
export const tagChangesResponseSchema = z.object({
  mode: z.enum(["trust", "alert", "hold"]),
  changes: z.array(tagChangeSchema),
});
export const tagChangeAcceptedSchema = z.object({ change: tagChangeSchema });
export const tagChangesQuerySchema = z.strictObject({
  state: z.enum(["held", "applied", "accepted", "superseded"]).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
export const tagChangeIdSchema = z.strictObject({ id: z.coerce.number().int().min(1) });

/**
 * GET /v1/client-config (no authentication): how a desktop signs in to this broker's IdP, so that people type
 * only the broker's URL. Nothing in it is secret (a Google Desktop app's client secret is not one).
 */
export const clientConfigSchema = z.object({
  issuer: z.url({ protocol: /^https?$/ }),
  clientId: z.string().min(1).max(256),
  clientSecret: z.string().min(1).max(256).optional(),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/)).min(1),
  authorizationParams: z.record(z.string().regex(/^[\w.-]{1,64}$/), z.string().max(512)),
  /** Which token the desktop sends to the broker. */
  token: z.enum(["access_token", "id_token"]),
});
export type ClientConfig = z.infer<typeof clientConfigSchema>;
