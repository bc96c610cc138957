// Drafting a request from parsed denials: the target from the principal, one policy for several denials,
// the catalogue's spelling and dependent actions, and refusals with a code for what no request can fix.

import { describe, expect, it } from "vitest";
import { iamDataActionFacts } from "../../shared/denials/catalogue.ts";
import {
  type ActionLookup,
  draftFromDenials,
  type ManagedTarget,
  principalRef,
} from "../../shared/denials/draft.ts";
import { parseDenials } from "../../shared/denials/parse.ts";
import { GatehouseError } from "../../shared/errors.ts";
import { lintPolicy } from "../../shared/policy-lint.ts";

const ACCT = "111111111111";
const TARGETS: ManagedTarget[] = [
  { arn: `arn:aws:iam::${ACCT}:role/Developer`, accountId: ACCT, type: "role", name: "Developer" },
  { arn: `arn:aws:iam::${ACCT}:role/team/Deploy`, accountId: ACCT, type: "role", name: "Deploy" },
  { arn: `arn:aws:iam::${ACCT}:user/ci`, accountId: ACCT, type: "user", name: "ci" },
];
const session = `arn:aws:sts::${ACCT}:assumed-role/Developer/alice@example.com`;
const implicit = (principal: string, action: string, resource?: string) =>
  `User: ${principal} is not authorized to perform: ${action}${resource ? ` on resource: ${resource}` : ""} because no identity-based policy allows the ${action} action`;

async function refusal(text: string, targets = TARGETS): Promise<GatehouseError> {
  const e = await draftFromDenials(parseDenials(text), targets, iamDataActionFacts).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(GatehouseError);
  return e as GatehouseError;
}

describe("principalRef", () => {
  it.each([
    [session, { partition: "aws", accountId: ACCT, type: "role", name: "Developer" }],
    [`arn:aws:iam::${ACCT}:user/path/to/ci`, { partition: "aws", accountId: ACCT, type: "user", name: "ci" }],
    [
      `arn:aws-us-gov:iam::${ACCT}:role/team/Deploy`,
      { partition: "aws-us-gov", accountId: ACCT, type: "role", name: "Deploy" },
    ],
    ["anonymous", null],
    [`arn:aws:iam::${ACCT}:root`, null],
    [`arn:aws:sts::${ACCT}:federated-user/bob`, null],
    [`arn:aws:iam::${ACCT}:assumed-role/Developer/x`, null],
    [null, null],
  ])("%s", (arn, want) => expect(principalRef(arn)).toEqual(want));
});

describe("draftFromDenials", () => {
  it("a session's denial → that role, the action on the resource, AWS's spelling", async () => {
    const d = await draftFromDenials(
      parseDenials(implicit(session, "dynamodb:putitem", `arn:aws:dynamodb:us-east-1:${ACCT}:table/Orders`)),
      TARGETS,
      iamDataActionFacts,
    );
    expect(d.target.arn).toBe(`arn:aws:iam::${ACCT}:role/Developer`);
    expect(d.actions).toEqual(["dynamodb:PutItem"]);
    expect(d.policy.Statement).toEqual([
      {
        Sid: "FromDenial1",
        Effect: "Allow",
        Action: ["dynamodb:PutItem"],
        Resource: `arn:aws:dynamodb:us-east-1:${ACCT}:table/Orders`,
      },
    ]);
    expect((await lintPolicy(JSON.stringify(d.policy))).valid).toBe(true);
  });

  it("a log of several denials → one policy; `*`-only actions get `*`; IAM's 'role NAME' becomes an ARN; an explicit deny alongside is refused, not requested", async () => {
    const log = [
      `ERROR ${implicit(session, "iam:ListRoles", `arn:aws:iam::${ACCT}:role/`)}`,
      "INFO retry",
      `ERROR User: ${session} is not authorized to perform: iam:GetRole on resource: role Deploy because no identity-based policy allows the iam:GetRole action`,
      `ERROR ${implicit(session, "iam:GetRolePolicy", `arn:aws:iam::${ACCT}:role/Deploy`)}`,
      `ERROR ${implicit(session, "iam:GetRole", `arn:aws:iam::${ACCT}:role/Other`)}`,
      `ERROR User: ${session} is not authorized to perform: iam:DeleteRole on resource: arn:aws:iam::${ACCT}:role/Deploy with an explicit deny in a service control policy`,
    ].join("\n");
    const d = await draftFromDenials(parseDenials(log), TARGETS, iamDataActionFacts);
    expect(d.actions).toEqual(["iam:GetRole", "iam:GetRolePolicy", "iam:ListRoles"]);
    expect(d.policy.Statement).toEqual([
      { Sid: "FromDenial1", Effect: "Allow", Action: ["iam:ListRoles"], Resource: "*" },
      {
        Sid: "FromDenial2",
        Effect: "Allow",
        Action: ["iam:GetRole"],
        Resource: [`arn:aws:iam::${ACCT}:role/Deploy`, `arn:aws:iam::${ACCT}:role/Other`],
      },
      {
        Sid: "FromDenial3",
        Effect: "Allow",
        Action: ["iam:GetRolePolicy"],
        Resource: `arn:aws:iam::${ACCT}:role/Deploy`,
      },
    ]);
    expect(d.refused).toHaveLength(1);
    expect(d.refused[0]!.denial.action).toBe("iam:DeleteRole");
    expect(d.refused[0]!.reason).toMatch(/explicit deny in a service control policy/);
    expect((await lintPolicy(JSON.stringify(d.policy))).valid).toBe(true);
  });

  it("adds the dependent actions the catalogue lists, on `*`, once", async () => {
    const lookup: ActionLookup = async (a) =>
      a === "lambda:CreateFunction"
        ? { name: a, wildcardOnly: false, dependentActions: ["iam:PassRole", "lambda:CreateFunction"] }
        : iamDataActionFacts(a);
    const d = await draftFromDenials(
      parseDenials(implicit(session, "lambda:CreateFunction", `arn:aws:lambda:us-east-1:${ACCT}:function:f`)),
      TARGETS,
      lookup,
    );
    expect(d.dependent).toEqual(["iam:PassRole"]);
    expect(d.actions).toEqual(["iam:PassRole", "lambda:CreateFunction"]);
    expect(d.policy.Statement.find((s) => s.Resource === "*")?.Action).toEqual(["iam:PassRole"]);
  });

  it("a user's denial → that user", async () => {
    const d = await draftFromDenials(
      parseDenials(implicit(`arn:aws:iam::${ACCT}:user/ci`, "s3:ListBucket", "arn:aws:s3:::builds")),
      TARGETS,
      iamDataActionFacts,
    );
    expect(d.target.arn).toBe(`arn:aws:iam::${ACCT}:user/ci`);
  });

  it.each([
    ["with an explicit deny in an identity-based policy", /Deny always wins/],
    ["with an explicit deny in a permissions boundary", /permissions boundary/],
    ["because no service control policy allows the s3:ListBucket action", /Organizations/],
    ["because no session policy allows the s3:ListBucket action", /session/],
    ["with an explicit deny transitively through a service control policy", /Organizations/],
  ])("%s → DENIAL_NOT_REQUESTABLE, saying who can fix it", async (reason, who) => {
    const e = await refusal(`User: ${session} is not authorized to perform: s3:ListBucket ${reason}`);
    expect(e.code).toBe("DENIAL_NOT_REQUESTABLE");
    expect(e.message).toMatch(who);
  });

  it("the older form (no reason), S3's bare Access Denied and an encoded message are not requested", async () => {
    for (const text of [
      `User: ${session} is not authorized to perform: s3:ListBucket on resource: arn:aws:s3:::b`,
      "An error occurred (AccessDenied) when calling the GetObject operation: Access Denied",
      "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: You are not authorized to perform this operation. Encoded authorization failure message: abcdefgh1234",
    ])
      expect((await refusal(text)).code).toBe("DENIAL_NOT_REQUESTABLE");
  });

  it("no denial → NO_DENIAL; a role Gatehouse does not manage → DENIAL_TARGET_UNKNOWN; two principals → DENIAL_MIXED_PRINCIPALS", async () => {
    expect((await refusal("all good\n")).code).toBe("NO_DENIAL");
    const other = implicit(`arn:aws:sts::${ACCT}:assumed-role/Unmanaged/alice`, "s3:ListBucket");
    expect((await refusal(other)).code).toBe("DENIAL_TARGET_UNKNOWN");
    const elsewhere = implicit(`arn:aws:sts::222222222222:assumed-role/Developer/alice`, "s3:ListBucket");
    expect((await refusal(elsewhere)).code).toBe("DENIAL_TARGET_UNKNOWN");
    const two = `${implicit(session, "s3:ListBucket")}\n${implicit(`arn:aws:iam::${ACCT}:user/ci`, "s3:ListBucket")}`;
    expect((await refusal(two)).code).toBe("DENIAL_MIXED_PRINCIPALS");
  });
});
