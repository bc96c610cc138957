// role-access: the requester may use roles for a while; nothing changes in IAM, the grant lives in the
// broker's access index (and, for other replicas, in the database's change rows).

import { GatehouseError } from "../../shared/errors.ts";
import type { KindModule } from "./types.ts";

export const roleAccess: KindModule = {
  kind: "role-access",
  targetTypes: ["role"],
  wrongType: (_type, input) => `${input} is an IAM user; role-access requests are for roles`,

  async validate(ctx, person, _body, _id, targets) {
    const breakGlass: string[] = [];
    for (const r of targets) {
      breakGlass.push(...ctx.checkProtected(r.target.arn, "access to it is"));
      const has = ctx.index.find(person, { kind: "arn", arn: r.target.arn });
      if (has?.level === "console")
        throw new GatehouseError("BAD_REQUEST", `you already have access to ${r.target.arn}`);
    }
    return breakGlass;
  },

  async apply() {},

  inAppliedTransaction(ctx, t) {
    // A grant's change row commits with the move, so no replica misses it.
    ctx.co.publish("grant", `${t.requestId}/${t.n}`);
  },

  afterApply(ctx, t, expiresAt) {
    ctx.index.grant(t.requester, t.arn, expiresAt ? Date.parse(expiresAt) : null);
  },

  async revert(ctx, t) {
    ctx.index.revoke(t.requester, t.arn);
    return { settled: true };
  },

  inExpiredTransaction(ctx, t) {
    ctx.co.publish("grant", `${t.requestId}/${t.n}`);
  },

  restore(ctx, t) {
    if (t.state === "applied")
      ctx.index.grant(t.requester, t.arn, t.expiresAt ? Date.parse(t.expiresAt) : null);
    else ctx.index.revoke(t.requester, t.arn);
  },

  describe: (t) => ({ name: t.arn, summary: `access to ${t.arn}`, detail: { grant: true } }),
};
