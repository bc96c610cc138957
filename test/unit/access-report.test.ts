// The access review's logic (issue 16): who may use which role and why (tag, group, e-mail, grant, until
// when), roles → people, last use and the unused flag, the merge of people sources, hostile values in the
// CSV, and the audit queries on a real SQLite store.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AccessIndex } from "../../broker/access-index.ts";
import { lastSignIns, lastUses, type Use } from "../../broker/access-report/audit-usage.ts";
import { auditPeople } from "../../broker/access-report/people/audit.ts";
import { grantPeople } from "../../broker/access-report/people/grants.ts";
import type { Grant, KnownPerson } from "../../broker/access-report/people/index.ts";
import { buildAccessReport, mergePeople, type SourceData } from "../../broker/access-report/report.ts";
import { accessReportInput } from "../../broker/commands/access-report.ts";
import { openDb } from "../../broker/db/index.ts";
import type { RequestsStore } from "../../broker/requests-store.ts";
import { openStore, type SyncedRole } from "../../broker/store.ts";
import { DEFAULT_ACCESS_TAG_KEYS, type Tag } from "../../shared/access.ts";
import { accessReportCsv, csvCell } from "../../shared/access-report.ts";
import { testDatabaseUrl } from "../support/pg.ts";

const PROD = "222222222222";
const STAGING = "333333333333";
const names = new Map([
  [PROD, "prod"],
  [STAGING, "staging"],
]);
const role = (account: string, name: string, tags: Record<string, string> = {}): SyncedRole => ({
  arn: `arn:aws:iam::${account}:role/${name}`,
  accountId: account,
  name,
  path: "/",
  roleId: `AROA${name.toUpperCase()}`,
  maxSessionDuration: 3600,
  tags: Object.entries(tags).map(([Key, Value]): Tag => ({ Key, Value })),
  inlinePolicies: {},
  managedPolicies: [],
});
const arn = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;

const NOW = new Date("2026-12-01T12:00:00.000Z");
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000).toISOString();

function index(roles: SyncedRole[], lowercase = false): AccessIndex {
  const i = new AccessIndex(DEFAULT_ACCESS_TAG_KEYS, lowercase, names, new Set(["gatehousespoke"]));
  for (const r of roles) i.upsertRole(r);
  return i;
}
const person = (
  email: string,
  groups: string[] | null,
  groupsAt: string | null = daysAgo(1),
): KnownPerson => ({
  email,
  groups,
  groupsAt,
  lastSignIn: groupsAt,
});
function report(
  roles: AccessIndex,
  sources: SourceData[],
  uses: Use[] = [],
  opts: { unusedDays?: number; lowercase?: boolean } = {},
) {
  return buildAccessReport({
    roles,
    keys: DEFAULT_ACCESS_TAG_KEYS,
    lowercaseGroups: opts.lowercase ?? false,
    sources,
    uses,
    now: NOW,
    unusedDays: opts.unusedDays ?? 90,
  });
}
const audit = (people: KnownPerson[]): SourceData => ({ name: "audit", people, grants: [] });
const grantsSource = (grants: Grant[]): SourceData => ({
  name: "grants",
  people: grants.map((g) => ({ email: g.email, groups: null, groupsAt: null })),
  grants,
});

const ORG = [
  role(STAGING, "Developer", {
    "gatehouse-authorized": "engineers:dave@example.com",
    "gatehouse-authorized-cli-only": "contractors",
  }),
  role(PROD, "ReadOnly", { "gatehouse-authorized-cli-only": "engineers" }),
  role(PROD, "Admin", { "gatehouse-authorized": "platform-admins" }),
  role(PROD, "Untagged"),
  role(PROD, "GatehouseSpoke", { "gatehouse-authorized": "engineers" }),
];

describe("access report: who may use what, and why", () => {
  it("explains each role by the tag and the group or e-mail that matched, and lists each role's people", () => {
    const r = report(index(ORG), [
      audit([
        person("alice@example.com", ["engineers"]),
        person("dave@example.com", ["contractors"]),
        person("zoe@example.com", ["nobody"]),
      ]),
    ]);
    const alice = r.people.find((p) => p.email === "alice@example.com")!;
    expect(alice.roles.map((x) => [`${x.accountName}/${x.roleName}`, x.level, x.until])).toEqual([
      ["prod/ReadOnly", "cli", null],
      ["staging/Developer", "console", null],
    ]);
    expect(alice.roles[1]!.reasons).toEqual([
      { kind: "tag", tagKey: "gatehouse-authorized", principal: "engineers", via: "group", level: "console" },
    ]);
    expect(alice.groupsFrom).toBe("audit");
    // dave: console through his e-mail and CLI through his group, both reasons shown, console wins.
    const dave = r.people.find((p) => p.email === "dave@example.com")!;
    expect(dave.roles).toHaveLength(1);
    expect(dave.roles[0]!.level).toBe("console");
    expect(dave.roles[0]!.reasons.map((x) => (x.kind === "tag" ? `${x.via}:${x.principal}` : ""))).toEqual([
      "email:dave@example.com",
      "group:contractors",
    ]);
    // zoe is known but has nothing: she is still in the review (an auditor asks about her too).
    expect(r.people.find((p) => p.email === "zoe@example.com")!.roles).toEqual([]);
    // Gatehouse's own role is nobody's, whatever its tags say; the untagged role is nobody's either.
    expect(r.roles.map((x) => `${x.accountName}/${x.roleName}`)).toEqual([
      "prod/Admin",
      "prod/ReadOnly",
      "staging/Developer",
    ]);
    const dev = r.roles.find((x) => x.roleName === "Developer")!;
    expect(dev.people.map((p) => [p.email, p.level])).toEqual([
      ["alice@example.com", "console"],
      ["dave@example.com", "console"],
    ]);
    expect(dev.principals).toEqual([
      { principal: "engineers", tagKey: "gatehouse-authorized", level: "console" },
      { principal: "dave@example.com", tagKey: "gatehouse-authorized", level: "console" },
      { principal: "contractors", tagKey: "gatehouse-authorized-cli-only", level: "cli" },
    ]);
    // Admin is tagged for a group nobody known is in: listed with no people.
    expect(r.roles.find((x) => x.roleName === "Admin")!.people).toEqual([]);
    expect(r.totals).toEqual({ people: 3, roles: 3, access: 3, unused: 3 });
  });

  it("SECURITY 22: a group that only partly matches a tag item grants nothing in the report either", () => {
    const roles = index([
      role(PROD, "Data", { "gatehouse-authorized": "engineers-all:data team" }),
      role(PROD, "Ops", { "gatehouse-authorized": "ops:team" }),
    ]);
    const r = report(roles, [
      audit([
        person("a@example.com", ["engineers"]),
        person("b@example.com", ["ops:team"]),
        person("c@example.com", ["data"]),
        person("d@example.com", ["Ops"]),
      ]),
    ]);
    expect(r.people.map((p) => [p.email, p.roles.map((x) => x.roleName)])).toEqual([
      ["a@example.com", []],
      // A group whose name contains ":" is one item, not two: it matches neither half.
      ["b@example.com", []],
      ["c@example.com", []],
      // Case counts unless force_groups_lowercase is on.
      ["d@example.com", []],
    ]);
    const lowered = report(
      index([role(PROD, "Ops", { "gatehouse-authorized": "ops" })], true),
      [audit([person("d@example.com", ["Ops"])])],
      [],
      { lowercase: true },
    );
    expect(lowered.people[0]!.roles.map((x) => x.roleName)).toEqual(["Ops"]);
  });

  it("shows a role-access grant with its request and end; a lapsed one or one on Gatehouse's own role is no access", () => {
    const until = new Date(NOW.getTime() + 3_600_000).toISOString();
    const r = report(index(ORG), [
      audit([person("carol@example.com", ["engineers"])]),
      grantsSource([
        { email: "Carol@Example.com", arn: arn(PROD, "Admin"), requestId: "req-1", until },
        { email: "carol@example.com", arn: arn(PROD, "Untagged"), requestId: "req-2", until: null },
        { email: "carol@example.com", arn: arn(PROD, "ReadOnly"), requestId: "req-3", until: daysAgo(1) },
        { email: "carol@example.com", arn: arn(PROD, "GatehouseSpoke"), requestId: "req-4", until: null },
        { email: "carol@example.com", arn: arn(PROD, "Deleted"), requestId: "req-5", until: null },
      ]),
    ]);
    expect(r.people).toHaveLength(1);
    const carol = r.people[0]!;
    expect(carol.sources).toEqual(["audit", "grants"]);
    expect(carol.roles.map((x) => [x.roleName, x.level, x.until, x.reasons.map((y) => y.kind)])).toEqual([
      ["Admin", "console", until, ["grant"]],
      // The lapsed grant on ReadOnly is gone; her group still gives the CLI.
      ["ReadOnly", "cli", null, ["tag"]],
      ["Untagged", "console", null, ["grant"]],
      ["Developer", "console", null, ["tag"]],
    ]);
    expect(carol.roles[0]!.reasons).toEqual([{ kind: "grant", requestId: "req-1", until }]);
    expect(r.roles.find((x) => x.roleName === "Untagged")!.people.map((p) => p.email)).toEqual([
      "carol@example.com",
    ]);
  });

  it("a grant and a tag on the same role: both reasons, and no end while the tag stands", () => {
    const until = new Date(NOW.getTime() + 3_600_000).toISOString();
    const r = report(index(ORG), [
      audit([person("alice@example.com", ["engineers"])]),
      grantsSource([{ email: "alice@example.com", arn: arn(PROD, "ReadOnly"), requestId: "r", until }]),
    ]);
    const ro = r.people[0]!.roles.find((x) => x.roleName === "ReadOnly")!;
    expect(ro.level).toBe("console");
    expect(ro.until).toBeNull();
    expect(ro.reasons.map((x) => x.kind)).toEqual(["tag", "grant"]);
    const later = new Date(NOW.getTime() + 7_200_000).toISOString();
    const grantsOnly = report(index(ORG), [
      grantsSource([
        { email: "x@example.com", arn: arn(PROD, "Untagged"), requestId: "a", until },
        { email: "x@example.com", arn: arn(PROD, "Untagged"), requestId: "b", until: later },
      ]),
    ]);
    expect(grantsOnly.people[0]!.roles[0]!.until).toBe(later);
  });

  it("dates the last credentials and console session per role and flags access unused for N days", () => {
    const dev = arn(STAGING, "Developer");
    const ro = arn(PROD, "ReadOnly");
    const uses: Use[] = [
      { email: "alice@example.com", arn: dev, kind: "credentials", at: daysAgo(10) },
      { email: "alice@example.com", arn: dev, kind: "console", at: daysAgo(3) },
      { email: "alice@example.com", arn: ro, kind: "credentials", at: daysAgo(40) },
      // Use of a role she no longer has is not access: it does not add a row.
      { email: "alice@example.com", arn: arn(PROD, "Admin"), kind: "credentials", at: daysAgo(1) },
    ];
    const sources = [audit([person("alice@example.com", ["engineers"])])];
    const r = report(index(ORG), sources, uses, { unusedDays: 30 });
    const [readOnly, developer] = r.people[0]!.roles;
    expect(developer).toMatchObject({
      lastCredentials: daysAgo(10),
      lastConsole: daysAgo(3),
      lastUsed: daysAgo(3),
      unused: false,
    });
    expect(readOnly).toMatchObject({ lastCredentials: daysAgo(40), lastConsole: null, unused: true });
    expect(r.totals.unused).toBe(1);
    expect(report(index(ORG), sources, uses, { unusedDays: 60 }).totals.unused).toBe(0);
    expect(r.roles.find((x) => x.roleName === "ReadOnly")!.people).toEqual([
      { email: "alice@example.com", level: "cli", lastUsed: daysAgo(40), unused: true },
    ]);
  });

  it("merges people of every source by e-mail; the newest groups win and say where they come from", () => {
    const merged = mergePeople([
      audit([person("Alice@Example.com", ["old"], daysAgo(5))]),
      { name: "scim", people: [person("alice@example.com", ["new"], daysAgo(1))], grants: [] },
      grantsSource([{ email: "alice@example.com", arn: "x", requestId: "r", until: null }]),
    ]);
    expect(merged).toEqual([
      {
        email: "alice@example.com",
        groups: ["new"],
        groupsFrom: "scim",
        groupsAt: daysAgo(1),
        groupsTruncated: false,
        sources: ["audit", "scim", "grants"],
        lastSignIn: daysAgo(1),
      },
    ]);
  });
});

describe("access report CSV", () => {
  it("writes one row per person and role, with a header, quoted where needed", () => {
    const r = report(index(ORG), [
      audit([person("alice@example.com", ["engineers"]), person("zoe@example.com", null, null)]),
    ]);
    const lines = accessReportCsv(r.people).split("\r\n");
    expect(lines[0]).toBe(
      "email,account_id,account_name,role,arn,level,why,until,last_credentials,last_console,last_used,unused,groups_from,groups_at",
    );
    expect(lines[1]).toBe(
      `alice@example.com,${PROD},prod,ReadOnly,${arn(PROD, "ReadOnly")},cli,group engineers in gatehouse-authorized-cli-only,,,,,yes,audit,${daysAgo(1)}`,
    );
    expect(lines[3]).toBe("zoe@example.com,,,,,,,,,,,,,");
    expect(lines.at(-1)).toBe("");
  });

  it("neutralises formulas and keeps hostile group names inside their cell", () => {
    for (const v of ['=HYPERLINK("http://evil")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
      expect(csvCell(v).replace(/^"/, "").startsWith("'")).toBe(true);
    expect(csvCell('a,"b"\nc')).toBe('"a,""b""\nc"');
    expect(csvCell(null)).toBe("");
    expect(csvCell(true)).toBe("yes");
    const roles = index([role(PROD, "X", { "gatehouse-authorized": '=cmd|"/c calc"!A1' })]);
    const r = report(roles, [audit([person("eve@example.com", ['=cmd|"/c calc"!A1'])])]);
    const row = accessReportCsv(r.people).split("\r\n")[1]!;
    expect(row).toContain(`"group =cmd|""/c calc""!A1 in gatehouse-authorized"`);
    expect(row.split(",")[0]).toBe("eve@example.com");
  });
});

describe.each(["sqlite", "postgres"] as const)(
  "access report: the audit, read through the Db layer on %s",
  (engine) => {
    let dir: string | undefined;
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    });

    /** A fresh database of this engine: a file, or a database on the run's private PostgreSQL cluster. */
    const fresh = async () => {
      if (engine === "postgres") return await testDatabaseUrl();
      dir = mkdtempSync(join(tmpdir(), "gh-report-"));
      return join(dir, "broker.sqlite");
    };

    it("reads each person's last sign-in groups and last successful use per role and kind", async () => {
      const file = await fresh();
      const writer = openDb(file);
      const store = openStore(writer);
      const dev = arn(STAGING, "Developer");
      const at = (d: number) => new Date(NOW.getTime() - d * 86_400_000);
      store.appendAudit(
        { actor: "alice@example.com", action: "signin.seen", outcome: "ok", detail: { groups: ["old"] } },
        at(9),
      );
      store.appendAudit(
        {
          actor: "alice@example.com",
          action: "signin.seen",
          outcome: "ok",
          detail: { groups: ["engineers"] },
        },
        at(2),
      );
      store.appendAudit(
        {
          actor: "bob@example.com",
          action: "signin.seen",
          outcome: "ok",
          detail: { groups: ["g1"], groupCount: 500 },
        },
        at(1),
      );
      store.appendAudit(
        { actor: "alice@example.com", action: "credentials.issue", target: dev, outcome: "ok" },
        at(8),
      );
      store.appendAudit(
        { actor: "alice@example.com", action: "credentials.issue", target: dev, outcome: "ok" },
        at(4),
      );
      // Refused and failed attempts are not use.
      store.appendAudit(
        { actor: "alice@example.com", action: "credentials.issue", target: dev, outcome: "denied" },
        at(1),
      );
      store.appendAudit(
        { actor: "alice@example.com", action: "console.url", target: dev, outcome: "error" },
        at(1),
      );
      store.appendAudit(
        { actor: "alice@example.com", action: "console.url", target: dev, outcome: "ok" },
        at(6),
      );
      store.appendAudit({ actor: "gatehouse", action: "request.expire", target: dev, outcome: "ok" }, at(1));
      store.close();
      writer.close();

      const db = openDb(file);
      try {
        expect(lastSignIns(db).sort((a, b) => a.email.localeCompare(b.email))).toEqual([
          { email: "alice@example.com", at: at(2).toISOString(), groups: ["engineers"], truncated: false },
          { email: "bob@example.com", at: at(1).toISOString(), groups: ["g1"], truncated: true },
        ]);
        expect(lastUses(db).sort((a, b) => a.kind.localeCompare(b.kind))).toEqual([
          { email: "alice@example.com", arn: dev, kind: "console", at: at(6).toISOString() },
          { email: "alice@example.com", arn: dev, kind: "credentials", at: at(4).toISOString() },
        ]);
        // The sources over the same database: audit people, and grants from applied role-access targets.
        expect(
          auditPeople({ db, requests: { targetsIn: () => [] } })
            .people()
            .map((p) => p.email),
        ).toEqual(expect.arrayContaining(["alice@example.com", "bob@example.com"]));
        const targets = [
          { kind: "role-access", requester: "Carol@example.com", arn: dev, requestId: "r1", expiresAt: null },
          { kind: "inline-policy", requester: "dan@example.com", arn: dev, requestId: "r2", expiresAt: null },
        ] as unknown as ReturnType<RequestsStore["targetsIn"]>;
        const grants = grantPeople({ db, requests: { targetsIn: () => targets } });
        expect(grants.grants!()).toEqual([
          { email: "carol@example.com", arn: dev, requestId: "r1", until: null },
        ]);
        expect(grants.people()).toEqual([{ email: "carol@example.com", groups: null, groupsAt: null }]);
      } finally {
        db.close();
      }
    });

    it("a sign-in row whose detail is not JSON gives no groups and says so", async () => {
      const file = await fresh();
      const db = openDb(file);
      openStore(db);
      try {
        // Written past the store (as someone with the file could): the report must not crash on it.
        db.run(
          "INSERT INTO audit (seq, time, actor, action, target, outcome, detail, prev_hash, hash) VALUES (1, ?, 'mallory@example.com', 'signin.seen', NULL, 'ok', 'not json', '', '')",
          [NOW.toISOString()],
        );
        expect(lastSignIns(db)).toEqual([
          { email: "mallory@example.com", at: NOW.toISOString(), groups: [], truncated: true },
        ]);
      } finally {
        db.close();
      }
    });
  },
);

describe("gatehouse-broker access report: its flags", () => {
  const input = (o: { sub?: string; format?: string; unusedDays?: string; out?: string }) =>
    accessReportInput({ sub: "report", format: undefined, unusedDays: undefined, out: undefined, ...o });

  it("defaults to CSV and the report's own unused line", () => {
    expect(input({})).toEqual({ sub: "report", format: "csv", unusedDays: undefined, out: undefined });
    expect(input({ format: "json", unusedDays: "30", out: "/tmp/x" })).toMatchObject({
      format: "json",
      unusedDays: 30,
    });
  });

  it("refuses a wrong value as BAD_ARGUMENT, never a silent default", () => {
    for (const o of [
      { unusedDays: "0" },
      { unusedDays: "-1" },
      { unusedDays: "1.5" },
      { unusedDays: "ten" },
      { unusedDays: "3651" },
      { unusedDays: "" },
      { format: "xml" },
      { format: "CSV" },
      { sub: "frobnicate" },
    ])
      expect(() => input(o), JSON.stringify(o)).toThrow(expect.objectContaining({ code: "BAD_ARGUMENT" }));
  });
});
