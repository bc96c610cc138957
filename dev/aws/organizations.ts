// AWS Organizations (AWSOrganizationsV20161128, JSON 1.1): the read actions Gatehouse discovers accounts
// with, paged with NextToken/MaxResults, authorised like AWS (members of the organisation only, the
// management account or a delegated administrator for listings, and the caller's identity policies).

import { createHash } from "node:crypto";
import { authorize } from "./authorize.ts";
import { AwsError } from "./errors.ts";
import type { Account, Organization, OrgUnit, Tag, World } from "./model.ts";
import type { Caller } from "./sigv4.ts";

export const ORGANIZATIONS_TARGET_PREFIX = "AWSOrganizationsV20161128.";

export interface JsonCallContext {
  input: Record<string, unknown>;
  caller: Caller;
  world: World;
}
export type JsonHandler = (ctx: JsonCallContext) => Record<string, unknown>;

const JOINED = Date.parse("2024-01-01T00:00:00Z") / 1000;
const ROOT_RE = /^r-[0-9a-z]{4,32}$/;
const OU_RE = /^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/;
const ACCOUNT_RE = /^\d{12}$/;
const PAGE_MAX = 20;
/** Without MaxResults AWS may return fewer items than the maximum; callers must follow NextToken. */
const PAGE_DEFAULT = 10;

const invalidInput = (message: string, reason = "INVALID_INPUT") =>
  Object.assign(new AwsError("InvalidInputException", 400, message), { reason });

/** Stable lower-case ids ([a-z2-7]) for organisation entities built from names. */
export function orgId(kind: "o" | "r" | "ou", ...parts: string[]): string {
  const h = createHash("sha256").update(parts.join("\0")).digest();
  let s = "";
  for (let i = 0; i < 18; i++) s += "abcdefghijklmnopqrstuvwxyz234567"[h[i]! % 32];
  if (kind === "o") return `o-${s.slice(0, 10)}`;
  if (kind === "r") return `r-${s.slice(0, 4)}`;
  return `ou-${parts[0]!.slice(2)}-${s.slice(0, 8)}`;
}

function org(world: World, caller: Caller, listing: boolean): Organization {
  const o = world.organization;
  if (!o || !caller.account.org) {
    throw new AwsError(
      "AWSOrganizationsNotInUseException",
      400,
      "Your account is not a member of an organization.",
    );
  }
  const admin =
    caller.account.id === o.managementAccountId || o.delegatedAdministrators.includes(caller.account.id);
  if (listing && !admin) {
    throw new AwsError("AccessDeniedException", 400, "You don't have permissions to access this resource.");
  }
  return o;
}

const arns = (o: Organization) => ({
  account: (id: string) => `arn:aws:organizations::${o.managementAccountId}:account/${o.id}/${id}`,
  ou: (id: string) => `arn:aws:organizations::${o.managementAccountId}:ou/${o.id}/${id}`,
  root: () => `arn:aws:organizations::${o.managementAccountId}:root/${o.id}/${o.rootId}`,
});

function members(world: World): Account[] {
  return [...world.accounts.values()].filter((a) => a.org).sort((a, b) => (a.id < b.id ? -1 : 1));
}

function accountShape(o: Organization, a: Account): Record<string, unknown> {
  const m = a.org!;
  return {
    Id: a.id,
    Arn: arns(o).account(a.id),
    Email: m.email,
    Name: a.name,
    Status: m.status,
    State: m.status === "ACTIVE" ? "ACTIVE" : m.status === "SUSPENDED" ? "SUSPENDED" : "PENDING_CLOSURE",
    JoinedMethod: a.id === o.managementAccountId ? "CREATED" : "INVITED",
    JoinedTimestamp: JOINED,
  };
}

const ouShape = (o: Organization, u: OrgUnit) => ({ Id: u.id, Arn: arns(o).ou(u.id), Name: u.name });

function str(input: Record<string, unknown>, name: string, required: true): string;
function str(input: Record<string, unknown>, name: string, required: false): string | undefined;
function str(input: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const v = input[name];
  if (v === undefined || v === null) {
    if (!required) return undefined;
    throw invalidInput(`You provided a value that does not match the required pattern: ${name} is required.`);
  }
  if (typeof v !== "string") throw invalidInput(`${name} must be a string.`);
  return v;
}

/** Page a sorted list with MaxResults (1-20) and an opaque NextToken bound to the listing it came from. */
function page<T>(
  input: Record<string, unknown>,
  listing: string,
  items: T[],
): { items: T[]; next: string | undefined } {
  const max = input.MaxResults;
  if (max !== undefined && (typeof max !== "number" || !Number.isInteger(max) || max < 1 || max > PAGE_MAX)) {
    throw invalidInput(
      `1 validation error detected: Value '${String(max)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${PAGE_MAX}`,
      "INVALID_INPUT",
    );
  }
  const size = (max as number | undefined) ?? PAGE_DEFAULT;
  let start = 0;
  const token = str(input, "NextToken", false);
  if (token !== undefined) {
    const m = /^(\d{1,7}):(.+)$/.exec(Buffer.from(token, "base64url").toString("utf8"));
    if (!m || m[2] !== listing || Number(m[1]) > items.length) {
      throw invalidInput("The provided pagination token is not valid.", "INVALID_PAGINATION_TOKEN");
    }
    start = Number(m[1]);
  }
  const end = start + size;
  return {
    items: items.slice(start, end),
    next: end < items.length ? Buffer.from(`${end}:${listing}`).toString("base64url") : undefined,
  };
}

function withNext(out: Record<string, unknown>, next: string | undefined): Record<string, unknown> {
  return next === undefined ? out : { ...out, NextToken: next };
}

function parentOf(ctx: JsonCallContext, o: Organization): string {
  const id = str(ctx.input, "ParentId", true);
  if (!ROOT_RE.test(id) && !OU_RE.test(id)) {
    throw invalidInput(
      `You provided a value that does not match the required pattern: ParentId ${id} is not a root or OU id.`,
      "INVALID_PATTERN",
    );
  }
  if (id !== o.rootId && !o.units.has(id)) {
    throw new AwsError(
      "ParentNotFoundException",
      400,
      "We can't find a root or OU with the ParentId that you specified.",
    );
  }
  return id;
}

const check = (ctx: JsonCallContext, action: string, listing = true): Organization => {
  const o = org(ctx.world, ctx.caller, listing);
  authorize(ctx.caller, `organizations:${action}`, "*");
  return o;
};

const childOus = (o: Organization, parent: string) =>
  [...o.units.values()].filter((u) => u.parentId === parent).sort((a, b) => (a.id < b.id ? -1 : 1));
const childAccounts = (world: World, parent: string) =>
  members(world).filter((a) => a.org!.parentId === parent);

function tagsOf(world: World, o: Organization, id: string): Tag[] {
  if (ACCOUNT_RE.test(id)) {
    const a = world.accounts.get(id);
    if (a?.org) return a.org.tags;
  } else if (OU_RE.test(id)) {
    const u = o.units.get(id);
    if (u) return u.tags;
  } else if (id === o.rootId) {
    return [];
  } else if (!ROOT_RE.test(id)) {
    throw invalidInput(
      `You provided a value that does not match the required pattern: ResourceId ${id}.`,
      "INVALID_PATTERN",
    );
  }
  throw new AwsError(
    "TargetNotFoundException",
    400,
    "We can't find a target with the TargetId that you specified.",
  );
}

export const ORGANIZATIONS_HANDLERS: Record<string, JsonHandler> = {
  DescribeOrganization: (ctx) => {
    const o = check(ctx, "DescribeOrganization", false);
    const mgmt = ctx.world.accounts.get(o.managementAccountId);
    return {
      Organization: {
        Id: o.id,
        Arn: `arn:aws:organizations::${o.managementAccountId}:organization/${o.id}`,
        FeatureSet: "ALL",
        MasterAccountArn: arns(o).account(o.managementAccountId),
        MasterAccountId: o.managementAccountId,
        MasterAccountEmail: mgmt?.org?.email ?? "",
        AvailablePolicyTypes: [],
      },
    };
  },
  ListRoots: (ctx) => {
    const o = check(ctx, "ListRoots");
    const p = page(ctx.input, "roots", [o.rootId]);
    return withNext(
      { Roots: p.items.map((id) => ({ Id: id, Arn: arns(o).root(), Name: "Root", PolicyTypes: [] })) },
      p.next,
    );
  },
  ListAccounts: (ctx) => {
    const o = check(ctx, "ListAccounts");
    const p = page(ctx.input, "accounts", members(ctx.world));
    return withNext({ Accounts: p.items.map((a) => accountShape(o, a)) }, p.next);
  },
  ListAccountsForParent: (ctx) => {
    const o = check(ctx, "ListAccountsForParent");
    const parent = parentOf(ctx, o);
    const p = page(ctx.input, `accounts/${parent}`, childAccounts(ctx.world, parent));
    return withNext({ Accounts: p.items.map((a) => accountShape(o, a)) }, p.next);
  },
  ListOrganizationalUnitsForParent: (ctx) => {
    const o = check(ctx, "ListOrganizationalUnitsForParent");
    const parent = parentOf(ctx, o);
    const p = page(ctx.input, `ous/${parent}`, childOus(o, parent));
    return withNext({ OrganizationalUnits: p.items.map((u) => ouShape(o, u)) }, p.next);
  },
  ListChildren: (ctx) => {
    const o = check(ctx, "ListChildren");
    const parent = parentOf(ctx, o);
    const type = str(ctx.input, "ChildType", true);
    if (type !== "ACCOUNT" && type !== "ORGANIZATIONAL_UNIT") {
      throw invalidInput(
        `1 validation error detected: Value '${type}' at 'childType' failed to satisfy constraint: Member must satisfy enum value set: [ACCOUNT, ORGANIZATIONAL_UNIT]`,
      );
    }
    const ids =
      type === "ACCOUNT"
        ? childAccounts(ctx.world, parent).map((a) => a.id)
        : childOus(o, parent).map((u) => u.id);
    const p = page(ctx.input, `children/${type}/${parent}`, ids);
    return withNext({ Children: p.items.map((Id) => ({ Id, Type: type })) }, p.next);
  },
  ListParents: (ctx) => {
    const o = check(ctx, "ListParents");
    const child = str(ctx.input, "ChildId", true);
    let parent: string | undefined;
    if (ACCOUNT_RE.test(child)) parent = ctx.world.accounts.get(child)?.org?.parentId;
    else if (OU_RE.test(child)) parent = o.units.get(child)?.parentId;
    else {
      throw invalidInput(
        `You provided a value that does not match the required pattern: ChildId ${child}.`,
        "INVALID_PATTERN",
      );
    }
    if (!parent) {
      throw new AwsError(
        "ChildNotFoundException",
        400,
        "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.",
      );
    }
    const p = page(ctx.input, `parents/${child}`, [parent]);
    return withNext(
      { Parents: p.items.map((Id) => ({ Id, Type: Id === o.rootId ? "ROOT" : "ORGANIZATIONAL_UNIT" })) },
      p.next,
    );
  },
  ListTagsForResource: (ctx) => {
    const o = check(ctx, "ListTagsForResource");
    const id = str(ctx.input, "ResourceId", true);
    const p = page(ctx.input, `tags/${id}`, tagsOf(ctx.world, o, id));
    return withNext({ Tags: p.items }, p.next);
  },
};
