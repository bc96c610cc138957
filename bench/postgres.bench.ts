// The broker on PostgreSQL next to the embedded SQLite default, in the same run: POST /v1/credentials at 32
// desktops against one SQLite broker (the baseline), one PostgreSQL broker and two PostgreSQL brokers on one
// database behind the demo's load balancer (dev/lb.ts); and a full sync of 200 accounts × 1,000 roles into
// PostgreSQL against the SDK alone fetching the same pages (the broker bench's set-up, on PostgreSQL).
// Every broker runs on a thread of its own (bench/broker-thread.ts), as a replica is a process of its own;
// the emulator too. PostgreSQL is a private cluster (dev/postgres.ts) started by the bench.

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Broker, buildBroker } from "../broker/app.ts";
import { startLoadBalancer } from "../dev/lb.ts";
import { type PrivateCluster, startPrivateCluster } from "../dev/postgres.ts";
import type { CredentialsResponse, Role } from "../shared/api.ts";
import { startTestIssuer, type TestIssuer } from "../test/support/test-issuer.ts";
import {
  ALICE,
  AUDIENCE,
  accountsToSync,
  brokerClient,
  brokerConfig,
  discard,
  generatedAccountIds,
  ISSUE_ACCOUNTS,
  ROLES,
  SdkSync,
  SYNC,
  SYNC_GOAL,
  USERS,
} from "./broker.bench.ts";
import { type BrokerThread, startBrokerThread } from "./broker-thread.ts";
import { type EmulatorThread, startEmulatorThread } from "./emulator-thread.ts";
import { defineBench, formatMs, formatOps } from "./lib.ts";

const CLIENTS = 32;
/** A small organisation for the credentials bench: what is timed is issuing, not the index. */
const CREDENTIALS_WORLD = { accounts: 4, roles: 50, users: 1 };

const NOTE_DURABILITY =
  "the private cluster runs with fsync=off and synchronous_commit=off (dev/postgres.ts, made for tests); " +
  "SQLite runs as the broker configures it";

defineBench({
  name: "replicas",
  description: `POST /v1/credentials at ${CLIENTS} desktops: SQLite (one broker, the baseline) vs. PostgreSQL with one broker and with two behind dev/lb.ts`,
  async run(ctx) {
    const closers: (() => Promise<unknown> | unknown)[] = [];
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-replicas-"));
    try {
      const emulator = await startEmulatorThread(CREDENTIALS_WORLD);
      closers.push(() => emulator.close());
      const issuer = await startTestIssuer();
      closers.push(() => issuer.close());
      const cluster = await startPrivateCluster();
      closers.push(() => cluster.stop());
      const ids = generatedAccountIds(CREDENTIALS_WORLD.accounts);
      const config = (name: string, database: string) => {
        mkdirSync(join(dir, name));
        return brokerConfig(join(dir, name), issuer.issuer, emulator.url, { ids, database });
      };

      const brokers: BrokerThread[] = [];
      const start = async (c: ReturnType<typeof config>) => {
        const b = await startBrokerThread(c);
        closers.unshift(() => b.close());
        if (b.synced.failed > 0 || b.synced.roles === 0)
          throw new Error(`a broker synced ${JSON.stringify(b.synced)}`);
        brokers.push(b);
        return b;
      };
      const sqlite = await start(config("sqlite", "broker.sqlite"));
      const pgOne = await start(config("pg-one", await cluster.createDatabase()));
      // Two replicas: the same configuration and the same database.
      const shared = await cluster.createDatabase();
      const pgA = await start(config("pg-a", shared));
      const pgB = await start(config("pg-b", shared));
      const lb = await startLoadBalancer({
        backends: [
          { url: pgA.url, name: "broker-1" },
          { url: pgB.url, name: "broker-2" },
        ],
      });
      closers.unshift(() => lb.close());
      if (!lb.backends().every((b) => b.ready)) throw new Error("the load balancer sees a broker not ready");

      // One desktop per worker and target: its own token (so its own sign-in once) and its own connection.
      const desktops = async (url: string) =>
        Promise.all(
          Array.from({ length: CLIENTS }, async (_, i) => {
            const token = await issuer.sign({
              ...ALICE,
              sub: `alice-${i}`,
              iss: issuer.issuer,
              aud: AUDIENCE,
            });
            const d = brokerClient(url, token);
            closers.push(d.close);
            return d;
          }),
        );
      const targets = {
        sqlite: await desktops(sqlite.url),
        pgOne: await desktops(pgOne.url),
        pgTwo: await desktops(lb.url),
      };
      const { roles } = await targets.sqlite[0]!.call<{ roles: Role[] }>("GET", "/v1/roles");
      const role = roles[0];
      if (!role) throw new Error("alice (engineers) may use no role in the generated world");
      console.log(
        `  each request: POST /v1/credentials for ${role.ref} as alice (engineers), ${CLIENTS} desktops at once, ` +
          `each with its own token and keep-alive connection; brokers and the emulator on threads of their own`,
      );
      console.log(`  NOTE: ${NOTE_DURABILITY}`);
      const issue = (list: typeof targets.sqlite) => async (w: number) => {
        const out = await list[w]!.call<CredentialsResponse>("POST", "/v1/credentials", { role: role.ref });
        if (out.role.arn !== role.arn || !out.accessKeyId) throw new Error("wrong credentials");
      };
      const common = { concurrency: CLIENTS, iterations: 4000, maxSeconds: 5 };
      const base = "replicas.credentials.sqlite-1";
      const results = await ctx.compare([
        { name: base, note: "SQLite, one broker", ...common, op: issue(targets.sqlite) },
        {
          name: "replicas.credentials.postgres-1",
          note: "PostgreSQL, one broker",
          ...common,
          baseline: base,
          op: issue(targets.pgOne),
        },
        {
          name: "replicas.credentials.postgres-2",
          note: "PostgreSQL, two brokers behind dev/lb.ts",
          ...common,
          baseline: base,
          op: issue(targets.pgTwo),
        },
      ]);
      const served = lb.backends().map((b) => `${b.name} ${b.served}`);
      const sqliteRate = results[0]!.opsPerSec;
      for (const r of results) {
        const rel =
          r.ratio === undefined
            ? "the baseline"
            : `${(r.opsPerSec / sqliteRate).toFixed(2)}× the SQLite rate`;
        const cost =
          r.ratio === undefined
            ? ""
            : ` (cost per request ${r.ratio.toFixed(2)}× SQLite's, rounds ${r.ratioRange!.map((x) => x.toFixed(2)).join("–")})`;
        console.log(
          `  ${r.note}: ${formatOps(r.opsPerSec)} requests/s, p50 ${formatMs(r.p50Ms)}, p99 ${formatMs(r.p99Ms)} — ${rel}${cost}`,
        );
      }
      console.log(`  the load balancer sent: ${served.join(", ")}`);
    } finally {
      for (const close of closers) await close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

/** The issue's full organisation by default (GATEHOUSE_BENCH_PG_SYNC_ACCOUNTS to change it). */
const PG_ACCOUNTS = accountsToSync(process.env.GATEHOUSE_BENCH_PG_SYNC_ACCOUNTS, ISSUE_ACCOUNTS);
/** Interleaved rounds (SDK alone, broker, …): each a whole sync of the organisation into a new database. */
const PG_SYNC_ROUNDS = 2;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

defineBench({
  name: "postgres-sync",
  description: `broker full sync of ${PG_ACCOUNTS} accounts × ${ROLES.toLocaleString("en-US")} roles into PostgreSQL vs. the SDK fetching the same pages (goal ≤ ${SYNC_GOAL}×)`,
  async run(ctx) {
    const closers: (() => Promise<unknown> | unknown)[] = [];
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-pgsync-"));
    let emulator: EmulatorThread | undefined;
    let issuer: TestIssuer | undefined;
    let cluster: PrivateCluster | undefined;
    try {
      const t0 = performance.now();
      emulator = await startEmulatorThread({ accounts: PG_ACCOUNTS, roles: ROLES, users: USERS });
      issuer = await startTestIssuer();
      cluster = await startPrivateCluster();
      console.log(
        `  world: ${emulator.counts.accounts} accounts, ${emulator.counts.roles.toLocaleString("en-US")} roles, ` +
          `${emulator.counts.users} users; private PostgreSQL cluster; ready in ${seconds(performance.now() - t0)}`,
      );
      console.log(`  NOTE: ${NOTE_DURABILITY}`);
      const ids = generatedAccountIds(PG_ACCOUNTS);
      // Each round a new broker on a new empty database, as each SDK-alone round has new clients.
      const configs = [];
      for (let i = 0; i < PG_SYNC_ROUNDS; i++) {
        mkdirSync(join(dir, `round-${i + 1}`));
        configs.push(
          brokerConfig(join(dir, `round-${i + 1}`), issuer.issuer, emulator.url, {
            ids,
            database: await cluster.createDatabase(),
          }),
        );
      }
      // Built (migrations run) before the timed syncs; each closed at the end of its round, as in the broker bench.
      const brokers: (Broker | undefined)[] = configs.map((c) => buildBroker(c, { logStream: discard() }));
      closers.push(async () => {
        for (const b of brokers.splice(0)) await b?.close();
      });
      const sdks = configs.map((c) => new SdkSync(c));
      closers.push(...sdks.map((s) => () => s.destroy()));
      const expected = { roles: PG_ACCOUNTS * (ROLES + 1), users: PG_ACCOUNTS * USERS };
      const took: Record<"broker" | "sdk", number[]> = { broker: [], sdk: [] };
      const sync = { maxSeconds: 3600, warmup: 0, iterations: PG_SYNC_ROUNDS, concurrency: 1 };
      const sdkName = `sdk.sync.${PG_ACCOUNTS}x${ROLES}.for-postgres`;
      const [sdkSync, brokerSync] = await ctx.compare(
        [
          {
            name: sdkName,
            note: "SDK alone: assume, fetch and parse every page",
            ...sync,
            op: async () => {
              const t = performance.now();
              const got = await sdks[took.sdk.length]!.syncAll(ids, SYNC.accountConcurrency);
              took.sdk.push(performance.now() - t);
              if (got.roles !== expected.roles || got.users !== expected.users)
                throw new Error(`SDK sync read ${got.roles} roles and ${got.users} users`);
            },
          },
          {
            name: `broker.sync.${PG_ACCOUNTS}x${ROLES}.postgres`,
            note: "broker Syncer.syncAll: fetch, parse, PostgreSQL, index",
            ...sync,
            baseline: sdkName,
            op: async () => {
              const i = took.broker.length;
              const b = brokers[i]!;
              try {
                const t = performance.now();
                const r = await b.syncer.syncAll();
                took.broker.push(performance.now() - t);
                const roles = r.accounts.reduce((n, a) => n + a.roles, 0);
                const users = r.accounts.reduce((n, a) => n + a.users, 0);
                if (r.ok !== PG_ACCOUNTS || roles !== expected.roles || users !== expected.users) {
                  const err = r.accounts.find((a) => a.error)?.error;
                  throw new Error(
                    `broker sync: ${r.ok} accounts ok, ${r.failed} failed, ${roles} roles, ${users} users` +
                      (err ? ` (${err.code}: ${err.message})` : ""),
                  );
                }
              } finally {
                brokers[i] = undefined;
                await b.close();
              }
            },
          },
        ],
        { rounds: PG_SYNC_ROUNDS },
      );
      const ratio = brokerSync!.ratio!;
      console.log(`  SDK alone: ${took.sdk.map(seconds).join(", ")}`);
      console.log(`  broker on PostgreSQL: ${took.broker.map(seconds).join(", ")}`);
      console.log(
        `  full sync of ${PG_ACCOUNTS} accounts × ${ROLES.toLocaleString("en-US")} roles into PostgreSQL: broker ` +
          `${seconds(brokerSync!.meanMs)} vs. SDK alone ${seconds(sdkSync!.meanMs)} (mean of ${PG_SYNC_ROUNDS} rounds): ` +
          `${ratio.toFixed(2)}× (rounds: ${brokerSync!.ratioRange!.map((x) => x.toFixed(2)).join("–")}×) — goal ≤ ${SYNC_GOAL}×: ` +
          `${ratio <= SYNC_GOAL ? "met" : `NOT met (${(ratio / SYNC_GOAL).toFixed(2)}× over)`}`,
      );
    } finally {
      for (const close of closers) await close();
      await issuer?.close();
      await emulator?.close();
      await cluster?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
