// What a permission request can name and who may approve: a search over the synced roles and IAM users of
// the configured accounts (never Gatehouse's own roles, never service-linked roles) for those the
// configuration lets see it, and whether a person approves anything at all (the desktop shows the
// approvals tab only to them).

import { normalizePrincipal, type Person, parseAccessValue, personPrincipals } from "../shared/access.ts";
import type { RequestTarget } from "../shared/api.ts";
import { GatehouseError } from "../shared/errors.ts";
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

/** Who approves requests on a role or user: approver groups (global, per account) and its own tag. */
export function approversOf(
  config: BrokerConfig,
  store: Store,
  t: { type: "role" | "user"; arn: string; accountId: string },
): Set<string> {
  const lower = config.oidc.force_groups_lowercase;
  const rc = config.requests;
  const set = new Set<string>();
  for (const g of [...rc.approver_groups, ...(rc.account_approver_groups[t.accountId] ?? [])])
    set.add(normalizePrincipal(g, lower));
  const entity = t.type === "role" ? store.getRole(t.arn) : store.getUser(t.arn);
  for (const tag of entity?.tags ?? [])
    if (tag.Key.toLowerCase() === APPROVERS_TAG)
      for (const p of parseAccessValue(tag.Value, lower)) set.add(p);
  return set;
}

/**
 * Whether the person may list targets at all (`requests.targets_visible_to`); FORBIDDEN if not. Admins
 * always may: they see every request anyway.
 */
export function assertMayListTargets(
  config: BrokerConfig,
  store: Store,
  person: Person,
  admin: boolean,
): void {
  const rc = config.requests;
  if (admin || rc.targets_visible_to === "everyone") return;
  const lower = config.oidc.force_groups_lowercase;
  if (rc.targets_visible_to === "approvers" && isApprover(config, store, person)) return;
  if (rc.targets_visible_to === "groups") {
    const mine = new Set(personPrincipals(person, lower));
    if ((rc.targets_visible_groups ?? []).some((g) => mine.has(normalizePrincipal(g, lower)))) return;
  }
  throw new GatehouseError(
    "FORBIDDEN",
    `request targets are listed only to ${rc.targets_visible_to === "approvers" ? "approvers" : "some groups"}; name the role or user (account/Role or its ARN) in the request instead`,
  );
}

/**
 * Roles and users whose name or ARN contains every word of the query, or whose account's name or id
 * does (`staging dev` finds staging's Developer). Role-access targets are roles; the caller filters.
 * A role's description is told only to whoever may request on it (uses it), approves it, or is an admin:
 * it often says more about a role than its name.
 */
export function searchTargets(
  deps: { config: BrokerConfig; store: Store; index: AccessIndex },
  person: Person,
  query: string,
  limit = DEFAULT_TARGET_LIMIT,
  admin = false,
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
    .map((e) => {
      const mine = e.type === "role" && deps.index.find(person, { kind: "arn", arn: e.arn }) !== undefined;
      const told =
        e.description !== null &&
        (mine ||
          admin ||
          personPrincipals(person, deps.config.oidc.force_groups_lowercase).some((p) =>
            approversOf(deps.config, deps.store, e).has(p),
          ));
      return {
        arn: e.arn,
        accountId: e.accountId,
        accountName: names.get(e.accountId) ?? e.accountId,
        type: e.type,
        name: e.name,
        description: told ? e.description : null,
        mine,
      };
    });
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
