// The few AWS-managed policies the emulator knows by ARN, with documents close to AWS's own.

import { type Account, type CustomerPolicy, customerPolicyArn } from "./model.ts";

const doc = (statements: unknown[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });

export const MANAGED_POLICIES: Readonly<Record<string, string>> = {
  "arn:aws:iam::aws:policy/AdministratorAccess": doc([{ Effect: "Allow", Action: "*", Resource: "*" }]),
  "arn:aws:iam::aws:policy/ReadOnlyAccess": doc([
    {
      Effect: "Allow",
      Action: [
        "iam:Get*",
        "iam:List*",
        "iam:Generate*",
        "iam:Simulate*",
        "sts:GetCallerIdentity",
        "sts:GetSessionToken",
      ],
      Resource: "*",
    },
  ]),
  "arn:aws:iam::aws:policy/IAMFullAccess": doc([
    { Effect: "Allow", Action: ["iam:*", "organizations:Describe*", "organizations:List*"], Resource: "*" },
  ]),
  "arn:aws:iam::aws:policy/IAMReadOnlyAccess": doc([
    {
      Effect: "Allow",
      Action: ["iam:GenerateCredentialReport", "iam:Get*", "iam:List*", "iam:Simulate*"],
      Resource: "*",
    },
  ]),
  "arn:aws:iam::aws:policy/PowerUserAccess": doc([
    { Effect: "Allow", NotAction: ["iam:*", "organizations:*", "account:*"], Resource: "*" },
  ]),
};

export function managedPolicyName(arn: string): string {
  return arn.slice(arn.lastIndexOf("/") + 1);
}

/** An AWS-managed policy as GetPolicy/GetPolicyVersion describe it. */
export interface AwsManagedPolicy {
  arn: string;
  name: string;
  path: string;
  versionId: string;
  document: string;
  createDate: string;
  updateDate: string;
}

export function awsManagedPolicy(arn: string): AwsManagedPolicy | undefined {
  const document = Object.hasOwn(MANAGED_POLICIES, arn) ? MANAGED_POLICIES[arn] : undefined;
  if (document === undefined) return undefined;
  const rest = arn.slice("arn:aws:iam::aws:policy".length);
  const cut = rest.lastIndexOf("/");
  return {
    arn,
    name: rest.slice(cut + 1),
    path: rest.slice(0, cut + 1),
    versionId: "v1",
    document,
    createDate: "2015-02-06T18:39:46Z",
    updateDate: "2015-02-06T18:39:46Z",
  };
}

export const POLICY_ARN_RE = /^arn:aws:iam::(aws|\d{12}):policy(\/[\u0021-\u007E]*)?\/([\w+=,.@-]{1,128})$/;

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
