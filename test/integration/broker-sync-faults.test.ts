// Sync under faults (SECURITY.md item 30), with the broker really started against the emulator:
// throttling and 5xx are retried away; a failing account is reported with its error while the others
// sync and its previous roles keep serving; a sync that fails midway leaves nothing half-written; the
// per-account request-rate cap holds; a change made through IAM shows at once after syncRole.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { TagRoleCommand, UntagRoleCommand } from "@aws-sdk/client-iam";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Broker, startBroker } from "../../broker/app.ts";
import { parseConfig } from "../../broker/config.ts";
import { GENERATED_GROUPS, generateWorld } from "../../dev/aws/fixture.ts";
import { type Emulator, startEmulator } from "../../dev/aws/server.ts";
import { PROD, STAGING, spokeRole, viaCentral } from "../support/aws.ts";
import { iam, startDemoEmulator } from "../support/emulator.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

const GAAD = "GetAccountAuthorizationDetails";
/** Every group the generated organisation tags roles with: this person may use all its work roles. */
const ALL_GROUPS = [...GENERATED_GROUPS];
const PEOPLE = {
  alice: { email: "alice@example.com", groups: ["engineers", "data"] },
  bob: { email: "bob@example.com", groups: ["platform-admins", "approvers"] },
  everyone: { email: "everyone@example.com", groups: ALL_GROUPS },
};
type Who = keyof typeof PEOPLE;

let issuer: TestIssuer;
const tokens: Partial<Record<Who, string>> = {};
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  issuer = await startTestIssuer();
  for (const [who, p] of Object.entries(PEOPLE)) {
    tokens[who as Who] = await issuer.sign({ sub: who, aud: "gatehouse-broker", iss: issuer.issuer, ...p });
  }
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await issuer?.close();
});

interface TestBroker extends Broker {
  url: string;
}

/** A broker with its own accounts and sync settings, on a SQLite file in a temp dir, first sync done. */
async function brokerFor(
  emulator: Emulator,
  accounts: [id: string, name: string][],
  sync: { requests_per_second?: number; max_attempts?: number; account_concurrency?: number } = {},
): Promise<TestBroker> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-sync-faults-"));
  const yaml = `listen: { host: 127.0.0.1, port: 0 }
database: broker.sqlite
log_level: warn
oidc:
  issuer: ${issuer.issuer}
  audience: gatehouse-broker
aws:
  endpoint: ${emulator.url}
  federation_url: ${emulator.url}/federation
  base_identity: { type: static, access_key_id: AKIAGATEHOUSEDEMO001, secret_access_key: gatehouse-demo-secret }
  central_role_arn: arn:aws:iam::111111111111:role/GatehouseCentral
  spoke_role_name: GatehouseSpoke
  accounts:
${accounts.map(([id, name]) => `    - { id: "${id}", name: ${name} }`).join("\n")}
access:
  admin_groups: [platform-admins]
sync:
  interval_seconds: 3600
  requests_per_second: ${sync.requests_per_second ?? 100}
  max_attempts: ${sync.max_attempts ?? 6}
  account_concurrency: ${sync.account_concurrency ?? 8}
`;
  const config = parseConfig(yaml, join(dir, "gatehouse.yaml"));
  const logStream = new Writable({ write: (_c, _e, cb) => cb() });
  const broker = await startBroker(config, { logStream });
  await broker.syncer.syncAll();
  cleanups.push(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return broker;
}

async function call(broker: TestBroker, who: Who, method: string, path: string, body?: unknown) {
  const res = await fetch(`${broker.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tokens[who]}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

interface ApiRole {
  ref: string;
  accountId: string;
  roleName: string;
  description: string | null;
  tags: Record<string, string>;
}
async function rolesOf(broker: TestBroker, who: Who): Promise<ApiRole[]> {
  const r = await call(broker, who, "GET", "/v1/roles");
  expect(r.status).toBe(200);
  return r.json.roles as ApiRole[];
}
const refs = (roles: ApiRole[]) => roles.map((r) => r.ref);

interface Status {
  accountId: string;
  name: string;
  state: string;
  lastSuccessAt: string | null;
  error: { code: string; message: string } | null;
  roles: number;
  users: number;
}
async function syncStatus(broker: TestBroker): Promise<Status[]> {
  const r = await call(broker, "bob", "GET", "/v1/sync");
  expect(r.status).toBe(200);
  return r.json.accounts as Status[];
}

/** Role names the store holds for an account, sorted. */
const storedNames = (broker: TestBroker, account: string) =>
  broker.store
    .loadRoles()
    .filter((r) => r.accountId === account)
    .map((r) => r.name)
    .sort();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until `pred` holds for a call the emulator logged after `since` (a seq). */
async function waitForCall(
  emulator: Emulator,
  since: number,
  pred: (c: Emulator["calls"][number]) => boolean,
  timeoutMs = 15_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!emulator.calls.some((c) => c.seq > since && pred(c))) {
    if (Date.now() > until) throw new Error("timed out waiting for an emulator call");
    await sleep(2);
  }
}
const lastSeq = (emulator: Emulator) => emulator.calls.at(-1)?.seq ?? 0;

describe("throttling and 503s during sync", () => {
  let emulator: Emulator;
  let broker: TestBroker;

  beforeAll(async () => {
    emulator = await startDemoEmulator();
    cleanups.push(() => emulator.close());
    // Enough attempts that a run of 0.6-probability failures cannot exhaust them (0.6^20 ≈ 4e-5).
    broker = await brokerFor(
      emulator,
      [
        [PROD, "prod"],
        [STAGING, "staging"],
      ],
      { max_attempts: 20 },
    );
  });

  it("are retried: every sync completes with every account ok, and the errors really happened", async () => {
    const since = lastSeq(emulator);
    emulator.faults.set({
      failureRate: 0.2,
      throttles: [{ account: STAGING, action: GAAD, probability: 0.5 }],
    });
    const seen = () => {
      const calls = emulator.calls.filter((c) => c.seq > since);
      return {
        throttled: calls.some((c) => c.error === "Throttling" && c.account === STAGING && c.action === GAAD),
        unavailable: calls.some((c) => c.error === "ServiceUnavailable" && c.status === 503),
      };
    };
    try {
      // Repeat until both faults were injected at least once (each sync must still end all ok).
      for (let run = 0; run < 25 && !(seen().throttled && seen().unavailable); run++) {
        const result = await broker.syncer.syncAll();
        expect(result.accounts.map((a) => [a.accountId, a.state, a.error])).toEqual([
          [PROD, "ok", null],
          [STAGING, "ok", null],
        ]);
      }
    } finally {
      emulator.faults.set({});
    }
    expect(seen()).toEqual({ throttled: true, unavailable: true });
    // Throttling was only injected where asked.
    const calls = emulator.calls.filter((c) => c.seq > since);
    expect(calls.filter((c) => c.error === "Throttling").every((c) => c.account === STAGING)).toBe(true);
    // Every IAM read that failed was answered later: the last GAAD of each account succeeded.
    for (const account of [PROD, STAGING]) {
      expect(calls.filter((c) => c.account === account && c.action === GAAD).at(-1)?.status).toBe(200);
    }
    expect((await syncStatus(broker)).map((s) => [s.accountId, s.state, s.roles])).toEqual([
      [PROD, "ok", 4],
      [STAGING, "ok", 3],
    ]);
    expect(refs(await rolesOf(broker, "alice"))).toEqual([
      "prod/ReadOnly",
      "staging/DataPipeline",
      "staging/Developer",
    ]);
  }, 120_000);
});

describe("one account failing hard", () => {
  let emulator: Emulator;
  let broker: TestBroker;
  const GHOST = "444444444444";

  beforeAll(async () => {
    emulator = await startDemoEmulator();
    cleanups.push(() => emulator.close());
    // 444444444444 has no spoke role (it is not in the organisation at all): AssumeRole is denied.
    broker = await brokerFor(
      emulator,
      [
        [PROD, "prod"],
        [STAGING, "staging"],
        [GHOST, "ghost"],
      ],
      { max_attempts: 2 },
    );
  });

  it("an account without a spoke role is reported with its error; the others sync ok", async () => {
    const status = await syncStatus(broker);
    expect(status.map((s) => [s.accountId, s.name, s.state])).toEqual([
      [PROD, "prod", "ok"],
      [STAGING, "staging", "ok"],
      [GHOST, "ghost", "error"],
    ]);
    const ghost = status.find((s) => s.accountId === GHOST)!;
    expect(ghost.error?.code).toBe("AWS_DENIED");
    expect(ghost.error?.message).toContain(`arn:aws:iam::${GHOST}:role/GatehouseSpoke`);
    expect(ghost.error?.message).toContain("AccessDenied");
    expect(ghost).toMatchObject({ lastSuccessAt: null, roles: 0 });
    const readyz = await fetch(`${broker.url}/readyz`);
    expect(readyz.status).toBe(200);
  });

  it("a throttled account keeps serving its previous roles while the others pick up changes", async () => {
    const before = await syncStatus(broker);
    const stagingBefore = before.find((s) => s.accountId === STAGING)!;
    expect(stagingBefore.state).toBe("ok");
    // A change in prod that the next sync must pick up, to show prod really synced.
    emulator.world.accounts.get(PROD)!.roles.get("readonly")!.description = "Read-only access to prod (v2)";

    const since = lastSeq(emulator);
    emulator.faults.set({ throttles: [{ account: STAGING, action: "*", probability: 1 }] });
    let run: Awaited<ReturnType<typeof call>>;
    try {
      run = await call(broker, "bob", "POST", "/v1/sync");
    } finally {
      emulator.faults.set({});
    }
    expect(run.status).toBe(200);
    const states = (run.json.accounts as Status[]).map((s) => [s.accountId, s.state]);
    expect(states).toEqual([
      [PROD, "ok"],
      [STAGING, "error"],
      [GHOST, "error"],
    ]);
    // The broker really tried and was throttled (max_attempts: 2, so twice).
    const throttled = emulator.calls.filter((c) => c.seq > since && c.account === STAGING);
    expect(throttled.length).toBeGreaterThanOrEqual(2);
    expect(throttled.every((c) => c.error === "Throttling")).toBe(true);

    const status = await syncStatus(broker);
    const staging = status.find((s) => s.accountId === STAGING)!;
    expect(staging.state).toBe("error");
    expect(staging.error?.code).toBe("AWS_UNAVAILABLE");
    expect(staging.error?.message).toMatch(/Throttling/);
    // What it had from the last good sync is still counted and dated as it was.
    expect(staging).toMatchObject({ lastSuccessAt: stagingBefore.lastSuccessAt, roles: 3, users: 0 });
    const prod = status.find((s) => s.accountId === PROD)!;
    expect(prod.state).toBe("ok");
    expect(prod.lastSuccessAt! > before.find((s) => s.accountId === PROD)!.lastSuccessAt!).toBe(true);

    // Previous data keeps serving: alice still has her staging roles, and prod's change shows.
    const alice = await rolesOf(broker, "alice");
    expect(refs(alice)).toEqual(["prod/ReadOnly", "staging/DataPipeline", "staging/Developer"]);
    expect(alice[0]!.description).toBe("Read-only access to prod (v2)");
    expect(storedNames(broker, STAGING)).toEqual(["DataPipeline", "Developer", "GatehouseSpoke"]);
    // …and credentials for a staging role still work (STS is not the throttled IAM).
    const creds = await call(broker, "alice", "POST", "/v1/credentials", { role: "staging/Developer" });
    expect(creds.status).toBe(200);

    // The failure is counted in the metrics and the admin's run is audited as failed.
    const metrics = await (await fetch(`${broker.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`gatehouse_sync_errors_total\\{account="${STAGING}"\\} [1-9]`));
    const audit = broker.store.listAudit({ action: "sync.run" }).at(-1)!;
    expect(audit).toMatchObject({ actor: "bob@example.com", outcome: "error", detail: { ok: 1, failed: 2 } });

    // Once the faults are gone, the next sync brings staging back to ok.
    const again = await broker.syncer.syncAll();
    expect(again.accounts.map((a) => [a.accountId, a.state])).toEqual([
      [PROD, "ok"],
      [STAGING, "ok"],
      [GHOST, "error"],
    ]);
    expect((await syncStatus(broker)).find((s) => s.accountId === STAGING)!.error).toBeNull();
  }, 60_000);
});

describe("a sync that fails midway", () => {
  const A = "200000000000";
  const B = "200000000001";
  let emulator: Emulator;
  let broker: TestBroker;

  beforeAll(async () => {
    // 2,500 work roles and the spoke role per account: three GetAccountAuthorizationDetails pages.
    emulator = await startEmulator({ world: generateWorld({ accounts: 2, roles: 2500, users: 2 }) });
    cleanups.push(() => emulator.close());
    broker = await brokerFor(
      emulator,
      [
        [A, "alpha"],
        [B, "beta"],
      ],
      { max_attempts: 2 },
    );
  }, 60_000);

  /** Watch the store and /v1/roles while `during` runs; every observation of account A must be whole. */
  async function watch(during: Promise<unknown>, allowed: string[][]): Promise<number> {
    let done = false;
    const stop = () => {
      done = true;
    };
    during.then(stop, stop);
    const allowedKeys = new Set(allowed.map((names) => names.join(",")));
    let observations = 0;
    while (!done) {
      const stored = storedNames(broker, A);
      expect(allowedKeys.has(stored.join(",")), `store held ${stored.length} roles of ${A}`).toBe(true);
      const served = (await rolesOf(broker, "everyone"))
        .filter((r) => r.accountId === A)
        .map((r) => r.roleName)
        .sort();
      const servedKey = [...served, "GatehouseSpoke"].sort().join(",");
      expect(allowedKeys.has(servedKey), `/v1/roles served ${served.length} roles of ${A}`).toBe(true);
      observations++;
      await sleep(5);
    }
    await during;
    return observations;
  }

  it("leaves the store and /v1/roles on the complete previous set, never a partial one", async () => {
    const old = storedNames(broker, A);
    expect(old).toHaveLength(2501);
    expect((await rolesOf(broker, "everyone")).filter((r) => r.accountId === A)).toHaveLength(2500);

    // Change the organisation, so that a half-written sync would show as a mix of old and new.
    const world = emulator.world;
    const account = world.accounts.get(A)!;
    const template = account.roles.get("role-00001")!;
    for (let i = 0; i < 100; i++) world.deleteRole(account, `role-${String(i).padStart(5, "0")}`);
    for (let i = 0; i < 100; i++) {
      world.putRole(account, {
        ...template,
        name: `zz-new-${i}`,
        id: `AROANEWROLE${String(i).padStart(9, "0")}`,
      });
    }
    const fresh = [...account.roles.values()].map((r) => r.name).sort();

    // Slow every call a little, then fail account A's GAAD as soon as its first page was answered.
    const since = lastSeq(emulator);
    emulator.faults.set({ latencyMs: 150 });
    const sync = broker.syncer.syncAll();
    const failLater = waitForCall(
      emulator,
      since,
      (c) => c.account === A && c.action === GAAD && c.status === 200,
    ).then(() =>
      emulator.faults.set({ latencyMs: 150, throttles: [{ account: A, action: GAAD, probability: 1 }] }),
    );
    const observations = await watch(
      Promise.all([sync, failLater]).finally(() => emulator.faults.set({})),
      [old],
    );
    expect(observations).toBeGreaterThan(3);
    const result = await sync;
    expect(result.accounts.map((a) => [a.accountId, a.state])).toEqual([
      [A, "error"],
      [B, "ok"],
    ]);
    // First page ok, a later page failed.
    const gaad = emulator.calls.filter((c) => c.seq > since && c.account === A && c.action === GAAD);
    expect(gaad[0]).toMatchObject({ status: 200, error: null });
    expect(gaad.slice(1).map((c) => c.error)).toEqual(["Throttling", "Throttling"]);

    expect(storedNames(broker, A)).toEqual(old);
    expect((await rolesOf(broker, "everyone")).filter((r) => r.accountId === A)).toHaveLength(2500);
    expect((await syncStatus(broker)).find((s) => s.accountId === A)).toMatchObject({
      state: "error",
      roles: 2501,
      users: 2,
      error: { code: "AWS_UNAVAILABLE" },
    });

    // The next sync succeeds; readers see the old set or the new one while it runs, nothing between.
    const ok = broker.syncer.syncAll();
    await watch(ok, [old, fresh]);
    expect((await ok).failed).toBe(0);
    expect(storedNames(broker, A)).toEqual(fresh);
    const served = (await rolesOf(broker, "everyone")).filter((r) => r.accountId === A);
    expect(served).toHaveLength(2500);
    expect(served.some((r) => r.roleName === "role-00000")).toBe(false);
    expect(served.some((r) => r.roleName === "zz-new-99")).toBe(true);
  }, 60_000);
});

describe("the per-account request-rate cap", () => {
  const A = "200000000000";
  let emulator: Emulator;
  let broker: TestBroker;
  const RATE = 5;

  beforeAll(async () => {
    // 3,999 work roles and the spoke role: four GAAD pages and four ListRoles pages of 1,000, more
    // calls than one second's burst.
    emulator = await startEmulator({ world: generateWorld({ accounts: 1, roles: 3999, users: 0 }) });
    cleanups.push(() => emulator.close());
    broker = await brokerFor(emulator, [[A, "alpha"]], { requests_per_second: RATE });
  }, 60_000);

  it("holds for a full sync with role re-reads on top: never more than the burst above the rate", async () => {
    // Start from a full bucket, then sync and re-read three roles at once, all against account A.
    await sleep(1200);
    const since = lastSeq(emulator);
    const started = Date.now();
    const [result] = await Promise.all([
      broker.syncer.syncAll(),
      broker.syncer.syncRole(A, "role-00001"),
      broker.syncer.syncRole(A, "role-00002"),
      broker.syncer.syncRole(A, "role-00003"),
    ]);
    const elapsed = (Date.now() - started) / 1000;
    expect(result.failed).toBe(0);
    const calls = emulator.calls.filter((c) => c.seq > since && c.account === A);
    expect(calls.filter((c) => c.action === GAAD)).toHaveLength(4);
    expect(calls.filter((c) => c.action === "ListRoles")).toHaveLength(4);
    // One GetAccountSummary per sync (the quotas requests check).
    expect(calls.filter((c) => c.action === "GetAccountSummary")).toHaveLength(1);
    expect(calls).toHaveLength(8 + 1 + 3 * 4);
    expect(calls.every((c) => c.status === 200)).toBe(true);

    // A token bucket of RATE per second with a burst of RATE allows at most RATE + RATE·Δt calls in
    // any window of Δt seconds. Times are logged when each answer is sent, so allow one call of jitter.
    const times = calls.map((c) => Date.parse(c.time)).sort((x, y) => x - y);
    let worst = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < times.length; i++) {
      for (let j = i; j < times.length; j++) {
        const excess = j - i + 1 - (RATE + (RATE * (times[j]! - times[i]!)) / 1000);
        worst = Math.max(worst, excess);
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
    // And the whole run could not have been faster than the cap allows.
    expect(elapsed).toBeGreaterThanOrEqual((calls.length - RATE) / RATE - 0.2);
  }, 60_000);
});

describe("a change made through IAM, then syncRole", () => {
  let emulator: Emulator;
  let broker: TestBroker;

  beforeAll(async () => {
    emulator = await startDemoEmulator();
    cleanups.push(() => emulator.close());
    broker = await brokerFor(
      emulator,
      [
        [PROD, "prod"],
        [STAGING, "staging"],
      ],
      { max_attempts: 10 },
    );
  });

  const spokeIam = async () => iam(emulator, await viaCentral(emulator, spokeRole(PROD), "gatehouse-test"));
  const billingOf = (b: TestBroker) => b.store.loadRoles().find((r) => r.arn.endsWith(":role/Billing"));

  it("shows in /v1/roles at once, without a full sync", async () => {
    const synced = billingOf(broker)!;
    expect(refs(await rolesOf(broker, "alice"))).not.toContain("prod/Billing");
    const client = await spokeIam();
    await client.send(
      new TagRoleCommand({
        RoleName: "Billing",
        Tags: [{ Key: "gatehouse-authorized", Value: "alice@example.com" }],
      }),
    );
    // The broker has not looked yet.
    expect(refs(await rolesOf(broker, "alice"))).not.toContain("prod/Billing");

    const since = lastSeq(emulator);
    const role = await broker.syncer.syncRole(PROD, "Billing");
    expect(role?.tags).toEqual([{ Key: "gatehouse-authorized", Value: "alice@example.com" }]);
    expect(refs(await rolesOf(broker, "alice"))).toEqual([
      "prod/Billing",
      "prod/ReadOnly",
      "staging/DataPipeline",
      "staging/Developer",
    ]);
    // One role re-read, not a sync.
    const actions = emulator.calls.filter((c) => c.seq > since).map((c) => c.action);
    expect(actions).not.toContain(GAAD);
    expect(actions).not.toContain("ListRoles");
    expect(new Set(actions)).toEqual(
      new Set(["GetRole", "ListRolePolicies", "GetRolePolicy", "ListAttachedRolePolicies"]),
    );
    // The re-read role is the same record a full sync makes, tags aside; and the store has it.
    const { tags: _a, ...reread } = role!;
    const { tags: _b, ...full } = synced;
    expect(reread).toEqual(full);
    expect(billingOf(broker)?.tags).toEqual(role?.tags);
    const creds = await call(broker, "alice", "POST", "/v1/credentials", { role: "prod/Billing" });
    expect(creds.status).toBe(200);

    // Taking it away shows at once too.
    await client.send(new UntagRoleCommand({ RoleName: "Billing", TagKeys: ["gatehouse-authorized"] }));
    await broker.syncer.syncRole(PROD, "Billing");
    expect(refs(await rolesOf(broker, "alice"))).not.toContain("prod/Billing");
    const denied = await call(broker, "alice", "POST", "/v1/credentials", { role: "prod/Billing" });
    expect(denied.status).toBe(404);
  });

  it("is not undone by a sync that read the account before the change", async () => {
    expect(refs(await rolesOf(broker, "alice"))).not.toContain("prod/Billing");
    // Hold prod's sync between its GAAD page (read before the change) and storing it: ListRoles
    // is throttled until the change has been made and re-read.
    const since = lastSeq(emulator);
    emulator.faults.set({ throttles: [{ account: PROD, action: "ListRoles", probability: 1 }] });
    const sync = broker.syncer.syncAll();
    try {
      await waitForCall(emulator, since, (c) => c.account === PROD && c.action === GAAD && c.status === 200);
      await waitForCall(emulator, since, (c) => c.account === PROD && c.action === "ListRoles");
      const client = await spokeIam();
      await client.send(
        new TagRoleCommand({
          RoleName: "Billing",
          Tags: [{ Key: "gatehouse-authorized", Value: "alice@example.com" }],
        }),
      );
      await broker.syncer.syncRole(PROD, "Billing");
      expect(refs(await rolesOf(broker, "alice"))).toContain("prod/Billing");
      expect(broker.syncer.inProgress).toBe(true);
    } finally {
      emulator.faults.set({});
    }
    const result = await sync;
    expect(result.failed).toBe(0);
    expect(emulator.calls.some((c) => c.seq > since && c.account === PROD && c.error === "Throttling")).toBe(
      true,
    );
    // The sync's snapshot predates the tag; the change must still be there.
    expect(refs(await rolesOf(broker, "alice"))).toContain("prod/Billing");
    expect(billingOf(broker)?.tags).toEqual([{ Key: "gatehouse-authorized", Value: "alice@example.com" }]);
    // And a later full sync agrees with what IAM holds.
    await broker.syncer.syncAll();
    expect(refs(await rolesOf(broker, "alice"))).toContain("prod/Billing");
  }, 60_000);
});
