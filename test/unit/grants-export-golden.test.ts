// The exact text of each format for a small fixed set of grants, pinned before the renderers were made
// faster (issue 17 polish): a speed-up must not change one byte of what a team commits. Regenerate the
// files on purpose only: GATEHOUSE_UPDATE_GOLDEN=1 npx vitest run test/unit/grants-export-golden.test.ts

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderExport } from "../../broker/grants-export/index.ts";
import { type ExportFilter, type GrantRow, oneLine, toExport } from "../../broker/grants-export/model.ts";
import type { GrantExportFormat } from "../../shared/grants-export.ts";

const DIR = join(import.meta.dirname, "../fixtures/grants-export");
const NOW = new Date("2026-12-05T10:00:00.000Z");

const base: GrantRow = {
  requestId: "00000000000000a1",
  n: 0,
  kind: "inline-policy",
  state: "applied",
  accountId: "222222222222",
  type: "role",
  name: "Billing",
  arn: "arn:aws:iam::222222222222:role/Billing",
  policyName: "gatehouse-00000000000000a1-0",
  policy: null,
  appliedPolicy: null,
  policyArn: null,
  groupName: null,
  requester: "alice@example.com",
  justification: "OPS-1: month-end close",
  approvers: ["bob@example.com"],
  appliedAt: "2026-12-01T09:00:00.000Z",
  expiresAt: null,
  updatedAt: "2026-12-01T09:00:00.000Z",
  drift: null,
  note: null,
};

const doc = {
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "Read",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:ListBucket"],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, escaped in HCL
      Resource: ["arn:aws:s3:::reports", "arn:aws:s3:::reports/${aws:username}/*"],
      Condition: { Bool: { "aws:SecureTransport": "true" }, NumericLessThan: { "s3:max-keys": 10 } },
    },
  ],
};

const rows = (state: GrantRow["state"]): GrantRow[] =>
  [
    { appliedPolicy: JSON.stringify(doc), approvers: ["bob@example.com", "carol@example.com"] },
    {
      requestId: "00000000000000a2",
      policy: '{"Version":"2012-10-17","Statement":[]}',
      appliedPolicy: null,
      expiresAt: "2026-12-06T09:00:00.000Z",
      justification: "line one\nline two\t# not a comment\u0000",
      approvers: [],
    },
    {
      requestId: "00000000000000a3",
      type: "user" as const,
      name: "dave.x+ops@corp",
      arn: "arn:aws:iam::222222222222:user/dave.x+ops@corp",
      // Not JSON (a document IAM would refuse; the export shows what the store holds) with a line that is
      // the heredoc's delimiter.
      appliedPolicy: 'not json %{x}\nPOLICY\n  "quoted"',
      drift: "changed outside\nGatehouse",
      note: "kept on purpose",
    },
    {
      requestId: "00000000000000b1",
      kind: "managed-policy" as const,
      policyName: null,
      policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
      expiresAt: "2026-12-05T12:00:00.000Z",
    },
    {
      requestId: "00000000000000c1",
      n: 2,
      kind: "group-membership" as const,
      accountId: "333333333333",
      type: "user" as const,
      name: "erin",
      arn: "arn:aws:iam::333333333333:user/erin",
      policyName: null,
      groupName: "Auditors",
      requester: "erin@example.com",
      justification: "",
    },
    {
      requestId: "00000000000000d1",
      kind: "role-access" as const,
      accountId: "333333333333",
      name: "Deploy",
      arn: "arn:aws:iam::333333333333:role/Deploy",
      policyName: null,
      requester: "frank@example.com",
    },
  ].map((o) => ({
    ...base,
    ...o,
    state,
    updatedAt: state === "expired" ? "2026-12-04T00:00:00.000Z" : base.updatedAt,
  }));

const cases: { name: string; state: GrantRow["state"]; filter: ExportFilter }[] = [
  { name: "applied", state: "applied", filter: { mode: "applied" } },
  {
    name: "active",
    state: "applied",
    filter: { mode: "active", accounts: ["222222222222"], permanentOnly: true },
  },
  {
    name: "expired",
    state: "expired",
    filter: { mode: "expired-since", since: "2026-12-01T00:00:00.000Z" },
  },
];
// `.golden`: biome would reformat a `.json` file, and these must stay exactly as rendered.
const EXT: Record<GrantExportFormat, string> = {
  terraform: "tf.golden",
  cloudformation: "cfn.json.golden",
  json: "json.golden",
};
const names = new Map([
  ["222222222222", "prod"],
  ["333333333333", "staging\nevil"],
]);

describe("grants export, byte for byte", () => {
  for (const c of cases)
    for (const format of ["terraform", "cloudformation", "json"] as const)
      it(`${c.name} as ${format}`, () => {
        const text = renderExport(toExport(rows(c.state), c.filter, names, NOW), format);
        const file = join(DIR, `${c.name}.${EXT[format]}`);
        if (process.env.GATEHOUSE_UPDATE_GOLDEN) writeFileSync(file, text);
        expect(text).toBe(readFileSync(file, "utf8"));
      });
});

describe("oneLine", () => {
  it("leaves a clean line as it is and flattens anything else as before", () => {
    const flatten = (s: string, max = 200) => {
      const flat = s
        .replace(/[\p{Cc}\u2028\u2029]+/gu, " ")
        .replace(/\s+/g, " ")
        .trim();
      return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
    };
    for (const s of [
      "plain text, one line",
      "",
      " lead",
      "trail ",
      "two  spaces",
      "tab\there",
      "nbsp\u00a0here",
      "line\u2028sep",
      "ctl\u0007x",
      "c1\u0085x",
      "new\nline",
      "x".repeat(200),
      "y".repeat(201),
      "ü é ß ✓ 😀",
    ])
      expect(oneLine(s)).toBe(flatten(s));
  });
});
