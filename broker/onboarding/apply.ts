// `init --apply`: create or update the central and spoke roles through IAM in every account, as a plan
// first (what would change, shown to the operator), then the changes; running it again changes nothing.

import {
  CreateRoleCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  type IAMClient,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { fromAwsError } from "../aws.ts";
import type { AccountConfig } from "../config.ts";
import type { AdminAccess } from "./admin.ts";
import type { Documents } from "./forms.ts";
import type { PolicyDocument } from "./policies.ts";

export interface Change {
  account: string;
  role: string;
  kind: "create-role" | "update-trust" | "put-policy";
  /** What the change is, in one line for the diff. */
  summary: string;
  document: PolicyDocument;
  policyName?: string;
}

interface Target {
  account: string;
  role: string;
  description: string;
  trust: PolicyDocument;
  permissions: PolicyDocument;
}

const canonical = (text: string | undefined) => {
  if (!text) return undefined;
  try {
    return JSON.stringify(JSON.parse(decodeURIComponent(text)));
  } catch {
    return text;
  }
};

async function planOne(iam: IAMClient, t: Target): Promise<Change[]> {
  const where = `${t.role} in ${t.account}`;
  let trust: string | undefined;
  let exists = true;
  try {
    trust = (await iam.send(new GetRoleCommand({ RoleName: t.role }))).Role?.AssumeRolePolicyDocument;
  } catch (e) {
    if ((e as { name?: string }).name !== "NoSuchEntityException") throw fromAwsError(e, `GetRole ${where}`);
    exists = false;
  }
  const changes: Change[] = [];
  if (!exists) {
    changes.push({
      account: t.account,
      role: t.role,
      kind: "create-role",
      summary: `+ create role ${where}`,
      document: t.trust,
    });
  } else if (canonical(trust) !== JSON.stringify(t.trust)) {
    changes.push({
      account: t.account,
      role: t.role,
      kind: "update-trust",
      summary: `~ trust policy of ${where}\n    - ${canonical(trust)}\n    + ${JSON.stringify(t.trust)}`,
      document: t.trust,
    });
  }
  let current: string | undefined;
  if (exists) {
    try {
      current = (await iam.send(new GetRolePolicyCommand({ RoleName: t.role, PolicyName: t.role })))
        .PolicyDocument;
    } catch (e) {
      if ((e as { name?: string }).name !== "NoSuchEntityException")
        throw fromAwsError(e, `GetRolePolicy ${where}`);
    }
  }
  if (canonical(current) !== JSON.stringify(t.permissions)) {
    changes.push({
      account: t.account,
      role: t.role,
      kind: "put-policy",
      policyName: t.role,
      summary: `${current ? "~" : "+"} inline policy ${t.role} of ${where}${current ? `\n    - ${canonical(current)}` : ""}\n    + ${JSON.stringify(t.permissions)}`,
      document: t.permissions,
    });
  }
  return changes;
}

export function targets(d: Documents, accounts: readonly AccountConfig[]): Target[] {
  return [
    {
      account: d.central.account,
      role: d.central.name,
      description: "Gatehouse central role",
      trust: d.central.trust,
      permissions: d.central.permissions,
    },
    ...accounts.map((a) => ({
      account: a.id,
      role: a.spoke_role_name ?? d.spoke.name,
      description: "Gatehouse spoke role",
      trust: d.spoke.trust,
      permissions: d.spoke.permissions,
    })),
  ];
}

export async function plan(admin: AdminAccess, list: Target[]): Promise<Change[]> {
  const out: Change[] = [];
  for (const t of list) out.push(...(await planOne(await admin.iam(t.account), t)));
  return out;
}

export async function apply(admin: AdminAccess, changes: Change[]): Promise<void> {
  for (const c of changes) {
    const iam = await admin.iam(c.account);
    const doc = JSON.stringify(c.document);
    try {
      if (c.kind === "create-role") {
        await iam.send(
          new CreateRoleCommand({
            RoleName: c.role,
            AssumeRolePolicyDocument: doc,
            MaxSessionDuration: 3600,
            Description: "Managed by gatehouse-broker init",
          }),
        );
      } else if (c.kind === "update-trust") {
        await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: c.role, PolicyDocument: doc }));
      } else {
        await iam.send(
          new PutRolePolicyCommand({ RoleName: c.role, PolicyName: c.policyName!, PolicyDocument: doc }),
        );
      }
    } catch (e) {
      throw fromAwsError(e, `${c.kind} ${c.role} in ${c.account}`);
    }
  }
}
