// IAM groups in the emulator: CreateGroup, GetGroup, AddUserToGroup, RemoveUserFromGroup,
// ListGroupsForUser, and the group's inline and attached policies (which count for its members).

import { authorize } from "./authorize.ts";
import { AwsError, limitExceeded, noSuchEntity } from "./errors.ts";
import type { CallContext, Handler } from "./handler.ts";
import {
  attachedList,
  checkName,
  checkPolicyDocument,
  getUserOrThrow,
  PATH_RE,
  paginate,
  policyName,
  userName,
  userXml,
} from "./iam-common.ts";
import { findManagedPolicy, policyArnParam } from "./iam-policies.ts";
import { type Account, type Group, groupArn, stableId, type User } from "./model.ts";
import { policySize } from "./policy.ts";
import type { XmlValue } from "./query.ts";
import { isoSeconds } from "./sts.ts";

const groupName = (c: CallContext) => checkName("groupName", c.params.required("GroupName"), 128);

export function getGroupOrThrow(account: Account, name: string): Group {
  const g = account.groups.get(name.toLowerCase());
  if (!g) throw noSuchEntity(`The group with name ${name} cannot be found.`);
  return g;
}

/** The groups a user is in (names kept on the user; a deleted group drops out). */
export function groupsOf(account: Account, user: User): Group[] {
  const out: Group[] = [];
  for (const n of user.groups) {
    const g = account.groups.get(n.toLowerCase());
    if (g) out.push(g);
  }
  return out;
}

export function groupXml(account: Account, g: Group): XmlValue {
  return {
    Path: g.path,
    GroupName: g.name,
    GroupId: g.id,
    Arn: groupArn(account.id, g),
    CreateDate: g.createDate,
  };
}

const isMember = (u: User, g: Group) => u.groups.some((n) => n.toLowerCase() === g.name.toLowerCase());

const createGroup: Handler = (c) => {
  const name = groupName(c);
  const path = c.params.optional("Path") ?? "/";
  checkName("path", path, 512, PATH_RE);
  const acct = c.caller.account;
  authorize(c.caller, "iam:CreateGroup", `arn:aws:iam::${acct.id}:group${path}${name}`);
  if (acct.groups.has(name.toLowerCase()))
    throw new AwsError("EntityAlreadyExists", 409, `Group with name ${name} already exists.`);
  if (acct.groups.size >= acct.quotas.groups)
    throw limitExceeded(`Cannot exceed quota for GroupsPerAccount: ${acct.quotas.groups}`);
  const group: Group = {
    name,
    path,
    id: stableId("AGPA", acct.id, name, String(c.now)),
    createDate: isoSeconds(c.now),
    inlinePolicies: {},
    managedPolicies: [],
  };
  c.world.putGroup(acct, group);
  c.mutated = true;
  return { Group: groupXml(acct, group) };
};

const getGroup: Handler = (c) => {
  const name = groupName(c);
  const acct = c.caller.account;
  const group = getGroupOrThrow(acct, name);
  authorize(c.caller, "iam:GetGroup", groupArn(acct.id, group));
  const members = c.world.sortedUsers(acct).filter((u) => isMember(u, group));
  const { page, truncated, marker } = paginate(c, members, (u) => u.name);
  return {
    Group: groupXml(acct, group),
    Users: page.map((u) => userXml(acct, u, false)),
    IsTruncated: truncated,
    Marker: marker,
  };
};

const addUserToGroup: Handler = (c) => {
  const gName = groupName(c);
  const uName = userName(c);
  const acct = c.caller.account;
  const group = getGroupOrThrow(acct, gName);
  authorize(c.caller, "iam:AddUserToGroup", groupArn(acct.id, group));
  const user = getUserOrThrow(acct, uName);
  if (isMember(user, group)) return undefined;
  if (groupsOf(acct, user).length >= acct.quotas.groupsPerUser)
    throw limitExceeded(`Cannot exceed quota for GroupsPerUser: ${acct.quotas.groupsPerUser}`);
  user.groups = [...user.groups, group.name];
  c.mutated = true;
  return undefined;
};

const removeUserFromGroup: Handler = (c) => {
  const gName = groupName(c);
  const uName = userName(c);
  const acct = c.caller.account;
  const group = getGroupOrThrow(acct, gName);
  authorize(c.caller, "iam:RemoveUserFromGroup", groupArn(acct.id, group));
  const user = getUserOrThrow(acct, uName);
  if (!isMember(user, group)) throw noSuchEntity(`User ${user.name} is not in group ${group.name}.`);
  user.groups = user.groups.filter((n) => n.toLowerCase() !== group.name.toLowerCase());
  c.mutated = true;
  return undefined;
};

const listGroupsForUser: Handler = (c) => {
  const name = userName(c);
  const acct = c.caller.account;
  const user = getUserOrThrow(acct, name);
  authorize(c.caller, "iam:ListGroupsForUser", `arn:aws:iam::${acct.id}:user${user.path}${user.name}`);
  const groups = groupsOf(acct, user).sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1));
  const { page, truncated, marker } = paginate(c, groups, (g) => g.name);
  return { Groups: page.map((g) => groupXml(acct, g)), IsTruncated: truncated, Marker: marker };
};

const GROUP_POLICY_LIMIT = 5_120;

const putGroupPolicy: Handler = (c) => {
  const name = groupName(c);
  const pName = policyName(c);
  const acct = c.caller.account;
  const doc = checkPolicyDocument(c);
  const group = getGroupOrThrow(acct, name);
  authorize(c.caller, "iam:PutGroupPolicy", groupArn(acct.id, group));
  let total = policySize(doc);
  for (const [n, d] of Object.entries(group.inlinePolicies)) if (n !== pName) total += policySize(d);
  if (total > GROUP_POLICY_LIMIT)
    throw limitExceeded(
      `Maximum policy size of ${GROUP_POLICY_LIMIT} bytes exceeded for group ${group.name}`,
    );
  group.inlinePolicies = { ...group.inlinePolicies, [pName]: doc };
  c.mutated = true;
  return undefined;
};

const deleteGroupPolicy: Handler = (c) => {
  const name = groupName(c);
  const pName = policyName(c);
  const acct = c.caller.account;
  const group = getGroupOrThrow(acct, name);
  authorize(c.caller, "iam:DeleteGroupPolicy", groupArn(acct.id, group));
  if (!Object.hasOwn(group.inlinePolicies, pName))
    throw noSuchEntity(`The group policy with name ${pName} cannot be found.`);
  const { [pName]: _dropped, ...rest } = group.inlinePolicies;
  group.inlinePolicies = rest;
  c.mutated = true;
  return undefined;
};

const attachGroupPolicy: Handler = (c) => {
  const name = groupName(c);
  const arn = policyArnParam(c);
  const acct = c.caller.account;
  const group = getGroupOrThrow(acct, name);
  authorize(c.caller, "iam:AttachGroupPolicy", groupArn(acct.id, group), { "iam:PolicyARN": arn });
  if (!findManagedPolicy(acct, arn)) throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
  if (group.managedPolicies.includes(arn)) return undefined;
  const quota = acct.quotas.attachedPoliciesPerGroup;
  if (group.managedPolicies.length >= quota)
    throw limitExceeded(`Cannot exceed quota for PoliciesPerGroup: ${quota}`);
  group.managedPolicies = [...group.managedPolicies, arn];
  c.mutated = true;
  return undefined;
};

const detachGroupPolicy: Handler = (c) => {
  const name = groupName(c);
  const arn = policyArnParam(c);
  const acct = c.caller.account;
  const group = getGroupOrThrow(acct, name);
  authorize(c.caller, "iam:DetachGroupPolicy", groupArn(acct.id, group), { "iam:PolicyARN": arn });
  if (!group.managedPolicies.includes(arn)) throw noSuchEntity(`Policy ${arn} was not found.`);
  group.managedPolicies = group.managedPolicies.filter((a) => a !== arn);
  c.mutated = true;
  return undefined;
};

const listAttachedGroupPolicies: Handler = (c) => {
  const name = groupName(c);
  const acct = c.caller.account;
  const group = getGroupOrThrow(acct, name);
  authorize(c.caller, "iam:ListAttachedGroupPolicies", groupArn(acct.id, group));
  const { page, truncated, marker } = paginate(c, group.managedPolicies, (a) => a);
  return { AttachedPolicies: attachedList(page), IsTruncated: truncated, Marker: marker };
};

export const IAM_GROUP_HANDLERS: Record<string, Handler> = {
  CreateGroup: createGroup,
  GetGroup: getGroup,
  AddUserToGroup: addUserToGroup,
  RemoveUserFromGroup: removeUserFromGroup,
  ListGroupsForUser: listGroupsForUser,
  PutGroupPolicy: putGroupPolicy,
  DeleteGroupPolicy: deleteGroupPolicy,
  AttachGroupPolicy: attachGroupPolicy,
  DetachGroupPolicy: detachGroupPolicy,
  ListAttachedGroupPolicies: listAttachedGroupPolicies,
};
