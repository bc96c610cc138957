// Accounts from AWS Organizations: 200 accounts in 12 OUs discovered with OU and tag filters, paging
// and injected throttling, through the real broker (its sync re-reads the organisation each time).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { OrganizationsClient } from "@aws-sdk/client-organizations";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Broker, startBroker } from "../../broker/app.ts";
import { parseConfig } from "../../broker/config.ts";
import { discoverAccounts } from "../../broker/organizations.ts";
import { GENERATED_ENVS, generateWorld, trustCentral } from "../../dev/aws/fixture.ts";
import { type Account, stableId } from "../../dev/aws/model.ts";
import { type Emulator, startEmulator } from "../../dev/aws/server.ts";
import { centralCredentials } from "../support/aws.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

let emulator: Emulator;
let issuer: TestIssuer;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  emulator = await startEmulator({ world: generateWorld({ accounts: 200, roles: 2, users: 0, ous: 12 }) });
  issuer = await startTestIssuer();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await issuer?.close();
  await emulator?.close();
});

const FILTERS = {
  include_ous: ["Workloads-0", "Workloads-1"],
  exclude_ous: ["Workloads-0/Team-3"],
  include_tags: { env: ["prod", "staging"] },
  exclude_tags: {},
  name_from: "account_name",
};

/** What the filters should keep, worked out from the emulator's world directly (not by the code under test). */
function expected(): string[] {
  const o = emulator.world.organization!;
  const pathOf = (id: string): string[] => {
    const out: string[] = [];
    for (let u = o.units.get(id); u; u = o.units.get(u.parentId)) out.unshift(u.name);
    return out;
  };
  return [...emulator.world.accounts.values()]
    .filter((a) => {
      const m = a.org;
      if (m?.status !== "ACTIVE") return false;
      const path = pathOf(m.parentId);
      if (!["Workloads-0", "Workloads-1"].includes(path[0] ?? "")) return false;
      if (path[0] === "Workloads-0" && path[1] === "Team-3") return false;
      const env = m.tags.find((t) => t.Key === "env")?.Value ?? "";
      return env === "prod" || env === "staging";
    })
    .map((a) => a.id)
    .sort();
}

async function orgClient(maxAttempts = 8): Promise<OrganizationsClient> {
  return new OrganizationsClient({
    endpoint: emulator.url,
    region: "us-east-1",
    credentials: await centralCredentials(emulator),
    maxAttempts,
  });
}

describe("discoverAccounts over 200 accounts in 12 OUs", () => {
  it("keeps exactly the accounts under the included OUs, minus the excluded OU, active, with a matching tag", async () => {
    const want = expected();
    expect(want.length).toBeGreaterThan(40);
    emulator.calls.length = 0;
    const found = await discoverAccounts(await orgClient(), FILTERS);
    expect(found.accounts.map((a) => a.id)).toEqual(want);
    expect(found.units).toHaveLength(13);
    // Every OU holds ~17 accounts and the emulator pages by 10 without MaxResults: NextToken was followed.
    const tokens = emulator.calls.filter((c) => c.action === "ListAccountsForParent").length;
    expect(tokens).toBeGreaterThan(found.units.length - 4);
    // Suspended and filtered accounts are reported with a reason, not silently dropped.
    const reasons = new Set(found.skipped.map((s) => s.reason));
    expect(reasons).toEqual(new Set(["suspended", "excluded-ou", "tag-filter"]));
    const suspended = found.skipped.filter((s) => s.reason === "suspended").map((s) => s.id);
    for (const id of suspended) expect(emulator.world.accounts.get(id)?.org?.status).toBe("SUSPENDED");
    // OUs outside the included ones are not even listed.
    const listedParents = new Set(
      emulator.calls.filter((c) => c.action === "ListAccountsForParent").map((c) => c.seq),
    );
    expect(listedParents.size).toBeLessThan(emulator.calls.length);
  });

  it("the same answer with 10% of the Organizations calls throttled (retried by the SDK)", {
    timeout: 120_000,
  }, async () => {
    emulator.faults.set({
      throttles: [
        { account: "*", action: "ListAccountsForParent", probability: 0.1 },
        { account: "*", action: "ListTagsForResource", probability: 0.1 },
        { account: "*", action: "ListOrganizationalUnitsForParent", probability: 0.1 },
      ],
      seed: 13,
    });
    emulator.calls.length = 0;
    try {
      const found = await discoverAccounts(await orgClient(10), FILTERS);
      expect(found.accounts.map((a) => a.id)).toEqual(expected());
      expect(emulator.calls.filter((c) => c.error === "TooManyRequestsException").length).toBeGreaterThan(3);
    } finally {
      emulator.faults.set({});
    }
  });

  it("names accounts from a tag when asked, and an unknown OU is a config error naming it", async () => {
    const found = await discoverAccounts(await orgClient(), { ...FILTERS, name_from: "tag:team" });
    const a = found.accounts[0]!;
    expect(a.name).toBe(a.tags.team);
    expect(a.accountName).toMatch(/^account-\d{4}$/);
    const e = await discoverAccounts(await orgClient(), { ...FILTERS, include_ous: ["Workloads-9"] }).then(
      () => undefined,
      (x: { code: string; message: string }) => x,
    );
    expect(e).toMatchObject({ code: "CONFIG_INVALID" });
    expect(e?.message).toContain('no OU "Workloads-9"');
  });
});

interface TestBroker extends Broker {
  url: string;
}

async function orgBroker(filters: string): Promise<TestBroker> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-org-"));
  const yaml = `listen: { host: 127.0.0.1, port: 0 }
database: broker.sqlite
log_level: warn
oidc: { issuer: ${issuer.issuer}, audience: gatehouse-broker }
aws:
  endpoint: ${emulator.url}
  base_identity: { type: static, access_key_id: AKIAGATEHOUSEDEMO001, secret_access_key: gatehouse-demo-secret }
  central_role_arn: arn:aws:iam::111111111111:role/GatehouseCentral
  spoke_role_name: GatehouseSpoke
  accounts_from: organizations
  organizations:
${filters}
sync: { interval_seconds: 3600, requests_per_second: 100, account_concurrency: 16, max_attempts: 8 }
`;
  const config = parseConfig(yaml, join(dir, "gatehouse.yaml"));
  const broker = await startBroker(config, { logStream: new Writable({ write: (_c, _e, cb) => cb() }) });
  cleanups.push(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return broker;
}

describe("the broker with accounts_from: organizations", () => {
  it("syncs the discovered accounts; a new account appears on the next sync without editing the config", {
    timeout: 120_000,
  }, async () => {
    const broker = await orgBroker(`    include_ous: [Workloads-1]
    include_tags: { env: [${GENERATED_ENVS[0]}] }`);
    const first = await broker.syncer.syncAll();
    expect(first.discovery).toMatchObject({ ok: true });
    const ids = first.accounts.map((a) => a.accountId);
    expect(first.failed).toBe(0);
    expect(ids.length).toBeGreaterThan(5);
    // Two tagged work roles in each (the spoke role is untagged).
    expect(broker.index.size).toBe(ids.length * 2);

    // An account joins Workloads-1 (tagged env=prod, with its spoke role): the next sync finds it.
    const o = emulator.world.organization!;
    const w1 = [...o.units.values()].find((u) => u.name === "Workloads-1")!;
    const joined: Account = emulator.world.addAccount("299999999999", "newcomer");
    joined.org = {
      email: "new@example.com",
      status: "ACTIVE",
      parentId: w1.id,
      tags: [{ Key: "env", Value: "prod" }],
    };
    emulator.world.putRole(joined, {
      name: "GatehouseSpoke",
      path: "/",
      id: stableId("AROA", "299999999999", "GatehouseSpoke"),
      createDate: "2024-01-01T00:00:00Z",
      maxSessionDuration: 3600,
      tags: [],
      trustPolicy: trustCentral(),
      inlinePolicies: {
        Read: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: ["iam:Get*", "iam:List*"], Resource: "*" }],
        }),
      },
      managedPolicies: [],
    });
    const second = await broker.syncer.syncAll();
    expect(second.accounts.map((a) => a.accountId)).toEqual([...ids, "299999999999"].sort());
    expect(second.accounts.find((a) => a.accountId === "299999999999")).toMatchObject({
      state: "ok",
      name: "newcomer",
    });

    // It is suspended: the next sync drops it and its roles stop being served.
    joined.org.status = "SUSPENDED";
    const third = await broker.syncer.syncAll();
    expect(third.accounts.map((a) => a.accountId)).toEqual(ids);
    expect(broker.store.loadRoles().some((r) => r.accountId === "299999999999")).toBe(false);
  });

  it("a failed read of the organisation keeps the previous accounts and reports the error", {
    timeout: 120_000,
  }, async () => {
    const broker = await orgBroker("    include_ous: [Workloads-2]");
    const first = await broker.syncer.syncAll();
    const ids = first.accounts.map((a) => a.accountId);
    expect(ids.length).toBeGreaterThan(10);
    // The central role loses its Organizations permissions.
    const central = emulator.world.accounts.get("111111111111")!.roles.get("gatehousecentral")!;
    const read = central.inlinePolicies.ReadOrganization!;
    delete central.inlinePolicies.ReadOrganization;
    try {
      const second = await broker.syncer.syncAll();
      expect(second.discovery).toMatchObject({ ok: false, error: { code: "AWS_DENIED" } });
      expect(second.discovery?.error?.message).toContain("AccessDeniedException");
      expect(second.accounts.map((a) => a.accountId)).toEqual(ids);
    } finally {
      central.inlinePolicies.ReadOrganization = read;
    }
  });

  it("refuses a config that asks for both a list and organizations filters, or neither", () => {
    const base = `oidc: { issuer: https://idp.example.com, audience: x }
aws:
  spoke_role_name: GatehouseSpoke
`;
    expect(() => parseConfig(base, "g.yaml")).toThrow(
      /list at least one account, or set accounts_from: organizations/,
    );
    expect(() =>
      parseConfig(`${base}  accounts: [{ id: "222222222222", name: p }]\n  organizations: {}\n`, "g.yaml"),
    ).toThrow(/only read with accounts_from: organizations/);
    expect(() =>
      parseConfig(
        `${base}  accounts_from: organizations\n  organizations: { include_ous: ["a//b"] }\n`,
        "g.yaml",
      ),
    ).toThrow(/include_ous/);
    const ok = parseConfig(`${base}  accounts_from: organizations\n`, "g.yaml");
    expect(ok.aws.organizations).toMatchObject({ include_ous: [], name_from: "account_name" });
  });
});
