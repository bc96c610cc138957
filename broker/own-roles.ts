// Gatehouse's own roles (the central role and every configured spoke role name): never anyone's,
// whatever their tags say (SECURITY 32), so the access index and the tag watch ask this one place.

import type { BrokerConfig } from "./config.ts";

/**
 * Every name Gatehouse's own roles go by, lower-cased (IAM role names are unique without case): the
 * global spoke name, each account's override and the central role's name. Matched in every account, so a
 * spoke left behind by a renamed override, or a central role in a synced account, is excluded too.
 */
export function ownRoleNames(config: BrokerConfig): ReadonlySet<string> {
  const names = new Set<string>([config.aws.spoke_role_name.toLowerCase()]);
  for (const a of config.aws.accounts) if (a.spoke_role_name) names.add(a.spoke_role_name.toLowerCase());
  const central = config.aws.central_role_arn;
  if (central) names.add(central.slice(central.lastIndexOf("/") + 1).toLowerCase());
  return names;
}

export const isOwnRole = (names: ReadonlySet<string>, role: { name: string }): boolean =>
  names.has(role.name.toLowerCase());
