// Identity-policy authorisation of a caller for one action on one resource, as IAM does it in small.

import { accessDenied } from "./errors.ts";
import { type Context, type Decision, evaluate } from "./policy.ts";
import type { Caller } from "./sigv4.ts";

/** Global condition keys describing the caller. */
export function callerContext(caller: Caller): Context {
  const ctx: Context = {
    "aws:PrincipalArn": caller.principalArn,
    "aws:PrincipalAccount": caller.account.id,
    "aws:userid": caller.userId,
    "aws:PrincipalType": caller.kind === "user" ? "User" : "AssumedRole",
  };
  if (caller.user) ctx["aws:username"] = caller.user.name;
  const tags = caller.session ? caller.session.tags : (caller.user?.tags ?? []);
  for (const t of caller.role?.tags ?? []) ctx[`aws:PrincipalTag/${t.Key}`] = t.Value;
  for (const t of tags) ctx[`aws:PrincipalTag/${t.Key}`] = t.Value;
  if (caller.session?.sourceIdentity) ctx["aws:SourceIdentity"] = caller.session.sourceIdentity;
  // Whole seconds, as AWS writes it: a Deny "issued before T" spares sessions issued within T's second.
  if (caller.session?.issuedAt !== undefined)
    ctx["aws:TokenIssueTime"] = new Date(Math.floor(caller.session.issuedAt / 1000) * 1000)
      .toISOString()
      .replace(".000Z", "Z");
  return ctx;
}

/** The caller's own decision for an action: identity policies, narrowed by a session policy if any. */
export function identityDecision(
  caller: Caller,
  action: string,
  resource: string,
  extra: Context = {},
): Decision {
  const req = { action, resource, context: { ...callerContext(caller), ...extra } };
  const decision = evaluate(caller.policies, req);
  if (decision !== "allow" || !caller.sessionPolicy) return decision;
  return evaluate([caller.sessionPolicy], req) === "allow" ? "allow" : "implicit";
}

export function authorize(caller: Caller, action: string, resource: string, extra: Context = {}): void {
  const decision = identityDecision(caller, action, resource, extra);
  if (decision === "allow") return;
  const why =
    decision === "deny"
      ? `with an explicit deny in an identity-based policy`
      : `because no identity-based policy allows the ${action} action`;
  throw accessDenied(
    `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${resource} ${why}`,
  );
}
