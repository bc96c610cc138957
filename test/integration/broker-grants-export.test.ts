// Issue 17's way back to Terraform, against the real broker, emulator and `gatehouse-broker`: a demo
// organisation with one applied grant of each kind — an inline policy on a role and on a user, a managed
// policy attached to a role and to a user, a group membership (each requested and approved over HTTP and
// applied by the broker in the emulator) and a role-access grant; one more already reverted. `grants
// export --format terraform` is parsed by an HCL parser and every import id is checked against what the
// emulator holds (through the SDK); the JSON (the admin route) and CloudFormation forms carry the same
// grants; filters, admins only, audit.

import { execFile } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  type IAMClient,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
} from "@aws-sdk/client-iam";
import { parse as parseHcl } from "@cdktf/hcl2json";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { openDb } from "../../broker/db/index.ts";
import type { ExportedGrant, GrantExport } from "../../broker/grants-export/index.ts";
import { openRequestsStore, type RequestsStore } from "../../broker/requests-store.ts";
import { openStore } from "../../broker/store.ts";
import { DEMO_FIXTURE } from "../../dev/aws/command.ts";
import { worldFromObject } from "../../dev/aws/fixture.ts";
import { type Emulator, startEmulator } from "../../dev/aws/server.ts";
import { grantsExportEnvelopeSchema } from "../../shared/grants-export-schema.ts";
import { brokerYaml } from "../support/broker.ts";
import { iam } from "../support/emulator.ts";
import {
  asRequest,
  DEPLOY_BOT,
  READ_BUCKET,
  RequestsBroker,
  signPeople,
  type Who,
} from "../support/requests.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

const ROOT = join(import.meta.dirname, "../..");
const PROD = "222222222222";
const STAGING = "333333333333";
const S3_RO = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";
const RO = "arn:aws:iam::aws:policy/ReadOnlyAccess";
/** A policy with an IAM variable: `${…}` must survive HCL (where it would be a template). */
const PER_USER = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a template
    { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::prod-home/${aws:username}/*" },
  ],
});

// The demo organisation, plus an administrator per spoke (to apply what the broker's kind modules will
// apply) and an IAM group in prod.
const adminKey = (acct: string) => ({
  accessKeyId: `AKIAEXPORTADMIN${acct.slice(0, 5)}`,
  secretAccessKey: `export-admin-${acct}`,
});
function fixture(): unknown {
  const f = parseYaml(readFileSync(DEMO_FIXTURE, "utf8"), { merge: true }) as {
    accounts: { id: string; users?: unknown[]; groups?: unknown[] }[];
  };
  for (const a of f.accounts) {
    if (a.id !== PROD && a.id !== STAGING) continue;
    const k = adminKey(a.id);
    a.users = [
      ...(a.users ?? []),
      {
        name: "iac-admin",
        managed_policies: ["arn:aws:iam::aws:policy/AdministratorAccess"],
        access_keys: [{ id: k.accessKeyId, secret: k.secretAccessKey }],
      },
    ];
    if (a.id === PROD) a.groups = [...(a.groups ?? []), { name: "oncall" }];
  }
  return f;
}

let emulator: Emulator;
let issuer: TestIssuer;
let tokens: Record<Who, string>;
let b: RequestsBroker;
let store: RequestsStore;
let configFile: string;
const admin: Record<string, IAMClient> = {};

beforeAll(async () => {
  emulator = await startEmulator({ world: worldFromObject(fixture()) });
  for (const a of [PROD, STAGING]) admin[a] = iam(emulator, adminKey(a), 1);
  issuer = await startTestIssuer();
  tokens = await signPeople(issuer);
  b = new RequestsBroker({
    emulator,
    issuer,
    tokens,
    extra: "requests:\n  approver_groups: [approvers]\n  allow_permanent: true\n",
  });
  await b.start();
  store = openRequestsStore(b.db);
  configFile = join(b.dir, "export.yaml");
  writeFileSync(configFile, brokerYaml({ issuer: issuer.issuer, awsUrl: emulator.url, database: b.db }));
});

afterAll(async () => {
  store?.close();
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

/** A grant already reverted (applied, then expired), written through the requests store as the broker does. */
function revertedGrant(o: { id: string; account: string; user: string; groupName: string }): void {
  store.create(
    {
      id: o.id,
      kind: "group-membership",
      requester: { email: "alice@example.com", groups: ["engineers"] },
      justification: "on-call week before",
      expirySeconds: 86_400,
      policy: null,
      createdAt: new Date().toISOString(),
      targets: [
        {
          arn: `arn:aws:iam::${o.account}:user/${o.user}`,
          accountId: o.account,
          type: "user",
          name: o.user,
          policyName: null,
          policy: null,
          groupName: o.groupName,
        },
      ],
    },
    "alice@example.com",
  );
  store.approve(o.id, 0, { approver: "bob@example.com", comment: null, diff: null, expiresAt: null });
  store.move(o.id, 0, "approve", "gatehouse");
  store.move(o.id, 0, "apply", "gatehouse");
  store.move(o.id, 0, "applied", "gatehouse", {
    appliedAt: new Date(Date.now() - 86_400_000).toISOString(),
    expiresAt: new Date(Date.now() - 1000).toISOString(),
  });
  store.move(o.id, 0, "expire", "gatehouse");
}

/** A request of another kind over HTTP, approved by bob and applied by the broker in the emulator. */
async function kindOverHttp(body: Record<string, unknown>): Promise<string> {
  const r = await b.call("alice", "POST", "/v1/requests", {
    justification: "on-call week:\nneeds\tread access",
    ...body,
  });
  expect(r.status, r.text).toBe(201);
  const id = asRequest(r.json).id;
  const a = await b.call("bob", "POST", `/v1/requests/${id}/approve`, {});
  expect(a.status, a.text).toBe(200);
  expect(asRequest(a.json).targets[0]!.state).toBe("applied");
  return id;
}

/** An inline-policy request over HTTP, approved by bob and applied by the broker in the emulator. */
async function inlineOverHttp(target: string, policy: string, expiry: string): Promise<string> {
  const id = await b.createId("alice", { targets: [target], policy, expiry });
  const r = await b.call("bob", "POST", `/v1/requests/${id}/approve`, {});
  expect(r.status).toBe(200);
  expect(asRequest(r.json).targets[0]!.state).toBe("applied");
  return id;
}

const unescapeHcl = (s: string) => s.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");
/** `${x}` (how hcl2json writes a reference) → `x`. */
const ref = (s: string) => s.replace(/^\$\{(.*)\}$/, "$1");

interface Hcl {
  import?: { id: string; to: string; provider: string }[];
  provider?: { aws: { alias: string; allowed_account_ids: string[] }[] };
  resource?: Record<string, Record<string, Record<string, unknown>[]>>;
}

const ids: Record<string, string> = {};
let json: GrantExport;

describe("a demo organisation with one grant of each kind", () => {
  it("is granted over HTTP: request → approve → applied in the emulator, one of each kind", async () => {
    ids.rolePolicy = await inlineOverHttp("prod/Billing", PER_USER, "P7D");
    ids.userPolicy = await inlineOverHttp(DEPLOY_BOT, READ_BUCKET, "permanent");
    ids.roleAttach = await kindOverHttp({
      kind: "managed-policy",
      targets: ["staging/DataPipeline"],
      policyArn: "AmazonS3ReadOnlyAccess",
      expiry: "P30D",
    });
    ids.userAttach = await kindOverHttp({
      kind: "managed-policy",
      targets: [DEPLOY_BOT],
      policyArn: RO,
      expiry: "permanent",
    });
    ids.group = await kindOverHttp({
      kind: "group-membership",
      targets: [DEPLOY_BOT],
      group: "oncall",
      expiry: "P30D",
    });
    ids.roleAccess = asRequest((await b.billingAccess("carol", "P1D")).json).id;
    expect((await b.call("bob", "POST", `/v1/requests/${ids.roleAccess}/approve`, {})).status).toBe(200);
    // Reverted before the export: only --expired-since lists it.
    ids.reverted = "e0000000000000a4";
    revertedGrant({ id: ids.reverted, account: PROD, user: "deploy-bot", groupName: "oncall-old" });
  });

  it("GET /v1/admin/grants/export?format=json: every applied grant with its resource, import id and provenance; admins only", async () => {
    const r = await b.call("gina", "GET", "/v1/admin/grants/export?format=json");
    expect(r.status).toBe(200);
    json = r.json as unknown as GrantExport;
    expect(json.filter).toEqual({ mode: "applied" });
    const byRequest = new Map(json.grants.map((g) => [g.request.id, g]));
    expect([...byRequest.keys()].sort()).toEqual(
      [ids.rolePolicy, ids.userPolicy, ids.roleAttach, ids.userAttach, ids.group, ids.roleAccess].sort(),
    );
    expect(byRequest.get(ids.rolePolicy!)).toMatchObject({
      kind: "inline-policy",
      account: { id: PROD, name: "prod" },
      target: { type: "role", name: "Billing" },
      resourceType: "aws_iam_role_policy",
      cloudformationType: "AWS::IAM::RolePolicy",
      importId: `Billing:gatehouse-${ids.rolePolicy}-0`,
      policy: JSON.parse(PER_USER),
      requester: "alice@example.com",
      approvers: ["bob@example.com"],
    });
    expect(byRequest.get(ids.rolePolicy!)!.expiresAt).not.toBeNull();
    expect(byRequest.get(ids.userPolicy!)).toMatchObject({
      resourceType: "aws_iam_user_policy",
      importId: `deploy-bot:gatehouse-${ids.userPolicy}-0`,
      expiresAt: null,
    });
    expect(byRequest.get(ids.roleAttach!)).toMatchObject({
      resourceType: "aws_iam_role_policy_attachment",
      cloudformationType: null,
      importId: `DataPipeline/${S3_RO}`,
      account: { id: STAGING, name: "staging" },
      approvers: ["bob@example.com"],
      request: { justification: "on-call week: needs read access" },
    });
    expect(byRequest.get(ids.userAttach!)).toMatchObject({
      resourceType: "aws_iam_user_policy_attachment",
      importId: `deploy-bot/${RO}`,
    });
    expect(byRequest.get(ids.group!)).toMatchObject({
      resourceType: "aws_iam_user_group_membership",
      cloudformationType: "AWS::IAM::UserToGroupAddition",
      importId: "deploy-bot/oncall",
    });
    expect(byRequest.get(ids.roleAccess!)).toMatchObject({
      kind: "role-access",
      resourceType: null,
      importId: null,
      requester: "carol@example.com",
    });

    // The tray's form: the same text in an envelope, with the file name to save it under.
    const env = await b.call("gina", "GET", "/v1/admin/grants/export?format=terraform&envelope=true");
    expect(env.status).toBe(200);
    const e = grantsExportEnvelopeSchema.parse(env.json);
    expect(e).toMatchObject({ format: "terraform", count: 6 });
    expect(e.fileName).toMatch(/^gatehouse-grants-\d{4}-\d\d-\d\d\.tf$/);
    const file = await b.call("gina", "GET", "/v1/admin/grants/export?format=cloudformation");
    expect(file.status).toBe(200);
    expect(JSON.parse(file.text).AWSTemplateFormatVersion).toBe("2010-09-09");

    expect((await b.call("alice", "GET", "/v1/admin/grants/export")).json).toMatchObject({
      code: "FORBIDDEN",
    });
    expect((await b.call("gina", "GET", "/v1/admin/grants/export?format=yaml")).json).toMatchObject({
      code: "BAD_REQUEST",
    });
    expect((await b.call("gina", "GET", "/v1/admin/grants/export?account=nowhere")).json).toMatchObject({
      code: "BAD_REQUEST",
    });
    expect(
      (await b.call("gina", "GET", "/v1/admin/grants/export?expiredSince=not-a-date")).json,
    ).toMatchObject({ code: "BAD_REQUEST" });
    expect(
      (await b.call("gina", "GET", "/v1/admin/grants/export?active=true&expiredSince=2026-01-01")).status,
    ).toBe(400);
  });

  it("`grants export --format terraform` parses as HCL, and every import id is what the emulator holds", async () => {
    const out = await brokerCli(["grants", "export", "--config", configFile, "--format", "terraform"]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const hcl = (await parseHcl("grants.tf", out.stdout)) as Hcl;
    const accountOf = new Map<string, string>(
      hcl.provider!.aws.map((p) => [`aws.${p.alias}`, p.allowed_account_ids[0]!] as const),
    );
    expect([...accountOf.values()].sort()).toEqual([PROD, STAGING]);
    const imports = hcl.import!;
    expect(imports).toHaveLength(5);
    const found: string[] = [];
    for (const imp of imports) {
      const [type, name] = ref(imp.to).split(".") as [string, string];
      const account = accountOf.get(ref(imp.provider))!;
      const res = hcl.resource![type]![name]![0]!;
      expect(ref(res.provider as string)).toBe(ref(imp.provider));
      const c = admin[account]!;
      // Each id split as the AWS provider splits it, and looked up in IAM.
      if (type === "aws_iam_role_policy" || type === "aws_iam_user_policy") {
        const [holder, policyName] = imp.id.split(":") as [string, string];
        expect(res.name).toBe(policyName);
        const live =
          type === "aws_iam_role_policy"
            ? await c.send(new GetRolePolicyCommand({ RoleName: holder, PolicyName: policyName }))
            : await c.send(new GetUserPolicyCommand({ UserName: holder, PolicyName: policyName }));
        expect(type === "aws_iam_role_policy" ? res.role : res.user).toBe(holder);
        expect(JSON.parse(unescapeHcl(res.policy as string))).toEqual(
          JSON.parse(decodeURIComponent(live.PolicyDocument!)),
        );
      } else if (type === "aws_iam_role_policy_attachment") {
        const [role, ...arn] = imp.id.split("/");
        expect({ role: res.role, policy_arn: res.policy_arn }).toEqual({ role, policy_arn: arn.join("/") });
        const live = await c.send(new ListAttachedRolePoliciesCommand({ RoleName: role }));
        expect(live.AttachedPolicies!.map((p) => p.PolicyArn)).toContain(arn.join("/"));
      } else if (type === "aws_iam_user_policy_attachment") {
        const [user, ...arn] = imp.id.split("/");
        expect({ user: res.user, policy_arn: res.policy_arn }).toEqual({ user, policy_arn: arn.join("/") });
        const live = await c.send(new ListAttachedUserPoliciesCommand({ UserName: user }));
        expect(live.AttachedPolicies!.map((p) => p.PolicyArn)).toContain(arn.join("/"));
      } else {
        expect(type).toBe("aws_iam_user_group_membership");
        const [user, ...groups] = imp.id.split("/");
        expect({ user: res.user, groups: res.groups }).toEqual({ user, groups });
        const live = await c.send(new ListGroupsForUserCommand({ UserName: user }));
        for (const g of groups) expect(live.Groups!.map((x) => x.GroupName)).toContain(g);
      }
      found.push(`${type}|${account}|${imp.id}`);
    }
    // The same grants as the JSON form, and each one's provenance in its comment.
    const fromJson = json.grants
      .filter((g) => g.importId !== null)
      .map((g) => `${g.resourceType}|${g.account.id}|${g.importId}`);
    expect(found.sort()).toEqual(fromJson.sort());
    for (const g of json.grants) {
      expect(out.stdout).toContain(`# Gatehouse request ${g.request.id} target 0 (${g.kind})`);
      expect(out.stdout).toContain(`# requester ${g.requester} · approvers ${g.approvers.join(", ")}`);
    }
    expect(out.stdout).toContain(
      `# role access: carol@example.com may use arn:aws:iam::${PROD}:role/Billing (not an IAM resource)`,
    );
    expect(out.stdout).toContain("# justification: on-call week: needs read access");
    expect(out.stdout).toMatch(/# applied \S+ · permanent/);
    expect(out.stdout).toMatch(/temporary: expires \S+ \(Gatehouse reverts it; do not commit\)/);
  });

  it("the CloudFormation form holds the same grants: resources where CloudFormation can, the gaps in Metadata", async () => {
    const out = await brokerCli(["grants", "export", "--config", configFile, "--format", "cloudformation"]);
    expect(out.code).toBe(0);
    const t = JSON.parse(out.stdout) as {
      Metadata: { Gatehouse: { notResources: ExportedGrant[]; gaps: string[] } };
      Resources: Record<
        string,
        { Type: string; Properties: Record<string, unknown>; Metadata: { Gatehouse: ExportedGrant } }
      >;
    };
    const key = (g: Omit<ExportedGrant, "policy">) =>
      JSON.stringify([g.kind, g.account.id, g.importId, g.request.id, g.requester, g.approvers, g.expiresAt]);
    const fromCfn = [
      ...Object.values(t.Resources).map((r) => r.Metadata.Gatehouse),
      ...t.Metadata.Gatehouse.notResources,
    ].map(key);
    expect(fromCfn.sort()).toEqual(json.grants.map(key).sort());
    const types = Object.values(t.Resources)
      .map((r) => r.Type)
      .sort();
    expect(types).toEqual(["AWS::IAM::RolePolicy", "AWS::IAM::UserPolicy", "AWS::IAM::UserToGroupAddition"]);
    const rolePolicy = Object.values(t.Resources).find((r) => r.Type === "AWS::IAM::RolePolicy")!;
    expect(rolePolicy.Properties).toEqual({
      PolicyName: `gatehouse-${ids.rolePolicy}-0`,
      RoleName: "Billing",
      PolicyDocument: JSON.parse(PER_USER),
    });
    const membership = Object.values(t.Resources).find((r) => r.Type === "AWS::IAM::UserToGroupAddition")!;
    expect(membership.Properties).toEqual({ GroupName: "oncall", Users: ["deploy-bot"] });
    expect(t.Metadata.Gatehouse.notResources.map((g) => g.kind).sort()).toEqual([
      "managed-policy",
      "managed-policy",
      "role-access",
    ]);
    expect(t.Metadata.Gatehouse.gaps.join("\n")).toContain("managed-policy: CloudFormation has no resource");
    expect(t.Metadata.Gatehouse.gaps.join("\n")).toContain("a stack lives in one account");
  });

  it("filters over the route: account, permanentOnly, active, expiredSince", async () => {
    const idsOf = async (query: string) => {
      const r = await b.call("gina", "GET", `/v1/admin/grants/export?format=json&${query}`);
      expect(r.status).toBe(200);
      return (r.json as unknown as GrantExport).grants.map((g) => g.request.id).sort();
    };
    expect(await idsOf("account=staging")).toEqual([ids.roleAttach]);
    expect(await idsOf(`account=${STAGING}&account=prod`)).toHaveLength(6);
    expect(await idsOf("permanentOnly=true")).toEqual([ids.userAttach, ids.userPolicy].sort());
    expect(await idsOf("active=true")).toHaveLength(6);
    expect(await idsOf("expiredSince=2020-01-01")).toEqual([ids.reverted]);
    expect(await idsOf("expiredSince=2999-01-01")).toEqual([]);
  });

  it("the command: --account, --expired-since (comments only), --out; bad flags are BAD_ARGUMENT; audited", async () => {
    const staging = await brokerCli([
      "grants",
      "export",
      "--config",
      configFile,
      "--format",
      "json",
      "--account",
      "staging",
    ]);
    expect(staging.stderr).toBe("");
    expect((JSON.parse(staging.stdout) as GrantExport).grants.map((g) => g.request.id)).toEqual([
      ids.roleAttach,
    ]);

    // What was reverted is listed for review only: comments, no resource to apply.
    const reverted = await brokerCli([
      "grants",
      "export",
      "--config",
      configFile,
      "--expired-since",
      new Date(Date.now() - 3600_000).toISOString(),
    ]);
    expect(reverted.stdout).toContain("REVERTED by Gatehouse: Terraform should hold none of them");
    expect(reverted.stdout).toContain(
      "# was aws_iam_user_group_membership with import id deploy-bot/oncall-old",
    );
    expect(await parseHcl("reverted.tf", reverted.stdout)).toEqual({});

    const file = join(b.dir, "grants.tf");
    const toFile = await brokerCli(["grants", "export", "--config", configFile, "--out", file]);
    expect(toFile.stdout).toBe("");
    expect(toFile.stderr).toContain(`exported 6 grant(s) to ${file}`);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readFileSync(file, "utf8")).toContain('resource "aws_iam_user_group_membership"');

    const bad = await brokerCli(["grants", "export", "--config", configFile, "--format", "yaml"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("[BAD_ARGUMENT]");

    const db = openDb(b.db);
    try {
      const audit = openStore(db).listAudit({ action: "grants.export", limit: 100 });
      expect(audit.some((e) => e.actor === "gina@example.com")).toBe(true);
      expect(audit.some((e) => e.actor.startsWith("os-user:"))).toBe(true);
      const last = audit.find((e) => e.actor === "gina@example.com" && e.detail.format === "json");
      expect(last?.detail).toMatchObject({ grants: 6, filter: { mode: "applied" } });
    } finally {
      db.close();
    }
  }, 120_000);
});
