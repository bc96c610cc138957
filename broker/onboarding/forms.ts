// The IAM set-up in three forms — plain JSON documents, CloudFormation (central stack, spoke template
// and a service-managed StackSet over OUs) and a Terraform module (JSON syntax) — all holding the very
// same documents from policies.ts.

import type { AccountConfig, BrokerConfig } from "../config.ts";
import {
  centralAccountId,
  centralPermissions,
  centralRoleName,
  centralTrust,
  type PolicyDocument,
  spokePermissions,
  spokeTrust,
  workRoleTrust,
} from "./policies.ts";

export interface Documents {
  central: { name: string; account: string; trust: PolicyDocument; permissions: PolicyDocument };
  spoke: { name: string; trust: PolicyDocument; permissions: PolicyDocument };
  workRoleTrust: PolicyDocument;
}

export function documents(config: BrokerConfig, baseIdentityArn: string): Documents {
  return {
    central: {
      name: centralRoleName(config) ?? "GatehouseCentral",
      account: centralAccountId(config) ?? "",
      trust: centralTrust(baseIdentityArn),
      permissions: centralPermissions(config),
    },
    spoke: {
      name: config.aws.spoke_role_name,
      trust: spokeTrust(config),
      permissions: spokePermissions(config),
    },
    workRoleTrust: workRoleTrust(config),
  };
}

const pretty = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

export function jsonForm(d: Documents): Record<string, string> {
  return {
    "json/central-trust.json": pretty(d.central.trust),
    "json/central-permissions.json": pretty(d.central.permissions),
    "json/spoke-trust.json": pretty(d.spoke.trust),
    "json/spoke-permissions.json": pretty(d.spoke.permissions),
    "json/work-role-trust.json": pretty(d.workRoleTrust),
  };
}

const roleResource = (
  name: string,
  description: string,
  trust: PolicyDocument,
  permissions: PolicyDocument,
) => ({
  Type: "AWS::IAM::Role",
  Properties: {
    RoleName: name,
    Description: description,
    MaxSessionDuration: 3600,
    AssumeRolePolicyDocument: trust,
    Policies: [{ PolicyName: name, PolicyDocument: permissions }],
  },
});

/** OUs the StackSet deploys to: the configured include_ous when they are ids, else a parameter without default. */
function ouIds(config: BrokerConfig): string[] {
  const refs = config.aws.organizations?.include_ous ?? [];
  return refs.every((r) => /^(ou-|r-)/.test(r)) ? refs : [];
}

export function cloudFormationForm(config: BrokerConfig, d: Documents): Record<string, string> {
  const spokeTemplate = {
    AWSTemplateFormatVersion: "2010-09-09",
    Description: "Gatehouse spoke role (one per member account, deployed by the StackSet)",
    Resources: {
      SpokeRole: roleResource(
        d.spoke.name,
        "Gatehouse spoke: IAM read and inline policies for requests",
        d.spoke.trust,
        d.spoke.permissions,
      ),
    },
  };
  const central = {
    AWSTemplateFormatVersion: "2010-09-09",
    Description: "Gatehouse central role (central account)",
    Resources: {
      CentralRole: roleResource(
        d.central.name,
        "Gatehouse central role: assumes spoke and work roles",
        d.central.trust,
        d.central.permissions,
      ),
    },
    Outputs: { CentralRoleArn: { Value: { "Fn::GetAtt": ["CentralRole", "Arn"] } } },
  };
  const ous = ouIds(config);
  const stackSet = {
    AWSTemplateFormatVersion: "2010-09-09",
    Description:
      "Gatehouse spokes: a service-managed StackSet (deploy in the management account or a delegated administrator)",
    Parameters: {
      SpokeOrganizationalUnitIds: {
        Type: "CommaDelimitedList",
        Description: "OUs whose accounts get the spoke role (new accounts in them get it automatically)",
        ...(ous.length > 0 ? { Default: ous.join(",") } : {}),
      },
    },
    Resources: {
      SpokeStackSet: {
        Type: "AWS::CloudFormation::StackSet",
        Properties: {
          StackSetName: "gatehouse-spokes",
          PermissionModel: "SERVICE_MANAGED",
          AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
          Capabilities: ["CAPABILITY_NAMED_IAM"],
          StackInstancesGroup: [
            {
              DeploymentTargets: { OrganizationalUnitIds: { Ref: "SpokeOrganizationalUnitIds" } },
              Regions: [config.aws.region],
            },
          ],
          TemplateBody: JSON.stringify(spokeTemplate),
        },
      },
    },
  };
  return {
    "cloudformation/central.json": pretty(central),
    "cloudformation/spoke.json": pretty(spokeTemplate),
    "cloudformation/spokes-stackset.json": pretty(stackSet),
  };
}

const tfName = (id: string) => `account_${id}`;
/** A Terraform interpolation (`${…}`), written out so it is plainly not a JavaScript template. */
const tfRef = (expr: string) => `\${${expr}}`;

/**
 * A Terraform module in JSON syntax: the central role with the default provider (the central account),
 * a spoke in each account through a provider that assumes `var.admin_role_name` there.
 */
export function terraformForm(
  config: BrokerConfig,
  d: Documents,
  accounts: readonly AccountConfig[],
): Record<string, string> {
  const providers = [
    { aws: { region: config.aws.region } },
    ...accounts.map((a) => ({
      aws: {
        alias: tfName(a.id),
        region: config.aws.region,
        assume_role: { role_arn: `arn:aws:iam::${a.id}:role/\${var.admin_role_name}` },
      },
    })),
  ];
  const roles: Record<string, unknown> = {
    central: {
      name: d.central.name,
      description: "Gatehouse central role: assumes spoke and work roles",
      max_session_duration: 3600,
      assume_role_policy: JSON.stringify(d.central.trust),
    },
  };
  const policies: Record<string, unknown> = {
    central: {
      name: d.central.name,
      role: tfRef("aws_iam_role.central.id"),
      policy: JSON.stringify(d.central.permissions),
    },
  };
  for (const a of accounts) {
    const name = a.spoke_role_name ?? d.spoke.name;
    roles[`spoke_${a.id}`] = {
      provider: `aws.${tfName(a.id)}`,
      name,
      description: `Gatehouse spoke in ${a.name}`,
      max_session_duration: 3600,
      assume_role_policy: JSON.stringify(d.spoke.trust),
    };
    policies[`spoke_${a.id}`] = {
      provider: `aws.${tfName(a.id)}`,
      name,
      role: `\${aws_iam_role.spoke_${a.id}.id}`,
      policy: JSON.stringify(d.spoke.permissions),
    };
  }
  const module = {
    terraform: { required_providers: { aws: { source: "hashicorp/aws", version: ">= 5.0" } } },
    variable: {
      admin_role_name: {
        type: "string",
        default: "OrganizationAccountAccessRole",
        description: "A role in each member account that Terraform assumes to create the spoke",
      },
    },
    provider: providers,
    resource: { aws_iam_role: roles, aws_iam_role_policy: policies },
    output: { central_role_arn: { value: tfRef("aws_iam_role.central.arn") } },
  };
  return { "terraform/main.tf.json": pretty(module) };
}
