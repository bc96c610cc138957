// IAM (2010-05-08) in the emulator: roles, users, tags and inline policies with AWS's validation,
// limits, paging and error codes; GetAccountAuthorizationDetails for bulk reads.

import { authorize } from "./authorize.ts";
import { AwsError, constraint, limitExceeded, noSuchEntity, validation } from "./errors.ts";
import type { Handler } from "./handler.ts";
import {
  attachedList,
  checkName,
  checkPolicyDocument,
  getRoleOrThrow,
  getUserOrThrow,
  inlineSizeAfter,
  mergeTags,
  PATH_RE,
  paginate,
  policyList,
  policyName,
  ROLE_POLICY_LIMIT,
  requiredTags,
  roleName,
  roleResource,
  roleXml,
  TAG_LIMIT,
  tagKeys,
  tagsXml,
  USER_POLICY_LIMIT,
  userName,
  userResource,
  userXml,
} from "./iam-common.ts";
import { groupsOf, IAM_GROUP_HANDLERS } from "./iam-groups.ts";
import {
  type AttachablePolicy,
  attachedAwsPolicies,
  findManagedPolicy,
  IAM_POLICY_HANDLERS,
  policyXml,
} from "./iam-policies.ts";
import {
  customerPolicyArn,
  type Group,
  groupArn,
  type Role,
  roleArn,
  stableId,
  type Tag,
  type User,
  userArn,
} from "./model.ts";
import { parsePolicy } from "./policy.ts";
import type { XmlValue } from "./query.ts";
import { checkTags, isoSeconds } from "./sts.ts";

export const IAM_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/";
export const IAM_VERSION = "2010-05-08";

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

const createUser: Handler = (c) => {
  const name = userName(c);
  const acct = c.caller.account;
  const path = c.params.optional("Path") ?? "/";
  checkName("path", path, 512, PATH_RE);
  const tags = checkTags(c.params.structs("Tags") ?? [], "tags");
  authorize(
    c.caller,
    "iam:CreateUser",
    `arn:aws:iam::${acct.id}:user${path}${name}`,
    requestTagContext(tags),
  );
  if (tags.length > TAG_LIMIT) throw limitExceeded(`Cannot exceed quota for TagsPerUser: ${TAG_LIMIT}`);
  if (acct.users.has(name.toLowerCase()))
    throw new AwsError("EntityAlreadyExists", 409, `User with name ${name} already exists.`);
  const user: User = {
    name,
    path,
    id: stableId("AIDA", acct.id, name, String(c.now)),
    createDate: isoSeconds(c.now),
    tags,
    inlinePolicies: {},
    managedPolicies: [],
    accessKeys: [],
    groups: [],
  };
  c.world.putUser(acct, user);
  c.mutated = true;
  return { User: userXml(acct, user, true) };
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
  const want = (kind: string) => filter.length === 0 || filter.includes(kind);
  type Item =
    | { kind: "U"; user: User }
    | { kind: "G"; group: Group }
    | { kind: "R"; role: Role }
    | { kind: "P"; policy: AttachablePolicy };
  const items: Item[] = [];
  if (want("User")) for (const user of c.world.sortedUsers(acct)) items.push({ kind: "U", user });
  if (want("Group")) {
    const groups = [...acct.groups.values()].sort((a, b) =>
      a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1,
    );
    for (const group of groups) items.push({ kind: "G", group });
  }
  if (want("Role")) for (const role of c.world.sortedRoles(acct)) items.push({ kind: "R", role });
  const policies: AttachablePolicy[] = [];
  if (want("LocalManagedPolicy"))
    for (const p of acct.policies.values())
      policies.push(findManagedPolicy(acct, customerPolicyArn(acct.id, p))!);
  if (want("AWSManagedPolicy"))
    for (const arn of attachedAwsPolicies(acct)) policies.push(findManagedPolicy(acct, arn)!);
  policies.sort((a, b) => (a.arn.toLowerCase() < b.arn.toLowerCase() ? -1 : 1));
  for (const policy of policies) items.push({ kind: "P", policy });
  // Users, groups, roles, policies in that order: key on an order-preserving prefix.
  const key = (i: Item) =>
    i.kind === "U"
      ? `0:${i.user.name}`
      : i.kind === "G"
        ? `1:${i.group.name}`
        : i.kind === "R"
          ? `2:${i.role.name}`
          : `3:${i.policy.arn}`;
  const { page, truncated, marker } = paginate(c, items, key);
  const users: XmlValue[] = [];
  const groups: XmlValue[] = [];
  const roles: XmlValue[] = [];
  const policyDetails: XmlValue[] = [];
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
        GroupList: groupsOf(acct, u).map((g) => g.name),
        AttachedManagedPolicies: attachedList(u.managedPolicies),
        Tags: tagsXml(u.tags),
      });
    } else if (item.kind === "G") {
      const g = item.group;
      groups.push({
        Path: g.path,
        GroupName: g.name,
        GroupId: g.id,
        Arn: groupArn(acct.id, g),
        CreateDate: g.createDate,
        GroupPolicyList: policyList(g.inlinePolicies),
        AttachedManagedPolicies: attachedList(g.managedPolicies),
      });
    } else if (item.kind === "R") {
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
    } else {
      const p = item.policy;
      const versions = p.customer?.versions ?? [
        { versionId: p.defaultVersionId, document: p.document, createDate: p.updateDate },
      ];
      const { Description: _d, ...summary } = policyXml(acct, p) as Record<string, XmlValue>;
      policyDetails.push({
        ...summary,
        PolicyVersionList: versions.map((v) => ({
          Document: encodeURIComponent(v.document),
          VersionId: v.versionId,
          IsDefaultVersion: v.versionId === p.defaultVersionId,
          CreateDate: v.createDate,
        })),
      });
    }
  }
  return {
    UserDetailList: users,
    GroupDetailList: groups,
    RoleDetailList: roles,
    Policies: policyDetails,
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
  CreateUser: createUser,
  ListUserTags: listUserTags,
  TagUser: tagUser,
  UntagUser: untagUser,
  ListUserPolicies: listUserPolicies,
  GetUserPolicy: getUserPolicy,
  PutUserPolicy: putUserPolicy,
  DeleteUserPolicy: deleteUserPolicy,
  ...IAM_POLICY_HANDLERS,
  ...IAM_GROUP_HANDLERS,
};
