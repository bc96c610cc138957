// IAM's resource ARNs from a Query request's parameters: RoleName → role/NAME, PolicyArn as given, and so on.

import type { ResourceContext } from "./index.ts";

const BY_NAME: [param: string, kind: string][] = [
  ["RoleName", "role"],
  ["UserName", "user"],
  ["GroupName", "group"],
  ["InstanceProfileName", "instance-profile"],
];
const ARN_PARAMS = ["PolicyArn", "OpenIDConnectProviderArn", "SAMLProviderArn"];
/** IAM names: letters, digits and +=,.@_- (a path is a separate parameter). */
const NAME = /^[\w+=,.@-]{1,128}$/;
const ARN = /^arn:aws[a-z-]*:iam::(\d{12}|aws):[\w+=,.@/-]{1,512}$/;

export function iamResources(ctx: ResourceContext): string[] {
  const out: string[] = [];
  const path = ctx.params.Path && /^\/([\w+=,.@-]+\/)*$/.test(ctx.params.Path) ? ctx.params.Path : "/";
  for (const [param, kind] of BY_NAME) {
    const name = ctx.params[param];
    // Create* names its resource with a path; elsewhere IAM finds it by name, and `*/NAME` covers any path.
    if (name && NAME.test(name))
      out.push(
        `arn:${ctx.partition}:iam::${ctx.accountId}:${kind}${ctx.api.startsWith("Create") ? path : "/"}${name}`,
      );
  }
  for (const param of ARN_PARAMS) {
    const arn = ctx.params[param];
    if (arn && ARN.test(arn)) out.push(arn);
  }
  return out;
}
