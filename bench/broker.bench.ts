// The broker against the emulator, each figure next to the bare SDK doing the same AWS work in the same
// run: a full sync of a large organisation (the broker's fetch, parse, store and index) against the
// SDK only fetching and parsing the same pages; and POST /v1/credentials over real HTTP against a
// direct AssumeRole of the same work role. The emulator runs on its own thread (see emulator-thread.ts),
// so that what is timed here is the client side and the broker, as against AWS.

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import {
  GetAccountAuthorizationDetailsCommand,
  IAMClient,
  type IAMClientConfig,
  ListRolesCommand,
} from "@aws-sdk/client-iam";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { type Broker, buildBroker } from "../broker/app.ts";
import { type BrokerConfig, parseConfig } from "../broker/config.ts";
import { sessionNameFor } from "../broker/issue.ts";
import { CENTRAL_ACCOUNT, DEMO_KEY } from "../dev/aws/fixture.ts";
import type { CredentialsResponse, Role } from "../shared/api.ts";
import { startTestIssuer, type TestIssuer } from "../test/support/test-issuer.ts";
import { type EmulatorThread, startEmulatorThread } from "./emulator-thread.ts";
import { defineBench, formatMs } from "./lib.ts";

/**
 * The organisation synced. The issue asks for 200 accounts × 1,000 roles; two interleaved rounds of
 * that on each side take about two minutes on a 2-core machine (about 20 s for the SDK alone and 27 s
 * for the broker per round, more on a loaded one), which would push `npm run bench` past three minutes.
 * So by default half the accounts are synced, still 1,000 roles each, and the output says so; the
 * ratio does not depend on the count (both sides cost the same per account at 100 and at 200).
 * GATEHOUSE_BENCH_SYNC_ACCOUNTS=200 measures the full organisation. Each account also has its
 * GatehouseSpoke role and USERS users, so a sync reads two GetAccountAuthorizationDetails pages and two
 * ListRoles pages per account (1,001 roles do not fit in one page of 1,000).
 */
export const ISSUE_ACCOUNTS = 200;
const ACCOUNTS = accountsToSync(process.env.GATEHOUSE_BENCH_SYNC_ACCOUNTS, 100);
export const ROLES = 1000;
export const USERS = 5;
const FIRST_ACCOUNT = 200_000_000_000;
/** Interleaved rounds of the sync (SDK alone, broker, SDK alone, broker, …): each is a whole sync. */
const SYNC_ROUNDS = 3;
export const SYNC = { accountConcurrency: 8, requestsPerSecond: 100 };
export const SYNC_GOAL = 1.5;

const CREDENTIALS_CONCURRENCIES = [1, 32] as const;
const CREDENTIALS_GOAL = 1.3;
export const ALICE = { sub: "alice", email: "alice@example.com", groups: ["engineers"] };
export const AUDIENCE = "gatehouse-broker";
const CENTRAL_ROLE = `arn:aws:iam::${CENTRAL_ACCOUNT}:role/GatehouseCentral`;

export function accountsToSync(env: string | undefined, fallback: number): number {
  if (env === undefined || env === "") return fallback;
  const n = Number(env);
  if (!(Number.isInteger(n) && n >= 1 && n <= 1000))
    throw new Error(`GATEHOUSE_BENCH_SYNC_ACCOUNTS must be a whole number from 1 to 1000, not "${env}"`);
  return n;
}

const org = `${ACCOUNTS} accounts × ${ROLES.toLocaleString("en-US")} roles`;
export const syncResult = (who: "broker" | "sdk") => `${who}.sync.${ACCOUNTS}x${ROLES}`;
export const credentialsResult = (c: number) => `broker.credentials.c${c}`;
export const directAssumeResult = (c: number) => `sdk.assume-role.c${c}`;

/** The ids of the first `n` accounts of a generated world. */
export const generatedAccountIds = (n: number) =>
  Array.from({ length: n }, (_, i) => String(FIRST_ACCOUNT + i));
const accountIds = generatedAccountIds(ACCOUNTS);

/** The broker's configuration for a generated world: `ids` its accounts, `database` a file or URL. */
export function brokerConfig(
  dir: string,
  issuer: string,
  aws: string,
  opts: { ids?: readonly string[]; database?: string } = {},
): BrokerConfig {
  const accounts = (opts.ids ?? accountIds)
    .map((id, i) => `    - { id: "${id}", name: account-${String(i).padStart(4, "0")} }`)
    .join("\n");
  const yaml = `listen: { host: 127.0.0.1, port: 0 }
database: ${opts.database ?? "broker.sqlite"}
log_level: info
oidc:
  issuer: ${issuer}
  audience: ${AUDIENCE}
aws:
  endpoint: ${aws}
  federation_url: ${aws}/federation
  base_identity: { type: static, access_key_id: ${DEMO_KEY.id}, secret_access_key: ${DEMO_KEY.secret} }
  central_role_arn: ${CENTRAL_ROLE}
  spoke_role_name: GatehouseSpoke
  accounts:
${accounts}
sync:
  interval_seconds: 3600
  account_concurrency: ${SYNC.accountConcurrency}
  requests_per_second: ${SYNC.requestsPerSecond}
`;
  return parseConfig(yaml, join(dir, "gatehouse.yaml"));
}

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

/** The broker's SDK client settings (broker/aws.ts), for the SDK-alone side. */
const sdkConfig = (config: BrokerConfig, credentials: Creds) =>
  ({
    region: config.aws.region,
    endpoint: config.aws.endpoint!,
    credentials,
    maxAttempts: config.sync.max_attempts,
    retryMode: "standard",
  }) satisfies IAMClientConfig;

async function assume(sts: STSClient, input: ConstructorParameters<typeof AssumeRoleCommand>[0]) {
  const c = (await sts.send(new AssumeRoleCommand(input))).Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
    throw new Error("AssumeRole gave no credentials");
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
}

/**
 * The SDK alone doing the broker's AWS work for a sync, and nothing else: base identity → central
 * role → spoke role per account, then every GetAccountAuthorizationDetails (Role, User; 1,000 items)
 * and ListRoles (1,000) page, parsed by the SDK and counted; no mapping, no store, no index. One
 * instance per round, as each round's broker is new too.
 */
export class SdkSync {
  private readonly baseSts: STSClient;
  private centralSts: STSClient | undefined;
  private readonly iams = new Map<string, IAMClient>();

  constructor(private readonly config: BrokerConfig) {
    this.baseSts = new STSClient(
      sdkConfig(config, { accessKeyId: DEMO_KEY.id, secretAccessKey: DEMO_KEY.secret }),
    );
  }

  private async iam(accountId: string): Promise<IAMClient> {
    let client = this.iams.get(accountId);
    if (client) return client;
    const session = this.config.aws.broker_session_name;
    this.centralSts ??= new STSClient(
      sdkConfig(this.config, await assume(this.baseSts, { RoleArn: CENTRAL_ROLE, RoleSessionName: session })),
    );
    const spoke = await assume(this.centralSts, {
      RoleArn: `arn:aws:iam::${accountId}:role/${this.config.aws.spoke_role_name}`,
      RoleSessionName: session,
    });
    client = new IAMClient(sdkConfig(this.config, spoke));
    this.iams.set(accountId, client);
    return client;
  }

  private async account(accountId: string): Promise<{ roles: number; users: number }> {
    const iam = await this.iam(accountId);
    let roles = 0;
    let users = 0;
    let marker: string | undefined;
    do {
      const page = await iam.send(
        new GetAccountAuthorizationDetailsCommand({
          Filter: ["Role", "User"],
          MaxItems: 1000,
          Marker: marker,
        }),
      );
      roles += page.RoleDetailList?.length ?? 0;
      users += page.UserDetailList?.length ?? 0;
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    do {
      const page = await iam.send(new ListRolesCommand({ MaxItems: 1000, Marker: marker }));
      if ((page.Roles?.length ?? 0) === 0) throw new Error(`ListRoles in ${accountId} returned no roles`);
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    return { roles, users };
  }

  /** Every account, `concurrency` at a time (the broker's account_concurrency); totals for checks. */
  async syncAll(accounts: readonly string[], concurrency: number) {
    const queue = [...accounts];
    const total = { roles: 0, users: 0 };
    const worker = async () => {
      for (let a = queue.shift(); a; a = queue.shift()) {
        const n = await this.account(a);
        total.roles += n.roles;
        total.users += n.users;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    return total;
  }

  destroy(): void {
    this.baseSts.destroy();
    this.centralSts?.destroy();
    for (const c of this.iams.values()) c.destroy();
  }
}

/** A keep-alive JSON client for the broker with a bearer token: one per simulated desktop. */
export function brokerClient(base: string, token: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const target = new URL(base);
  const call = <T>(method: string, path: string, body?: unknown) =>
    new Promise<T>((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = request(
        {
          agent,
          method,
          hostname: target.hostname,
          port: target.port,
          path,
          headers: {
            authorization: `Bearer ${token}`,
            ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if (res.statusCode === 200) resolve(JSON.parse(text) as T);
            else reject(new Error(`${method} ${path} answered ${res.statusCode}: ${text.slice(0, 300)}`));
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  return { call, close: () => agent.destroy() };
}

/** Pino's output, dropped: the broker still formats every log line, as it would for stdout. */
export const discard = () =>
  new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const verdict = (ratio: number, goal: number) =>
  `goal ≤ ${goal}×: ${ratio <= goal ? "met" : `NOT met (${(ratio / goal).toFixed(2)}× over)`}`;

defineBench({
  name: "broker",
  description: `broker full sync (${org}) vs. the SDK fetching the same pages; POST /v1/credentials at 1 and 32 clients vs. a direct AssumeRole`,
  async run(ctx) {
    const t0 = performance.now();
    const closers: (() => unknown)[] = [];
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-"));
    let emulator: EmulatorThread | undefined;
    let issuer: TestIssuer | undefined;
    try {
      emulator = await startEmulatorThread({ accounts: ACCOUNTS, roles: ROLES, users: USERS });
      issuer = await startTestIssuer();
      const { counts } = emulator;
      console.log(
        `  world: ${counts.accounts} accounts, ${counts.roles.toLocaleString("en-US")} roles, ` +
          `${counts.users} users, generated on the emulator's thread in ${seconds(performance.now() - t0)}`,
      );
      // ----- full sync: each round a new broker (empty store) and a new SDK-alone client set, so that
      // every round starts alike; a broker is closed after its round (its close is timed, and shown),
      // so that no round carries an earlier round's indexed roles in its heap.
      const configs = Array.from({ length: SYNC_ROUNDS }, (_, i) => {
        mkdirSync(join(dir, `round-${i + 1}`));
        return brokerConfig(join(dir, `round-${i + 1}`), issuer!.issuer, emulator!.url);
      });
      const brokers: (Broker | undefined)[] = configs.map((c) => buildBroker(c, { logStream: discard() }));
      closers.push(async () => {
        for (const b of brokers) await b?.close();
      });
      const sdks = configs.map((c) => new SdkSync(c));
      closers.push(...sdks.map((s) => () => s.destroy()));
      const expected = { roles: ACCOUNTS * (ROLES + 1), users: ACCOUNTS * USERS };
      const took: Record<"broker" | "sdk" | "close", number[]> = { broker: [], sdk: [], close: [] };
      const sync = { maxSeconds: 3600, warmup: 0, iterations: SYNC_ROUNDS, concurrency: 1 };
      if (ACCOUNTS !== ISSUE_ACCOUNTS) {
        console.log(
          `  NOTE: syncing ${ACCOUNTS} accounts, not the issue's ${ISSUE_ACCOUNTS} (still ${ROLES.toLocaleString("en-US")} ` +
            `roles each), to keep \`npm run bench\` under three minutes; ` +
            `GATEHOUSE_BENCH_SYNC_ACCOUNTS=${ISSUE_ACCOUNTS} npm run bench -- broker measures all ${ISSUE_ACCOUNTS}`,
        );
      }
      console.log(
        `  full sync: ${org} (+ GatehouseSpoke) and ${USERS} users each; per account an AssumeRole ` +
          `of its spoke role, 2 GetAccountAuthorizationDetails and 2 ListRoles pages; ` +
          `${SYNC.accountConcurrency} accounts at a time, ${SYNC.requestsPerSecond} requests/s per account ` +
          `(a full bucket: never waited on); ${SYNC_ROUNDS} rounds of each, interleaved`,
      );
      const [sdkSync, brokerSync] = await ctx.compare(
        [
          {
            name: syncResult("sdk"),
            note: "SDK alone: assume, fetch and parse every page",
            ...sync,
            // One operation per round; `i` restarts in every round, so the rounds are counted here.
            op: async () => {
              const t = performance.now();
              const got = await sdks[took.sdk.length]!.syncAll(accountIds, SYNC.accountConcurrency);
              took.sdk.push(performance.now() - t);
              if (got.roles !== expected.roles || got.users !== expected.users)
                throw new Error(`SDK sync read ${got.roles} roles and ${got.users} users`);
            },
          },
          {
            name: syncResult("broker"),
            note: "broker Syncer.syncAll: fetch, parse, SQLite, index",
            ...sync,
            baseline: syncResult("sdk"),
            op: async () => {
              const i = took.broker.length;
              const b = brokers[i]!;
              const t = performance.now();
              const r = await b.syncer.syncAll();
              took.broker.push(performance.now() - t);
              const roles = r.accounts.reduce((n, a) => n + a.roles, 0);
              const users = r.accounts.reduce((n, a) => n + a.users, 0);
              if (r.ok !== ACCOUNTS || roles !== expected.roles || users !== expected.users) {
                const err = r.accounts.find((a) => a.error)?.error;
                throw new Error(
                  `broker sync: ${r.ok} accounts ok, ${r.failed} failed, ${roles} roles, ${users} users` +
                    (err ? ` (${err.code}: ${err.message})` : ""),
                );
              }
              if (i < SYNC_ROUNDS - 1) {
                const c = performance.now();
                brokers[i] = undefined;
                await b.close();
                took.close.push(performance.now() - c);
              }
            },
          },
        ],
        { rounds: SYNC_ROUNDS },
      );
      const times = (ms: number[]) => ms.map(seconds).join(", ");
      const closes = took.close.map(formatMs).join(", ");
      console.log(`  SDK alone: ${times(took.sdk)}`);
      console.log(
        `  broker:    ${times(took.broker)} (+ closing the broker after a round: ${closes || "none"})`,
      );
      console.log(
        `  full sync of ${org}: broker ${seconds(brokerSync!.meanMs)} vs. SDK alone ` +
          `${seconds(sdkSync!.meanMs)} (mean of ${SYNC_ROUNDS} rounds): ${brokerSync!.ratio!.toFixed(2)}× ` +
          `(rounds: ${brokerSync!.ratioRange!.map((x) => x.toFixed(2)).join("–")}×) — ${verdict(brokerSync!.ratio!, SYNC_GOAL)}`,
      );
      const broker = brokers[SYNC_ROUNDS - 1]!;
      const config = configs[SYNC_ROUNDS - 1]!;

      // ----- POST /v1/credentials
      await broker.app.listen({ host: config.listen.host, port: 0 });
      const addr = broker.app.server.address();
      if (!addr || typeof addr === "string") throw new Error("the broker is not listening on TCP");
      const url = `http://127.0.0.1:${addr.port}`;
      const maxC = Math.max(...CREDENTIALS_CONCURRENCIES);
      // One desktop per worker: its own token (so its own sign-in row once) and its own connection.
      const desktops = await Promise.all(
        Array.from({ length: maxC }, async () =>
          brokerClient(url, await issuer!.sign({ ...ALICE, iss: issuer!.issuer, aud: AUDIENCE })),
        ),
      );
      closers.push(...desktops.map((d) => d.close));
      const { roles } = await desktops[0]!.call<{ roles: Role[] }>("GET", "/v1/roles");
      const role = roles[0];
      if (!role) throw new Error("alice (engineers) may use no role in the generated world");
      console.log(
        `  credentials: alice (engineers) may use ${roles.length.toLocaleString("en-US")} roles; ` +
          `each request asks for ${role.ref} (${role.arn})`,
      );

      // The direct path: the broker's central session → the work role, with the parameters the broker sends.
      const base = new STSClient(
        sdkConfig(config, { accessKeyId: DEMO_KEY.id, secretAccessKey: DEMO_KEY.secret }),
      );
      closers.push(() => base.destroy());
      const central = await assume(base, { RoleArn: CENTRAL_ROLE, RoleSessionName: "gatehouse-bench" });
      const direct = Array.from({ length: maxC }, () => new STSClient(sdkConfig(config, central)));
      closers.push(...direct.map((c) => () => c.destroy()));
      const name = sessionNameFor(ALICE.email);
      const assumeWork = new AssumeRoleCommand({
        RoleArn: role.arn,
        RoleSessionName: name,
        SourceIdentity: name,
        Tags: [{ Key: "gatehouse-user", Value: ALICE.email }],
        DurationSeconds: 3600,
      });

      const goals = [{ what: `full sync of ${org}`, ratio: brokerSync!.ratio!, goal: SYNC_GOAL }];
      for (const c of CREDENTIALS_CONCURRENCIES) {
        const common = { concurrency: c, iterations: c === 1 ? 1500 : 3000, maxSeconds: 4 };
        const [d, r] = await ctx.compare([
          {
            name: directAssumeResult(c),
            note: "AssumeRole, SDK → emulator, central session",
            ...common,
            op: async (w) => {
              const out = await direct[w]!.send(assumeWork);
              if (!out.Credentials?.AccessKeyId) throw new Error("AssumeRole gave no credentials");
            },
          },
          {
            name: credentialsResult(c),
            note: "POST /v1/credentials over HTTP",
            ...common,
            baseline: directAssumeResult(c),
            op: async (w) => {
              const out = await desktops[w]!.call<CredentialsResponse>("POST", "/v1/credentials", {
                role: role.ref,
              });
              if (out.role.arn !== role.arn || !out.accessKeyId) throw new Error("wrong credentials");
            },
          },
        ]);
        const p50Ratio = r!.p50Ms / d!.p50Ms;
        console.log(
          `  POST /v1/credentials c=${c}: p50 ${formatMs(r!.p50Ms)}, p99 ${formatMs(r!.p99Ms)}; ` +
            `direct AssumeRole p50 ${formatMs(d!.p50Ms)}, p99 ${formatMs(d!.p99Ms)}; ` +
            `p50 ratio ${p50Ratio.toFixed(2)}× (throughput ratio ${r!.ratio!.toFixed(2)}×) — ` +
            verdict(p50Ratio, CREDENTIALS_GOAL),
        );
        goals.push({ what: `POST /v1/credentials c=${c}, p50`, ratio: p50Ratio, goal: CREDENTIALS_GOAL });
      }
      console.log("  goals:");
      for (const g of goals)
        console.log(`    ${g.what}: ${g.ratio.toFixed(2)}× — ${verdict(g.ratio, g.goal)}`);
    } finally {
      for (const close of closers) await close();
      await issuer?.close();
      await emulator?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
