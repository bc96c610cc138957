// IAM (2010-05-08) in the emulator: roles, users, tags and inline policies with AWS's validation,
// limits, paging and error codes; GetAccountAuthorizationDetails for bulk reads.

import { authorize } from "./authorize.ts";
import { AwsError, checkField, constraint, limitExceeded, noSuchEntity, validation } from "./errors.ts";
import type { CallContext, Handler } from "./handler.ts";
import { managedPolicyName } from "./managed-policies.ts";
import { type Account, type Role, roleArn, stableId, type Tag, type User, userArn } from "./model.ts";
import { parsePolicy, policySize } from "./policy.ts";
import type { XmlValue } from "./query.ts";
import { checkTags, isoSeconds } from "./sts.ts";

export const IAM_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/";
export const IAM_VERSION = "2010-05-08";

const ROLE_POLICY_LIMIT = 10_240;
const USER_POLICY_LIMIT = 2_048;
const TAG_LIMIT = 50;
const NAME_RE = /^[\w+=,.@-]+$/;
const PATH_RE = /^(\/|\/[\u0021-\u007E]+\/)$/;

function checkName(field: string, value: string, max: number, re = NAME_RE): string {
  return checkField(field, value, 1, max, re);
}

const roleName = (c: CallContext) => checkName("roleName", c.params.required("RoleName"), 64);
const userName = (c: CallContext) => checkName("userName", c.params.required("UserName"), 64);
const policyName = (c: CallContext) => checkName("policyName", c.params.required("PolicyName"), 128);

function roleResource(account: Account, name: string): string {
  const r = account.roles.get(name.toLowerCase());
  return r ? roleArn(account.id, r) : `arn:aws:iam::${account.id}:role/${name}`;
}
function userResource(account: Account, name: string): string {
  const u = account.users.get(name.toLowerCase());
  return u ? userArn(account.id, u) : `arn:aws:iam::${account.id}:user/${name}`;
}

function getRoleOrThrow(account: Account, name: string): Role {
  const r = account.roles.get(name.toLowerCase());
  if (!r) throw noSuchEntity(`The role with name ${name} cannot be found.`);
  return r;
}
function getUserOrThrow(account: Account, name: string): User {
  const u = account.users.get(name.toLowerCase());
  if (!u) throw noSuchEntity(`The user with name ${name} cannot be found.`);
  return u;
}

const tagsXml = (tags: Tag[]) =>
  tags.length > 0 ? tags.map((t) => ({ Key: t.Key, Value: t.Value })) : undefined;

function roleXml(account: Account, r: Role, withTags: boolean): XmlValue {
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

function userXml(account: Account, u: User, withTags: boolean): XmlValue {
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
function paginate<T>(c: CallContext, items: readonly T[], key: (t: T) => string, defaultMax = 100) {
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

function encodeMarker(s: string): string {
  return Buffer.from(`v1:${s}`).toString("base64url");
}
function decodeMarker(m: string): string {
  const s = Buffer.from(m, "base64url").toString();
  if (!s.startsWith("v1:")) throw validation("Invalid Marker.");
  return s.slice(3);
}
/** First index whose key sorts after `after` (items are sorted by lower-cased key). */
function lowerBound<T>(items: readonly T[], key: (t: T) => string, after: string): number {
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

function checkPolicyDocument(c: CallContext): string {
  const doc = c.params.required("PolicyDocument");
  if (doc.length > 131_072)
    throw constraint("policyDocument", doc, "Member must have length less than or equal to 131072");
  parsePolicy(doc, "identity");
  return doc;
}

function mergeTags(existing: Tag[], added: Tag[], limitName: string): Tag[] {
  const out = [...existing];
  for (const t of added) {
    const i = out.findIndex((o) => o.Key.toLowerCase() === t.Key.toLowerCase());
    if (i >= 0) out[i] = t;
    else out.push(t);
  }
  if (out.length > TAG_LIMIT) throw limitExceeded(`Cannot exceed quota for ${limitName}: ${TAG_LIMIT}`);
  return out;
}

function tagKeys(c: CallContext): string[] {
  const keys = c.params.list("TagKeys");
  if (!keys) return c.params.required("TagKeys") as never;
  if (keys.length > 50)
    throw constraint("tagKeys", `${keys.length} keys`, "Member must have length less than or equal to 50");
  return keys.map((k, i) => checkName(`tagKeys.${i + 1}.member`, k, 128, /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u));
}

function requiredTags(c: CallContext): Tag[] {
  const raw = c.params.structs("Tags");
  if (!raw) return c.params.required("Tags") as never;
  if (raw.length > 50)
    throw constraint("tags", `${raw.length} tags`, "Member must have length less than or equal to 50");
  return checkTags(raw, "tags");
}

function inlineSizeAfter(policies: Record<string, string>, name: string, doc: string): number {
  let total = policySize(doc);
  for (const [n, d] of Object.entries(policies)) if (n !== name) total += policySize(d);
  return total;
}

function policyList(policies: Record<string, string>): XmlValue {
  return Object.entries(policies).map(([PolicyName, d]) => ({
    PolicyName,
    PolicyDocument: encodeURIComponent(d),
  }));
}
function attachedList(arns: string[]): XmlValue {
  return arns.map((PolicyArn) => ({ PolicyName: managedPolicyName(PolicyArn), PolicyArn }));
}

// ----- roles

const listRoles: Handler = (c) => {
  const acct = c.caller.account;
  authorize(c.caller, "iam:ListRoles", `arn:aws:iam::${acct.id}:role/`);
  const prefix = c.params.optional("PathPrefix") ?? "/";
  const roles = c.world.sortedRoles(acct).filter((r) => r.path.startsWith(prefix));
  const { page, truncated, marker } = paginate(c, roles, (r) => r.name);
  return { Roles: page.map((r) => roleXml(acct, r, false)), IsTruncated: truncated, Marker: marker };
};

const getRole: Handler = (c) => {
  const name = roleName(c);
  const acct = c.caller.account;
  authorize(c.caller, "iam:GetRole", roleResource(acct, name));
  return { Role: roleXml(acct, getRoleOrThrow(acct, name), true) };
};

const createRole: Handler = (c) => {
  const name = roleName(c);
  const acct = c.caller.account;
  const path = c.params.optional("Path") ?? "/";
  checkName("path", path, 512, PATH_RE);
  authorize(c.caller, "iam:CreateRole", `arn:aws:iam::${acct.id}:role${path}${name}`);
  const trust = c.params.required("AssumeRolePolicyDocument");
  if (trust.length > 131_072)
    throw constraint(
      "assumeRolePolicyDocument",
      trust,
      "Member must have length less than or equal to 131072",
    );
  parsePolicy(trust, "trust");
  const description = c.params.optional("Description");
  if (description !== undefined && description.length > 1000) {
    throw constraint("description", description, "Member must have length less than or equal to 1000");
  }
  const maxSession = c.params.int("MaxSessionDuration", 3600, 43200) ?? 3600;
  const tags = checkTags(c.params.structs("Tags") ?? [], "tags");
  if (tags.length > TAG_LIMIT) throw limitExceeded(`Cannot exceed quota for TagsPerRole: ${TAG_LIMIT}`);
  if (acct.roles.has(name.toLowerCase())) {
    throw new AwsError("EntityAlreadyExists", 409, `Role with name ${name} already exists.`);
  }
  const role: Role = {
    name,
    path,
    id: stableId("AROA", acct.id, name, String(c.now)),
    createDate: isoSeconds(c.now),
    ...(description !== undefined ? { description } : {}),
    maxSessionDuration: maxSession,
    tags,
    trustPolicy: trust,
    inlinePolicies: {},
    managedPolicies: [],
  };
  c.world.putRole(acct, role);
  c.mutated = true;
  return { Role: roleXml(acct, role, true) };
};

const updateAssumeRolePolicy: Handler = (c) => {
  const name = roleName(c);
  const acct = c.caller.account;
  const role = getRoleOrThrow(acct, name);
  authorize(c.caller, "iam:UpdateAssumeRolePolicy", roleArn(acct.id, role));
  const trust = c.params.required("PolicyDocument");
  if (trust.length > 131_072)
    throw constraint("policyDocument", trust, "Member must have length less than or equal to 131072");
  parsePolicy(trust, "trust");
  role.trustPolicy = trust;
  c.mutated = true;
  return undefined;
};

const deleteRole: Handler = (c) => {
  const name = roleName(c);
  const acct = c.caller.account;
  authorize(c.caller, "iam:DeleteRole", roleResource(acct, name));
  const role = getRoleOrThrow(acct, name);
  if (Object.keys(role.inlinePolicies).length > 0) {
    throw new AwsError("DeleteConflict", 409, "Cannot delete entity, must delete policies first.");
  }
  if (role.managedPolicies.length > 0) {
    throw new AwsError("DeleteConflict", 409, "Cannot delete entity, must detach all policies first.");
  }
  c.world.deleteRole(acct, name);
  c.mutated = true;
  return undefined;
};

const listRoleTags: Handler = (c) => {
  const name = roleName(c);
  const acct = c.caller.account;
  authorize(c.caller, "iam:ListRoleTags", roleResource(acct, name));
  const role = getRoleOrThrow(acct, name);
  const { page, truncated, marker } = paginate(c, role.tags, (t) => t.Key);
  return { Tags: page.map((t) => ({ Key: t.Key, Value: t.Value })), IsTruncated: truncated, Marker: marker };
};

const tagRole: Handler = (c) => {
  const name = roleName(c);
  const acct = c.caller.account;
  const tags = requiredTags(c);
  authorize(c.caller, "iam:TagRole", roleResource(acct, name), requestTagContext(tags));
  const role = getRoleOrThrow(acct, name);
  role.tags = mergeTags(role.tags, tags, "TagsPerRole");
  c.mutated = true;
  return undefined;
};

const untagRole: Handler = (c) => {
  const name = roleName(c);
  const acct = c.caller.account;
  const keys = tagKeys(c);
  authorize(c.caller, "iam:UntagRole", roleResource(acct, name), { "aws:TagKeys": keys });
  const role = getRoleOrThrow(acct, name);
  const drop = new Set(keys.map((k) => k.toLowerCase()));
  role.tags = role.tags.filter((t) => !drop.has(t.Key.toLowerCase()));
  c.mutated = true;
  return undefined;
};

const listRolePolicies: Handler = (c) => {
  const name = roleName(c);
  const acct = c.caller.account;
  authorize(c.caller, "iam:ListRolePolicies", roleResource(acct, name));
  const role = getRoleOrThrow(acct, name);
  const names = Object.keys(role.inlinePolicies).sort();
  const { page, truncated, marker } = paginate(c, names, (n) => n);
  return { PolicyNames: page, IsTruncated: truncated, Marker: marker };
};

const listAttachedRolePolicies: Handler = (c) => {
  const name = roleName(c);
  const acct = c.caller.account;
  authorize(c.caller, "iam:ListAttachedRolePolicies", roleResource(acct, name));
  const role = getRoleOrThrow(acct, name);
  const { page, truncated, marker } = paginate(c, role.managedPolicies, (a) => a);
  return { AttachedPolicies: attachedList(page), IsTruncated: truncated, Marker: marker };
};

const getRolePolicy: Handler = (c) => {
  const name = roleName(c);
  const pName = policyName(c);
  const acct = c.caller.account;
  authorize(c.caller, "iam:GetRolePolicy", roleResource(acct, name));
  const role = getRoleOrThrow(acct, name);
  const doc = role.inlinePolicies[pName];
  if (doc === undefined) throw noSuchEntity(`The role policy with name ${pName} cannot be found.`);
  return { RoleName: role.name, PolicyName: pName, PolicyDocument: encodeURIComponent(doc) };
};

const putRolePolicy: Handler = (c) => {
  const name = roleName(c);
  const pName = policyName(c);
  const acct = c.caller.account;
  const doc = checkPolicyDocument(c);
  authorize(c.caller, "iam:PutRolePolicy", roleResource(acct, name));
  const role = getRoleOrThrow(acct, name);
  if (inlineSizeAfter(role.inlinePolicies, pName, doc) > ROLE_POLICY_LIMIT) {
    throw limitExceeded(`Maximum policy size of ${ROLE_POLICY_LIMIT} bytes exceeded for role ${role.name}`);
  }
  role.inlinePolicies = { ...role.inlinePolicies, [pName]: doc };
  c.mutated = true;
  return undefined;
};

const deleteRolePolicy: Handler = (c) => {
  const name = roleName(c);
  const pName = policyName(c);
  const acct = c.caller.account;
  authorize(c.caller, "iam:DeleteRolePolicy", roleResource(acct, name));
  const role = getRoleOrThrow(acct, name);
  if (role.inlinePolicies[pName] === undefined)
    throw noSuchEntity(`The role policy with name ${pName} cannot be found.`);
  const { [pName]: _dropped, ...rest } = role.inlinePolicies;
  role.inlinePolicies = rest;
  c.mutated = true;
  return undefined;
};

// ----- users

const listUsers: Handler = (c) => {
  const acct = c.caller.account;
  authorize(c.caller, "iam:ListUsers", `arn:aws:iam::${acct.id}:user/`);
  const prefix = c.params.optional("PathPrefix") ?? "/";
  const users = c.world.sortedUsers(acct).filter((u) => u.path.startsWith(prefix));
  const { page, truncated, marker } = paginate(c, users, (u) => u.name);
  return { Users: page.map((u) => userXml(acct, u, false)), IsTruncated: truncated, Marker: marker };
};

const getUser: Handler = (c) => {
  const acct = c.caller.account;
  const given = c.params.optional("UserName");
  if (given === undefined) {
    if (!c.caller.user) throw validation("Must specify userName when calling with non-User credentials");
    return { User: userXml(acct, c.caller.user, true) };
  }
  const name = checkName("userName", given, 64);
  authorize(c.caller, "iam:GetUser", userResource(acct, name));
  return { User: userXml(acct, getUserOrThrow(acct, name), true) };
};

const listUserTags: Handler = (c) => {
  const name = userName(c);
  const acct = c.caller.account;
  authorize(c.caller, "iam:ListUserTags", userResource(acct, name));
  const user = getUserOrThrow(acct, name);
  const { page, truncated, marker } = paginate(c, user.tags, (t) => t.Key);
  return { Tags: page.map((t) => ({ Key: t.Key, Value: t.Value })), IsTruncated: truncated, Marker: marker };
};

const tagUser: Handler = (c) => {
  const name = userName(c);
  const acct = c.caller.account;
  const tags = requiredTags(c);
  authorize(c.caller, "iam:TagUser", userResource(acct, name), requestTagContext(tags));
  const user = getUserOrThrow(acct, name);
  user.tags = mergeTags(user.tags, tags, "TagsPerUser");
  c.mutated = true;
  return undefined;
};

const untagUser: Handler = (c) => {
  const name = userName(c);
  const acct = c.caller.account;
  const keys = tagKeys(c);
  authorize(c.caller, "iam:UntagUser", userResource(acct, name), { "aws:TagKeys": keys });
  const user = getUserOrThrow(acct, name);
  const drop = new Set(keys.map((k) => k.toLowerCase()));
  user.tags = user.tags.filter((t) => !drop.has(t.Key.toLowerCase()));
  c.mutated = true;
  return undefined;
};

const listUserPolicies: Handler = (c) => {
  const name = userName(c);
  const acct = c.caller.account;
  authorize(c.caller, "iam:ListUserPolicies", userResource(acct, name));
  const user = getUserOrThrow(acct, name);
  const names = Object.keys(user.inlinePolicies).sort();
  const { page, truncated, marker } = paginate(c, names, (n) => n);
  return { PolicyNames: page, IsTruncated: truncated, Marker: marker };
};

const getUserPolicy: Handler = (c) => {
  const name = userName(c);
  const pName = policyName(c);
  const acct = c.caller.account;
  authorize(c.caller, "iam:GetUserPolicy", userResource(acct, name));
  const user = getUserOrThrow(acct, name);
  const doc = user.inlinePolicies[pName];
  if (doc === undefined) throw noSuchEntity(`The user policy with name ${pName} cannot be found.`);
  return { UserName: user.name, PolicyName: pName, PolicyDocument: encodeURIComponent(doc) };
};

const putUserPolicy: Handler = (c) => {
  const name = userName(c);
  const pName = policyName(c);
  const acct = c.caller.account;
  const doc = checkPolicyDocument(c);
  authorize(c.caller, "iam:PutUserPolicy", userResource(acct, name));
  const user = getUserOrThrow(acct, name);
  if (inlineSizeAfter(user.inlinePolicies, pName, doc) > USER_POLICY_LIMIT) {
    throw limitExceeded(`Maximum policy size of ${USER_POLICY_LIMIT} bytes exceeded for user ${user.name}`);
  }
  user.inlinePolicies = { ...user.inlinePolicies, [pName]: doc };
  c.mutated = true;
  return undefined;
};

const deleteUserPolicy: Handler = (c) => {
  const name = userName(c);
  const pName = policyName(c);
  const acct = c.caller.account;
  authorize(c.caller, "iam:DeleteUserPolicy", userResource(acct, name));
  const user = getUserOrThrow(acct, name);
  if (user.inlinePolicies[pName] === undefined)
    throw noSuchEntity(`The user policy with name ${pName} cannot be found.`);
  const { [pName]: _dropped, ...rest } = user.inlinePolicies;
  user.inlinePolicies = rest;
  c.mutated = true;
  return undefined;
};

function requestTagContext(tags: Tag[]) {
  const ctx: Record<string, string | string[]> = { "aws:TagKeys": tags.map((t) => t.Key) };
  for (const t of tags) ctx[`aws:RequestTag/${t.Key}`] = t.Value;
  return ctx;
}

// ----- bulk read

const ENTITY_FILTERS = new Set(["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]);

const getAccountAuthorizationDetails: Handler = (c) => {
  const acct = c.caller.account;
  authorize(c.caller, "iam:GetAccountAuthorizationDetails", "*");
  const filter = c.params.list("Filter") ?? [];
  for (const f of filter) {
    if (!ENTITY_FILTERS.has(f)) {
      throw constraint(
        "filter",
        f,
        "Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]",
      );
    }
  }
  const wantUsers = filter.length === 0 || filter.includes("User");
  const wantRoles = filter.length === 0 || filter.includes("Role");
  type Item = { kind: "U"; user: User } | { kind: "R"; role: Role };
  const items: Item[] = [];
  if (wantUsers) for (const user of c.world.sortedUsers(acct)) items.push({ kind: "U", user });
  if (wantRoles) for (const role of c.world.sortedRoles(acct)) items.push({ kind: "R", role });
  // Users sort before roles: "U:" and "R:" prefixes would not, so key on an order-preserving tag.
  const key = (i: Item) => (i.kind === "U" ? `0:${i.user.name}` : `1:${i.role.name}`);
  const { page, truncated, marker } = paginate(c, items, key);
  const users: XmlValue[] = [];
  const roles: XmlValue[] = [];
  for (const item of page) {
    if (item.kind === "U") {
      const u = item.user;
      users.push({
        Path: u.path,
        UserName: u.name,
        UserId: u.id,
        Arn: userArn(acct.id, u),
        CreateDate: u.createDate,
        UserPolicyList: policyList(u.inlinePolicies),
        GroupList: [],
        AttachedManagedPolicies: attachedList(u.managedPolicies),
        Tags: tagsXml(u.tags),
      });
    } else {
      const r = item.role;
      roles.push({
        Path: r.path,
        RoleName: r.name,
        RoleId: r.id,
        Arn: roleArn(acct.id, r),
        CreateDate: r.createDate,
        AssumeRolePolicyDocument: encodeURIComponent(r.trustPolicy),
        InstanceProfileList: [],
        RolePolicyList: policyList(r.inlinePolicies),
        AttachedManagedPolicies: attachedList(r.managedPolicies),
        Tags: tagsXml(r.tags),
        RoleLastUsed: {},
      });
    }
  }
  return {
    UserDetailList: users,
    GroupDetailList: [],
    RoleDetailList: roles,
    Policies: [],
    IsTruncated: truncated,
    Marker: marker,
  };
};

export const IAM_HANDLERS: Record<string, Handler> = {
  GetAccountAuthorizationDetails: getAccountAuthorizationDetails,
  ListRoles: listRoles,
  GetRole: getRole,
  CreateRole: createRole,
  DeleteRole: deleteRole,
  UpdateAssumeRolePolicy: updateAssumeRolePolicy,
  ListRoleTags: listRoleTags,
  TagRole: tagRole,
  UntagRole: untagRole,
  ListRolePolicies: listRolePolicies,
  ListAttachedRolePolicies: listAttachedRolePolicies,
  GetRolePolicy: getRolePolicy,
  PutRolePolicy: putRolePolicy,
  DeleteRolePolicy: deleteRolePolicy,
  ListUsers: listUsers,
  GetUser: getUser,
  ListUserTags: listUserTags,
  TagUser: tagUser,
  UntagUser: untagUser,
  ListUserPolicies: listUserPolicies,
  GetUserPolicy: getUserPolicy,
  PutUserPolicy: putUserPolicy,
  DeleteUserPolicy: deleteUserPolicy,
};
