// What a permission request can name and who may approve: a search over the synced roles and IAM users of
// the configured accounts (never Gatehouse's own roles, never service-linked roles), and whether a person
// approves anything at all (the desktop shows the approvals tab only to them).

import { normalizePrincipal, type Person, parseAccessValue, personPrincipals } from "../shared/access.ts";
import type { RequestTarget } from "../shared/api.ts";
import type { AccessIndex } from "./access-index.ts";
import { type BrokerConfig, spokeRoleArn } from "./config.ts";
import type { Store } from "./store.ts";

export const DEFAULT_TARGET_LIMIT = 50;

/** A role's or user's own approvers (":"-separated groups or e-mails). */
export const APPROVERS_TAG = "gatehouse-approvers";

/** Gatehouse's own roles: not requestable, so not offered. */
export function protectedArns(config: BrokerConfig): string[] {
  return [
    ...config.aws.accounts.map((a) => spokeRoleArn(config, a)),
    ...(config.aws.central_role_arn ? [config.aws.central_role_arn] : []),
  ];
}

/**
 * Roles and users whose name or ARN contains every word of the query, or whose account's name or id
 * does (`staging dev` finds staging's Developer). Role-access targets are roles; the caller filters.
 */
export function searchTargets(
  deps: { config: BrokerConfig; store: Store; index: AccessIndex },
  person: Person,
  query: string,
  limit = DEFAULT_TARGET_LIMIT,
): RequestTarget[] {
  const accounts = deps.config.aws.accounts;
  const names = new Map(accounts.map((a) => [a.id, a.name]));
  const terms = query
    .split(/[\s/]+/)
    .map((t) => t.trim())
    .filter(Boolean)
    .slice(0, 8)
    .map((text) => ({
      text,
      accountIds: accounts
        .filter((a) => a.name.toLowerCase().includes(text.toLowerCase()) || a.id.includes(text))
        .map((a) => a.id),
    }));
  const configured = new Set(accounts.map((a) => a.id));
  return deps.store
    .searchEntities({ terms, excludeArns: protectedArns(deps.config), limit })
    .filter((e) => configured.has(e.accountId))
    .map((e) => ({
      arn: e.arn,
      accountId: e.accountId,
      accountName: names.get(e.accountId) ?? e.accountId,
      type: e.type,
      name: e.name,
      description: e.description,
      mine: e.type === "role" && deps.index.find(person, { kind: "arn", arn: e.arn }) !== undefined,
    }));
}

/** What the lint needs to know about this organisation: Gatehouse's roles and the access tag keys. */
export function lintOptionsOf(config: BrokerConfig): {
  protectedRoleArns: string[];
  accessTagKeys: string[];
} {
  return {
    protectedRoleArns: protectedArns(config),
    accessTagKeys: [...config.access.tag_keys, ...config.access.cli_only_tag_keys, APPROVERS_TAG],
  };
}

/** Whether the person is in an approver group (global or per account) or named by a gatehouse-approvers tag. */
export function isApprover(config: BrokerConfig, store: Store, person: Person): boolean {
  const lower = config.oidc.force_groups_lowercase;
  const mine = new Set(personPrincipals(person, lower));
  const rc = config.requests;
  for (const g of [...rc.approver_groups, ...Object.values(rc.account_approver_groups).flat()])
    if (mine.has(normalizePrincipal(g, lower))) return true;
  const configured = new Set(config.aws.accounts.map((a) => a.id));
  for (const e of store.taggedEntities(APPROVERS_TAG)) {
    if (!configured.has(e.accountId)) continue;
    for (const t of e.tags)
      if (t.Key.toLowerCase() === APPROVERS_TAG && parseAccessValue(t.Value, lower).some((p) => mine.has(p)))
        return true;
  }
  return false;
}
