// The kill switch: from revokeSessions(person) to every deny policy written, for a person with sessions
// on 50 roles across 10 accounts (a generated organisation in the emulator, started in this process),
// with the broker's default cap on IAM requests (sync.requests_per_second: 5 per account), against a
// baseline measured in the same run, interleaved with it: the same 50 PutRolePolicy calls made bare with
// the SDK (spoke sessions ready, all at once, no cap). Each revocation is for a new person whose 50
// sessions are in the audit, and starts after a pause that lets the per-account buckets refill.
// Goal (the issue's, absolute): ≤ 2 s p95.

import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { type Broker, startBroker } from "../broker/app.ts";
import { parseConfig } from "../broker/config.ts";
import { generateWorld } from "../dev/aws/fixture.ts";
import { type Emulator, startEmulator } from "../dev/aws/server.ts";
import { brokerYaml } from "../test/support/broker.ts";
import { DEMO_KEY } from "../test/support/emulator.ts";
import { defineBench, formatMs, percentile } from "./lib.ts";

const ACCOUNTS = 10;
const ROLES_PER_ACCOUNT = 5;
const GOAL_MS = 2000;
const WARMUP = 2;
const RUNS = 20;
/** The broker's default cap on IAM requests per second and account. */
const RATE = 5;
/** Without IAM calls for this long, every account's bucket is full again. */
const PAUSE_MS = 1200;
const CENTRAL_ROLE = "arn:aws:iam::111111111111:role/GatehouseCentral";
const DENY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Deny",
      Action: "*",
      Resource: "*",
      Condition: { StringEquals: { "aws:SourceIdentity": "x" } },
    },
  ],
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const discard = () =>
  new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });

async function assume(sts: STSClient, roleArn: string) {
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "gatehouse-bench" })))
    .Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
    throw new Error("AssumeRole gave no credentials");
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
}

defineBench({
  name: "killswitch",
  description:
    "revoke → every deny policy written, 50 roles in 10 accounts, default IAM cap; vs. 50 bare PutRolePolicy calls",
  async run() {
    const world = generateWorld({ accounts: ACCOUNTS, roles: ROLES_PER_ACCOUNT, users: 0 });
    const accounts = [...world.accounts.values()].filter((a) => a.id !== "111111111111");
    const roles = accounts.flatMap((a) =>
      [...a.roles.values()]
        .filter((r) => r.name !== "GatehouseSpoke")
        .map((r) => ({ account: a.id, name: r.name, arn: `arn:aws:iam::${a.id}:role${r.path}${r.name}` })),
    );
    if (roles.length !== ACCOUNTS * ROLES_PER_ACCOUNT)
      throw new Error(`expected 50 roles, got ${roles.length}`);
    let emulator: Emulator | undefined;
    let broker: (Broker & { url: string }) | undefined;
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-killswitch-"));
    const clients: { destroy(): void }[] = [];
    try {
      emulator = await startEmulator({ world });
      const yaml = brokerYaml({
        issuer: "https://idp.invalid",
        awsUrl: emulator.url,
        database: join(dir, "broker.sqlite"),
      })
        .replace(
          / {2}accounts:\n( {4}- .*\n)+/,
          `  accounts:\n${accounts.map((a) => `    - { id: "${a.id}", name: ${a.name} }\n`).join("")}`,
        )
        .replace(/requests_per_second: \d+/, `requests_per_second: ${RATE}`);
      broker = await startBroker(parseConfig(yaml, join(dir, "gatehouse.yaml")), { logStream: discard() });
      await broker.syncer.syncAll();
      const b = broker;

      // The baseline's clients: one per account, acting as its spoke role (sessions ready before timing).
      const base = new STSClient({ endpoint: emulator.url, region: "us-east-1", credentials: DEMO_KEY });
      const central = new STSClient({
        endpoint: emulator.url,
        region: "us-east-1",
        credentials: await assume(base, CENTRAL_ROLE),
      });
      clients.push(base, central);
      const iam = new Map<string, IAMClient>();
      for (const a of accounts) {
        const c = new IAMClient({
          endpoint: emulator.url,
          region: "us-east-1",
          credentials: await assume(central, `arn:aws:iam::${a.id}:role/GatehouseSpoke`),
        });
        iam.set(a.id, c);
        clients.push(c);
      }
      const bare = () =>
        Promise.all(
          roles.map((r) =>
            iam.get(r.account)!.send(
              new PutRolePolicyCommand({
                RoleName: r.name,
                PolicyName: "bench-bare",
                PolicyDocument: DENY,
              }),
            ),
          ),
        );

      let person = 0;
      const revoke = async () => {
        const email = `leaver-${person++}@example.com`;
        // Their sessions, as the broker audits them when it issues credentials (untimed).
        for (const r of roles)
          b.store.appendAudit({
            actor: email,
            action: "credentials.issue",
            target: r.arn,
            outcome: "ok",
            detail: { durationSeconds: 3600 },
          });
        await sleep(PAUSE_MS);
        const t = performance.now();
        const { revocation, items } = b.killswitch.revokeSessions(email, new Date(), "bench");
        if (items.length !== roles.length)
          throw new Error(`planned ${items.length} roles, not ${roles.length}`);
        await b.killswitch.settled(60_000);
        const ms = performance.now() - t;
        const states = b.killswitch.jobs.items(revocation.id).map((i) => i.state);
        if (states.some((s) => s !== "written"))
          throw new Error(`not every policy written: ${states.join(",")}`);
        return ms;
      };
      const timeBare = async () => {
        await sleep(PAUSE_MS);
        const t = performance.now();
        await bare();
        return performance.now() - t;
      };

      for (let i = 0; i < WARMUP; i++) {
        await timeBare();
        await revoke();
      }
      const callsBefore = emulator.calls.length;
      const xs: number[] = [];
      const ys: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        xs.push(await timeBare());
        ys.push(await revoke());
      }
      xs.sort((p, q) => p - q);
      ys.sort((p, q) => p - q);
      const perRevocation = (emulator.calls.length - callsBefore - RUNS * roles.length) / RUNS;
      const p95 = percentile(ys, 95);
      console.log(
        `  ${roles.length} roles in ${ACCOUNTS} accounts, broker capped at ${RATE} IAM requests/s per account (its default); ` +
          `${RUNS} runs each, interleaved, after ${WARMUP} untimed; each after a ${PAUSE_MS} ms pause`,
      );
      console.log(
        `  50 bare PutRolePolicy calls, SDK, at once: p50 ${formatMs(percentile(xs, 50))}, p95 ${formatMs(percentile(xs, 95))}`,
      );
      console.log(
        `  revokeSessions → all 50 deny policies written: p50 ${formatMs(percentile(ys, 50))}, p95 ${formatMs(p95)} ` +
          `(${perRevocation.toFixed(1)} IAM calls each)`,
      );
      console.log(
        `    → ${(percentile(ys, 50) / percentile(xs, 50)).toFixed(1)}× at p50, ${(p95 / percentile(xs, 95)).toFixed(1)}× at p95 ` +
          `of the bare calls; goal ≤ ${formatMs(GOAL_MS)} p95: ${p95 <= GOAL_MS ? "met" : `NOT met (${(p95 / GOAL_MS).toFixed(2)}× over)`}`,
      );
      const load = loadavg()[0]!;
      console.log(
        `    (load average over the last minute: ${load.toFixed(1)} on ${availableParallelism()} CPUs)`,
      );
    } finally {
      for (const c of clients) c.destroy();
      await broker?.close();
      await emulator?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
