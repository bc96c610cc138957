// The CloudFormation form of an export: a template whose resources are the grants CloudFormation can hold
// for a role or user it does not own (inline policies, group memberships). What it cannot hold — a managed
// policy attached to an existing role or user (AWS::IAM::ManagedPolicy only attaches a policy the stack
// creates; an AWS-managed one never), role access (not IAM) — is listed in the template's Metadata with
// the reason, as is every grant of an expired-since export (what must not be deployed).

import type { ExportedGrant, GrantExport } from "./model.ts";
import { filterLine } from "./terraform.ts";

export const CFN_GAPS: Record<string, string> = {
  "managed-policy":
    "CloudFormation has no resource that attaches a managed policy to an existing role or user; keep it in Terraform or attach it where the role or user is defined (ManagedPolicyArns)",
  "role-access": "role access is Gatehouse's own grant, not an IAM resource",
};

/**
 * The grant without its document (which the resource's properties hold), for a resource's Metadata: the
 * fields written out in ExportedGrant's order rather than an object rest, which made each copy a slow
 * dictionary that JSON.stringify then walked slowly (thousands of resources per template).
 */
const about = (g: ExportedGrant): Omit<ExportedGrant, "policy"> => ({
  kind: g.kind,
  state: g.state,
  account: g.account,
  target: g.target,
  resourceType: g.resourceType,
  cloudformationType: g.cloudformationType,
  address: g.address,
  logicalId: g.logicalId,
  importId: g.importId,
  policyName: g.policyName,
  policyArn: g.policyArn,
  groupName: g.groupName,
  request: g.request,
  requester: g.requester,
  approvers: g.approvers,
  appliedAt: g.appliedAt,
  expiresAt: g.expiresAt,
  revertedAt: g.revertedAt,
  drift: g.drift,
  note: g.note,
});

function properties(g: ExportedGrant): Record<string, unknown> {
  switch (g.cloudformationType) {
    case "AWS::IAM::RolePolicy":
      return { PolicyName: g.policyName, RoleName: g.target.name, PolicyDocument: g.policy };
    case "AWS::IAM::UserPolicy":
      return { PolicyName: g.policyName, UserName: g.target.name, PolicyDocument: g.policy };
    case "AWS::IAM::UserToGroupAddition":
      return { GroupName: g.groupName, Users: [g.target.name] };
    default:
      return {};
  }
}

export function cloudFormationTemplate(e: GrantExport): Record<string, unknown> {
  const reverted = e.filter.mode === "expired-since";
  const resources: Record<string, unknown> = {};
  const notResources: ExportedGrant[] = [];
  for (const g of e.grants) {
    if (reverted || g.cloudformationType === null || g.logicalId === null) {
      notResources.push(g);
      continue;
    }
    resources[g.logicalId] = {
      Type: g.cloudformationType,
      // Retain: deleting the stack must not take away access Gatehouse still manages and reverts.
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: properties(g),
      Metadata: { Gatehouse: about(g) },
    };
  }
  const accounts = [...new Set(e.grants.map((g) => g.account.id))];
  const gaps: string[] = [];
  if (accounts.length > 1)
    gaps.push(
      `a stack lives in one account: this export spans ${accounts.join(", ")}; export one with --account per stack`,
    );
  for (const kind of new Set(notResources.map((g) => g.kind)))
    if (!reverted && CFN_GAPS[kind]) gaps.push(`${kind}: ${CFN_GAPS[kind]}`);
  if (reverted) gaps.push("expired-since: these grants were reverted; no stack should hold them");
  // A template needs at least one resource; a handle that does nothing keeps an empty export valid.
  if (Object.keys(resources).length === 0)
    resources.GatehouseNothingToDeploy = { Type: "AWS::CloudFormation::WaitConditionHandle" };
  return {
    AWSTemplateFormatVersion: "2010-09-09",
    Description: `Gatehouse grants at ${e.generatedAt}: ${filterLine(e)}`,
    Metadata: {
      Gatehouse: {
        generatedAt: e.generatedAt,
        filter: e.filter,
        accounts,
        gaps,
        notResources,
      },
    },
    Resources: resources,
  };
}

export const renderCloudFormation = (e: GrantExport) =>
  `${JSON.stringify(cloudFormationTemplate(e), null, 2)}\n`;
export const renderJson = (e: GrantExport) => `${JSON.stringify(e, null, 2)}\n`;
