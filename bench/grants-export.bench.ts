// `grants export` of 10,000 applied grants (issue 17) from a SQLite store on disk, in each format: read
// (targets ⋈ requests, approvals), model, render. Baseline: the same rows read and JSON.stringify'd as
// they are — the floor any export pays. Goal: each format ≤ 1 s.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteDb } from "../broker/db/sqlite.ts";
import { exportGrants } from "../broker/grants-export/index.ts";
import { openRequestsStore } from "../broker/requests-store.ts";
import type { GrantExportFormat } from "../shared/grants-export.ts";
import type { RequestKind } from "../shared/requests.ts";
import { defineBench } from "./lib.ts";

const GRANTS = 10_000;
const ACCOUNTS = 20;
const GOAL_MS = 1_000;

const account = (i: number) => String(100_000_000_000 + (i % ACCOUNTS));
/** Four in ten inline policies, a quarter attachments, a fifth memberships, the rest role access. */
const kindOf = (i: number): RequestKind => {
  const m = i % 20;
  return m < 8 ? "inline-policy" : m < 13 ? "managed-policy" : m < 17 ? "group-membership" : "role-access";
};
const policy = (i: number) =>
  JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: `Grant${i}`,
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:ListBucket"],
        Resource: [`arn:aws:s3:::bucket-${i}`, `arn:aws:s3:::bucket-${i}/\${aws:username}/*`],
      },
    ],
  });

defineBench({
  name: "grants-export",
  description: `grants export of ${GRANTS.toLocaleString("en")} applied grants (terraform, cloudformation, json) vs. reading and JSON.stringify of the same rows`,
  async run(ctx) {
    const dir = mkdtempSync(join(tmpdir(), "gh-bench-export-"));
    const file = join(dir, "broker.sqlite");
    openRequestsStore(file).close(); // the requests' schema, as the broker leaves it
    const db = openSqliteDb(file);
    try {
      // Rows written straight into the tables: the store's state machine is not what is measured.
      const now = Date.now();
      db.transaction(() => {
        for (let i = 0; i < GRANTS; i++) {
          const id = i.toString(16).padStart(16, "0");
          const kind = kindOf(i);
          const user = kind === "group-membership" || (kind !== "role-access" && i % 3 === 0);
          const name = user ? `user-${i % 500}` : `Role${i % 700}`;
          const at = new Date(now - (GRANTS - i) * 60_000).toISOString();
          db.run(
            "INSERT INTO requests (id, kind, requester, requester_groups, justification, expiry_seconds, policy, created_at) VALUES (?, ?, ?, '[]', ?, ?, NULL, ?)",
            [
              id,
              kind,
              `person${i % 2000}@example.com`,
              `ticket OPS-${i}: needs access`,
              i % 4 ? 86_400 : null,
              at,
            ],
          );
          db.run(
            "INSERT INTO targets (request_id, n, arn, account_id, type, name, state, policy_name, policy, applied_policy, policy_arn, group_name, applied_at, expires_at, updated_at) VALUES (?, 0, ?, ?, ?, ?, 'applied', ?, ?, ?, ?, ?, ?, ?, ?)",
            [
              id,
              `arn:aws:iam::${account(i)}:${user ? "user" : "role"}/${name}`,
              account(i),
              user ? "user" : "role",
              name,
              kind === "inline-policy" ? `gatehouse-${id}-0` : null,
              kind === "inline-policy" ? policy(i) : null,
              kind === "inline-policy" ? policy(i) : null,
              kind === "managed-policy" ? `arn:aws:iam::aws:policy/Policy${i % 300}` : null,
              kind === "group-membership" ? `group-${i % 50}` : null,
              at,
              i % 4 ? new Date(now + 86_400_000).toISOString() : null,
              at,
            ],
          );
          for (const approver of ["approver1@example.com", "approver2@example.com"].slice(0, 1 + (i % 2)))
            db.run("INSERT INTO approvals (request_id, n, approver, time, admin) VALUES (?, 0, ?, ?, 0)", [
              id,
              approver,
              at,
            ]);
        }
      });

      const accountNames = new Map(Array.from({ length: ACCOUNTS }, (_, i) => [account(i), `account-${i}`]));
      let bytes = 0;
      const run = (format: GrantExportFormat) => async () => {
        const r = exportGrants(db, { format, filter: { mode: "applied" }, accountNames });
        if (r.count !== GRANTS) throw new Error(`exported ${r.count} grants, not ${GRANTS}`);
        bytes = r.text.length;
      };
      const sizes: Record<string, number> = {};
      for (const f of ["terraform", "cloudformation", "json"] as const) {
        await run(f)();
        sizes[f] = bytes;
      }
      // Two untimed runs first: the renderers are JIT-compiled by then, as in a broker that has run a while.
      const common = { iterations: 5, warmup: 2, concurrency: 1, maxSeconds: 60 };
      const results = await ctx.compare(
        [
          {
            name: "rows-stringify",
            note: "SELECT the same rows and approvals, JSON.stringify",
            ...common,
            op: async () => {
              const rows = db.all(
                "SELECT t.*, r.kind, r.requester, r.justification FROM targets t JOIN requests r ON r.id = t.request_id WHERE t.state = 'applied'",
              );
              const approvals = db.all(
                "SELECT request_id, n, approver FROM approvals WHERE superseded_at IS NULL",
              );
              bytes = JSON.stringify({ rows, approvals }).length;
            },
          },
          ...(["terraform", "cloudformation", "json"] as const).map((f) => ({
            name: `export-${f}`,
            note: `${(sizes[f]! / 1_048_576).toFixed(1)} MB`,
            ...common,
            baseline: "rows-stringify",
            op: run(f),
          })),
        ],
        { rounds: 3 },
      );
      for (const r of results.slice(1))
        console.log(
          `  ${r.name}: ${r.meanMs.toFixed(0)} ms mean, ${r.maxMs.toFixed(0)} ms max for ${GRANTS} grants ` +
            `(goal ≤ ${GOAL_MS} ms: ${r.maxMs <= GOAL_MS ? "met" : "NOT met"})`,
        );
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
