// Helpers every group of IAM actions in the emulator shares: AWS's name checks, paging markers,
// entity look-ups with AWS's NoSuchEntity messages, and the XML shapes of roles, users and policies.

import { checkField, constraint, limitExceeded, noSuchEntity, validation } from "./errors.ts";
import type { CallContext } from "./handler.ts";
import { managedPolicyName } from "./managed-policies.ts";
import { type Account, type Role, roleArn, type Tag, type User, userArn } from "./model.ts";
import { parsePolicy, policySize } from "./policy.ts";
import type { XmlValue } from "./query.ts";
import { checkTags } from "./sts.ts";

export const ROLE_POLICY_LIMIT = 10_240;
export const USER_POLICY_LIMIT = 2_048;
export const TAG_LIMIT = 50;
export const NAME_RE = /^[\w+=,.@-]+$/;
export const PATH_RE = /^(\/|\/[\u0021-\u007E]+\/)$/;

export function checkName(field: string, value: string, max: number, re = NAME_RE): string {
  return checkField(field, value, 1, max, re);
}

export const roleName = (c: CallContext) => checkName("roleName", c.params.required("RoleName"), 64);
export const userName = (c: CallContext) => checkName("userName", c.params.required("UserName"), 64);
export const policyName = (c: CallContext) => checkName("policyName", c.params.required("PolicyName"), 128);

export function roleResource(account: Account, name: string): string {
  const r = account.roles.get(name.toLowerCase());
  return r ? roleArn(account.id, r) : `arn:aws:iam::${account.id}:role/${name}`;
}
export function userResource(account: Account, name: string): string {
  const u = account.users.get(name.toLowerCase());
  return u ? userArn(account.id, u) : `arn:aws:iam::${account.id}:user/${name}`;
}

export function getRoleOrThrow(account: Account, name: string): Role {
  const r = account.roles.get(name.toLowerCase());
  if (!r) throw noSuchEntity(`The role with name ${name} cannot be found.`);
  return r;
}
export function getUserOrThrow(account: Account, name: string): User {
  const u = account.users.get(name.toLowerCase());
  if (!u) throw noSuchEntity(`The user with name ${name} cannot be found.`);
  return u;
}

export const tagsXml = (tags: Tag[]) =>
  tags.length > 0 ? tags.map((t) => ({ Key: t.Key, Value: t.Value })) : undefined;

export function roleXml(account: Account, r: Role, withTags: boolean): XmlValue {
  return {
    Path: r.path,
    RoleName: r.name,
    RoleId: r.id,
    Arn: roleArn(account.id, r),
    CreateDate: r.createDate,
    AssumeRolePolicyDocument: encodeURIComponent(r.trustPolicy),
    Description: r.description,
    MaxSessionDuration: r.maxSessionDuration,
    Tags: withTags ? tagsXml(r.tags) : undefined,
    RoleLastUsed: {},
  };
}

export function userXml(account: Account, u: User, withTags: boolean): XmlValue {
  return {
    Path: u.path,
    UserName: u.name,
    UserId: u.id,
    Arn: userArn(account.id, u),
    CreateDate: u.createDate,
    Tags: withTags ? tagsXml(u.tags) : undefined,
  };
}

/** Stable, opaque paging: the marker names the last item returned. */
export function paginate<T>(c: CallContext, items: readonly T[], key: (t: T) => string, defaultMax = 100) {
  const max = c.params.int("MaxItems", 1, 1000) ?? defaultMax;
  const marker = c.params.optional("Marker");
  let start = 0;
  if (marker !== undefined) {
    const after = decodeMarker(marker);
    start = lowerBound(items, key, after);
  }
  const page = items.slice(start, start + max);
  const truncated = start + max < items.length;
  return { page, truncated, marker: truncated ? encodeMarker(key(page[page.length - 1]!)) : undefined };
}

export function encodeMarker(s: string): string {
  return Buffer.from(`v1:${s}`).toString("base64url");
}
export function decodeMarker(m: string): string {
  const s = Buffer.from(m, "base64url").toString();
  if (!s.startsWith("v1:")) throw validation("Invalid Marker.");
  return s.slice(3);
}
/** First index whose key sorts after `after` (items are sorted by lower-cased key). */
export function lowerBound<T>(items: readonly T[], key: (t: T) => string, after: string): number {
  const target = after.toLowerCase();
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(items[mid]!).toLowerCase() <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function checkPolicyDocument(c: CallContext): string {
  const doc = c.params.required("PolicyDocument");
  if (doc.length > 131_072)
    throw constraint("policyDocument", doc, "Member must have length less than or equal to 131072");
  parsePolicy(doc, "identity");
  return doc;
}

export function mergeTags(existing: Tag[], added: Tag[], limitName: string): Tag[] {
  const out = [...existing];
  for (const t of added) {
    const i = out.findIndex((o) => o.Key.toLowerCase() === t.Key.toLowerCase());
    if (i >= 0) out[i] = t;
    else out.push(t);
  }
  if (out.length > TAG_LIMIT) throw limitExceeded(`Cannot exceed quota for ${limitName}: ${TAG_LIMIT}`);
  return out;
}

export function tagKeys(c: CallContext): string[] {
  const keys = c.params.list("TagKeys");
  if (!keys) return c.params.required("TagKeys") as never;
  if (keys.length > 50)
    throw constraint("tagKeys", `${keys.length} keys`, "Member must have length less than or equal to 50");
  return keys.map((k, i) => checkName(`tagKeys.${i + 1}.member`, k, 128, /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u));
}

export function requiredTags(c: CallContext): Tag[] {
  const raw = c.params.structs("Tags");
  if (!raw) return c.params.required("Tags") as never;
  if (raw.length > 50)
    throw constraint("tags", `${raw.length} tags`, "Member must have length less than or equal to 50");
  return checkTags(raw, "tags");
}

export function inlineSizeAfter(policies: Record<string, string>, name: string, doc: string): number {
  let total = policySize(doc);
  for (const [n, d] of Object.entries(policies)) if (n !== name) total += policySize(d);
  return total;
}

export function policyList(policies: Record<string, string>): XmlValue {
  return Object.entries(policies).map(([PolicyName, d]) => ({
    PolicyName,
    PolicyDocument: encodeURIComponent(d),
  }));
}
export function attachedList(arns: string[]): XmlValue {
  return arns.map((PolicyArn) => ({ PolicyName: managedPolicyName(PolicyArn), PolicyArn }));
}
