// What `gatehouse exec --record` captured: the AWS calls a command made, how each mapped to IAM actions, and the
// least-privilege policy for all of them (the `--json` output, the saved recording, the tray's view).

import { z } from "zod";

/** What a call's outcome means for permissions: a denial is what a request may fix; an error is not one. */
export const callOutcomeSchema = z.enum(["allowed", "denied", "error"]);
export type CallOutcome = z.infer<typeof callOutcomeSchema>;

/** How the API call was mapped to IAM actions: the dataset knew it, or only the service prefix was used. */
export const mappingSourceSchema = z.enum(["dataset", "table", "guess"]);

export const recordedCallSchema = z.object({
  /** Where the call was seen: the SDK's Client Side Monitoring datagram, or the recording HTTPS proxy. */
  source: z.enum(["csm", "proxy"]),
  /** The SDK's service id (CSM: "IAM") or the SigV4 signing name (proxy: "iam"). */
  service: z.string().max(128),
  /** The API operation, as the SDK names it ("ListUsers"). */
  api: z.string().max(128),
  region: z.string().max(64).nullable(),
  /** The final HTTP status; null when the call never got an answer (a network error). */
  status: z.number().int().nullable(),
  /** AWS's error code ("AccessDenied") and message, when the call failed. */
  errorCode: z.string().max(256).nullable(),
  errorMessage: z.string().max(4096).nullable(),
  outcome: callOutcomeSchema,
  /** The IAM actions this call needs (the first is the call's own), and how they were found. */
  actions: z.array(z.string()),
  mapping: mappingSourceSchema,
  /** Actions the dataset lists as dependent for this call's actions (granted on `*`). */
  dependent: z.array(z.string()),
  /** Resource ARNs filled in from the request's parameters (proxy only); empty when unknown (`*`). */
  resources: z.array(z.string()),
  /** When the call ended (ISO 8601). */
  at: z.string(),
});
export type RecordedCall = z.infer<typeof recordedCallSchema>;

export const policyStatementSchema = z.object({
  Sid: z.string(),
  Effect: z.literal("Allow"),
  Action: z.array(z.string()),
  Resource: z.union([z.string(), z.array(z.string())]),
});

export const recordingSchema = z.object({
  role: z.string(),
  command: z.array(z.string()),
  exitCode: z.number().int(),
  startedAt: z.string(),
  endedAt: z.string(),
  calls: z.array(recordedCallSchema),
  /** Datagrams or requests that could not be read (malformed, oversized): counted, never kept. */
  ignored: z.number().int(),
  /** The least-privilege policy for every call recorded, allowed or denied. */
  policy: z.object({ Version: z.literal("2012-10-17"), Statement: z.array(policyStatementSchema) }),
  /** Actions mapped from the service prefix only: to be checked by a person. */
  guessed: z.array(z.string()),
});
export type Recording = z.infer<typeof recordingSchema>;

/** The tray app's recording as the window shows it while it runs and after (the `recordStatus` IPC result). */
export const recordStateSchema = z.object({
  /** confirming: the native dialog is open; running: the command runs; done: it ended (or could not start). */
  state: z.enum(["idle", "confirming", "running", "done"]),
  role: z.string().nullable(),
  command: z.array(z.string()),
  cwd: z.string().nullable(),
  proxy: z.boolean(),
  startedAt: z.string().nullable(),
  /** The calls seen so far (all of them once done). */
  calls: z.array(recordedCallSchema),
  /** The command's output, stdout and stderr as they came, up to the app's cap. */
  output: z.string(),
  outputTruncated: z.boolean(),
  /** The person stopped it. */
  stopped: z.boolean(),
  exitCode: z.number().int().nullable(),
  /** Why the command could not be run (then nothing was recorded). */
  error: z.string().nullable(),
  recording: recordingSchema.nullable(),
});
export type RecordState = z.infer<typeof recordStateSchema>;
