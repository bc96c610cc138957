// Policy grammar and evaluation of the emulator (dev/aws/policy.ts), case by case as IAM documents it.

import { describe, expect, it } from "vitest";
import { AwsError } from "../../dev/aws/errors.ts";
import {
  type Context,
  conditionsMatch,
  evaluate,
  evaluateTrust,
  type Policy,
  parsePolicy,
  policySize,
  wildcardMatch,
} from "../../dev/aws/policy.ts";

const policy = (...statements: unknown[]): Policy =>
  parsePolicy(JSON.stringify({ Version: "2012-10-17", Statement: statements }), "identity");
const allow = (action: unknown, resource: unknown = "*", extra: object = {}) => ({
  Effect: "Allow",
  Action: action,
  Resource: resource,
  ...extra,
});
const deny = (action: unknown, resource: unknown = "*", extra: object = {}) => ({
  Effect: "Deny",
  Action: action,
  Resource: resource,
  ...extra,
});
const ROLE = "arn:aws:iam::222222222222:role/ProdAdmin";
const decide = (p: Policy | Policy[], action: string, resource = ROLE, context: Context = {}) =>
  evaluate(Array.isArray(p) ? p : [p], { action, resource, context });

describe("wildcards", () => {
  it("match * as any run and ? as one character", () => {
    expect(wildcardMatch("iam:Get*", "iam:GetRole")).toBe(true);
    expect(wildcardMatch("iam:Get*", "iam:Get")).toBe(true);
    expect(wildcardMatch("iam:Get?ole", "iam:GetRole")).toBe(true);
    expect(wildcardMatch("iam:Get?ole", "iam:GetXXole")).toBe(false);
    expect(wildcardMatch("a.b", "aXb")).toBe(false);
    expect(wildcardMatch("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b\nc")).toBe(true);
    expect(wildcardMatch("(x)+[y]", "(x)+[y]")).toBe(true);
  });

  it("Action matches case-insensitively, with wildcards", () => {
    expect(decide(policy(allow("IAM:getrole")), "iam:GetRole")).toBe("allow");
    expect(decide(policy(allow("iam:get*")), "iam:GetRole")).toBe("allow");
    expect(decide(policy(allow("iam:Get*")), "iam:ListRoles")).toBe("implicit");
    expect(decide(policy(allow("iam:*")), "sts:AssumeRole")).toBe("implicit");
    expect(decide(policy(allow("*")), "sts:AssumeRole")).toBe("allow");
    expect(decide(policy(allow(["s3:GetObject", "iam:List*"])), "iam:ListRoleTags")).toBe("allow");
  });

  it("Resource matches case-sensitively, with wildcards", () => {
    const p = policy(allow("iam:GetRole", "arn:aws:iam::222222222222:role/Prod*"));
    expect(decide(p, "iam:GetRole", ROLE)).toBe("allow");
    expect(decide(p, "iam:GetRole", "arn:aws:iam::222222222222:role/prodadmin")).toBe("implicit");
    expect(decide(p, "iam:GetRole", "arn:aws:iam::333333333333:role/ProdAdmin")).toBe("implicit");
    expect(decide(policy(allow("iam:GetRole", "arn:aws:iam::*:role/Prod?dmin")), "iam:GetRole")).toBe(
      "allow",
    );
    expect(decide(policy(allow("iam:GetRole", ["arn:aws:iam::1:role/x", ROLE])), "iam:GetRole")).toBe(
      "allow",
    );
  });
});

describe("NotAction and NotResource", () => {
  it("NotAction allows everything but the listed actions", () => {
    const p = policy({ Effect: "Allow", NotAction: ["iam:*", "organizations:*"], Resource: "*" });
    expect(decide(p, "s3:GetObject")).toBe("allow");
    expect(decide(p, "sts:AssumeRole")).toBe("allow");
    expect(decide(p, "iam:GetRole")).toBe("implicit");
    expect(decide(p, "IAM:GetRole")).toBe("implicit");
  });

  it("NotResource applies to every resource but the listed ones", () => {
    const p = policy({ Effect: "Allow", Action: "iam:GetRole", NotResource: "arn:aws:iam::*:role/Secret*" });
    expect(decide(p, "iam:GetRole", ROLE)).toBe("allow");
    expect(decide(p, "iam:GetRole", "arn:aws:iam::222222222222:role/SecretSauce")).toBe("implicit");
  });

  it("a Deny with NotAction denies everything else", () => {
    const p = policy(allow("*"), { Effect: "Deny", NotAction: "iam:Get*", Resource: "*" });
    expect(decide(p, "iam:GetRole")).toBe("allow");
    expect(decide(p, "iam:PutRolePolicy")).toBe("deny");
  });
});

describe("explicit Deny wins", () => {
  it("over an Allow in the same or another policy, in any order", () => {
    const admin = policy(allow("*"));
    const noDelete = policy(deny("iam:DeleteRole"));
    expect(decide([admin, noDelete], "iam:DeleteRole")).toBe("deny");
    expect(decide([noDelete, admin], "iam:DeleteRole")).toBe("deny");
    expect(decide(policy(deny("iam:Delete*"), allow("iam:DeleteRole")), "iam:DeleteRole")).toBe("deny");
    expect(decide([admin, noDelete], "iam:DeleteRolePolicy")).toBe("allow");
  });

  it("only where its resource and conditions apply", () => {
    const p = policy(
      allow("*"),
      deny("iam:*", "arn:aws:iam::*:role/Prod*", {
        Condition: { StringEquals: { "aws:PrincipalTag/team": "interns" } },
      }),
    );
    expect(decide(p, "iam:GetRole", ROLE, { "aws:PrincipalTag/team": "interns" })).toBe("deny");
    expect(decide(p, "iam:GetRole", ROLE, { "aws:PrincipalTag/team": "platform" })).toBe("allow");
    expect(decide(p, "iam:GetRole", "arn:aws:iam::222222222222:role/Dev")).toBe("allow");
  });

  it("nothing matching is an implicit deny", () => {
    expect(decide([], "iam:GetRole")).toBe("implicit");
    expect(decide(policy(allow("s3:*")), "iam:GetRole")).toBe("implicit");
  });
});

describe("conditions", () => {
  const cond = (condition: unknown, context: Context) =>
    conditionsMatch(policy(allow("*", "*", { Condition: condition })).Statement[0]!.Condition, context);

  it("StringEquals is exact and case-sensitive; several values are OR, several keys and operators AND", () => {
    expect(cond({ StringEquals: { "aws:username": "alice" } }, { "aws:username": "alice" })).toBe(true);
    expect(cond({ StringEquals: { "aws:username": "alice" } }, { "aws:username": "Alice" })).toBe(false);
    expect(cond({ StringEquals: { "aws:username": ["bob", "alice"] } }, { "aws:username": "alice" })).toBe(
      true,
    );
    const both = { StringEquals: { "aws:username": "alice", "aws:PrincipalAccount": "111111111111" } };
    expect(cond(both, { "aws:username": "alice", "aws:PrincipalAccount": "111111111111" })).toBe(true);
    expect(cond(both, { "aws:username": "alice", "aws:PrincipalAccount": "222222222222" })).toBe(false);
    const twoOps = { StringEquals: { "aws:username": "alice" }, StringLike: { "sts:RoleSessionName": "a*" } };
    expect(cond(twoOps, { "aws:username": "alice", "sts:RoleSessionName": "alice" })).toBe(true);
    expect(cond(twoOps, { "aws:username": "alice", "sts:RoleSessionName": "bob" })).toBe(false);
    expect(cond({ StringEqualsIgnoreCase: { "aws:username": "ALICE" } }, { "aws:username": "alice" })).toBe(
      true,
    );
  });

  it("condition keys are case-insensitive, values are not", () => {
    expect(cond({ StringEquals: { "AWS:UserName": "alice" } }, { "aws:username": "alice" })).toBe(true);
  });

  it("StringLike and StringNotLike use wildcards", () => {
    const ctx = { "aws:PrincipalArn": "arn:aws:iam::111111111111:role/GatehouseCentral" };
    expect(cond({ StringLike: { "aws:PrincipalArn": "arn:aws:iam::*:role/Gatehouse*" } }, ctx)).toBe(true);
    expect(cond({ StringLike: { "aws:PrincipalArn": "arn:aws:iam::*:user/*" } }, ctx)).toBe(false);
    expect(cond({ StringNotLike: { "aws:PrincipalArn": ["*:user/*", "*:role/Other"] } }, ctx)).toBe(true);
    expect(cond({ StringNotLike: { "aws:PrincipalArn": ["*:user/*", "*:role/Gate*"] } }, ctx)).toBe(false);
  });

  it("an absent key fails a condition, but satisfies a negated one", () => {
    expect(cond({ StringEquals: { "sts:ExternalId": "x" } }, {})).toBe(false);
    expect(cond({ StringLike: { "sts:ExternalId": "*" } }, {})).toBe(false);
    expect(cond({ StringNotEquals: { "sts:ExternalId": "x" } }, {})).toBe(true);
    expect(cond({ StringNotLike: { "sts:ExternalId": "x*" } }, {})).toBe(true);
    expect(cond({ StringNotEquals: { "sts:ExternalId": "x" } }, { "sts:ExternalId": "x" })).toBe(false);
    expect(
      cond({ NumericNotEquals: { "aws:MultiFactorAuthAge": ["1", "2"] } }, { "aws:MultiFactorAuthAge": "2" }),
    ).toBe(false);
    expect(
      cond({ NumericNotEquals: { "aws:MultiFactorAuthAge": ["1", "2"] } }, { "aws:MultiFactorAuthAge": "3" }),
    ).toBe(true);
  });

  it("IfExists passes when the key is absent and tests it when present", () => {
    const c = { StringEqualsIfExists: { "aws:PrincipalTag/team": "platform" } };
    expect(cond(c, {})).toBe(true);
    expect(cond(c, { "aws:PrincipalTag/team": "platform" })).toBe(true);
    expect(cond(c, { "aws:PrincipalTag/team": "data" })).toBe(false);
  });

  it("Null tests whether a key is present", () => {
    expect(cond({ Null: { "aws:SourceIdentity": "true" } }, {})).toBe(true);
    expect(cond({ Null: { "aws:SourceIdentity": "true" } }, { "aws:SourceIdentity": "alice" })).toBe(false);
    expect(cond({ Null: { "aws:SourceIdentity": false } }, { "aws:SourceIdentity": "alice" })).toBe(true);
    expect(cond({ Null: { "aws:SourceIdentity": "false" } }, {})).toBe(false);
  });

  it("ForAnyValue needs one request value to match; ForAllValues needs every one (and passes on none)", () => {
    const keys = { "aws:TagKeys": ["team", "project"] };
    expect(cond({ "ForAnyValue:StringEquals": { "aws:TagKeys": ["team", "owner"] } }, keys)).toBe(true);
    expect(cond({ "ForAnyValue:StringEquals": { "aws:TagKeys": ["owner"] } }, keys)).toBe(false);
    expect(cond({ "ForAnyValue:StringEquals": { "aws:TagKeys": ["team"] } }, {})).toBe(false);
    expect(cond({ "ForAnyValue:StringLike": { "aws:TagKeys": ["proj*"] } }, keys)).toBe(true);
    expect(cond({ "ForAllValues:StringEquals": { "aws:TagKeys": ["team", "project", "x"] } }, keys)).toBe(
      true,
    );
    expect(cond({ "ForAllValues:StringEquals": { "aws:TagKeys": ["team"] } }, keys)).toBe(false);
    expect(cond({ "ForAllValues:StringEquals": { "aws:TagKeys": ["team"] } }, {})).toBe(true);
    expect(cond({ "ForAllValues:StringEquals": { "aws:TagKeys": ["team"] } }, { "aws:TagKeys": [] })).toBe(
      true,
    );
  });

  it("Bool, Numeric and Date operators compare typed values", () => {
    expect(
      cond({ Bool: { "aws:MultiFactorAuthPresent": true } }, { "aws:MultiFactorAuthPresent": "true" }),
    ).toBe(true);
    expect(
      cond({ Bool: { "aws:MultiFactorAuthPresent": "true" } }, { "aws:MultiFactorAuthPresent": "false" }),
    ).toBe(false);
    expect(
      cond({ NumericLessThan: { "aws:MultiFactorAuthAge": 3600 } }, { "aws:MultiFactorAuthAge": "600" }),
    ).toBe(true);
    expect(
      cond({ NumericLessThan: { "aws:MultiFactorAuthAge": "3600" } }, { "aws:MultiFactorAuthAge": "7200" }),
    ).toBe(false);
    const now = { "aws:CurrentTime": "2025-06-01T12:00:00Z" };
    expect(cond({ DateGreaterThan: { "aws:CurrentTime": "2025-01-01T00:00:00Z" } }, now)).toBe(true);
    expect(cond({ DateLessThan: { "aws:CurrentTime": "2025-01-01T00:00:00Z" } }, now)).toBe(false);
  });

  it("a condition decides whether an Allow applies", () => {
    const p = policy(
      allow("sts:AssumeRole", "*", { Condition: { StringEquals: { "sts:ExternalId": "e-1" } } }),
    );
    expect(decide(p, "sts:AssumeRole", ROLE, { "sts:ExternalId": "e-1" })).toBe("allow");
    expect(decide(p, "sts:AssumeRole", ROLE, { "sts:ExternalId": "e-2" })).toBe("implicit");
    expect(decide(p, "sts:AssumeRole", ROLE, {})).toBe("implicit");
  });
});

describe("trust policies", () => {
  const trust = (...statements: unknown[]) =>
    parsePolicy(JSON.stringify({ Version: "2012-10-17", Statement: statements }), "trust");
  const trusting = (principal: unknown, extra: object = {}) =>
    trust({ Effect: "Allow", Principal: principal, Action: ["sts:AssumeRole", "sts:TagSession"], ...extra });
  const central = { arn: "arn:aws:iam::111111111111:role/GatehouseCentral", account: "111111111111" };
  const other = { arn: "arn:aws:iam::444444444444:role/Intruder", account: "444444444444" };

  it("a statement naming the principal's ARN is specific", () => {
    const t = trusting({ AWS: central.arn });
    expect(evaluateTrust(t, central, "sts:AssumeRole", {})).toBe("specific");
    expect(evaluateTrust(t, other, "sts:AssumeRole", {})).toBe("implicit");
  });

  it("a statement naming the account (root ARN, bare id or *) trusts the account only", () => {
    for (const principal of [
      { AWS: "arn:aws:iam::111111111111:root" },
      { AWS: "111111111111" },
      { AWS: "*" },
      "*",
    ]) {
      expect(evaluateTrust(trusting(principal), central, "sts:AssumeRole", {})).toBe("account");
    }
    expect(
      evaluateTrust(trusting({ AWS: "arn:aws:iam::111111111111:root" }), other, "sts:AssumeRole", {}),
    ).toBe("implicit");
  });

  it("the specific grant is found even when an account grant comes first", () => {
    const t = trust(
      { Effect: "Allow", Principal: { AWS: "111111111111" }, Action: "sts:AssumeRole" },
      { Effect: "Allow", Principal: { AWS: [other.arn, central.arn] }, Action: "sts:AssumeRole" },
    );
    expect(evaluateTrust(t, central, "sts:AssumeRole", {})).toBe("specific");
  });

  it("the action must be granted: sts:TagSession and sts:SetSourceIdentity are separate", () => {
    const t = trusting({ AWS: central.arn });
    expect(evaluateTrust(t, central, "sts:TagSession", {})).toBe("specific");
    expect(evaluateTrust(t, central, "sts:SetSourceIdentity", {})).toBe("implicit");
    expect(evaluateTrust(t, central, "STS:assumerole", {})).toBe("specific");
  });

  it("other principal types do not trust an AWS principal", () => {
    expect(evaluateTrust(trusting({ Service: "ec2.amazonaws.com" }), central, "sts:AssumeRole", {})).toBe(
      "implicit",
    );
  });

  it("conditions apply, and an explicit Deny wins", () => {
    const t = trusting({ AWS: central.arn }, { Condition: { StringEquals: { "sts:ExternalId": "x-1" } } });
    expect(evaluateTrust(t, central, "sts:AssumeRole", { "sts:ExternalId": "x-1" })).toBe("specific");
    expect(evaluateTrust(t, central, "sts:AssumeRole", {})).toBe("implicit");
    const withDeny = trust(
      { Effect: "Allow", Principal: { AWS: "111111111111" }, Action: "sts:*" },
      { Effect: "Deny", Principal: { AWS: central.arn }, Action: "sts:TagSession" },
    );
    expect(evaluateTrust(withDeny, central, "sts:AssumeRole", {})).toBe("account");
    expect(evaluateTrust(withDeny, central, "sts:TagSession", {})).toBe("deny");
  });

  it("NotPrincipal trusts everyone but the listed principals", () => {
    const t = trust({ Effect: "Allow", NotPrincipal: { AWS: other.arn }, Action: "sts:AssumeRole" });
    expect(evaluateTrust(t, central, "sts:AssumeRole", {})).toBe("account");
    expect(evaluateTrust(t, other, "sts:AssumeRole", {})).toBe("implicit");
  });
});

describe("grammar on write", () => {
  const malformed = (text: string, kind: "identity" | "trust" | "session" = "identity") => {
    try {
      parsePolicy(text, kind);
    } catch (e) {
      expect(e).toBeInstanceOf(AwsError);
      expect((e as AwsError).code).toBe("MalformedPolicyDocument");
      return (e as AwsError).message;
    }
    throw new Error(`expected ${text} to be refused`);
  };
  const doc = (...statements: unknown[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });

  it("accepts a single statement object and strings for lists", () => {
    const p = parsePolicy(
      JSON.stringify({
        Version: "2012-10-17",
        Statement: { Effect: "Allow", Action: "s3:GetObject", Resource: "*" },
      }),
      "identity",
    );
    expect(p.Statement).toEqual([{ Effect: "Allow", Action: ["s3:GetObject"], Resource: ["*"] }]);
  });

  it("refuses what IAM refuses", () => {
    expect(malformed("{")).toMatch(/invalid Json/);
    expect(malformed("[]")).toMatch(/invalid Json/);
    expect(malformed(JSON.stringify({ Version: "2012-10-17" }))).toMatch(/Statement/);
    expect(malformed(doc({ Effect: "allow", Action: "s3:GetObject", Resource: "*" }))).toMatch(/Effect/);
    expect(malformed(doc({ Effect: "Allow", Resource: "*" }))).toMatch(/actions/);
    expect(
      malformed(doc({ Effect: "Allow", Action: "s3:GetObject", NotAction: "s3:Put*", Resource: "*" })),
    ).toMatch(/actions/);
    expect(malformed(doc({ Effect: "Allow", Action: "s3 GetObject", Resource: "*" }))).toMatch(/Action/);
    expect(malformed(doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "bucket" }))).toMatch(/ARN/);
    expect(
      malformed(doc({ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "*" })),
    ).toMatch(/principal/);
    expect(malformed(doc({ Effect: "Allow", Action: "sts:AssumeRole" }), "trust")).toMatch(/Principal/);
    expect(
      malformed(
        doc({ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole", Resource: "*" }),
        "trust",
      ),
    ).toMatch(/Resource/);
    expect(
      malformed(
        doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*", Condition: { Maybe: { k: "v" } } }),
      ),
    ).toMatch(/Condition/);
    expect(malformed(JSON.stringify({ Version: "1999-01-01", Statement: [] }))).toMatch(/version/);
    expect(malformed(doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*", Extra: 1 }))).toMatch(
      /Extra/,
    );
  });

  it("counts size without insignificant white space", () => {
    const compact = doc(allow("s3:GetObject", "arn:aws:s3:::a b"));
    expect(policySize(JSON.stringify(JSON.parse(compact), null, 4))).toBe(compact.length);
  });
});
