// The one source of Gatehouse's IAM set-up: which actions each switched-on feature needs, and the
// trust and permission documents of the central, spoke and work roles. `init` writes these documents
// (JSON, CloudFormation, Terraform) and `doctor` checks the real roles against the same lists.

import type { BrokerConfig } from "../config.ts";

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Principal?: { AWS: string | string[] };
    Action: string | string[];
    Resource?: string | string[];
  }[];
}

/** A feature's needs on one role: the actions and a resource to evaluate them on. */
export interface Need {
  feature: string;
  sid: string;
  actions: string[];
  /** Resources in the role's account (ACCOUNT is replaced by the account id). */
  resources: string[];
}

/** The spoke role's needs, feature by feature. Later request kinds add their entry here. */
export function spokeNeeds(_config: BrokerConfig): Need[] {
  return [
    {
      feature: "sync",
      sid: "GatehouseSyncRead",
      actions: [
        "iam:GetAccountAuthorizationDetails",
        "iam:ListRoles",
        "iam:GetRole",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:ListRoleTags",
        "iam:GetUser",
        "iam:ListUserPolicies",
        "iam:GetUserPolicy",
        "iam:ListUserTags",
        // Groups, attachments and quotas: what managed-policy and group-membership requests check.
        "iam:ListAttachedUserPolicies",
        "iam:ListGroupsForUser",
        "iam:GetAccountSummary",
      ],
      resources: ["*"],
    },
    {
      feature: "permission requests (inline policies on roles)",
      sid: "GatehouseRoleInlinePolicies",
      actions: ["iam:PutRolePolicy", "iam:DeleteRolePolicy"],
      resources: ["arn:aws:iam::ACCOUNT:role/*"],
    },
    {
      // EC2's UnauthorizedOperation carries its reason encoded; only the account's own principals decode it.
      feature: "requests from EC2's encoded authorization failure messages",
      sid: "GatehouseDecodeDenials",
      actions: ["sts:DecodeAuthorizationMessage"],
      resources: ["*"],
    },
    {
      feature: "permission requests (inline policies on users)",
      sid: "GatehouseUserInlinePolicies",
      actions: ["iam:PutUserPolicy", "iam:DeleteUserPolicy"],
      resources: ["arn:aws:iam::ACCOUNT:user/*"],
    },
    {
      feature: "permission requests (managed policies attached to roles)",
      sid: "GatehouseRoleManagedPolicies",
      actions: ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
      resources: ["arn:aws:iam::ACCOUNT:role/*"],
    },
    {
      feature: "permission requests (managed policies attached to users)",
      sid: "GatehouseUserManagedPolicies",
      actions: ["iam:AttachUserPolicy", "iam:DetachUserPolicy"],
      resources: ["arn:aws:iam::ACCOUNT:user/*"],
    },
    {
      feature: "permission requests (IAM users added to groups)",
      sid: "GatehouseGroupMembership",
      actions: ["iam:AddUserToGroup", "iam:RemoveUserFromGroup"],
      resources: ["arn:aws:iam::ACCOUNT:group/*"],
    },
  ];
}

export const centralRoleName = (config: BrokerConfig): string | undefined =>
  config.aws.central_role_arn?.split("/").pop();
export const centralAccountId = (config: BrokerConfig): string | undefined =>
  config.aws.central_role_arn?.split(":")[4];

/** Spoke role names in use: the global one and every per-account override. */
export function spokeRoleNames(config: BrokerConfig): string[] {
  return [
    ...new Set([config.aws.spoke_role_name, ...config.aws.accounts.flatMap((a) => a.spoke_role_name ?? [])]),
  ];
}

/** The central role's needs: assume spokes, assume work roles with tags and a source identity, and read the organisation. */
export function centralNeeds(config: BrokerConfig): Need[] {
  const needs: Need[] = [
    {
      feature: "reach the spoke roles",
      sid: "GatehouseAssumeSpokes",
      actions: ["sts:AssumeRole", "sts:TagSession"],
      resources: spokeRoleNames(config).map((n) => `arn:aws:iam::*:role/${n}`),
    },
    {
      feature: "credentials for people (work roles)",
      sid: "GatehouseAssumeWorkRoles",
      actions: ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
      resources: ["arn:aws:iam::*:role/*"],
    },
  ];
  if (config.aws.accounts_from === "organizations") {
    needs.push(
      config.aws.organizations?.role_arn
        ? {
            feature: "accounts from AWS Organizations",
            sid: "GatehouseAssumeOrganizationsReader",
            actions: ["sts:AssumeRole"],
            resources: [config.aws.organizations.role_arn],
          }
        : {
            feature: "accounts from AWS Organizations",
            sid: "GatehouseReadOrganization",
            actions: [
              "organizations:DescribeOrganization",
              "organizations:ListRoots",
              "organizations:ListOrganizationalUnitsForParent",
              "organizations:ListAccountsForParent",
              "organizations:ListTagsForResource",
            ],
            resources: ["*"],
          },
    );
  }
  return needs;
}

const statementOf = (n: Need, account: string) => ({
  Sid: n.sid,
  Effect: "Allow" as const,
  Action: n.actions,
  Resource:
    n.resources.length === 1
      ? n.resources[0]!.replace("ACCOUNT", account)
      : n.resources.map((r) => r.replace("ACCOUNT", account)),
});

/**
 * The spoke's permissions. `ACCOUNT` stays a placeholder in the StackSet/Terraform forms
 * (`${AWS::AccountId}`, `data.aws_caller_identity`); JSON documents are written per account.
 */
export function spokePermissions(config: BrokerConfig, account = "*"): PolicyDocument {
  const protectedRoles = [
    ...spokeRoleNames(config).map((n) => `arn:aws:iam::${account}:role/${n}`),
    ...(config.aws.central_role_arn ? [config.aws.central_role_arn] : []),
  ];
  return {
    Version: "2012-10-17",
    Statement: [
      ...spokeNeeds(config).map((n) => statementOf(n, account)),
      {
        // SECURITY 32: requests never change Gatehouse's own roles, even if the broker were fooled.
        Sid: "GatehouseNeverChangesItsOwnRoles",
        Effect: "Deny",
        Action: ["iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy"],
        Resource: protectedRoles,
      },
    ],
  };
}

export function centralPermissions(config: BrokerConfig): PolicyDocument {
  const name = centralRoleName(config) ?? "GatehouseCentral";
  const account = centralAccountId(config) ?? "*";
  return {
    Version: "2012-10-17",
    Statement: [
      ...centralNeeds(config).map((n) => statementOf(n, account)),
      {
        // `doctor` reads the central role's own policies through it.
        Sid: "GatehouseDoctorReadsItself",
        Effect: "Allow",
        Action: ["iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies"],
        Resource: `arn:aws:iam::${account}:role/${name}`,
      },
    ],
  };
}

/** Trust of a role reached from the central role: AssumeRole, session tags, and (work roles) a source identity. */
export function trustCentral(config: BrokerConfig, withSourceIdentity: boolean): PolicyDocument {
  const central = config.aws.central_role_arn;
  if (!central) throw new Error("trustCentral needs aws.central_role_arn");
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "GatehouseCentral",
        Effect: "Allow",
        Principal: { AWS: central },
        Action: withSourceIdentity
          ? ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
          : ["sts:AssumeRole", "sts:TagSession"],
      },
    ],
  };
}

export const spokeTrust = (config: BrokerConfig) => trustCentral(config, false);
export const workRoleTrust = (config: BrokerConfig) => trustCentral(config, true);

/** The central role trusts the broker's base identity (its ARN, from GetCallerIdentity or the config). */
export function centralTrust(baseIdentityArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "GatehouseBroker",
        Effect: "Allow",
        Principal: { AWS: baseIdentityArn },
        Action: ["sts:AssumeRole"],
      },
    ],
  };
}
