// managed-policy: an AWS-managed or customer-managed policy attached to roles or IAM users
// (AttachRolePolicy/AttachUserPolicy), detached at expiry. Found by ARN or by name, linted like an inline
// policy, and counted against the account's quota of attached policies, all before any IAM call.

import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { GatehouseError } from "../../shared/errors.ts";
import { awsManagedPolicy, awsManagedPolicyArns, POLICY_ARN_RE } from "../../shared/policy/aws-managed.ts";
import { fromAwsError } from "../aws.ts";
import type { TargetRow } from "../requests-store.ts";
import { DEFAULT_ACCOUNT_QUOTAS } from "../store.ts";
import { checkNamed, isNoSuchEntity, type KindContext, type KindModule, openGrants } from "./types.ts";

/** AWS-managed policies by lower-cased name (names are unique among them, whatever their path). */
let awsByName: Map<string, string> | undefined;
function awsManagedNamed(name: string): string | undefined {
  if (!awsByName) {
    awsByName = new Map();
    for (const arn of awsManagedPolicyArns())
      awsByName.set(arn.slice(arn.lastIndexOf("/") + 1).toLowerCase(), arn);
  }
  return awsByName.get(name.toLowerCase());
}

/**
 * The policy `wanted` (an ARN, or a name: AWS-managed first, then the account's customer-managed one of
 * that name) for a target in `accountId`, with its document; POLICY_NOT_FOUND naming what was looked for.
 */
export function resolveManagedPolicy(
  ctx: KindContext,
  wanted: string,
  accountId: string,
): { arn: string; name: string; document: string } {
  const customer = ctx.store.accountIam(accountId)?.policies ?? [];
  const arnMatch = POLICY_ARN_RE.exec(wanted);
  if (arnMatch) {
    if (arnMatch[1] === "aws") {
      const p = awsManagedPolicy(wanted);
      if (p) return { arn: p.arn, name: p.name, document: p.document };
      throw new GatehouseError("POLICY_NOT_FOUND", `no AWS-managed policy ${wanted}`);
    }
    if (arnMatch[1] !== accountId)
      throw new GatehouseError(
        "POLICY_NOT_FOUND",
        `${wanted} belongs to account ${arnMatch[1]}; a customer-managed policy attaches only in its own account (${accountId})`,
      );
    const p = customer.find((c) => c.arn === wanted);
    if (p) return p;
    throw new GatehouseError(
      "POLICY_NOT_FOUND",
      `no customer-managed policy ${wanted} in account ${accountId} (as of its last sync)`,
    );
  }
  const aws = awsManagedNamed(wanted);
  if (aws) {
    const p = awsManagedPolicy(aws)!;
    return { arn: p.arn, name: p.name, document: p.document };
  }
  const p = customer.find((c) => c.name.toLowerCase() === wanted.toLowerCase());
  if (p) return p;
  throw new GatehouseError(
    "POLICY_NOT_FOUND",
    `no managed policy named "${wanted}": neither an AWS-managed policy nor a customer-managed policy of account ${accountId} (as of its last sync)`,
  );
}

const isRole = (t: { type: "role" | "user" }) => t.type === "role";

/** Detach the policy; true when it was no longer attached (NoSuchEntity), any other failure thrown. */
async function detach(ctx: KindContext, t: TargetRow): Promise<boolean> {
  const iam = ctx.aws.iam(t.accountId);
  await ctx.aws.throttle(t.accountId);
  try {
    await (isRole(t)
      ? iam.send(new DetachRolePolicyCommand({ RoleName: t.name, PolicyArn: t.policyArn! }))
      : iam.send(new DetachUserPolicyCommand({ UserName: t.name, PolicyArn: t.policyArn! })));
    return false;
  } catch (e) {
    if (isNoSuchEntity(e)) return true;
    throw fromAwsError(
      e,
      `${isRole(t) ? "DetachRolePolicy" : "DetachUserPolicy"} ${t.policyArn} on ${t.arn}`,
    );
  }
}

/** The broker's copy of the role or user with `arn` attached or detached (until the re-read replaces it). */
function recordAttached(ctx: KindContext, t: TargetRow, attached: boolean): void {
  const arn = t.policyArn!;
  const next = (list: string[]) =>
    attached ? [...list.filter((a) => a !== arn), arn] : list.filter((a) => a !== arn);
  if (isRole(t)) {
    const r = ctx.store.getRole(t.arn);
    if (r) ctx.store.upsertRole({ ...r, managedPolicies: next(r.managedPolicies) });
  } else {
    const u = ctx.store.getUser(t.arn);
    if (u) ctx.store.upsertUser({ ...u, managedPolicies: next(u.managedPolicies) });
  }
  ctx.publish(t.type, t.arn);
}

export const managedPolicy: KindModule = {
  kind: "managed-policy",
  targetTypes: ["role", "user"],
  wrongType: (_type, input) => `no synced role or user "${input}"`,

  async validate(ctx, _person, body, _id, targets) {
    const breakGlass: string[] = [];
    const linted = new Set<string>();
    for (const r of targets) {
      const t = r.target;
      const p = resolveManagedPolicy(ctx, body.policyArn!, t.accountId);
      // AdministratorAccess, IAMFullAccess and the like are escalation: refused unless break-glass.
      if (!linted.has(p.arn)) {
        linted.add(p.arn);
        breakGlass.push(...(await checkNamed(ctx, `managed policy ${p.arn}`, p.document)));
      }
      breakGlass.push(...ctx.checkProtected(t.arn, "its policies are"));
      const attachedNow = (r.role ?? r.user)?.managedPolicies ?? [];
      if (attachedNow.includes(p.arn))
        throw new GatehouseError("BAD_REQUEST", `${p.arn} is already attached to ${t.arn}`);
      const open = openGrants(ctx, "managed-policy", t.arn);
      const same = open.find((o) => o.policyArn === p.arn);
      if (same)
        throw new GatehouseError(
          "BAD_REQUEST",
          `${p.arn} is already requested for ${t.arn} (request ${same.requestId}, ${same.state})`,
        );
      const quotas = ctx.store.accountIam(t.accountId)?.quotas ?? DEFAULT_ACCOUNT_QUOTAS;
      const quota = isRole(t) ? quotas.attachedPoliciesPerRole : quotas.attachedPoliciesPerUser;
      // Applied attachments the copy already shows are not counted twice.
      const pending = open.filter((o) => !attachedNow.includes(o.policyArn ?? "")).length;
      const used = attachedNow.length + pending;
      if (used + 1 > quota)
        throw new GatehouseError(
          "QUOTA_EXCEEDED",
          `${t.type} ${t.name} has ${used} of ${quota} managed policies attached${pending ? ` (${pending} of them requested through Gatehouse)` : ""} (account quota ${quota}); ${p.arn} cannot be attached`,
        );
      t.policyArn = p.arn;
    }
    return breakGlass;
  },

  createDetail: (targets) => {
    const arns = [...new Set(targets.map((t) => t.policyArn ?? ""))];
    return { policyArn: arns.length === 1 ? arns[0] : arns };
  },

  async apply(ctx, t) {
    const iam = ctx.aws.iam(t.accountId);
    await ctx.aws.throttle(t.accountId);
    try {
      // Attaching what is already attached succeeds: a resumed apply does no harm.
      await (isRole(t)
        ? iam.send(new AttachRolePolicyCommand({ RoleName: t.name, PolicyArn: t.policyArn! }))
        : iam.send(new AttachUserPolicyCommand({ UserName: t.name, PolicyArn: t.policyArn! })));
    } catch (e) {
      throw fromAwsError(
        e,
        `${isRole(t) ? "AttachRolePolicy" : "AttachUserPolicy"} ${t.policyArn} on ${t.arn}`,
      );
    }
  },

  afterApply(ctx, t) {
    recordAttached(ctx, t, true);
    ctx.rereadSoon(t);
  },

  async revert(ctx, t) {
    if (!(await detach(ctx, t))) return { settled: true, detail: { alreadyGone: false } };
    // Detached outside Gatehouse while it was granted: there is nothing left to revert, so the target
    // ends expired, and the drift is reported once (someone changed IAM behind Gatehouse's back).
    return {
      settled: true,
      detail: { alreadyGone: true },
      drift: {
        why: `${t.policyArn} was detached from ${t.arn} outside Gatehouse before its expiry`,
        detail: { policyArn: t.policyArn, attached: false },
      },
    };
  },

  async afterRevert(ctx, t) {
    recordAttached(ctx, t, false);
    await ctx
      .reread(t)
      .catch((e) => ctx.log.warn({ err: (e as Error).message }, "re-read after expiry failed"));
  },

  held(ctx, t) {
    const e = isRole(t) ? ctx.store.getRole(t.arn) : ctx.store.getUser(t.arn);
    return e ? e.managedPolicies.includes(t.policyArn!) : false;
  },

  removeDrifted: (ctx, t) => detach(ctx, t),

  grantNoun: "managed policy",
  describe: (t) => ({
    name: t.policyArn ?? "",
    summary: `managed policy ${t.policyArn} attached to ${t.arn}`,
    detail: { policyArn: t.policyArn },
  }),
};
