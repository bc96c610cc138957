// Catalogue routes for the request panel and the CLI: services by name, managed policies by name or
// service with their lint risk, one policy's document, and an account's IAM groups.

// AWS-managed policies are public knowledge: any signed-in person may search them. An account's own
// policies and groups are account data: shown to whoever may list request targets.

import type { FastifyInstance } from "fastify";
import {
  type CatalogueGroup,
  catalogueGroupsQuerySchema,
  cataloguePoliciesQuerySchema,
  cataloguePolicyQuerySchema,
  catalogueServicesQuerySchema,
} from "../../shared/catalogue.ts";
import { GatehouseError } from "../../shared/errors.ts";
import { ManagedCatalogue, type PolicyEntry, policyEntry } from "../../shared/policy/managed-catalogue.ts";
import type { AccountConfig, BrokerConfig } from "../config.ts";
import { parse, principalOf } from "../http.ts";
import type { Store } from "../store.ts";
import { assertMayListTargets, lintOptionsOf } from "../targets.ts";

/** A customer-managed policy as the sync keeps it: its default version's document. */
export interface StoredPolicy {
  arn: string;
  name: string;
  path: string;
  description?: string;
  document: string;
}

/** What the synced store knows of an account's own IAM: its customer-managed policies and its groups. */
export interface AccountCatalogue {
  customerPolicies(accountId: string): readonly StoredPolicy[];
  groups(accountId: string): readonly CatalogueGroup[];
}

/** IAM's path of a policy or group ARN: `/team/` of `arn:aws:iam::1…:policy/team/Reader`. */
const pathOf = (arn: string, type: "policy" | "group") => {
  const rest = arn.slice(arn.indexOf(`:${type}/`) + type.length + 1);
  return rest.slice(0, rest.lastIndexOf("/") + 1) || "/";
};

/** The store's copy of each account's IAM, as the last sync read it (broker/sync.ts). */
export function storeAccountCatalogue(store: Store): AccountCatalogue {
  return {
    customerPolicies: (accountId) =>
      (store.accountIam(accountId)?.policies ?? []).map((p) => ({ ...p, path: pathOf(p.arn, "policy") })),
    groups: (accountId) =>
      (store.accountIam(accountId)?.groups ?? []).map((g) => ({
        name: g.name,
        arn: g.arn,
        accountId,
        path: pathOf(g.arn, "group"),
      })),
  };
}

export interface CatalogueRoutesDeps {
  config: BrokerConfig;
  store: Store;
  accounts: { list(): readonly AccountConfig[] };
  source?: AccountCatalogue;
  isAdmin(groups: readonly string[]): boolean;
}

export async function catalogueRoutes(app: FastifyInstance, deps: CatalogueRoutesDeps): Promise<void> {
  const catalogue = new ManagedCatalogue(lintOptionsOf(deps.config));
  const source = deps.source ?? storeAccountCatalogue(deps.store);
  // Entries of customer policies by ARN, rebuilt when the stored document changes.
  const entries = new Map<string, PolicyEntry>();

  const accountOf = (req: Parameters<typeof principalOf>[0], account: string | undefined) => {
    if (account === undefined) return undefined;
    const p = principalOf(req);
    assertMayListTargets(deps.config, deps.store, p, deps.isAdmin(p.groups));
    const a = deps.accounts.list().find((x) => x.id === account || x.name === account);
    if (!a) throw new GatehouseError("ACCOUNT_NOT_FOUND", `no configured account is called ${account}`);
    return a.id;
  };

  async function customerEntries(accountId: string | undefined): Promise<PolicyEntry[]> {
    if (accountId === undefined) return [];
    return Promise.all(
      source.customerPolicies(accountId).map(async (p) => {
        const known = entries.get(p.arn);
        if (known && known.document === p.document && known.description === p.description) return known;
        const e = await policyEntry(p);
        entries.set(p.arn, e);
        return e;
      }),
    );
  }

  app.get("/v1/catalogue/services", async (req) => {
    principalOf(req);
    const q = parse(catalogueServicesQuerySchema, req.query, "query");
    return { services: await catalogue.services(q.q ?? "", q.limit) };
  });

  app.get("/v1/catalogue/policies", async (req) => {
    principalOf(req);
    const q = parse(cataloguePoliciesQuerySchema, req.query, "query");
    const extra = await customerEntries(accountOf(req, q.account));
    const policies = await catalogue.policies({
      q: q.q,
      service: q.service,
      limit: q.limit,
      serviceRoles: q.serviceRoles === "true",
      extra,
    });
    return { policies };
  });

  app.get("/v1/catalogue/policy", async (req) => {
    principalOf(req);
    const q = parse(cataloguePolicyQuerySchema, req.query, "query");
    const extra = await customerEntries(accountOf(req, q.account));
    const p = await catalogue.policy(q.arn, extra);
    if (!p) throw new GatehouseError("POLICY_NOT_FOUND", `no managed policy ${q.arn}`);
    return { ...(await catalogue.hit(p)), document: p.document };
  });

  app.get("/v1/catalogue/groups", async (req) => {
    const q = parse(catalogueGroupsQuerySchema, req.query, "query");
    const accountId = accountOf(req, q.account)!;
    const needle = (q.q ?? "").toLowerCase();
    const groups = source
      .groups(accountId)
      .filter((g) => g.name.toLowerCase().includes(needle))
      .sort((a, b) => a.name.localeCompare(b.name))
      .slice(0, q.limit ?? 200);
    return { groups };
  });
}
