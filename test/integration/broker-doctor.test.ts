// `gatehouse-broker doctor` against broken organisations in the emulator: each broken link named with
// the role, the account, what is wrong and the statement or tag that fixes it; a healthy one all green.

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DoctorReport, runDoctor } from "../../broker/onboarding/doctor.ts";
import { worldFromObject } from "../../dev/aws/fixture.ts";
import { type Emulator, startEmulator } from "../../dev/aws/server.ts";
import {
  ADMIN_KEY,
  healthyOrg,
  memberAccount,
  type OrgFixture,
  orgConfig,
  orgConfigYaml,
  roleOf,
} from "../support/org-fixtures.ts";

const run = promisify(execFile);
let dir: string;
const emulators: Emulator[] = [];
const ADMIN = { credentials: ADMIN_KEY, roleName: "OrganizationAccountAccessRole" };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-doctor-"));
});
afterAll(async () => {
  for (const e of emulators) await e.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The config is needed to build the documents before the emulator's URL is known; the URL is not in them. */
const draft = orgConfig("http://127.0.0.1:1", "/tmp");

async function doctorOn(
  org: OrgFixture,
  withAdmin = true,
): Promise<{ report: DoctorReport; emulator: Emulator }> {
  const emulator = await startEmulator({ world: worldFromObject(org) });
  emulators.push(emulator);
  const report = await runDoctor(orgConfig(emulator.url, dir), withAdmin ? { admin: ADMIN } : {});
  return { report, emulator };
}

const errors = (r: DoctorReport) => r.findings.filter((f) => f.status === "error");
const one = (r: DoctorReport, pred: (f: DoctorReport["findings"][number]) => boolean) => {
  const hits = errors(r).filter(pred);
  expect(hits, JSON.stringify(errors(r), null, 1)).toHaveLength(1);
  return hits[0]!;
};

describe("doctor", () => {
  it("finds every link of a healthy organisation (set up with init's documents) intact", async () => {
    const { report } = await doctorOn(healthyOrg(draft));
    expect(errors(report)).toEqual([]);
    expect(report.ok).toBe(true);
    const spokes = report.findings.filter((f) => f.check === "spoke" && f.status === "ok");
    expect(spokes.map((f) => f.account)).toEqual(["222222222222", "333333333333", "444444444444"]);
    expect(report.findings.find((f) => f.check === "base")?.message).toContain(
      "arn:aws:iam::111111111111:user/gatehouse-broker",
    );
  });

  it("a spoke that may not sts:DecodeAuthorizationMessage is named, with the statement that fixes it", async () => {
    const org = healthyOrg(draft);
    const spoke = roleOf(org, "333333333333", "GatehouseSpoke");
    const doc = structuredClone(spoke.policies.GatehouseSpoke) as { Statement: { Sid: string }[] };
    doc.Statement = doc.Statement.filter((s) => s.Sid !== "GatehouseDecodeDenials");
    spoke.policies.GatehouseSpoke = doc as unknown as Record<string, unknown>;
    const { report } = await doctorOn(org);
    expect(report.ok).toBe(false);
    const f = one(report, (x) => x.account === "333333333333" && x.role === "GatehouseSpoke");
    expect(f.message).toContain("may not sts:DecodeAuthorizationMessage");
    expect(f.message).toContain("encoded authorization failure messages");
    expect(f.fix).toContain('"Action":["sts:DecodeAuthorizationMessage"]');
  });

  it("diagnoses each broken link with its fix", async () => {
    const org = healthyOrg(draft, [
      ["555555555555", "legacy", "Legacy"],
      ["666666666666", "forgotten", "Forgotten"],
    ]);
    // Seed 000's trap: the spoke trusts its own account instead of the central account.
    roleOf(org, "222222222222", "GatehouseSpoke").trust = {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::222222222222:role/GatehouseCentral" },
          Action: ["sts:AssumeRole", "sts:TagSession"],
        },
      ],
    };
    // Trust without sts:TagSession.
    roleOf(org, "333333333333", "GatehouseSpoke").trust = {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::111111111111:role/GatehouseCentral" },
          Action: "sts:AssumeRole",
        },
      ],
    };
    // A spoke without iam:PutRolePolicy.
    const dev = roleOf(org, "444444444444", "GatehouseSpoke");
    const doc = structuredClone(dev.policies.GatehouseSpoke) as {
      Statement: { Sid: string; Action: string[] }[];
    };
    doc.Statement = doc.Statement.map((s) =>
      s.Sid === "GatehouseRoleInlinePolicies" ? { ...s, Action: ["iam:DeleteRolePolicy"] } : s,
    );
    dev.policies.GatehouseSpoke = doc as unknown as Record<string, unknown>;
    // A work role that does not trust the central role (in an account whose spoke is fine).
    const legacyAcct = memberAccount(draft, "555555555555", "legacy");
    const spoke = legacyAcct.roles.find((r) => r.name === "GatehouseSpoke")!;
    spoke.name = "LegacySpoke"; // a spoke named differently here, with no per-account override
    org.accounts[4] = legacyAcct;
    roleOf(org, "444444444444", "Developer").trust = {
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: { AWS: "arn:aws:iam::444444444444:root" }, Action: "sts:AssumeRole" },
      ],
    };
    // An account in the OU filter without any spoke.
    org.accounts[5] = memberAccount(draft, "666666666666", "forgotten", false);

    const { report } = await doctorOn(org);
    expect(report.ok).toBe(false);

    const trap = one(report, (f) => f.account === "222222222222" && f.role === "GatehouseSpoke");
    expect(trap.message).toContain("names its own account (arn:aws:iam::222222222222:role/GatehouseCentral)");
    expect(trap.message).toContain("central account 111111111111");
    expect(trap.fix).toContain('"Principal":{"AWS":"arn:aws:iam::111111111111:role/GatehouseCentral"}');

    const tag = one(report, (f) => f.account === "333333333333" && f.role === "GatehouseSpoke");
    expect(tag.message).toContain("not sts:TagSession");
    expect(tag.fix).toContain('"sts:TagSession"');

    const put = one(report, (f) => f.account === "444444444444" && f.role === "GatehouseSpoke");
    expect(put.message).toContain("may not iam:PutRolePolicy");
    expect(put.message).toContain("permission requests");
    expect(put.fix).toContain('"Action":["iam:PutRolePolicy"]');
    expect(put.fix).toContain("arn:aws:iam::444444444444:role/*");

    const work = one(report, (f) => f.account === "444444444444" && f.role === "Developer");
    expect(work.check).toBe("work-role");
    expect(work.message).toContain(
      "does not allow sts:AssumeRole for arn:aws:iam::111111111111:role/GatehouseCentral",
    );
    expect(work.fix).toContain("sts:SetSourceIdentity");

    const renamed = one(report, (f) => f.account === "555555555555");
    expect(renamed.message).toContain("has no role GatehouseSpoke; its spoke seems to be named LegacySpoke");
    expect(renamed.fix).toContain("spoke_role_name: LegacySpoke");

    const missing = one(report, (f) => f.account === "666666666666");
    expect(missing.message).toContain("has no spoke role GatehouseSpoke although the OU filter includes it");
    expect(missing.message).toContain("OU Workloads/Forgotten");
    expect(missing.fix).toContain("gatehouse-broker init");
    // Every diagnosis names the role, the account, and a fix.
    for (const f of errors(report)) {
      expect(f.account).toBeTruthy();
      expect(f.role).toBeTruthy();
      expect(f.fix).toBeTruthy();
    }
    expect(errors(report)).toHaveLength(6);
  });

  it("a central role that may not assume the spokes is named with the statement to add", async () => {
    const org = healthyOrg(draft);
    const central = roleOf(org, "111111111111", "GatehouseCentral");
    const doc = structuredClone(central.policies.GatehouseCentral) as {
      Statement: { Sid: string; Resource: unknown }[];
    };
    doc.Statement = doc.Statement.filter((s) => s.Sid !== "GatehouseAssumeSpokes").map((s) =>
      s.Sid === "GatehouseAssumeWorkRoles" ? { ...s, Resource: "arn:aws:iam::*:role/Developer" } : s,
    );
    central.policies.GatehouseCentral = doc as unknown as Record<string, unknown>;
    const { report } = await doctorOn(org);
    // (The narrowed work-role statement is reported too, on the central role itself.)
    expect(errors(report).find((f) => f.role === "GatehouseCentral")?.message).toContain(
      "credentials for people",
    );
    const central3 = errors(report).filter((f) => f.check === "central" && f.role === "GatehouseSpoke");
    expect(central3.map((f) => f.account).sort()).toEqual(["222222222222", "333333333333", "444444444444"]);
    expect(central3[0]!.message).toMatch(
      /the central role may not sts:AssumeRole, sts:TagSession on the spoke arn:aws:iam::\d{12}:role\/GatehouseSpoke/,
    );
    expect(central3[0]!.fix).toContain('"Resource":"arn:aws:iam::*:role/GatehouseSpoke"');
    expect(central3[0]!.role).toBe("GatehouseSpoke");
  });

  it("without an administrator it still says which spoke cannot be assumed and how to learn why", async () => {
    const org = healthyOrg(draft);
    roleOf(org, "222222222222", "GatehouseSpoke").trust = {
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: { AWS: "arn:aws:iam::222222222222:root" }, Action: "sts:AssumeRole" },
      ],
    };
    const { report } = await doctorOn(org, false);
    const f = one(report, (x) => x.account === "222222222222");
    expect(f.message).toContain("cannot assume the spoke arn:aws:iam::222222222222:role/GatehouseSpoke");
    expect(f.fix).toContain("--profile ADMIN");
  });

  it("work-role tags: malformed values, admin groups, console and cli-only together, tags on Gatehouse's own roles", async () => {
    const org = healthyOrg(draft);
    const prod = org.accounts.find((a) => a.id === "222222222222")!;
    const base = roleOf(org, "222222222222", "Developer");
    prod.roles.push(
      { ...base, name: "Comma", tags: { "gatehouse-authorized": "engineers,data" } },
      { ...base, name: "AdminsToo", tags: { "gatehouse-authorized": "engineers:platform-admins" } },
      {
        ...base,
        name: "Both",
        tags: { "gatehouse-authorized": "engineers", "gatehouse-authorized-cli-only": "data" },
      },
    );
    roleOf(org, "222222222222", "GatehouseSpoke").tags = { "gatehouse-authorized": "engineers" };
    const { report } = await doctorOn(org);
    const by = (role: string) => report.findings.filter((f) => f.role === role && f.status !== "ok");
    expect(by("Comma")[0]).toMatchObject({ status: "error" });
    expect(by("Comma")[0]!.message).toContain("separates items with ','");
    expect(by("AdminsToo")[0]).toMatchObject({ status: "warn" });
    expect(by("AdminsToo")[0]!.message).toContain("platform-admins, which is also in access.admin_groups");
    expect(by("Both")[0]!.message).toContain("both a console tag and a cli-only tag");
    const own = by("GatehouseSpoke").find((f) => f.check === "work-role")!;
    expect(own.message).toContain("SECURITY 32");
  });

  it("the command: exit 0 when green, 1 when broken (with --json), 2 when it cannot run", async () => {
    const good = await startEmulator({ world: worldFromObject(healthyOrg(draft)) });
    emulators.push(good);
    const broken = healthyOrg(draft);
    roleOf(broken, "333333333333", "GatehouseSpoke").trust = {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::111111111111:role/GatehouseCentral" },
          Action: "sts:AssumeRole",
        },
      ],
    };
    const bad = await startEmulator({ world: worldFromObject(broken) });
    emulators.push(bad);
    const cfg = (url: string, name: string) => {
      const file = join(dir, name);
      writeFileSync(file, orgConfigYaml({ awsUrl: url, database: join(dir, `${name}.sqlite`) }));
      return file;
    };
    writeFileSync(
      join(dir, "credentials"),
      `[admin]\naws_access_key_id = ${ADMIN_KEY.accessKeyId}\naws_secret_access_key = ${ADMIN_KEY.secretAccessKey}\n`,
    );
    const env = {
      ...process.env,
      AWS_SHARED_CREDENTIALS_FILE: join(dir, "credentials"),
      AWS_CONFIG_FILE: "/dev/null",
    };
    const cli = (...args: string[]) =>
      run("node", ["bin/gatehouse-broker.mjs", ...args], { env }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const green = await cli("doctor", "--config", cfg(good.url, "good.yaml"));
    expect(green.code, green.stderr).toBe(0);
    expect(green.stdout).toContain("all links hold");
    const red = await cli("doctor", "--config", cfg(bad.url, "bad.yaml"), "--json", "--profile", "admin");
    expect(red.code).toBe(1);
    const report = JSON.parse(red.stdout) as DoctorReport;
    expect(report.findings.filter((f) => f.status === "error").map((f) => [f.account, f.role])).toEqual([
      ["333333333333", "GatehouseSpoke"],
    ]);
    writeFileSync(join(dir, "broken.yaml"), "aws: {\n");
    const cannot = await cli("doctor", "--config", join(dir, "broken.yaml"));
    expect(cannot.code).toBe(2);
    expect(cannot.stderr).toContain("[CONFIG_INVALID]");
  });
});
