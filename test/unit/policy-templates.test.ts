// The request panel's policy templates: each one, with its example parameters and with other valid ones,
// lints valid with no error and no warning at the risk an approver expects; parameters are checked.

import { describe, expect, it } from "vitest";
import {
  POLICY_TEMPLATES,
  policyTemplate,
  type TemplateId,
  templateExamples,
  templateProblems,
} from "../../shared/policy/templates.ts";
import { lintPolicy } from "../../shared/policy-lint.ts";

const EXPECTED_RISK: Record<TemplateId, "low" | "medium"> = {
  "s3-read": "low",
  "s3-read-write": "medium",
  "sqs-send-receive": "medium",
  "sns-publish": "medium",
  "dynamodb-read": "low",
  "dynamodb-read-write": "medium",
  "kms-decrypt": "medium",
  "secrets-read": "low",
  custom: "low",
};

/** Other values each parameter accepts (a second account, a FIFO queue, …). */
const OTHER_VALUES: Record<string, string> = {
  bucket: "prod.reports-2026",
  queue: "arn:aws:sqs:us-east-1:222222222222:jobs.fifo",
  topic: "arn:aws:sns:us-east-1:222222222222:deploys",
  table: "arn:aws:dynamodb:us-east-1:222222222222:table/Sessions_v2",
  key: "arn:aws:kms:us-east-1:222222222222:key/mrk-1234abcd12ab34cd56ef1234567890ab",
  secret: "arn:aws:secretsmanager:us-east-1:222222222222:secret:prod/db/password-a1B2c3",
};

describe("policy templates", () => {
  it("cover the issue's list, each id once", () => {
    expect(POLICY_TEMPLATES.map((t) => t.id)).toEqual(Object.keys(EXPECTED_RISK));
    expect(policyTemplate("kms-decrypt").title).toBe("KMS key: decrypt");
    expect(() => policyTemplate("nope" as TemplateId)).toThrow(/no policy template/);
  });

  for (const t of POLICY_TEMPLATES) {
    for (const [label, values] of [
      ["examples", templateExamples(t)],
      ["other values", Object.fromEntries(t.parameters.map((p) => [p.key, OTHER_VALUES[p.key] ?? ""]))],
    ] as const) {
      it(`${t.id} with its ${label} lints valid at ${EXPECTED_RISK[t.id]} risk, with no finding`, async () => {
        expect(templateProblems(t, values)).toEqual({});
        const text = t.make(values);
        // Pretty-printed with two spaces, as the editor shows it.
        expect(text).toBe(JSON.stringify(JSON.parse(text), null, 2));
        const r = await lintPolicy(text);
        expect(r.findings).toEqual([]);
        expect(r.valid).toBe(true);
        expect(r.risk).toBe(EXPECTED_RISK[t.id]);
        for (const p of t.parameters) expect(text).toContain(values[p.key]!);
      });
    }
  }

  it("name the resources they are about, never every resource (except custom's list of buckets)", () => {
    const read = JSON.parse(policyTemplate("s3-read").make({ bucket: "team-reports" }));
    expect(read.Statement.map((s: { Resource: unknown }) => s.Resource)).toEqual([
      "arn:aws:s3:::team-reports",
      "arn:aws:s3:::team-reports/*",
    ]);
    expect(read.Statement[1].Action).not.toContain("s3:PutObject");
    const rw = JSON.parse(policyTemplate("s3-read-write").make({ bucket: "team-reports" }));
    expect(rw.Statement[1].Action).toContain("s3:PutObject");
    const table = "arn:aws:dynamodb:eu-west-1:333333333333:table/orders";
    expect(JSON.parse(policyTemplate("dynamodb-read").make({ table })).Statement[0].Resource).toEqual([
      table,
      `${table}/index/*`,
    ]);
  });

  it("say what is wrong with a parameter", () => {
    const s3 = policyTemplate("s3-read");
    expect(templateProblems(s3, {})).toEqual({ bucket: "required" });
    expect(templateProblems(s3, { bucket: "  " })).toEqual({ bucket: "required" });
    expect(templateProblems(s3, { bucket: "arn:aws:s3:::x" }).bucket).toMatch(/not its ARN/);
    expect(templateProblems(s3, { bucket: "Has_Upper" }).bucket).toMatch(/3 to 63 lower-case/);
    expect(templateProblems(s3, { bucket: "a..b" }).bucket).toMatch(/3 to 63/);
    const sqs = policyTemplate("sqs-send-receive");
    expect(templateProblems(sqs, { queue: "orders" }).queue).toMatch(/an SQS queue's ARN, like arn:aws:sqs:/);
    expect(templateProblems(sqs, { queue: "arn:aws:sns:eu-west-1:333333333333:orders" }).queue).toBeDefined();
    const kms = policyTemplate("kms-decrypt");
    expect(templateProblems(kms, { key: "arn:aws:kms:eu-west-1:333333333333:alias/app" }).key).toMatch(
      /key\/…/,
    );
    expect(templateProblems(policyTemplate("custom"), {})).toEqual({});
  });
});
