// The few AWS-managed policies the emulator knows by ARN, with documents close to AWS's own.

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
