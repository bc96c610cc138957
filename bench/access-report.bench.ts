// The access review for 10,000 people × 5,000 roles (issue 16): the whole report — people from the audit's
// sign-ins, 1,000 role-access grants, last uses from 100,000 audit rows on SQLite, the "why" of every
// access — against one pass over the same data (each person's roles from the access index, as /v1/roles
// finds them, plus one plain scan of the same audit rows): the floor any report must pay. Also the CSV,
// and the memory the report holds. Goal: the report ≤ 2 s.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { AccessIndex } from "../broker/access-index.ts";
import { auditPeople } from "../broker/access-report/people/audit.ts";
import { grantPeople } from "../broker/access-report/people/grants.ts";
import { accessReport } from "../broker/access-report/service.ts";
import { openSqliteDb } from "../broker/db/sqlite.ts";
import type { RequestsStore } from "../broker/requests-store.ts";
import { openSqliteStore, type SyncedRole } from "../broker/store.ts";
import { DEFAULT_ACCESS_TAG_KEYS } from "../shared/access.ts";
import { accessReportCsv } from "../shared/access-report.ts";
import { defineBench } from "./lib.ts";

const PEOPLE = 10_000;
const ROLES = 5_000;
const ACCOUNTS = 50;
const GROUPS = 1_000;
const USES = 100_000;
const GRANTS = 1_000;
const GOAL_MS = 2_000;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const account = (i: number) => String(100_000_000_000 + (i % ACCOUNTS));
const email = (i: number) => `person${i}@example.com`;
const group = (i: number) => `team-${i % GROUPS}`;
const roleArn = (i: number) => `arn:aws:iam::${account(i)}:role/Role${i}`;

/** Every role tagged for two groups (console) and one (CLI only); one in ten also for a person's e-mail. */
function roles(): SyncedRole[] {
  return Array.from({ length: ROLES }, (_, i) => ({
    arn: roleArn(i),
    accountId: account(i),
    name: `Role${i}`,
    path: "/",
    roleId: `AROA${i}`,
    maxSessionDuration: 3600,
    tags: [
      {
        Key: "gatehouse-authorized",
        Value: `${group(i * 7)}:${group(i * 7 + 1)}${i % 10 === 0 ? `:${email(i)}` : ""}`,
      },
      { Key: "gatehouse-authorized-cli-only", Value: group(i * 13 + 5) },
      { Key: "team", Value: "platform" },
    ],
    inlinePolicies: {},
    managedPolicies: [],
  }));
}
/** Each person in three groups. */
const groupsOf = (p: number) => [group(p), group(p * 3 + 1), group(p * 11 + 2)];

defineBench({
  name: "access-report",
  description: `the access review for ${PEOPLE.toLocaleString("en")} people × ${ROLES.toLocaleString("en")} roles vs. one pass over the same data`,
  async run(ctx) {
    const dir = mkdtempSync(join(tmpdir(), "gh-bench-report-"));
    const file = join(dir, "broker.sqlite");
    openSqliteStore(file).close(); // the broker's own schema
    const db = openSqliteDb(file);
    try {
      // The audit as a running broker leaves it: one sign-in per person, credentials and consoles. Rows
      // are written straight into the table (the chain is not what is measured).
      const t0 = Date.now() - 200 * 86_400_000;
      db.transaction(() => {
        let seq = 0;
        const row = (actor: string, action: string, target: string | null, time: number, detail: string) =>
          db.run(
            "INSERT INTO audit (seq, time, actor, action, target, outcome, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, 'ok', ?, '', '')",
            [++seq, new Date(time).toISOString(), actor, action, target, detail],
          );
        for (let p = 0; p < PEOPLE; p++)
          row(email(p), "signin.seen", null, t0 + p * 1000, JSON.stringify({ groups: groupsOf(p) }));
        for (let u = 0; u < USES; u++) {
          const p = (u * 7919) % PEOPLE;
          // Mostly a role of the person's first group (role i names group(i * 7): i ≡ p × 143 mod 1,000,
          // as 7 × 143 ≡ 1); one use in ten of a role they do not have (access since taken away).
          const r = u % 10 === 0 ? (p * 31 + u) % ROLES : (((p % GROUPS) * 143) % GROUPS) + GROUPS * (u % 5);
          row(
            email(p),
            u % 5 === 0 ? "console.url" : "credentials.issue",
            roleArn(r),
            t0 + u * 150_000,
            "{}",
          );
        }
      });
      const index = new AccessIndex(DEFAULT_ACCESS_TAG_KEYS, false, new Map());
      for (const r of roles()) index.upsertRole(r);
      const targets = Array.from({ length: GRANTS }, (_, i) => ({
        kind: "role-access",
        requester: email(i * 9),
        arn: roleArn(i * 5 + 3),
        requestId: `req-${i}`,
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      })) as unknown as ReturnType<RequestsStore["targetsIn"]>;
      const requests = { targetsIn: () => targets };
      const config = {
        access: { tag_keys: ["gatehouse-authorized"], cli_only_tag_keys: ["gatehouse-authorized-cli-only"] },
        oidc: { force_groups_lowercase: false },
      } as Parameters<typeof accessReport>[0]["config"];
      const deps = {
        config,
        index,
        db,
        requests,
        sources: [auditPeople({ db, requests }), grantPeople({ db, requests })],
      };

      let sink = 0;
      const [, built] = await ctx.compare(
        [
          {
            name: "one-pass",
            note: `${PEOPLE} × rolesFor + one scan of ${USES + PEOPLE} audit rows`,
            iterations: 5,
            concurrency: 1,
            maxSeconds: 60,
            op: async () => {
              const people = db.all<{ actor: string; detail: string }>(
                "SELECT actor, detail FROM audit WHERE action = 'signin.seen'",
              );
              for (const p of people) {
                const groups = (JSON.parse(p.detail) as { groups: string[] }).groups;
                sink += index.rolesFor({ email: p.actor, groups }).length;
              }
              sink += db.all(
                "SELECT actor, target, action, time FROM audit WHERE action IN ('credentials.issue', 'console.url')",
              ).length;
            },
          },
          {
            name: "access-report",
            note: "people, grants, why, last use, unused",
            iterations: 5,
            concurrency: 1,
            maxSeconds: 60,
            baseline: "one-pass",
            op: async () => {
              sink += accessReport(deps).totals.access;
            },
          },
        ],
        { rounds: 3 },
      );

      // Memory: what one report holds once built (heap after a full collection), and the process's rss.
      gc();
      const before = process.memoryUsage();
      const t = performance.now();
      const report = accessReport(deps);
      const ms = performance.now() - t;
      const afterRss = process.memoryUsage().rss;
      gc();
      const held = process.memoryUsage().heapUsed - before.heapUsed;
      const tc = performance.now();
      const csv = accessReportCsv(report.people);
      const csvMs = performance.now() - tc;
      const json = JSON.stringify(report);
      const mb = (n: number) => `${(n / 1_048_576).toFixed(1)} MB`;
      console.log(
        `  report: ${report.totals.people} people, ${report.totals.roles} roles, ${report.totals.access} person-role pairs ` +
          `(${report.totals.unused} unused); ${ms.toFixed(0)} ms once, ${(built?.meanMs ?? 0).toFixed(0)} ms mean ` +
          `(goal ≤ ${GOAL_MS} ms: ${(built?.meanMs ?? Number.POSITIVE_INFINITY) <= GOAL_MS ? "met" : "NOT met"})`,
      );
      console.log(
        `  memory: report holds ${mb(held)} of heap; rss ${mb(before.rss)} before, ${mb(afterRss)} with it; ` +
          `JSON ${mb(json.length)}; CSV ${mb(csv.length)} in ${csvMs.toFixed(0)} ms`,
      );
      if (sink === 0 || report.totals.access === 0) throw new Error("the report found no access");
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
