// Accounts from AWS Organizations: walk the OU tree, keep the accounts under the included OUs (minus
// the excluded ones) that are ACTIVE and pass the tag filters, and name them from the account or a tag.

import {
  type Account,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  ListRootsCommand,
  ListTagsForResourceCommand,
  type OrganizationsClient,
} from "@aws-sdk/client-organizations";
import { GatehouseError } from "../shared/errors.ts";
import { fromAwsError } from "./aws.ts";
import type { OrganizationsConfig } from "./config.ts";

export interface OrgUnitNode {
  id: string;
  /** Names from the root, `/`-joined (`Workloads/Prod`); the root is "". */
  path: string;
  parentId: string | null;
}

export interface DiscoveredAccount {
  id: string;
  name: string;
  /** The account's own name in Organizations. */
  accountName: string;
  ouId: string;
  ouPath: string;
  tags: Record<string, string>;
}

export interface SkippedAccount {
  id: string;
  name: string;
  ouPath: string;
  reason: "suspended" | "excluded-ou" | "outside-included-ous" | "tag-filter";
}

export interface Discovery {
  rootId: string;
  units: OrgUnitNode[];
  accounts: DiscoveredAccount[];
  skipped: SkippedAccount[];
}

const TAG_CONCURRENCY = 8;

async function call<T>(what: string, throttle: () => Promise<void>, f: () => Promise<T>): Promise<T> {
  await throttle();
  try {
    return await f();
  } catch (e) {
    throw fromAwsError(e, `AWS Organizations ${what}`);
  }
}

/** Every page of a NextToken listing. */
async function all<T>(
  what: string,
  throttle: () => Promise<void>,
  fetch: (token: string | undefined) => Promise<{ items: T[]; next?: string | undefined }>,
): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await call(what, throttle, () => fetch(token));
    out.push(...page.items);
    token = page.next;
  } while (token);
  return out;
}

/** Which OU (by id or path of names) a configured reference means; an unknown one is a config error. */
function resolve(ref: string, units: OrgUnitNode[], rootId: string, key: string): string {
  if (ref === rootId) return ref;
  const hit = ref.startsWith("ou-") ? units.find((u) => u.id === ref) : units.find((u) => u.path === ref);
  if (!hit) {
    throw new GatehouseError(
      "CONFIG_INVALID",
      `aws.organizations.${key}: no OU "${ref}" in the organisation (OUs: ${
        units
          .filter((u) => u.parentId)
          .map((u) => u.path)
          .slice(0, 20)
          .join(", ") || "none"
      })`,
    );
  }
  return hit.id;
}

function passes(
  tags: Record<string, string>,
  filter: Record<string, string[]>,
  mode: "all" | "any",
): boolean {
  const hits = Object.entries(filter).map(([k, values]) => tags[k] !== undefined && values.includes(tags[k]));
  return mode === "all" ? hits.every(Boolean) : hits.some(Boolean);
}

/** Read the organisation and apply the configured filters. `throttle` paces every call. */
export async function discoverAccounts(
  client: OrganizationsClient,
  opts: OrganizationsConfig,
  throttle: () => Promise<void> = async () => {},
): Promise<Discovery> {
  const roots = await all("ListRoots", throttle, async (NextToken) => {
    const r = await client.send(new ListRootsCommand({ NextToken }));
    return { items: r.Roots ?? [], next: r.NextToken };
  });
  const rootId = roots[0]?.Id;
  if (!rootId) throw new GatehouseError("AWS_DENIED", "AWS Organizations ListRoots returned no root");
  const units: OrgUnitNode[] = [{ id: rootId, path: "", parentId: null }];
  for (let i = 0; i < units.length; i++) {
    const parent = units[i]!;
    const children = await all(
      `ListOrganizationalUnitsForParent ${parent.id}`,
      throttle,
      async (NextToken) => {
        const r = await client.send(
          new ListOrganizationalUnitsForParentCommand({ ParentId: parent.id, NextToken }),
        );
        return { items: r.OrganizationalUnits ?? [], next: r.NextToken };
      },
    );
    for (const c of children) {
      if (!c.Id) continue;
      units.push({
        id: c.Id,
        path: parent.path ? `${parent.path}/${c.Name}` : (c.Name ?? c.Id),
        parentId: parent.id,
      });
    }
  }
  const included = new Set(opts.include_ous.map((r) => resolve(r, units, rootId, "include_ous")));
  const excluded = new Set(opts.exclude_ous.map((r) => resolve(r, units, rootId, "exclude_ous")));
  const byId = new Map(units.map((u) => [u.id, u]));
  /** Whether an OU is in scope: the nearest included/excluded ancestor decides; exclusion wins a tie. */
  const scope = (id: string): SkippedAccount["reason"] | "in" => {
    let excludedHere = false;
    let includedHere = included.size === 0;
    for (let u = byId.get(id); u; u = u.parentId ? byId.get(u.parentId) : undefined) {
      if (excluded.has(u.id)) excludedHere = true;
      if (included.has(u.id)) includedHere = true;
    }
    return excludedHere ? "excluded-ou" : includedHere ? "in" : "outside-included-ous";
  };

  const accounts: DiscoveredAccount[] = [];
  const skipped: SkippedAccount[] = [];
  const candidates: { a: Account; unit: OrgUnitNode }[] = [];
  for (const unit of units) {
    const verdict = scope(unit.id);
    // Accounts of OUs wholly out of scope are not even listed (fewer calls); those of an excluded OU
    // inside an included one are, so that doctor can say why they are left out.
    if (verdict === "outside-included-ous") continue;
    const list = await all(`ListAccountsForParent ${unit.id}`, throttle, async (NextToken) => {
      const r = await client.send(new ListAccountsForParentCommand({ ParentId: unit.id, NextToken }));
      return { items: r.Accounts ?? [], next: r.NextToken };
    });
    for (const a of list) {
      if (!a.Id) continue;
      if (verdict !== "in") {
        skipped.push({ id: a.Id, name: a.Name ?? a.Id, ouPath: unit.path, reason: verdict });
        continue;
      }
      const state = a.State ?? a.Status;
      if (state !== "ACTIVE") {
        skipped.push({ id: a.Id, name: a.Name ?? a.Id, ouPath: unit.path, reason: "suspended" });
        continue;
      }
      candidates.push({ a, unit });
    }
  }

  const tagKey = opts.name_from.startsWith("tag:") ? opts.name_from.slice(4) : undefined;
  const needTags =
    tagKey !== undefined ||
    Object.keys(opts.include_tags).length > 0 ||
    Object.keys(opts.exclude_tags).length > 0;
  const tagsOf = new Map<string, Record<string, string>>();
  if (needTags) {
    const queue = [...candidates];
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        const id = c.a.Id!;
        const tags = await all(`ListTagsForResource ${id}`, throttle, async (NextToken) => {
          const r = await client.send(new ListTagsForResourceCommand({ ResourceId: id, NextToken }));
          return { items: r.Tags ?? [], next: r.NextToken };
        });
        tagsOf.set(id, Object.fromEntries(tags.map((t) => [t.Key ?? "", t.Value ?? ""])));
      }
    };
    await Promise.all(Array.from({ length: Math.min(TAG_CONCURRENCY, queue.length) }, worker));
  }
  for (const { a, unit } of candidates) {
    const id = a.Id!;
    const tags = tagsOf.get(id) ?? {};
    const accountName = a.Name ?? id;
    if (
      !passes(tags, opts.include_tags, "all") ||
      (Object.keys(opts.exclude_tags).length > 0 && passes(tags, opts.exclude_tags, "any"))
    ) {
      skipped.push({ id, name: accountName, ouPath: unit.path, reason: "tag-filter" });
      continue;
    }
    const tagged = tagKey !== undefined ? tags[tagKey]?.trim() : undefined;
    accounts.push({
      id,
      name: (tagged || accountName).slice(0, 64),
      accountName,
      ouId: unit.id,
      ouPath: unit.path,
      tags,
    });
  }
  accounts.sort((x, y) => (x.id < y.id ? -1 : 1));
  skipped.sort((x, y) => (x.id < y.id ? -1 : 1));
  return { rootId, units, accounts, skipped };
}
