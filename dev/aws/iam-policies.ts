// Managed policies in the emulator: customer-managed CreatePolicy/GetPolicy/GetPolicyVersion/ListPolicies,
// attaching and detaching them (and AWS-managed ones) to roles and users within the account's quotas,
// and GetAccountSummary with those quotas.

import { authorize } from "./authorize.ts";
import { AwsError, checkField, constraint, limitExceeded, noSuchEntity } from "./errors.ts";
import type { CallContext, Handler } from "./handler.ts";
import {
  attachedList,
  checkName,
  checkPolicyDocument,
  getRoleOrThrow,
  getUserOrThrow,
  PATH_RE,
  paginate,
  roleName,
  userName,
} from "./iam-common.ts";
import {
  type AttachablePolicy,
  awsManagedPolicy,
  findManagedPolicy,
  POLICY_ARN_RE,
} from "./managed-policies.ts";
import { type Account, type CustomerPolicy, customerPolicyArn, roleArn, stableId, userArn } from "./model.ts";

export { type AttachablePolicy, findManagedPolicy };

import { XmlEntries, type XmlValue } from "./query.ts";
import { isoSeconds } from "./sts.ts";

/** The PolicyArn parameter, checked as AWS checks it (length, then shape: InvalidInput). */
export function policyArnParam(c: CallContext): string {
  const arn = c.params.required("PolicyArn");
  checkField("policyArn", arn, 20, 2048, /^[\s\S]*$/);
  if (!POLICY_ARN_RE.test(arn)) throw new AwsError("InvalidInput", 400, `ARN ${arn} is not valid.`);
  return arn;
}

const notAttachable = (arn: string) => noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);

/** Every entity in the account a policy is attached to (AttachmentCount). */
function attachmentCount(account: Account, arn: string): number {
  let n = 0;
  for (const r of account.roles.values()) if (r.managedPolicies.includes(arn)) n++;
  for (const u of account.users.values()) if (u.managedPolicies.includes(arn)) n++;
  for (const g of account.groups.values()) if (g.managedPolicies.includes(arn)) n++;
  return n;
}

export function policyXml(account: Account, p: AttachablePolicy): XmlValue {
  return {
    PolicyName: p.name,
    PolicyId: p.customer?.id ?? stableId("ANPA", p.arn),
    Arn: p.arn,
    Path: p.path,
    DefaultVersionId: p.defaultVersionId,
    AttachmentCount: attachmentCount(account, p.arn),
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: true,
    Description: p.customer?.description,
    CreateDate: p.createDate,
    UpdateDate: p.updateDate,
  };
}

/** Attach `arn` to a list of attachments within `quota`; attaching twice is a no-op, as in IAM. */
function attach(list: string[], arn: string, quota: number, quotaName: string): string[] | undefined {
  if (list.includes(arn)) return undefined;
  if (list.length >= quota) throw limitExceeded(`Cannot exceed quota for ${quotaName}: ${quota}`);
  return [...list, arn];
}

function detach(list: string[], arn: string): string[] {
  if (!list.includes(arn)) throw noSuchEntity(`Policy ${arn} was not found.`);
  return list.filter((a) => a !== arn);
}

// ----- attach / detach

const attachRolePolicy: Handler = (c) => {
  const name = roleName(c);
  const arn = policyArnParam(c);
  const acct = c.caller.account;
  const role = getRoleOrThrow(acct, name);
  authorize(c.caller, "iam:AttachRolePolicy", roleArn(acct.id, role), { "iam:PolicyARN": arn });
  if (!findManagedPolicy(acct, arn)) throw notAttachable(arn);
  const next = attach(role.managedPolicies, arn, acct.quotas.attachedPoliciesPerRole, "PoliciesPerRole");
  if (next) {
    role.managedPolicies = next;
    c.mutated = true;
  }
  return undefined;
};

const detachRolePolicy: Handler = (c) => {
  const name = roleName(c);
  const arn = policyArnParam(c);
  const acct = c.caller.account;
  const role = getRoleOrThrow(acct, name);
  authorize(c.caller, "iam:DetachRolePolicy", roleArn(acct.id, role), { "iam:PolicyARN": arn });
  role.managedPolicies = detach(role.managedPolicies, arn);
  c.mutated = true;
  return undefined;
};

const attachUserPolicy: Handler = (c) => {
  const name = userName(c);
  const arn = policyArnParam(c);
  const acct = c.caller.account;
  const user = getUserOrThrow(acct, name);
  authorize(c.caller, "iam:AttachUserPolicy", userArn(acct.id, user), { "iam:PolicyARN": arn });
  if (!findManagedPolicy(acct, arn)) throw notAttachable(arn);
  const next = attach(user.managedPolicies, arn, acct.quotas.attachedPoliciesPerUser, "PoliciesPerUser");
  if (next) {
    user.managedPolicies = next;
    c.mutated = true;
  }
  return undefined;
};

const detachUserPolicy: Handler = (c) => {
  const name = userName(c);
  const arn = policyArnParam(c);
  const acct = c.caller.account;
  const user = getUserOrThrow(acct, name);
  authorize(c.caller, "iam:DetachUserPolicy", userArn(acct.id, user), { "iam:PolicyARN": arn });
  user.managedPolicies = detach(user.managedPolicies, arn);
  c.mutated = true;
  return undefined;
};

const listAttachedUserPolicies: Handler = (c) => {
  const name = userName(c);
  const acct = c.caller.account;
  const user = getUserOrThrow(acct, name);
  authorize(c.caller, "iam:ListAttachedUserPolicies", userArn(acct.id, user));
  const { page, truncated, marker } = paginate(c, user.managedPolicies, (a) => a);
  return { AttachedPolicies: attachedList(page), IsTruncated: truncated, Marker: marker };
};

// ----- customer-managed policies

const createPolicy: Handler = (c) => {
  const name = checkName("policyName", c.params.required("PolicyName"), 128);
  const path = c.params.optional("Path") ?? "/";
  checkName("path", path, 512, PATH_RE);
  const acct = c.caller.account;
  const arn = `arn:aws:iam::${acct.id}:policy${path}${name}`;
  authorize(c.caller, "iam:CreatePolicy", arn);
  const doc = checkPolicyDocument(c);
  const description = c.params.optional("Description");
  if (description !== undefined && description.length > 1000)
    throw constraint("description", description, "Member must have length less than or equal to 1000");
  if (acct.policies.has(name.toLowerCase())) {
    throw new AwsError(
      "EntityAlreadyExists",
      409,
      `A policy called ${name} already exists. Duplicate names are not allowed.`,
    );
  }
  if (acct.policies.size >= acct.quotas.policies)
    throw limitExceeded(`Cannot exceed quota for PoliciesPerAccount: ${acct.quotas.policies}`);
  const date = isoSeconds(c.now);
  const policy: CustomerPolicy = {
    name,
    path,
    id: stableId("ANPA", acct.id, name, String(c.now)),
    ...(description !== undefined ? { description } : {}),
    createDate: date,
    updateDate: date,
    defaultVersionId: "v1",
    versions: [{ versionId: "v1", document: doc, createDate: date }],
  };
  c.world.putPolicy(acct, policy);
  c.mutated = true;
  return { Policy: policyXml(acct, findManagedPolicy(acct, arn)!) };
};

const getPolicy: Handler = (c) => {
  const arn = policyArnParam(c);
  const acct = c.caller.account;
  authorize(c.caller, "iam:GetPolicy", arn);
  const p = findManagedPolicy(acct, arn);
  if (!p) throw noSuchEntity(`Policy ${arn} was not found.`);
  return { Policy: policyXml(acct, p) };
};

const getPolicyVersion: Handler = (c) => {
  const arn = policyArnParam(c);
  const versionId = checkField(
    "versionId",
    c.params.required("VersionId"),
    1,
    128,
    /^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$/,
  );
  const acct = c.caller.account;
  authorize(c.caller, "iam:GetPolicyVersion", arn);
  const p = findManagedPolicy(acct, arn);
  if (!p) throw noSuchEntity(`Policy ${arn} was not found.`);
  const version = p.customer
    ? p.customer.versions.find((v) => v.versionId === versionId)
    : versionId === p.defaultVersionId
      ? { versionId, document: p.document, createDate: p.updateDate }
      : undefined;
  if (!version) throw noSuchEntity(`Policy ${arn} version ${versionId} does not exist or is not attachable.`);
  return {
    PolicyVersion: {
      Document: encodeURIComponent(version.document),
      VersionId: version.versionId,
      IsDefaultVersion: version.versionId === p.defaultVersionId,
      CreateDate: version.createDate,
    },
  };
};

const SCOPES = new Set(["All", "AWS", "Local"]);

/** ListPolicies: the account's own (Scope=Local) and the AWS-managed ones attached in it (Scope=AWS). */
const listPolicies: Handler = (c) => {
  const acct = c.caller.account;
  authorize(c.caller, "iam:ListPolicies", "*");
  const scope = c.params.optional("Scope") ?? "All";
  if (!SCOPES.has(scope))
    throw constraint("scope", scope, "Member must satisfy enum value set: [All, AWS, Local]");
  const onlyAttached = c.params.optional("OnlyAttached") === "true";
  const prefix = c.params.optional("PathPrefix") ?? "/";
  const found: AttachablePolicy[] = [];
  if (scope !== "Local")
    for (const arn of attachedAwsPolicies(acct)) found.push(findManagedPolicy(acct, arn)!);
  if (scope !== "AWS")
    for (const p of acct.policies.values())
      found.push(findManagedPolicy(acct, customerPolicyArn(acct.id, p))!);
  const items = found
    .filter((p) => p.path.startsWith(prefix) && (!onlyAttached || attachmentCount(acct, p.arn) > 0))
    .sort((a, b) => (a.arn.toLowerCase() < b.arn.toLowerCase() ? -1 : 1));
  const { page, truncated, marker } = paginate(c, items, (p) => p.arn);
  return { Policies: page.map((p) => policyXml(acct, p)), IsTruncated: truncated, Marker: marker };
};

/**
 * AWS-managed policies attached somewhere in the account (the emulator lists those rather than the
 * whole catalogue, so that bulk reads stay small; GetPolicy finds any of them).
 */
export function attachedAwsPolicies(acct: Account): string[] {
  const out = new Set<string>();
  const add = (arns: string[]) => {
    for (const a of arns) if (a.startsWith("arn:aws:iam::aws:policy/") && awsManagedPolicy(a)) out.add(a);
  };
  for (const r of acct.roles.values()) add(r.managedPolicies);
  for (const u of acct.users.values()) add(u.managedPolicies);
  for (const g of acct.groups.values()) add(g.managedPolicies);
  return [...out];
}

// ----- account summary

const getAccountSummary: Handler = (c) => {
  const acct = c.caller.account;
  authorize(c.caller, "iam:GetAccountSummary", "*");
  const q = acct.quotas;
  let versions = 0;
  for (const p of acct.policies.values()) versions += p.versions.length;
  const summary: [string, number][] = [
    ["Users", acct.users.size],
    ["UsersQuota", 5000],
    ["Groups", acct.groups.size],
    ["GroupsQuota", q.groups],
    ["GroupsPerUserQuota", q.groupsPerUser],
    ["GroupPolicySizeQuota", 5120],
    ["UserPolicySizeQuota", 2048],
    ["RolePolicySizeQuota", 10240],
    ["Roles", acct.roles.size],
    ["RolesQuota", 1000],
    ["Policies", acct.policies.size],
    ["PoliciesQuota", q.policies],
    ["PolicySizeQuota", 6144],
    ["PolicyVersionsInUse", versions],
    ["PolicyVersionsInUseQuota", 10000],
    ["VersionsPerPolicyQuota", 5],
    ["AttachedPoliciesPerRoleQuota", q.attachedPoliciesPerRole],
    ["AttachedPoliciesPerUserQuota", q.attachedPoliciesPerUser],
    ["AttachedPoliciesPerGroupQuota", q.attachedPoliciesPerGroup],
    ["AccessKeysPerUserQuota", 2],
    ["AccountAccessKeysPresent", 0],
    ["AccountMFAEnabled", 0],
    ["MFADevices", 0],
    ["MFADevicesInUse", 0],
    ["ServerCertificates", 0],
    ["ServerCertificatesQuota", 20],
    ["SigningCertificatesPerUserQuota", 2],
    ["InstanceProfiles", 0],
    ["InstanceProfilesQuota", 1000],
    ["Providers", 0],
    ["GlobalEndpointTokenVersion", 1],
  ];
  return { SummaryMap: new XmlEntries(summary) };
};

export const IAM_POLICY_HANDLERS: Record<string, Handler> = {
  AttachRolePolicy: attachRolePolicy,
  DetachRolePolicy: detachRolePolicy,
  AttachUserPolicy: attachUserPolicy,
  DetachUserPolicy: detachUserPolicy,
  ListAttachedUserPolicies: listAttachedUserPolicies,
  CreatePolicy: createPolicy,
  GetPolicy: getPolicy,
  GetPolicyVersion: getPolicyVersion,
  ListPolicies: listPolicies,
  GetAccountSummary: getAccountSummary,
};
