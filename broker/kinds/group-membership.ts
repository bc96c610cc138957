// group-membership: IAM users added to an IAM group of their account (AddUserToGroup), removed at expiry.
// The group must exist and its policies (inline and attached) pass the lint like a requested policy, and
// the user's quota of groups must allow it, all checked on the synced copy before any IAM call.

import { AddUserToGroupCommand, RemoveUserFromGroupCommand } from "@aws-sdk/client-iam";
import { GatehouseError } from "../../shared/errors.ts";
import { awsManagedPolicy } from "../../shared/policy/aws-managed.ts";
import { fromAwsError } from "../aws.ts";
import type { TargetRow } from "../requests-store.ts";
import { DEFAULT_ACCOUNT_QUOTAS } from "../store.ts";
import { checkNamed, isNoSuchEntity, type KindContext, type KindModule, openGrants } from "./types.ts";

function recordMember(ctx: KindContext, t: TargetRow, member: boolean): void {
  const u = ctx.store.getUser(t.arn);
  if (u) {
    const others = (u.groups ?? []).filter((g) => g.toLowerCase() !== t.groupName!.toLowerCase());
    ctx.store.upsertUser({ ...u, groups: member ? [...others, t.groupName!] : others });
  }
  ctx.publish("user", t.arn);
}

/** Remove the user from the group; true when they were no longer in it (NoSuchEntity), other failures thrown. */
async function removeFromGroup(ctx: KindContext, t: TargetRow): Promise<boolean> {
  const iam = ctx.aws.iam(t.accountId);
  await ctx.aws.throttle(t.accountId);
  try {
    await iam.send(new RemoveUserFromGroupCommand({ GroupName: t.groupName!, UserName: t.name }));
    return false;
  } catch (e) {
    if (isNoSuchEntity(e)) return true;
    throw fromAwsError(e, `RemoveUserFromGroup ${t.groupName} for ${t.arn}`);
  }
}

export const groupMembership: KindModule = {
  kind: "group-membership",
  targetTypes: ["user"],
  wrongType: (_type, input) =>
    `${input} is a role; IAM groups hold users, not roles (a group-membership request targets IAM users)`,

  async validate(ctx, _person, body, _id, targets) {
    const breakGlass: string[] = [];
    const linted = new Set<string>();
    for (const r of targets) {
      const t = r.target;
      const iam = ctx.store.accountIam(t.accountId);
      const wanted = body.group!;
      const group = iam?.groups.find((g) => g.name.toLowerCase() === wanted.toLowerCase());
      if (!group)
        throw new GatehouseError(
          "GROUP_NOT_FOUND",
          `no IAM group "${wanted}" in account ${t.accountId} (as of its last sync)`,
        );
      // Joining a group grants whatever its policies allow: a group granting iam:* is escalation.
      if (!linted.has(group.arn)) {
        linted.add(group.arn);
        for (const [name, doc] of Object.entries(group.inlinePolicies))
          breakGlass.push(...(await checkNamed(ctx, `group ${group.name}'s policy ${name}`, doc)));
        for (const arn of group.managedPolicies) {
          const doc = awsManagedPolicy(arn)?.document ?? iam?.policies.find((p) => p.arn === arn)?.document;
          if (doc) breakGlass.push(...(await checkNamed(ctx, `group ${group.name}'s policy ${arn}`, doc)));
        }
      }
      const now = r.user?.groups ?? [];
      if (now.some((g) => g.toLowerCase() === group.name.toLowerCase()))
        throw new GatehouseError("BAD_REQUEST", `${t.arn} is already in group ${group.name}`);
      const open = openGrants(ctx, "group-membership", t.arn);
      const same = open.find((o) => o.groupName?.toLowerCase() === group.name.toLowerCase());
      if (same)
        throw new GatehouseError(
          "BAD_REQUEST",
          `${t.arn} is already requested for group ${group.name} (request ${same.requestId}, ${same.state})`,
        );
      const quota = (iam?.quotas ?? DEFAULT_ACCOUNT_QUOTAS).groupsPerUser;
      const pending = open.filter(
        (o) => !now.some((g) => g.toLowerCase() === (o.groupName ?? "").toLowerCase()),
      ).length;
      const used = now.length + pending;
      if (used + 1 > quota)
        throw new GatehouseError(
          "QUOTA_EXCEEDED",
          `user ${t.name} is in ${used} of ${quota} groups${pending ? ` (${pending} of them requested through Gatehouse)` : ""} (account quota ${quota}); it cannot join ${group.name}`,
        );
      t.groupName = group.name;
    }
    return breakGlass;
  },

  createDetail: (targets) => ({ groupName: targets[0]?.groupName ?? null }),

  async apply(ctx, t) {
    const iam = ctx.aws.iam(t.accountId);
    await ctx.aws.throttle(t.accountId);
    try {
      // Adding a member again succeeds: a resumed apply does no harm.
      await iam.send(new AddUserToGroupCommand({ GroupName: t.groupName!, UserName: t.name }));
    } catch (e) {
      throw fromAwsError(e, `AddUserToGroup ${t.groupName} for ${t.arn}`);
    }
  },

  afterApply(ctx, t) {
    recordMember(ctx, t, true);
    ctx.rereadSoon(t);
  },

  async revert(ctx, t) {
    if (!(await removeFromGroup(ctx, t))) return { settled: true, detail: { alreadyGone: false } };
    // Removed outside Gatehouse while it was granted: nothing left to revert; reported once, then expired.
    return {
      settled: true,
      detail: { alreadyGone: true },
      drift: {
        why: `${t.arn} was removed from group ${t.groupName} outside Gatehouse before its expiry`,
        detail: { groupName: t.groupName, member: false },
      },
    };
  },

  async afterRevert(ctx, t) {
    recordMember(ctx, t, false);
    await ctx
      .reread(t)
      .catch((e) => ctx.log.warn({ err: (e as Error).message }, "re-read after expiry failed"));
  },

  held(ctx, t) {
    const u = ctx.store.getUser(t.arn);
    if (u?.groups === undefined) return u ? undefined : false;
    return u.groups.some((g) => g.toLowerCase() === t.groupName!.toLowerCase());
  },

  removeDrifted: (ctx, t) => removeFromGroup(ctx, t),

  grantNoun: "IAM group",
  describe: (t) => ({
    name: t.groupName ?? "",
    summary: `${t.arn} in IAM group ${t.groupName}`,
    detail: { groupName: t.groupName },
  }),
};
