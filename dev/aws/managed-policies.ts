// The look-up of any managed policy an emulated account can attach: AWS-managed ones from the shared
// dataset loader (shared/policy/aws-managed.ts), customer-managed ones from the account.

import { type AwsManagedPolicy, awsManagedPolicy, POLICY_ARN_RE } from "../../shared/policy/aws-managed.ts";
import { type Account, type CustomerPolicy, customerPolicyArn } from "./model.ts";

export {
  type AwsManagedPolicy,
  awsManagedPolicy,
  awsManagedPolicyArns,
  managedPolicyName,
  POLICY_ARN_RE,
} from "../../shared/policy/aws-managed.ts";

/** A managed policy an account can attach: AWS-managed from the dataset, or the account's own. */
export interface AttachablePolicy {
  arn: string;
  name: string;
  path: string;
  document: string;
  defaultVersionId: string;
  createDate: string;
  updateDate: string;
  customer?: CustomerPolicy;
}

function fromAws(p: AwsManagedPolicy): AttachablePolicy {
  return {
    arn: p.arn,
    name: p.name,
    path: p.path,
    document: p.document,
    defaultVersionId: p.versionId,
    createDate: p.createDate,
    updateDate: p.updateDate,
  };
}

/** The policy an ARN names in this account, or undefined (another account's policies are not attachable). */
export function findManagedPolicy(account: Account, arn: string): AttachablePolicy | undefined {
  if (arn.startsWith("arn:aws:iam::aws:policy/")) {
    const p = awsManagedPolicy(arn);
    return p ? fromAws(p) : undefined;
  }
  const m = POLICY_ARN_RE.exec(arn);
  if (!m || m[1] !== account.id) return undefined;
  const p = account.policies.get(m[3]!.toLowerCase());
  if (!p || customerPolicyArn(account.id, p) !== arn) return undefined;
  const v = p.versions.find((x) => x.versionId === p.defaultVersionId)!;
  return {
    arn,
    name: p.name,
    path: p.path,
    document: v.document,
    defaultVersionId: p.defaultVersionId,
    createDate: p.createDate,
    updateDate: p.updateDate,
    customer: p,
  };
}
