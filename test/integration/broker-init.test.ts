// `gatehouse-broker init`: the three forms hold the same documents, each permission document passes
// the lint; `--apply` on an organisation that has only the broker's identity, then doctor all green,
// a full sync, and credentials for alice.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBroker } from "../../broker/app.ts";
import { initCommand } from "../../broker/commands/init.ts";
import { parseConfig } from "../../broker/config.ts";
import { runDoctor } from "../../broker/onboarding/doctor.ts";
import { worldFromObject } from "../../dev/aws/fixture.ts";
import { type Emulator, startEmulator } from "../../dev/aws/server.ts";
import { organisationSchema } from "../../shared/api.ts";
import { lintPolicy } from "../../shared/policy-lint.ts";
import { sts } from "../support/emulator.ts";
import {
  ADMIN_KEY,
  BROKER_ARN,
  healthyOrg,
  type OrgFixture,
  orgConfig,
  orgConfigYaml,
} from "../support/org-fixtures.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

let dir: string;
let emulator: Emulator;
let issuer: TestIssuer;
const ADMIN = { credentials: ADMIN_KEY, roleName: "OrganizationAccountAccessRole" };
const draft = orgConfig("http://127.0.0.1:1", "/tmp");

/** The organisation before init: the broker's user and an administrator; no central role, no spokes. */
function bareOrg(): OrgFixture {
  const org = healthyOrg(draft);
  for (const a of org.accounts)
    a.roles = a.roles.filter((r) => r.name !== "GatehouseSpoke" && r.name !== "GatehouseCentral");
  return org;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-init-"));
  emulator = await startEmulator({ world: worldFromObject(bareOrg()) });
  issuer = await startTestIssuer();
});
afterAll(async () => {
  await emulator?.close();
  await issuer?.close();
  rmSync(dir, { recursive: true, force: true });
});

const read = (rel: string) => JSON.parse(readFileSync(join(dir, "out", rel), "utf8"));

describe("init --out", () => {
  it("writes JSON, CloudFormation and Terraform that hold exactly the same documents, each passing the lint", async () => {
    const lines: string[] = [];
    const code = await initCommand(
      { config: orgConfig(emulator.url, dir), out: join(dir, "out"), apply: false, yes: false, admin: ADMIN },
      (l) => lines.push(l),
    );
    expect(code).toBe(0);
    expect(lines.join("\n")).toContain("wrote 9 files");
    const json = {
      centralTrust: read("json/central-trust.json"),
      central: read("json/central-permissions.json"),
      spokeTrust: read("json/spoke-trust.json"),
      spoke: read("json/spoke-permissions.json"),
    };
    // The central role trusts exactly the broker's identity, learnt from GetCallerIdentity.
    expect(json.centralTrust.Statement[0].Principal.AWS).toBe(BROKER_ARN);
    expect(JSON.stringify(json)).not.toContain("iam:*");

    const cfnCentral = read("cloudformation/central.json").Resources.CentralRole.Properties;
    expect(cfnCentral.AssumeRolePolicyDocument).toEqual(json.centralTrust);
    expect(cfnCentral.Policies[0].PolicyDocument).toEqual(json.central);
    const cfnSpoke = read("cloudformation/spoke.json");
    expect(cfnSpoke.Resources.SpokeRole.Properties.AssumeRolePolicyDocument).toEqual(json.spokeTrust);
    expect(cfnSpoke.Resources.SpokeRole.Properties.Policies[0].PolicyDocument).toEqual(json.spoke);
    const stackSet = read("cloudformation/spokes-stackset.json").Resources.SpokeStackSet.Properties;
    expect(stackSet).toMatchObject({ PermissionModel: "SERVICE_MANAGED", AutoDeployment: { Enabled: true } });
    expect(JSON.parse(stackSet.TemplateBody)).toEqual(cfnSpoke);

    const tf = read("terraform/main.tf.json");
    const roles = tf.resource.aws_iam_role;
    const policies = tf.resource.aws_iam_role_policy;
    expect(JSON.parse(roles.central.assume_role_policy)).toEqual(json.centralTrust);
    expect(JSON.parse(policies.central.policy)).toEqual(json.central);
    const spokes = Object.keys(roles).filter((k) => k.startsWith("spoke_"));
    expect(spokes.sort()).toEqual(["spoke_222222222222", "spoke_333333333333", "spoke_444444444444"]);
    for (const k of spokes) {
      expect(JSON.parse(roles[k].assume_role_policy)).toEqual(json.spokeTrust);
      expect(JSON.parse(policies[k].policy)).toEqual(json.spoke);
      expect(
        tf.provider.some((p: { aws: { alias?: string } }) => `aws.${p.aws.alias}` === roles[k].provider),
      ).toBe(true);
    }
    for (const doc of [json.central, json.spoke]) {
      const lint = await lintPolicy(JSON.stringify(doc));
      expect(lint.findings.filter((f) => f.severity === "error")).toEqual([]);
    }
  });
});

describe("init --apply on an organisation with only the broker's identity", () => {
  it("shows the diff, asks, creates the roles; again changes nothing; doctor green; sync; credentials for alice", {
    timeout: 120_000,
  }, async () => {
    const config = orgConfig(emulator.url, dir);
    // Without a terminal and without --yes, init refuses to change IAM at all.
    const noTty = await initCommand({ config, apply: true, yes: false, admin: ADMIN }, () => undefined).then(
      () => undefined,
      (e: { code: string; message: string }) => e,
    );
    expect(noTty).toMatchObject({ code: "BAD_ARGUMENT" });
    expect(noTty?.message).toContain("without a terminal pass --yes");
    // Refused at the question: nothing is created.
    const asked: string[] = [];
    const refused: string[] = [];
    const no = await initCommand(
      {
        config,
        apply: true,
        yes: false,
        admin: ADMIN,
        confirm: async (q) => {
          asked.push(q);
          return false;
        },
      },
      (l) => refused.push(l),
    );
    expect(no).toBe(1);
    expect(asked[0]).toMatch(/Apply these 8 changes\?/);
    expect(refused.join("\n")).toContain("+ create role GatehouseCentral in 111111111111");
    expect(emulator.world.accounts.get("222222222222")!.roles.has("gatehousespoke")).toBe(false);

    const lines: string[] = [];
    expect(await initCommand({ config, apply: true, yes: true, admin: ADMIN }, (l) => lines.push(l))).toBe(0);
    expect(lines.join("\n")).toContain("applied 8 changes");
    const again: string[] = [];
    expect(await initCommand({ config, apply: true, yes: true, admin: ADMIN }, (l) => again.push(l))).toBe(0);
    expect(again).toEqual(["nothing to change: every role already matches"]);

    const report = await runDoctor(config);
    expect(report.findings.filter((f) => f.status === "error" || f.status === "warn")).toEqual([]);

    const yaml = orgConfigYaml({
      awsUrl: emulator.url,
      database: join(dir, "broker.sqlite"),
      issuer: issuer.issuer,
    });
    const broker = await startBroker(parseConfig(yaml, join(dir, "gatehouse.yaml")), {
      logStream: new Writable({ write: (_c, _e, cb) => cb() }),
    });
    try {
      const sync = await broker.syncer.syncAll();
      expect(sync.failed).toBe(0);
      expect(sync.accounts.map((a) => a.accountId)).toEqual(["222222222222", "333333333333", "444444444444"]);
      const token = await issuer.sign({
        sub: "alice",
        aud: "gatehouse-broker",
        iss: issuer.issuer,
        email: "alice@example.com",
        groups: ["engineers"],
      });
      const res = await fetch(`${broker.url}/v1/credentials`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ role: "prod/Developer" }),
      });
      expect(res.status).toBe(200);
      const c = (await res.json()) as { accessKeyId: string; secretAccessKey: string; sessionToken: string };
      const keys = {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        sessionToken: c.sessionToken,
      };
      const me = await sts(emulator, keys).send(new GetCallerIdentityCommand({}));
      expect(me.Arn).toBe("arn:aws:sts::222222222222:assumed-role/Developer/alice@example.com");

      // The admins' Organisation view: accounts with sync state and doctor's findings; sync one account now.
      const bob = await issuer.sign({
        sub: "bob",
        aud: "gatehouse-broker",
        iss: issuer.issuer,
        email: "bob@example.com",
        groups: ["platform-admins"],
      });
      const call = (who: string, method: string, path: string) =>
        fetch(`${broker.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${who}`,
            ...(method === "POST" ? { "content-type": "application/json" } : {}),
          },
          ...(method === "POST" ? { body: "{}" } : {}),
        });
      expect((await call(token, "GET", "/v1/organisation")).status).toBe(403);
      expect((await call(token, "POST", "/v1/sync/222222222222")).status).toBe(403);
      const view = organisationSchema.parse(await (await call(bob, "GET", "/v1/organisation")).json());
      expect(view).toMatchObject({
        accountsFrom: "organizations",
        discovery: { ok: true, accounts: 3 },
        doctorAt: null,
      });
      expect(view.accounts.map((a) => [a.id, a.sync?.state])).toEqual([
        ["222222222222", "ok"],
        ["333333333333", "ok"],
        ["444444444444", "ok"],
      ]);
      const checked = organisationSchema.parse(
        await (await call(bob, "POST", "/v1/organisation/doctor")).json(),
      );
      expect(checked.doctorAt).not.toBeNull();
      for (const a of checked.accounts) {
        expect(a.findings.some((f) => f.check === "spoke" && f.status === "ok")).toBe(true);
        expect(a.findings.filter((f) => f.status === "error")).toEqual([]);
      }
      expect(checked.findings.some((f) => f.check === "base" && f.status === "ok")).toBe(true);
      const one = await call(bob, "POST", "/v1/sync/333333333333");
      expect(one.status).toBe(200);
      expect(await one.json()).toMatchObject({ accountId: "333333333333", state: "ok" });
      expect((await call(bob, "POST", "/v1/sync/999999999999")).status).toBe(404);
    } finally {
      await broker.close();
    }
  });
});
