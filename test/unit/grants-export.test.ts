// grants export's pure parts: HCL quoting (templates, heredoc delimiters), resource names that stay valid
// and unique whatever the entity names, one-line comments, the command's flags and the CloudFormation gaps.

import { parse as parseHcl } from "@cdktf/hcl2json";
import { describe, expect, it } from "vitest";
import { grantsExportInput } from "../../broker/commands/grants-export.ts";
import type { BrokerConfig } from "../../broker/config.ts";
import { cloudFormationTemplate } from "../../broker/grants-export/cloudformation.ts";
import { parseSince, resolveAccounts } from "../../broker/grants-export/index.ts";
import { type GrantRow, oneLine, toExport } from "../../broker/grants-export/model.ts";
import { hclString, renderTerraform } from "../../broker/grants-export/terraform.ts";

const row = (over: Partial<GrantRow>): GrantRow => ({
  requestId: "0123456789abcdef",
  n: 0,
  kind: "inline-policy",
  state: "applied",
  accountId: "222222222222",
  type: "role",
  name: "Billing",
  arn: "arn:aws:iam::222222222222:role/Billing",
  policyName: "gatehouse-0123456789abcdef-0",
  policy: null,
  appliedPolicy: '{"Version":"2012-10-17","Statement":[]}',
  policyArn: null,
  groupName: null,
  requester: "alice@example.com",
  justification: "because",
  approvers: ["bob@example.com"],
  appliedAt: "2026-12-01T00:00:00.000Z",
  expiresAt: null,
  updatedAt: "2026-12-01T00:00:00.000Z",
  drift: null,
  note: null,
  ...over,
});

type Hcl = { resource: Record<string, Record<string, Record<string, string>[]>> };

describe("Terraform text", () => {
  it("quotes strings so that HCL reads no template in them", async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: HCL's template syntax, on purpose
    const tricky = 'a "quoted" ${var.x} %{if} \\ back\nslash';
    const hcl = (await parseHcl("t.tf", `locals {\n  v = ${hclString(tricky)}\n}\n`)) as {
      locals: { v: string }[];
    };
    // hcl2json keeps template escapes as written: undoing them gives the string back.
    expect(hcl.locals[0]!.v.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{")).toBe(tricky);
  });

  it("a policy with a line that is the heredoc's delimiter, and IAM variables, still parses to the document", async () => {
    const doc = {
      Version: "2012-10-17",
      Statement: [
        // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable
        { Sid: "x", Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::b/${aws:username}" },
      ],
    };
    // A document whose pretty form holds a line "POLICY" cannot happen with JSON; a raw one can.
    const raw = `${JSON.stringify(doc)}\nPOLICY\n`;
    for (const applied of [JSON.stringify(doc), raw]) {
      const tf = renderTerraform(toExport([row({ appliedPolicy: applied })], { mode: "applied" }, new Map()));
      const hcl = (await parseHcl("t.tf", tf)) as Hcl;
      const res = Object.values(hcl.resource.aws_iam_role_policy!)[0]![0]!;
      const text = res.policy!.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");
      if (applied === raw) expect(text).toBe(`${raw}\n`);
      else expect(JSON.parse(text)).toEqual(doc);
    }
  });

  it("resource names are valid identifiers and unique, whatever the entity names; comments stay one line", async () => {
    const rows = [
      row({ name: "a.b+c=d,e@f", requestId: "r1" }),
      row({ name: "a_b_c_d_e_f", requestId: "r1", n: 1 }),
      row({ name: "9lives", requestId: "r2", justification: "line one\nline two\r\n# not a comment\u0000" }),
      row({
        name: "x",
        requestId: "r3",
        kind: "group-membership",
        type: "user",
        groupName: "g",
        policyName: null,
      }),
      row({
        name: "x",
        requestId: "r3",
        n: 1,
        kind: "managed-policy",
        type: "user",
        policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
      }),
    ];
    const e = toExport(rows, { mode: "applied" }, new Map([["222222222222", "prod\nevil"]]));
    const names = e.grants.map((g) => g.address!.split(".")[1]!);
    for (const n of names) expect(n).toMatch(/^[A-Za-z_][A-Za-z0-9_-]*$/);
    expect(new Set(e.grants.map((g) => g.address)).size).toBe(rows.length);
    for (const g of e.grants) expect(g.logicalId ?? "Ok").toMatch(/^[A-Za-z0-9]+$/);
    const tf = renderTerraform(e);
    expect(tf).toContain("# justification: line one line two # not a comment");
    expect(tf).toContain("# account 222222222222 (prod evil)");
    const hcl = (await parseHcl("t.tf", tf)) as Hcl & { import: unknown[] };
    expect(hcl.import).toHaveLength(rows.length);
    expect(Object.keys(hcl.resource.aws_iam_role_policy!)).toHaveLength(3);
  });

  it("oneLine caps the length", () => {
    expect(oneLine("x".repeat(500))).toHaveLength(200);
    expect(oneLine(" a \t b ")).toBe("a b");
  });
});

describe("CloudFormation", () => {
  it("an export with nothing CloudFormation can hold is still a valid template, with its gaps said", () => {
    const e = toExport(
      [
        row({
          kind: "managed-policy",
          policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
          policyName: null,
        }),
      ],
      { mode: "applied" },
      new Map(),
    );
    const t = cloudFormationTemplate(e) as {
      Resources: Record<string, { Type: string }>;
      Metadata: { Gatehouse: { gaps: string[]; notResources: unknown[] } };
    };
    expect(Object.values(t.Resources).map((r) => r.Type)).toEqual([
      "AWS::CloudFormation::WaitConditionHandle",
    ]);
    expect(t.Metadata.Gatehouse.notResources).toHaveLength(1);
    expect(t.Metadata.Gatehouse.gaps[0]).toMatch(/^managed-policy: CloudFormation has no resource/);
  });
});

describe("the command's flags", () => {
  const config = {
    aws: {
      accounts: [
        { id: "222222222222", name: "prod" },
        { id: "333333333333", name: "staging" },
      ],
    },
  } as unknown as BrokerConfig;
  const flags = {
    sub: "export",
    format: undefined,
    active: false,
    accounts: undefined,
    expiredSince: undefined,
    permanentOnly: false,
    out: undefined,
  };

  it("defaults to Terraform of every applied grant; names and ids select accounts", () => {
    expect(grantsExportInput(config, flags)).toEqual({
      format: "terraform",
      filter: { mode: "applied" },
      out: undefined,
    });
    expect(
      grantsExportInput(config, {
        ...flags,
        active: true,
        accounts: ["Staging", "222222222222"],
        permanentOnly: true,
      }).filter,
    ).toEqual({ mode: "active", accounts: ["333333333333", "222222222222"], permanentOnly: true });
    expect(grantsExportInput(config, { ...flags, expiredSince: "2026-12-01" }).filter).toEqual({
      mode: "expired-since",
      since: "2026-12-01T00:00:00.000Z",
    });
    // A twelve-digit account no longer configured may still hold grants.
    expect(resolveAccounts(["444444444444"], [])).toEqual(["444444444444"]);
    expect(parseSince("2026-12-01T10:00:00+02:00")).toBe("2026-12-01T08:00:00.000Z");
  });

  it("refuses what it cannot honour with BAD_ARGUMENT", () => {
    for (const bad of [
      { ...flags, sub: "list" },
      { ...flags, format: "yaml" },
      { ...flags, accounts: ["nowhere"] },
      { ...flags, expiredSince: "yesterday" },
      { ...flags, expiredSince: "2026-13-45" },
      { ...flags, active: true, expiredSince: "2026-01-01" },
    ])
      expect(() => grantsExportInput(config, bad)).toThrow(expect.objectContaining({ code: "BAD_ARGUMENT" }));
  });
});
