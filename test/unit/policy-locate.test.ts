import { describe, expect, it } from "vitest";
import { locate, pathRanges } from "../../shared/policy/locate.ts";
import { lintPolicy } from "../../shared/policy-lint.ts";

const POLICY = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:GetObjekt"],
      "Resource": "arn:aws:s3:::reports/*",
      "Condition": { "StringEquals": { "aws:PrincipalTag/team.name": "x" } }
    }
  ]
}`;

const at = (text: string, r: { from: number; to: number }) => text.slice(r.from, r.to);

describe("pathRanges", () => {
  it("gives list items their value and object members their key and value", () => {
    const r = pathRanges(POLICY);
    expect(at(POLICY, r.get("Statement[0].Action[1]")!)).toBe('"s3:GetObjekt"');
    expect(at(POLICY, r.get("Statement[0].Effect")!)).toBe('"Effect": "Allow"');
    expect(at(POLICY, r.get('Statement[0].Condition.StringEquals["aws:PrincipalTag/team.name"]')!)).toBe(
      '"aws:PrincipalTag/team.name": "x"',
    );
    expect(r.get("")).toEqual({ from: 0, to: POLICY.length });
  });

  it("keeps what it read before a syntax error", () => {
    const broken = '{"Version": "2012-10-17", "Statement": [ {"Effect": "Allow",, } ]}';
    const r = pathRanges(broken);
    expect(at(broken, r.get("Version")!)).toBe('"Version": "2012-10-17"');
    expect(r.get("Statement")).toBeUndefined();
  });
});

describe("locate", () => {
  it("puts an unknown action's finding on the action", async () => {
    const lint = await lintPolicy(POLICY);
    const marked = locate(POLICY, lint.findings);
    const unknown = marked.find((f) => f.code === "UNKNOWN_ACTION")!;
    expect(at(POLICY, unknown)).toBe('"s3:GetObjekt"');
  });

  it("puts INVALID_JSON where the parser stopped; whole-document findings get [0, 0]", async () => {
    const text = '{"Version": "2012-10-17", "Statement": [}';
    const lint = await lintPolicy(text);
    const [bad] = locate(text, lint.findings);
    expect(bad!.code).toBe("INVALID_JSON");
    expect(bad!.from).toBeGreaterThan(30);
    const none = await lintPolicy('{"Version": "2012-10-17"}');
    const missing = locate('{"Version": "2012-10-17"}', none.findings).find(
      (f) => f.code === "MISSING_STATEMENT",
    )!;
    expect([missing.from, missing.to]).toEqual([0, 0]);
  });

  it("falls back to the nearest enclosing path that exists", () => {
    const [f] = locate(POLICY, [
      { severity: "warning", code: "WILDCARD_ACTION", message: "m", path: "Statement[0].Action[7]" },
    ]);
    expect(at(POLICY, f!)).toBe('"Action": ["s3:GetObject", "s3:GetObjekt"]');
  });
});
