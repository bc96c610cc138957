// What a request can name (GET /v1/targets) and who sees the approvals tab (GET /v1/me's approver), on a
// real broker against the demo emulator.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import type { RequestTarget } from "../../shared/api.ts";
import { type StartedBroker, startTestBroker } from "../support/broker.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { signTokens, startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

let emulator: Emulator;
let issuer: TestIssuer;
let broker: StartedBroker;

const PEOPLE = {
  alice: { email: "alice@example.com", groups: ["engineers", "data"] },
  bob: { email: "bob@example.com", groups: ["platform-admins", "approvers"] },
  carol: { email: "carol@example.com", groups: [] as string[] },
  erin: { email: "erin@example.com", groups: ["finance"] },
};
type Who = keyof typeof PEOPLE;
let tokens: Record<Who, string>;

async function get(who: Who, path: string) {
  const res = await fetch(`${broker.url}${path}`, { headers: { authorization: `Bearer ${tokens[who]}` } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
const targets = async (who: Who, q: string, limit?: number) =>
  (await get(who, `/v1/targets?q=${encodeURIComponent(q)}${limit ? `&limit=${limit}` : ""}`)).json
    .targets as RequestTarget[];

beforeAll(async () => {
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  tokens = await signTokens(issuer, PEOPLE);
  // finance approves for prod only; a tag on staging/DataPipeline names carol.
  const staging = emulator.world.accounts.get("333333333333")!;
  staging.roles.get("datapipeline")!.tags.push({ Key: "gatehouse-approvers", Value: "carol@example.com" });
  broker = await startTestBroker({
    issuer: issuer.issuer,
    awsUrl: emulator.url,
    extra: `requests:\n  approver_groups: [approvers]\n  account_approver_groups: { "222222222222": [finance] }\n`,
  });
});

afterAll(async () => {
  await broker?.stop();
  await issuer?.close();
  await emulator?.close();
});

describe("GET /v1/targets", () => {
  it("finds roles and users by name, account name or ARN, every word matching", async () => {
    const all = await targets("alice", "", 500);
    const arns = all.map((t) => t.arn);
    expect(arns).toContain("arn:aws:iam::333333333333:role/Developer");
    expect(arns).toContain("arn:aws:iam::222222222222:user/deploy-bot");
    // Gatehouse's own roles and the central account are never offered.
    expect(arns.some((a) => a.endsWith(":role/GatehouseSpoke"))).toBe(false);
    expect(arns.some((a) => a.includes("111111111111"))).toBe(false);

    const dev = await targets("alice", "staging dev");
    expect(dev.map((t) => `${t.accountName}/${t.name}`)).toEqual(["staging/Developer"]);
    expect(dev[0]).toMatchObject({ type: "role", accountId: "333333333333", mine: true });
    const bot = await targets("alice", "deploy");
    expect(bot).toEqual([
      {
        arn: "arn:aws:iam::222222222222:user/deploy-bot",
        accountId: "222222222222",
        accountName: "prod",
        type: "user",
        name: "deploy-bot",
        description: null,
        mine: false,
      },
    ]);
    expect((await targets("alice", "prod/Billing")).map((t) => t.name)).toEqual(["Billing"]);
    expect((await targets("alice", "arn:aws:iam::222222222222:role/Read")).map((t) => t.name)).toEqual([
      "ReadOnly",
    ]);
  });

  it("marks the roles a person can use already; LIKE wildcards in the query are plain text", async () => {
    const carol = await targets("carol", "staging");
    expect(carol.length).toBeGreaterThan(1);
    expect(carol.every((t) => !t.mine)).toBe(true);
    expect(await targets("alice", "%")).toEqual([]);
    expect(await targets("alice", "_")).toEqual([]);
  });

  it("honours limit and refuses a bad one with a code", async () => {
    expect(await targets("alice", "", 2)).toHaveLength(2);
    const bad = await get("alice", "/v1/targets?limit=0");
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe("BAD_REQUEST");
    const res = await fetch(`${broker.url}/v1/targets`);
    expect(res.status).toBe(401);
  });
});

describe("GET /v1/me: approver", () => {
  it("is true for approver groups, per-account approver groups and gatehouse-approvers tags only", async () => {
    expect((await get("bob", "/v1/me")).json.approver).toBe(true);
    expect((await get("erin", "/v1/me")).json.approver).toBe(true);
    expect((await get("carol", "/v1/me")).json.approver).toBe(true);
    expect((await get("alice", "/v1/me")).json.approver).toBe(false);
  });

  it("follows the tags after a sync: carol stops approving when the tag goes, and again when it is back", async () => {
    const pipeline = emulator.world.accounts.get("333333333333")!.roles.get("datapipeline")!;
    const tag = pipeline.tags.find((t) => t.Key === "gatehouse-approvers")!;
    pipeline.tags = pipeline.tags.filter((t) => t !== tag);
    await broker.syncer.syncAll();
    expect((await get("carol", "/v1/me")).json.approver).toBe(false);
    pipeline.tags.push(tag);
    await broker.syncer.syncAll();
    expect((await get("carol", "/v1/me")).json.approver).toBe(true);
  });
});

describe("SECURITY 23: /v1/targets tells a role's description only to who uses it, approves it or is an admin", () => {
  const described = async (who: Who) =>
    Object.fromEntries(
      (await targets(who, "", 500))
        .filter((t) => t.type === "role")
        .map((t) => [`${t.accountName}/${t.name}`, t.description]),
    );

  it("alice (uses staging/Developer and prod/ReadOnly) sees those two descriptions only", async () => {
    const d = await described("alice");
    expect(d["staging/Developer"]).toBe("Developer access to staging");
    expect(d["prod/ReadOnly"]).toBe("Read-only access to prod");
    expect(d["prod/Billing"]).toBeNull();
    expect(d["prod/Admin"]).toBeNull();
    expect(d["staging/DataPipeline"]).toBe("Runs the data pipeline (CLI only)");
  });

  it("erin (approves prod) sees prod's; carol (tag approver of staging/DataPipeline) that one; bob (admin) all", async () => {
    const erin = await described("erin");
    expect(erin["prod/Billing"]).toMatch(/^Billing console/);
    expect(erin["staging/Developer"]).toBeNull();
    const carol = await described("carol");
    expect(carol["staging/DataPipeline"]).toBe("Runs the data pipeline (CLI only)");
    expect(carol["prod/Billing"]).toBeNull();
    const bob = await described("bob");
    expect(Object.values(bob).every((d) => d !== null)).toBe(true);
  });
});

describe("SECURITY 23: requests.targets_visible_to", () => {
  let other: StartedBroker | undefined;
  afterEach(async () => {
    await other?.stop();
    other = undefined;
  });
  const status = async (who: Who) =>
    (
      await fetch(`${other!.url}/v1/targets?q=staging`, {
        headers: { authorization: `Bearer ${tokens[who]}` },
      })
    ).status;

  it("approvers: approvers (by group, account group or tag) and admins list targets; others get 403 FORBIDDEN, audited", async () => {
    other = await startTestBroker({
      issuer: issuer.issuer,
      awsUrl: emulator.url,
      extra: `requests:\n  approver_groups: [approvers]\n  account_approver_groups: { "222222222222": [finance] }\n  targets_visible_to: approvers\n`,
    });
    const res = await fetch(`${other.url}/v1/targets`, {
      headers: { authorization: `Bearer ${tokens.alice}` },
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe("FORBIDDEN");
    expect(await status("bob")).toBe(200);
    expect(await status("erin")).toBe(200);
    expect(await status("carol")).toBe(200);
    const rows = other.store.listAudit({ action: "targets.list" });
    expect(rows.map((e) => [e.actor, e.outcome, e.detail.code])).toEqual([
      ["alice@example.com", "denied", "FORBIDDEN"],
    ]);
  });

  it("groups: the members of targets_visible_groups and admins only", async () => {
    other = await startTestBroker({
      issuer: issuer.issuer,
      awsUrl: emulator.url,
      extra: "requests:\n  targets_visible_to: groups\n  targets_visible_groups: [data]\n",
    });
    expect(await status("alice")).toBe(200);
    expect(await status("erin")).toBe(403);
    expect(await status("carol")).toBe(403);
    expect(await status("bob")).toBe(200);
  });
});
