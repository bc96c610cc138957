// inline-policy: a policy document put on roles or IAM users under a name of Gatehouse's
// (gatehouse-<request>-<n>), deleted at expiry unless it was changed outside Gatehouse meanwhile.

import {
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  type IAMClient,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { GatehouseError } from "../../shared/errors.ts";
import { policySize, ROLE_INLINE_LIMIT, USER_INLINE_LIMIT } from "../../shared/policy-lint.ts";
import { fromAwsError } from "../aws.ts";
import type { TargetRow } from "../requests-store.ts";
import type { Store } from "../store.ts";
import { isNoSuchEntity, type KindContext, type KindModule } from "./types.ts";

export const decode = (doc: string | undefined) => {
  const s = doc ?? "";
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** JSON compared by meaning, so that white space or key order IAM changes is not "drift". */
function canonical(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}

/** A role or user that holds inline policies. */
type PolicyHolder = { type: "role" | "user"; name: string };

/** PutRolePolicy or PutUserPolicy, as the holder is a role or a user. */
function putInlinePolicy(iam: IAMClient, t: PolicyHolder, policyName: string, document: string) {
  return t.type === "role"
    ? iam.send(
        new PutRolePolicyCommand({ RoleName: t.name, PolicyName: policyName, PolicyDocument: document }),
      )
    : iam.send(
        new PutUserPolicyCommand({ UserName: t.name, PolicyName: policyName, PolicyDocument: document }),
      );
}

/** DeleteRolePolicy or DeleteUserPolicy, as the holder is a role or a user. */
function deleteInlinePolicy(iam: IAMClient, t: PolicyHolder, policyName: string) {
  return t.type === "role"
    ? iam.send(new DeleteRolePolicyCommand({ RoleName: t.name, PolicyName: policyName }))
    : iam.send(new DeleteUserPolicyCommand({ UserName: t.name, PolicyName: policyName }));
}

/** SECURITY 26: the target's other inline policies plus this one must fit IAM's limit. */
export function checkSize(
  store: Store,
  t: { type: "role" | "user"; arn: string },
  policyName: string | null,
  text: string,
): void {
  const existing = t.type === "role" ? store.getRole(t.arn) : store.getUser(t.arn);
  const limit = t.type === "role" ? ROLE_INLINE_LIMIT : USER_INLINE_LIMIT;
  let used = 0;
  for (const [name, doc] of Object.entries(existing?.inlinePolicies ?? {}))
    if (name !== policyName) used += policySize(doc);
  const total = used + policySize(text);
  if (total > limit)
    throw new GatehouseError(
      "POLICY_REFUSED",
      `${t.arn} would have ${total} characters of inline policy (${used} already there + ${policySize(text)} requested); IAM allows ${limit} for a ${t.type}`,
    );
}

/** The live document of an applied policy, or null when it is gone. */
async function live(ctx: KindContext, t: TargetRow): Promise<string | null> {
  const iam = ctx.aws.iam(t.accountId);
  await ctx.aws.throttle(t.accountId);
  try {
    const out =
      t.type === "role"
        ? await iam.send(new GetRolePolicyCommand({ RoleName: t.name, PolicyName: t.policyName! }))
        : await iam.send(new GetUserPolicyCommand({ UserName: t.name, PolicyName: t.policyName! }));
    return decode(out.PolicyDocument);
  } catch (e) {
    if (isNoSuchEntity(e)) return null;
    throw fromAwsError(e, `reading ${t.policyName} on ${t.arn}`);
  }
}

/** The put policy in the broker's copy of the role or user (until the re-read replaces the copy). */
function recordPut(ctx: KindContext, t: TargetRow): void {
  const name = t.policyName!;
  if (t.type === "role") {
    const r = ctx.store.getRole(t.arn);
    if (r) ctx.store.upsertRole({ ...r, inlinePolicies: { ...r.inlinePolicies, [name]: t.policy! } });
  } else {
    const u = ctx.store.getUser(t.arn);
    if (u) ctx.store.upsertUser({ ...u, inlinePolicies: { ...u.inlinePolicies, [name]: t.policy! } });
  }
  ctx.publish(t.type, t.arn);
}

async function remove(ctx: KindContext, t: TargetRow): Promise<void> {
  const iam = ctx.aws.iam(t.accountId);
  await ctx.aws.throttle(t.accountId);
  await deleteInlinePolicy(iam, t, t.policyName!);
}

export const inlinePolicy: KindModule = {
  kind: "inline-policy",
  targetTypes: ["role", "user"],
  wrongType: (_type, input) => `no synced role or user "${input}"`,

  async validate(ctx, _person, body, id, targets) {
    const text = body.policy!;
    const breakGlass = await ctx.checkPolicy(text);
    targets.forEach((r, n) => {
      breakGlass.push(...ctx.checkProtected(r.target.arn, "its policies are"));
      r.target.policyName = `gatehouse-${id}-${n}`;
      r.target.policy = text;
      checkSize(ctx.store, r.target, r.target.policyName, text);
    });
    return breakGlass;
  },

  async checkEdit(ctx, targets, policy) {
    // An approver's edit is held to the same rules: it cannot slip an escalation into a request.
    const reasons = await ctx.checkPolicy(policy);
    for (const t of targets) checkSize(ctx.store, t, t.policyName, policy);
    return reasons;
  },

  async apply(ctx, t) {
    checkSize(ctx.store, t, t.policyName, t.policy!);
    const iam = ctx.aws.iam(t.accountId);
    await ctx.aws.throttle(t.accountId);
    try {
      await putInlinePolicy(iam, t, t.policyName!, t.policy!);
    } catch (e) {
      throw fromAwsError(e, `${t.type === "role" ? "PutRolePolicy" : "PutUserPolicy"} on ${t.arn}`);
    }
  },

  afterApply(ctx, t) {
    // What was put is known: the broker's copy shows it now, and the full re-read of the role or user
    // follows at once in the background, so approve-to-applied costs one IAM call, not one per policy.
    recordPut(ctx, t);
    ctx.rereadSoon(t);
  },

  async revert(ctx, t) {
    // A policy someone changed outside Gatehouse is reported once and left alone, not deleted blind.
    if (t.drift) return { settled: false };
    const now = await live(ctx, t);
    if (now !== null && canonical(now) !== canonical(t.appliedPolicy ?? ""))
      return {
        settled: false,
        drift: {
          why: `${t.policyName} on ${t.arn} was changed outside Gatehouse; not deleted`,
          detail: { live: now },
        },
      };
    if (now !== null) {
      try {
        await remove(ctx, t);
      } catch (e) {
        throw fromAwsError(e, `deleting ${t.policyName} on ${t.arn}`);
      }
    }
    return { settled: true, detail: { alreadyGone: now === null } };
  },

  async afterRevert(ctx, t) {
    await ctx
      .reread(t)
      .catch((e) => ctx.log.warn({ err: (e as Error).message }, "re-read after expiry failed"));
  },

  async removeDrifted(ctx, t) {
    try {
      await remove(ctx, t);
      return false;
    } catch (e) {
      if (isNoSuchEntity(e)) return true;
      throw fromAwsError(e, `deleting ${t.policyName} on ${t.arn}`);
    }
  },

  describe: (t) => ({
    name: t.policyName ?? "",
    summary: `inline policy ${t.policyName} on ${t.arn}`,
    detail: { policyName: t.policyName },
  }),
};
