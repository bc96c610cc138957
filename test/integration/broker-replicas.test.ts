// Several brokers on one database (issue 15): a grant approved through A is usable through B within a
// second; parallel approvals over both apply once; a sync of 20 accounts is split with no account synced
// twice at once; a broker killed mid-sync or mid-apply leaves its work to the other, which completes it.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDb } from "../../broker/db/index.ts";
import type { Db } from "../../broker/db/types.ts";
import { generateWorld } from "../../dev/aws/fixture.ts";
import { type Emulator, startEmulator } from "../../dev/aws/server.ts";
import { type PrivateCluster, startPrivateCluster } from "../../dev/postgres.ts";
import { type StartedBroker, startTestBroker } from "../support/broker.ts";
import { metric } from "../support/e2e.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { asRequest, READ_BUCKET, RequestsBroker, signPeople, until, type Who } from "../support/requests.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fast leases and sweeps, so a dead replica's work is taken over in about a second. */
const replicas = (id: string) =>
  `replicas: { id: ${id}, lease_ms: 1000, sweep_ms: 200, feed_poll_ms: 100 }\n`;

let issuer: TestIssuer;
let tokens: Record<Who, string>;

beforeAll(async () => {
  issuer = await startTestIssuer();
  tokens = await signPeople(issuer);
});
afterAll(async () => {
  await issuer?.close();
});

describe("two brokers, one database: requests", () => {
  let emulator: Emulator;
  let a: RequestsBroker;
  let b: RequestsBroker;
  const requestsYaml = `requests:
  approver_groups: [approvers]
`;
  const count = (action: string) => emulator.calls.filter((c) => c.action === action).length;

  beforeAll(async () => {
    emulator = await startDemoEmulator();
    a = new RequestsBroker({ emulator, issuer, tokens, extra: requestsYaml + replicas("broker-a") });
    await a.start();
    b = new RequestsBroker({
      emulator,
      issuer,
      tokens,
      extra: requestsYaml + replicas("broker-b"),
      dir: a.dir,
    });
    await b.start();
  });
  afterAll(async () => {
    await b?.stop();
    await a?.close();
    await emulator?.close();
  });

  it("a grant approved through A is usable through B within a second, and its expiry too", async () => {
    expect(await b.roles("alice")).not.toContain("prod/Billing");
    const created = await a.billingAccess("alice", 3600);
    expect(created.status).toBe(201);
    const id = asRequest(created.json).id;
    const approved = await a.call("dave", "POST", `/v1/requests/${id}/approve`, {});
    expect(asRequest(approved.json).targets[0]!.state).toBe("applied");
    const t0 = Date.now();
    let creds = await b.call("alice", "POST", "/v1/credentials", { role: "prod/Billing" });
    while (creds.status !== 200 && Date.now() - t0 < 5000) {
      await sleep(20);
      creds = await b.call("alice", "POST", "/v1/credentials", { role: "prod/Billing" });
    }
    const took = Date.now() - t0;
    expect(creds.status).toBe(200);
    expect(creds.json.accessKeyId).toMatch(/^ASIA/);
    expect(took).toBeLessThan(1000);
    // The expiry, run by A, reaches B's index as well.
    await a.broker.requests.expireDue(new Date(Date.now() + 2 * 3600_000));
    const alice = { email: "alice@example.com", groups: ["engineers", "data"] };
    const billing = "arn:aws:iam::222222222222:role/Billing";
    const t1 = Date.now();
    await until(
      () => !b.broker.index.rolesFor(alice).some((g) => g.entry.role.arn === billing),
      5000,
      "the revoked grant on B",
    );
    expect(Date.now() - t1).toBeLessThan(1000);
    expect(await b.roles("alice")).not.toContain("prod/Billing");
    const refused = await b.call("alice", "POST", "/v1/credentials", { role: "prod/Billing" });
    expect(refused.status).toBe(404);
  });

  it("ten parallel approvals spread over both brokers put the policy once", async () => {
    const id = asRequest(
      (await a.create("alice", { targets: ["prod/Billing"], policy: READ_BUCKET })).json,
    ).id;
    const before = count("PutRolePolicy");
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).call(i % 3 ? "dave" : "bob", "POST", `/v1/requests/${id}/approve`, {}),
      ),
    );
    expect(replies.some((r) => r.status === 200)).toBe(true);
    for (const r of replies) expect([200, 409]).toContain(r.status);
    const state = async () => (await b.get("alice", id)).targets[0]!.state;
    const end = Date.now() + 5000;
    while ((await state()) !== "applied" && Date.now() < end) await sleep(20);
    expect(await state()).toBe("applied");
    expect(count("PutRolePolicy") - before).toBe(1);
    const role = emulator.world.accounts.get("222222222222")!.roles.get("billing")!;
    expect(role.inlinePolicies[`gatehouse-${id}-0`]).toBeDefined();
    // Exactly one request.apply row in the shared audit, whoever applied it.
    const applies = a.broker.store
      .listAudit({ action: "request.apply" })
      .filter((e) => e.target === `${id}/0`);
    expect(applies).toHaveLength(1);
  });

  it("a broker killed mid-apply: the other resumes the target once its lease lapses", async () => {
    const c = new RequestsBroker({
      emulator,
      issuer,
      tokens,
      extra: requestsYaml + replicas("broker-c"),
      dir: a.dir,
    });
    await c.start();
    const id = asRequest(
      (await c.create("alice", { targets: ["prod/Billing"], policy: READ_BUCKET })).json,
    ).id;
    // Every IAM call is slow, so C is still inside PutRolePolicy when it dies.
    emulator.faults.set({ latencyMs: 1500 });
    const approving = c.call("dave", "POST", `/v1/requests/${id}/approve`, {}).catch(() => undefined);
    await until(
      () => a.broker.replica.leases.holderOf(`apply:${id}/0`)?.holder === "broker-c",
      10_000,
      "C applying",
    );
    c.broker.kill();
    emulator.faults.set({});
    await approving;
    expect((await a.get("alice", id)).targets[0]!.state).toBe("applying");
    await until(
      () => a.broker.store.listAudit({ action: "request.apply" }).some((e) => e.target === `${id}/0`),
      10_000,
      "the target applied by a survivor",
    );
    const r = await a.get("alice", id);
    expect(r.targets[0]!.state).toBe("applied");
    const role = emulator.world.accounts.get("222222222222")!.roles.get("billing")!;
    expect(role.inlinePolicies[`gatehouse-${id}-0`]).toBeDefined();
    // The resume says which replica took it over; PutRolePolicy ran again under its fixed name.
    const resume = r.events.find((e) => e.type === "resume");
    expect(resume?.detail).toMatchObject({ replica: expect.stringMatching(/^broker-[ab]$/) });
  }, 30_000);
});

describe("two brokers, one database: sync of 20 accounts", () => {
  let emulator: Emulator;
  let a: StartedBroker;
  let b: StartedBroker;
  const accounts = Array.from({ length: 20 }, (_, i) => ({
    id: String(200000000000 + i),
    name: `account-${String(i).padStart(4, "0")}`,
  }));
  const start = (id: string, dir?: string) =>
    startTestBroker({
      issuer: issuer.issuer,
      awsUrl: emulator.url,
      accounts,
      extra: `${replicas(id)}`,
      waitForSync: false,
      ...(dir ? { dir } : {}),
    });
  /** How many account syncs this broker ran itself (its own /metrics), by account. */
  const syncedBy = async (x: StartedBroker) => {
    const text = await (await fetch(`${x.url}/metrics`)).text();
    return Object.fromEntries(
      accounts.map((acc) => [
        acc.id,
        metric(text, "gatehouse_sync_duration_seconds_count", { account: acc.id }),
      ]),
    );
  };

  beforeAll(async () => {
    emulator = await startEmulator({ world: generateWorld({ accounts: 20, roles: 3, users: 1 }) });
    a = await start("broker-a");
    b = await start("broker-b", a.dir);
  });
  afterAll(async () => {
    await b?.close();
    await a?.stop();
    await emulator?.close();
  });

  it("splits the accounts between both, never syncing one account twice at once", async () => {
    // Slow enough calls that both brokers run side by side.
    emulator.faults.set({ latencyMs: 40 });
    emulator.calls.length = 0;
    try {
      const [ra, rb] = await Promise.all([a.syncer.syncAll(), b.syncer.syncAll()]);
      expect(ra.failed + rb.failed).toBe(0);
    } finally {
      emulator.faults.set({});
    }
    const [byA, byB] = await Promise.all([syncedBy(a), syncedBy(b)]);
    const total = (m: Record<string, number>) => Object.values(m).reduce((x, y) => x + y, 0);
    expect(total(byA)).toBeGreaterThan(0);
    expect(total(byB)).toBeGreaterThan(0);
    for (const acc of accounts) expect(byA[acc.id]! + byB[acc.id]!).toBeGreaterThanOrEqual(1);
    // From the emulator's call log: per account, each sync is GetAccountAuthorizationDetails then ListRoles;
    // two syncs at once would show two GetAccountAuthorizationDetails before a ListRoles.
    for (const acc of accounts) {
      const seq = emulator.calls
        .filter(
          (c) => c.account === acc.id && ["GetAccountAuthorizationDetails", "ListRoles"].includes(c.action),
        )
        .map((c) => (c.action === "ListRoles" ? "L" : "G"))
        .join("");
      expect(seq).toMatch(/^(GL)+$/);
    }
    for (const s of a.store.syncStatuses()) expect(s.state).toBe("ok");
    expect(a.store.syncStatuses()).toHaveLength(20);
    // Both brokers serve every account's roles (B's index follows A's syncs through the change feed).
    await until(() => a.index.size === b.index.size && a.index.size >= 60, 2000, "both indexes full");
  });

  it("a broker killed mid-sync: its accounts are taken over once their leases lapse", async () => {
    const c = await start("broker-c", a.dir);
    emulator.faults.set({ latencyMs: 300 });
    const dying = c.syncer.syncAll().catch(() => undefined);
    await until(
      () => a.replica.leases.held("sync:").some((l) => l.holder === "broker-c"),
      10_000,
      "C syncing",
    );
    const held = a.replica.leases
      .held("sync:")
      .filter((l) => l.holder === "broker-c")
      .map((l) => l.key);
    c.kill();
    const killedAt = new Date().toISOString();
    emulator.faults.set({});
    await dying;
    // While C's leases are live, nobody else may take those accounts…
    for (const key of held) expect(a.replica.claim(key)).toBe(false);
    // …and takes them over on the tick after they lapse.
    await until(() => a.replica.leases.held("sync:").length === 0, 5000, "C's leases lapsing");
    await a.syncer.syncAll();
    for (const key of held) {
      const s = a.store.syncStatuses().find((x) => `sync:${x.accountId}` === key)!;
      expect(s.state).toBe("ok");
      expect(s.lastSuccessAt! > killedAt).toBe(true);
    }
  }, 30_000);
});

describe("two brokers on PostgreSQL: an outage and a restart under load", () => {
  let emulator: Emulator;
  let cluster: PrivateCluster;
  let admin: Db;
  let database: string;
  let a: StartedBroker;
  let b: StartedBroker;
  const ROLE = "prod/ReadOnly";
  // A lost database answers within a second, not after the default five.
  const timeouts = "database_timeouts: { connect_seconds: 1, statement_seconds: 5 }\n";
  const credentials = async (x: StartedBroker) => {
    const res = await fetch(`${x.url}/v1/credentials`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.alice}`, "content-type": "application/json" },
      body: JSON.stringify({ role: ROLE }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const ready = async (x: StartedBroker) => {
    const res = await fetch(`${x.url}/readyz`);
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    emulator = await startDemoEmulator();
    cluster = await startPrivateCluster();
    database = await cluster.createDatabase();
    admin = openDb(cluster.url);
    const start = (id: string) =>
      startTestBroker({
        issuer: issuer.issuer,
        awsUrl: emulator.url,
        database,
        extra: replicas(id) + timeouts,
      });
    a = await start("broker-a");
    b = await start("broker-b");
  }, 60_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    admin?.close();
    await cluster?.stop();
    await emulator?.close();
  });

  it("while the database refuses connections: /readyz 503 and 503 STORE_UNAVAILABLE, nothing handed out; then both recover", async () => {
    expect((await credentials(a)).status).toBe(200);
    const name = new URL(database).pathname.slice(1);
    admin.run(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
    admin.all("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ?", [name]);
    try {
      for (const x of [a, b]) {
        const r = await ready(x);
        expect(r.status).toBe(503);
        expect(r.json.status).toBe("store-unavailable");
        const c = await credentials(x);
        expect(c.status).toBe(503);
        expect(c.json.code).toBe("STORE_UNAVAILABLE");
        expect(c.json.accessKeyId).toBeUndefined();
      }
    } finally {
      admin.run(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
    }
    for (const x of [a, b]) {
      const end = Date.now() + 10_000;
      while ((await ready(x)).status !== 200 && Date.now() < end) await sleep(100);
      expect((await ready(x)).status).toBe(200);
      expect((await credentials(x)).status).toBe(200);
    }
  }, 60_000);

  it("PostgreSQL restarted under load: both reconnect, every credential handed out is audited, the chain verifies", async () => {
    const handed: string[] = [];
    const statuses: number[] = [];
    let stop = false;
    const load = async (x: StartedBroker) => {
      for (let i = 0; i < 200 && !stop; i++) {
        const r = await credentials(x);
        statuses.push(r.status);
        if (r.status === 200) handed.push(r.json.accessKeyId as string);
        else expect(r.json.code).toMatch(/^(STORE|AUDIT)_UNAVAILABLE$/);
      }
    };
    const running = Promise.all([load(a), load(b), load(a), load(b)]);
    await sleep(300);
    await cluster.restart();
    await sleep(1500);
    stop = true;
    await running;
    // Both serve again after the restart.
    for (const x of [a, b]) {
      const end = Date.now() + 10_000;
      let r = await credentials(x);
      while (r.status !== 200 && Date.now() < end) {
        await sleep(100);
        r = await credentials(x);
      }
      expect(r.status).toBe(200);
      handed.push(r.json.accessKeyId as string);
    }
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    // Nothing lost: every key handed out has its audit row.
    const audited = new Set(
      a.store
        .listAudit({ action: "credentials.issue", limit: 100_000 })
        .filter((e) => e.outcome === "ok")
        .map((e) => e.detail.accessKeyId as string),
    );
    for (const k of handed) expect(audited.has(k)).toBe(true);
    expect(a.store.verifyAudit()).toMatchObject({ ok: true });
    expect(b.store.verifyAudit()).toMatchObject({ ok: true });
    // The change feed follows again: a sync on A reaches B's index.
    const before = b.index.size;
    a.store.replaceAccount("333333333333", [], []);
    a.replica.publish("account", "333333333333");
    await until(() => b.index.size < before, 3000, "B following A after the restart");
    await a.syncer.syncAll();
    await until(() => b.index.size === before, 3000, "B reloading the account again");
  }, 90_000);
});
