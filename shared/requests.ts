// Permission requests: the API's zod schemas, expiry parsing and the one pure state machine of a target.

import { z } from "zod";
import { GatehouseError } from "./errors.ts";

/**
 * What a request grants. `inline-policy`: a policy document put on roles or IAM users; `role-access`: the
 * requester may use roles; `managed-policy`: an AWS- or customer-managed policy attached to roles or users
 * (`policyArn`); `group-membership`: IAM users added to an IAM group (`group`).
 */
export const REQUEST_KINDS = ["inline-policy", "role-access", "managed-policy", "group-membership"] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

/**
 * A target's states. `applying` sits between approved and applied so that exactly one caller (the one
 * whose approved→applying update wins) talks to IAM, however many approvals arrive at once.
 */
export const TARGET_STATES = [
  "pending",
  "approved",
  "applying",
  "applied",
  "expired",
  "rejected",
  "cancelled",
  "failed",
] as const;
export type TargetState = (typeof TARGET_STATES)[number];

export const TARGET_EVENTS = [
  "approve",
  "reject",
  "cancel",
  "apply",
  "applied",
  "fail",
  "retry",
  "expire",
  "resume",
] as const;
export type TargetEvent = (typeof TARGET_EVENTS)[number];

/** Every legal move; anything else is ILLEGAL_TRANSITION. */
export const TRANSITIONS: Readonly<Record<TargetState, Partial<Record<TargetEvent, TargetState>>>> = {
  pending: { approve: "approved", reject: "rejected", cancel: "cancelled" },
  approved: { apply: "applying", cancel: "cancelled" },
  // resume: the broker stopped mid-apply; Put*Policy is idempotent, so the apply simply runs again.
  applying: { applied: "applied", fail: "failed", resume: "approved" },
  applied: { expire: "expired" },
  failed: { retry: "approved", cancel: "cancelled" },
  expired: {},
  rejected: {},
  cancelled: {},
};

export function transition(state: TargetState, event: TargetEvent): TargetState {
  const next = TRANSITIONS[state]?.[event];
  if (!next) throw new GatehouseError("ILLEGAL_TRANSITION", `a ${state} target cannot ${event}`);
  return next;
}

export const MIN_EXPIRY_SECONDS = 3600;
export const MAX_EXPIRY_SECONDS = 90 * 86_400;

const ISO_DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** An expiry in seconds from an ISO 8601 duration (`PT4H`, `P7D`) or a number; null means permanent. */
export function expirySeconds(input: string | number, allowPermanent: boolean): number | null {
  if (input === "permanent") {
    if (!allowPermanent)
      throw new GatehouseError("BAD_REQUEST", "permanent requests are not allowed by this broker");
    return null;
  }
  let seconds: number;
  if (typeof input === "number") seconds = input;
  else {
    const m = ISO_DURATION.exec(input);
    if (!m || input === "P" || input.endsWith("T"))
      throw new GatehouseError(
        "BAD_REQUEST",
        `expiry "${input}" is not an ISO 8601 duration like PT8H or P7D`,
      );
    const [w, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    seconds = w * 604_800 + d * 86_400 + h * 3600 + mi * 60 + s;
  }
  if (!Number.isInteger(seconds) || seconds < MIN_EXPIRY_SECONDS || seconds > MAX_EXPIRY_SECONDS)
    throw new GatehouseError("BAD_REQUEST", "expiry must be between 1 hour and 90 days");
  return seconds;
}

export const createRequestSchema = z
  .strictObject({
    kind: z.enum(REQUEST_KINDS),
    /** Role or user ARNs, or `account/role` references. */
    targets: z.array(z.string().min(3).max(2048)).min(1).max(100),
    /** The policy document (JSON text), for inline-policy requests. */
    policy: z.string().min(2).max(12_000).optional(),
    /** The managed policy to attach (an ARN, or a name resolved by the broker), for managed-policy requests. */
    policyArn: z.string().min(1).max(2048).optional(),
    /** The IAM group to add the target users to, for group-membership requests. */
    group: z.string().min(1).max(128).optional(),
    justification: z.string().trim().min(10).max(2000),
    expiry: z.union([z.string().min(2).max(32), z.number().int()]),
  })
  .superRefine((v, ctx) => {
    if (v.kind === "inline-policy" && v.policy === undefined)
      ctx.addIssue({ code: "custom", path: ["policy"], message: "an inline-policy request needs a policy" });
    if (v.kind !== "inline-policy" && v.policy !== undefined)
      ctx.addIssue({ code: "custom", path: ["policy"], message: `a ${v.kind} request takes no policy` });
    if (v.kind === "managed-policy" && v.policyArn === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["policyArn"],
        message: "a managed-policy request needs policyArn",
      });
    if (v.kind !== "managed-policy" && v.policyArn !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["policyArn"],
        message: `a ${v.kind} request takes no policyArn`,
      });
    if (v.kind === "group-membership" && v.group === undefined)
      ctx.addIssue({ code: "custom", path: ["group"], message: "a group-membership request needs group" });
    if (v.kind !== "group-membership" && v.group !== undefined)
      ctx.addIssue({ code: "custom", path: ["group"], message: `a ${v.kind} request takes no group` });
    if (new Set(v.targets).size !== v.targets.length)
      ctx.addIssue({ code: "custom", path: ["targets"], message: "a target is named twice" });
  });
export type CreateRequest = z.infer<typeof createRequestSchema>;

export const approveRequestSchema = z.strictObject({
  /** The approver's edit of the policy; kept with a diff against the requested one. */
  policy: z.string().min(2).max(12_000).optional(),
  /** A new absolute expiry (shorten or extend), still within 1 hour to 90 days from now. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  comment: z.string().max(2000).optional(),
});
export type ApproveRequest = z.infer<typeof approveRequestSchema>;

export const rejectRequestSchema = z.strictObject({ reason: z.string().trim().min(1).max(2000) });

/**
 * Settle a target whose policy was changed outside Gatehouse (drift found at expiry): `delete` removes
 * the inline policy as it now is; `keep` leaves it in IAM and Gatehouse stops managing it. Either way
 * the target ends expired.
 */
export const DRIFT_ACTIONS = ["delete", "keep"] as const;
export const resolveTargetSchema = z.strictObject({
  action: z.enum(DRIFT_ACTIONS),
  comment: z.string().max(2000).optional(),
});
export type ResolveTarget = z.infer<typeof resolveTargetSchema>;

export const listRequestsQuerySchema = z.strictObject({ role: z.enum(["requester", "approver"]).optional() });

export const approvalSchema = z.object({
  target: z.number().int(),
  approver: z.string(),
  time: z.string(),
  comment: z.string().nullable(),
  diff: z.string().nullable(),
  expiresAt: z.string().nullable(),
  /** Set when a later edit of the target superseded this approval (it no longer counts). */
  supersededAt: z.string().nullable().optional(),
  /** The approver was an admin when approving (what a break-glass request needs). */
  admin: z.boolean().optional(),
});

export const targetSchema = z.object({
  n: z.number().int(),
  arn: z.string(),
  accountId: z.string(),
  type: z.enum(["role", "user"]),
  name: z.string(),
  state: z.enum(TARGET_STATES),
  policyName: z.string().nullable(),
  /** The policy to apply (the approver's edit, if any). */
  policy: z.string().nullable(),
  approvals: z.number().int(),
  expiresAt: z.string().nullable(),
  appliedAt: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  /** Set when the live policy differs from what Gatehouse applied (changed outside Gatehouse). */
  drift: z.string().nullable(),
  /** How a drifted target was settled (e.g. kept in IAM and no longer managed by Gatehouse). */
  note: z.string().nullable().optional(),
  /** managed-policy: the attached policy's ARN. Optional so that answers of older brokers still parse. */
  policyArn: z.string().nullable().optional(),
  /** group-membership: the IAM group the target user is added to. */
  groupName: z.string().nullable().optional(),
});
export type RequestTarget = z.infer<typeof targetSchema>;

export const requestSchema = z.object({
  id: z.string(),
  kind: z.enum(REQUEST_KINDS),
  requester: z.object({ email: z.string(), groups: z.array(z.string()) }),
  justification: z.string(),
  expirySeconds: z.number().int().nullable(),
  policy: z.string().nullable(),
  createdAt: z.string(),
  /**
   * SECURITY 31: the request can change access (permissions, trust, credentials, access tags) or reach
   * Gatehouse's own roles, and `requests.break_glass` let it through: it applies only once an admin is
   * among its approvers. Optional so that answers of older brokers still parse.
   */
  breakGlass: z.boolean().optional(),
  /** Why it is break-glass: the refused findings, one line each. */
  breakGlassReasons: z.array(z.string()).optional(),
  targets: z.array(targetSchema),
  approvals: z.array(approvalSchema),
  events: z.array(
    z.object({
      time: z.string(),
      actor: z.string(),
      type: z.string(),
      target: z.number().int().nullable(),
      detail: z.record(z.string(), z.unknown()),
    }),
  ),
});
export type PermissionRequest = z.infer<typeof requestSchema>;
export const requestsResponseSchema = z.object({ requests: z.array(requestSchema) });
