// The one contract between the tray app's renderer and its main process: every channel with the zod
// schemas of its argument and result. The preload exposes exactly these as functions on window.gatehouse;
// main validates every argument against them before anything reaches the agent.

import { z } from "zod";
import { accessReportSchema, MAX_UNUSED_DAYS } from "./access-report.ts";
import {
  accountSyncSchema,
  organisationSchema,
  requestTargetSchema,
  roleSchema,
  tagChangeSchema,
} from "./api.ts";
import {
  catalogueGroupSchema,
  cataloguePolicyDetailSchema,
  cataloguePolicySchema,
  catalogueServiceSchema,
} from "./catalogue.ts";
import { GRANT_EXPORT_FORMATS } from "./grants-export.ts";
import { grantsExportEnvelopeSchema } from "./grants-export-schema.ts";
import { findingSchema, lintResultSchema } from "./policy/codes.ts";
import { recordStateSchema } from "./recording.ts";
import {
  approveRequestSchema,
  createRequestSchema,
  rejectRequestSchema,
  requestSchema,
  resolveTargetSchema,
} from "./requests.ts";

const roleRef = z.string().min(3).max(2048);
const region = z
  .string()
  .regex(/^[a-z]{2}(-[a-z]+)+-\d$/)
  .optional();

export const uiSettingsSchema = z.strictObject({
  brokerUrl: z.url({ protocol: /^https?$/ }),
  /** Where consoles open: the system browser, or an app window with its own session per role. */
  consoleMode: z.enum(["browser", "window"]),
  refreshWindowSeconds: z.number().int().min(60).max(3000),
  profileTemplate: z
    .string()
    .min(1)
    .max(128)
    .regex(/\{role\}/, "must contain {role}"),
  launchAtLogin: z.boolean(),
  theme: z.enum(["system", "light", "dark"]),
});
export type UiSettings = z.infer<typeof uiSettingsSchema>;

export const statusSchema = z.object({
  signedIn: z.boolean(),
  email: z.string().nullable(),
  groups: z.array(z.string()),
  brokerUrl: z.string(),
  brokerReachable: z.boolean().nullable(),
  /** Credentials the agent holds, by role ref, with their expiry (what the status bar shows). */
  cached: z.array(z.object({ role: z.string(), expiration: z.string() })),
  /** Why the agent signed the person out by itself (the broker answered PERSON_DISABLED), if it did. */
  signedOutReason: z.string().nullable().optional(),
});
export type DesktopStatus = z.infer<typeof statusSchema>;

const none = z.strictObject({}).optional();

const requestId = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, "not a request id");

export { type RequestTarget, requestTargetSchema } from "./api.ts";

/** A lint finding with the character range of what it is about in the text ([0, 0] for the whole). */
export const markedFindingSchema = findingSchema.extend({ from: z.number().int(), to: z.number().int() });
export type MarkedFinding = z.infer<typeof markedFindingSchema>;
export const markedLintSchema = lintResultSchema.extend({
  findings: z.array(markedFindingSchema),
  /** Characters the policy takes against IAM's inline limits (white space does not count). */
  size: z.number().int(),
});
export type MarkedLint = z.infer<typeof markedLintSchema>;

export const actionSuggestionSchema = z.object({
  /** `service:Action` as the catalogue spells it. */
  action: z.string(),
  /** List, Read, Write, Permissions management or Tagging. */
  accessLevel: z.string(),
  description: z.string(),
});
export type ActionSuggestion = z.infer<typeof actionSuggestionSchema>;

export const requestContextSchema = z.object({
  /** Whether the person may approve anything (configured groups or a gatehouse-approvers tag). */
  approver: z.boolean(),
  /** Requests waiting for this person's approval (the badge in the window and the tray). */
  pendingApprovals: z.number().int(),
  /** Approvals each target needs before it is applied (the broker's `approvals_required`). */
  approvalsRequired: z.number().int().min(1),
  /** Whether this broker takes requests that never expire. */
  allowPermanent: z.boolean(),
  /** Whether the person is a Gatehouse admin (the access-tag changes and Organisation views show only then). */
  admin: z.boolean(),
});
export type RequestContext = z.infer<typeof requestContextSchema>;

/** An AWS access-denied error (or a log of them) read and drafted into one inline policy, for the request panel. */
export const errorDraftSchema = z.object({
  /** The role or user Gatehouse manages that was denied. */
  target: requestTargetSchema,
  /** Every action of the policy, the dependent ones included. */
  actions: z.array(z.string()),
  /** The actions the catalogue added because a denied action depends on them. */
  dependent: z.array(z.string()),
  /** The drafted policy, pretty-printed as the editor shows it. */
  policy: z.string(),
  /** How many denials the policy answers. */
  denials: z.number().int(),
  /** Denials in the same text no request can fix, with who can. */
  refused: z.array(z.object({ action: z.string(), reason: z.string(), fixer: z.string() })),
});
export type ErrorDraft = z.infer<typeof errorDraftSchema>;

export const IPC = {
  status: { args: none, result: statusSchema },
  signIn: { args: none, result: z.object({ email: z.string(), groups: z.array(z.string()) }) },
  /** The first screen's broker URL: checked, remembered, and the agent restarted on its sign-in settings. */
  setBroker: {
    args: z.strictObject({ brokerUrl: z.url({ protocol: /^https?$/ }).max(2048) }),
    result: z.object({ brokerUrl: z.string() }),
  },
  signOut: { args: none, result: z.object({ signedIn: z.literal(false) }) },
  roles: {
    args: z.strictObject({ refresh: z.boolean().optional() }).optional(),
    result: z.array(roleSchema),
  },
  openConsole: {
    args: z.strictObject({ role: roleRef, region }),
    result: z.object({ url: z.string(), expiresAt: z.string(), openedIn: z.enum(["browser", "window"]) }),
  },
  /** Text for the clipboard: the profile name, the credential_process line, or an env export. */
  copyText: {
    args: z.strictObject({ role: roleRef, kind: z.enum(["profile", "credentialProcess", "envExport"]) }),
    result: z.object({ text: z.string() }),
  },
  favourites: { args: none, result: z.array(z.string()) },
  setFavourite: {
    args: z.strictObject({ role: roleRef, favourite: z.boolean() }),
    result: z.array(z.string()),
  },
  recent: { args: none, result: z.array(z.string()) },
  getSettings: { args: none, result: uiSettingsSchema },
  updateSettings: { args: uiSettingsSchema.partial().strict(), result: uiSettingsSchema },
  consoleWindows: {
    args: none,
    result: z.array(z.object({ role: z.string(), expiresAt: z.string(), expired: z.boolean() })),
  },

  // ---- permission requests ----
  requestContext: { args: none, result: requestContextSchema },
  /** Roles and users a request may name, filtered by a query on account, name or ARN. */
  requestTargets: {
    args: z.strictObject({
      query: z.string().max(200).optional(),
      limit: z.number().int().min(1).max(500).optional(),
    }),
    result: z.array(requestTargetSchema),
  },
  /** AWS services by name, prefix or short name ("MSK"), for "I want to use…". */
  catalogueServices: {
    args: z.strictObject({
      query: z.string().max(200).optional(),
      limit: z.number().int().min(1).max(200).optional(),
    }),
    result: z.array(catalogueServiceSchema),
  },
  /** Managed policies by name or service, with the lint's risk; the account's own with `account`. */
  cataloguePolicies: {
    args: z.strictObject({
      query: z.string().max(200).optional(),
      service: z
        .string()
        .regex(/^[a-z0-9-]{1,64}$/)
        .optional(),
      account: z.string().min(1).max(100).optional(),
      limit: z.number().int().min(1).max(200).optional(),
    }),
    result: z.array(cataloguePolicySchema),
  },
  /** One managed policy with its document, for the read-only viewer. */
  cataloguePolicy: {
    args: z.strictObject({
      arn: z.string().min(1).max(2048),
      account: z.string().min(1).max(100).optional(),
    }),
    result: cataloguePolicyDetailSchema,
  },
  /** An account's IAM groups, as the broker's last sync read them. */
  catalogueGroups: {
    args: z.strictObject({ account: z.string().min(1).max(100), query: z.string().max(200).optional() }),
    result: z.array(catalogueGroupSchema),
  },
  /** The shared policy lint, run in main (where the actions catalogue lives), with text ranges for markers. */
  lintPolicy: { args: z.strictObject({ policy: z.string().max(20_000) }), result: markedLintSchema },
  /** Actions whose `service:Action` name starts with the prefix (case-insensitive; `*` is a wildcard). */
  completeActions: {
    args: z.strictObject({ prefix: z.string().max(200), limit: z.number().int().min(1).max(200).optional() }),
    result: z.array(actionSuggestionSchema),
  },
  /**
   * "Paste an error": the denials in the text (one error or a whole log) drafted into one policy on the
   * role or user denied. Rejects with NO_DENIAL, DENIAL_NOT_REQUESTABLE (naming who can fix it),
   * DENIAL_MIXED_PRINCIPALS or DENIAL_TARGET_UNKNOWN; never creates a request by itself.
   */
  draftFromError: { args: z.strictObject({ text: z.string().max(1024 * 1024) }), result: errorDraftSchema },
  createRequest: { args: createRequestSchema, result: requestSchema },
  myRequests: { args: none, result: z.array(requestSchema) },
  /** Requests with a target waiting for this person's approval. */
  approvals: { args: none, result: z.array(requestSchema) },
  getRequest: { args: z.strictObject({ id: requestId }), result: requestSchema },
  approveRequest: { args: approveRequestSchema.extend({ id: requestId }), result: requestSchema },
  rejectRequest: { args: rejectRequestSchema.extend({ id: requestId }), result: requestSchema },
  cancelRequest: { args: z.strictObject({ id: requestId }), result: requestSchema },
  retryRequest: { args: z.strictObject({ id: requestId }), result: requestSchema },
  /** Settle a drifted target (its policy was changed outside Gatehouse): delete it or keep it unmanaged. */
  resolveTarget: {
    args: resolveTargetSchema.extend({ id: requestId, target: z.number().int().min(0).max(999) }),
    result: requestSchema,
  },

  // ---- "Record": a command run with a role's credentials, its AWS calls captured ----
  /**
   * PROPOSES a command: main shows the person a native confirmation (the exact argv, the role, the folder) and
   * starts nothing without their yes (RECORDING_REFUSED). One at a time (RECORDING_BUSY), not too often
   * (RECORDING_RATE_LIMITED). `cwd` defaults to the person's home folder.
   */
  recordStart: {
    args: z.strictObject({
      role: roleRef,
      command: z.array(z.string().max(8192)).min(1).max(256),
      cwd: z.string().min(1).max(4096).optional(),
      proxy: z.boolean().optional(),
    }),
    result: recordStateSchema,
  },
  recordStatus: { args: none, result: recordStateSchema },
  /** Stop the running command (its process group); what it called so far is recorded. */
  recordStop: { args: none, result: recordStateSchema },
  /** "Request what was denied": the finished recording's denials drafted into one request (never sent here). */
  recordDraft: { args: none, result: errorDraftSchema },
  /** "Save policy": the whole least-privilege policy written where the person chooses in a native dialog. */
  recordSavePolicy: { args: none, result: z.object({ path: z.string().nullable() }) },

  // ---- admins ----
  /** Access-tag changes made outside Gatehouse that wait for an admin (access.external_tag_changes: hold). */
  heldTagChanges: { args: none, result: z.array(tagChangeSchema) },
  /** Serve a held change's tags from now on (the broker audits who accepted it). */
  acceptTagChange: {
    args: z.strictObject({ id: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }),
    result: tagChangeSchema,
  },

  // ---- administrators: the Organisation view ----
  organisation: { args: none, result: organisationSchema },
  /** The access review: every person's roles and why, every role's people, last use, unused access. */
  accessReport: {
    args: z.strictObject({ unusedDays: z.number().int().min(1).max(MAX_UNUSED_DAYS).optional() }),
    result: accessReportSchema,
  },
  /** The applied grants as IaC (Terraform, CloudFormation, JSON), to copy or save. */
  grantsExport: {
    args: z.strictObject({
      format: z.enum(GRANT_EXPORT_FORMATS),
      active: z.boolean().optional(),
      account: z
        .string()
        .regex(/^\d{12}$/, "an account id is 12 digits")
        .optional(),
    }),
    result: grantsExportEnvelopeSchema,
  },
  runDoctor: { args: none, result: organisationSchema },
  syncAccount: {
    args: z.strictObject({ accountId: z.string().regex(/^\d{12}$/, "an account id is 12 digits") }),
    result: accountSyncSchema,
  },
} as const;

export type Channel = keyof typeof IPC;
export const CHANNELS = Object.keys(IPC) as Channel[];
export type ArgsOf<C extends Channel> = z.input<(typeof IPC)[C]["args"]>;
export type ResultOf<C extends Channel> = z.infer<(typeof IPC)[C]["result"]>;

/** The API the preload exposes on window.gatehouse: one function per channel. */
export type GatehouseApi = { [C in Channel]: (args?: ArgsOf<C>) => Promise<ResultOf<C>> };

/** Channel names as the preload sends them over Electron IPC. */
export const ipcChannelName = (c: Channel) => `gatehouse:${c}`;
