// Permission requests, each figure next to a baseline measured in the same run:
//   1. lintPolicy (shared/policy-lint.ts) of a realistic 10 KB policy, the actions catalogue already
//      loaded, against JSON.parse of the same text (the least any reading of it costs);
//   2. approve-to-applied: bob's POST /v1/requests/:id/approve of alice's inline-policy request until a
//      GET shows the target applied (the approve answers once it is, so usually no GET is needed), over
//      real HTTP against brokers, the demo emulator and the dev IdP started in this process, against one
//      direct PutRolePolicy with the SDK (with the spoke role's session, as the broker has it) of the same
//      emulator. Approvals back to back (the tests' cap of 50 IAM requests/s per account), then one at a
//      time after the broker's bucket of IAM requests has refilled, with its default cap (5/s) and, to show
//      the broker's own cost, the highest (100/s): the cap, not the broker, is most of the latency.
// The goals are the issue's, absolute: lint ≤ 5 ms p95, approve-to-applied ≤ 1 s p95.

import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { type Broker, startBroker } from "../broker/app.ts";
import { parseConfig } from "../broker/config.ts";
import { DEMO_FIXTURE } from "../dev/aws/command.ts";
import { loadFixture } from "../dev/aws/fixture.ts";
import { type Emulator, startEmulator } from "../dev/aws/server.ts";
import { signInWithForm } from "../dev/idp/login.ts";
import { type DevIdp, startIdp } from "../dev/idp/provider.ts";
import { lintPolicy } from "../shared/policy-lint.ts";
import type { PermissionRequest } from "../shared/requests.ts";
import { brokerYaml } from "../test/support/broker.ts";
import { DEMO_KEY } from "../test/support/emulator.ts";
import { type BenchContext, type Case, defineBench, formatBytes, formatMs, percentile } from "./lib.ts";

const LINT_GOAL_MS = 5;
const APPLY_GOAL_MS = 1000;
const ACCOUNT = "222222222222";
const CENTRAL_ROLE = "arn:aws:iam::111111111111:role/GatehouseCentral";
const SPOKE_ROLE = `arn:aws:iam::${ACCOUNT}:role/GatehouseSpoke`;
/** Roles added to prod for the back-to-back approvals, so that none collects more inline policy than IAM allows. */
const TARGET_ROLES = 12;
const APPLY = { iterations: 100, warmup: 8, rounds: 5 };
/** The tests' broker configuration's cap on IAM requests per second and account. */
const BACK_TO_BACK_RATE = 50;
/**
 * Approvals one at a time, each after the broker's bucket of IAM requests has refilled: with the broker's
 * default cap (5/s; the goal is about this one), and with the highest cap it allows (100/s), where no
 * call waits on the cap, to show the broker's own cost.
 */
const ISOLATED = [
  { rate: 5, pauseMs: 1200, goal: true, about: "the broker's default" },
  { rate: 100, pauseMs: 300, goal: false, about: "the highest allowed: the cap is never waited on" },
] as const;
const ISOLATED_APPROVALS = 20;
/** A small inline policy: what a request usually asks for. */
const SMALL_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::prod-reports/*" }],
});

/**
 * A policy an application team would ask for, about 10 KB as written (2-space indentation): per app,
 * its buckets (objects, and listing under two prefixes), DynamoDB table and indexes, queues, log group,
 * secrets (tag condition) and KMS key (via-service condition). It lints valid with no findings.
 */
export function tenKilobytePolicy(limit = 10_240): string {
  const apps = ["orders", "billing", "reports", "search", "ledger", "invoices"];
  const regions = ["eu-west-1", "us-east-1"];
  const kinds: {
    sid: string;
    actions: string[];
    resources: (app: string, region: string) => string[];
    condition?: (region: string) => object;
  }[] = [
    {
      sid: "ReadWriteObjects",
      actions: [
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:GetObjectTagging",
        "s3:PutObjectTagging",
      ],
      resources: (a) => [`arn:aws:s3:::acme-${a}-data/*`, `arn:aws:s3:::acme-${a}-exports/*`],
    },
    {
      sid: "ListBuckets",
      actions: ["s3:ListBucket", "s3:GetBucketLocation"],
      resources: (a) => [`arn:aws:s3:::acme-${a}-data`, `arn:aws:s3:::acme-${a}-exports`],
      condition: () => ({ StringLike: { "s3:prefix": ["incoming/*", "processed/*"] } }),
    },
    {
      sid: "Tables",
      actions: [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
      ],
      resources: (a, r) => [
        `arn:aws:dynamodb:${r}:${ACCOUNT}:table/${a}`,
        `arn:aws:dynamodb:${r}:${ACCOUNT}:table/${a}/index/*`,
      ],
    },
    {
      sid: "Queues",
      actions: ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
      resources: (a, r) => [
        `arn:aws:sqs:${r}:${ACCOUNT}:${a}-jobs`,
        `arn:aws:sqs:${r}:${ACCOUNT}:${a}-jobs-dlq`,
      ],
    },
    {
      sid: "Logs",
      actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:GetLogEvents"],
      resources: (a, r) => [`arn:aws:logs:${r}:${ACCOUNT}:log-group:/acme/${a}:*`],
    },
    {
      sid: "Secrets",
      actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
      resources: (a, r) => [`arn:aws:secretsmanager:${r}:${ACCOUNT}:secret:acme/${a}/*`],
      condition: () => ({ StringEquals: { "aws:ResourceTag/team": "payments" } }),
    },
    {
      sid: "Keys",
      actions: ["kms:Decrypt", "kms:GenerateDataKey"],
      resources: (_a, r) => [`arn:aws:kms:${r}:${ACCOUNT}:key/0c7f6b1e-6f5d-4c5a-9a55-0d1f3b2c4e9a`],
      condition: (r) => ({
        StringEquals: { "kms:ViaService": [`s3.${r}.amazonaws.com`, `dynamodb.${r}.amazonaws.com`] },
      }),
    },
  ];
  const statements: object[] = [];
  for (const app of apps)
    for (const k of kinds) {
      const region = regions[statements.length % regions.length]!;
      statements.push({
        Sid: `${k.sid}${app[0]!.toUpperCase()}${app.slice(1)}`,
        Effect: "Allow",
        Action: k.actions,
        Resource: k.resources(app, region),
        ...(k.condition ? { Condition: k.condition(region) } : {}),
      });
    }
  const doc = (n: number) =>
    JSON.stringify({ Version: "2012-10-17", Statement: statements.slice(0, n) }, null, 2);
  let n = 1;
  while (n < statements.length && doc(n + 1).length <= limit) n++;
  return doc(n);
}

/** Latencies of one case as its op sees them; the first `warmup` are the untimed warm-up. */
export function recording<T>(warmup: number, op: (i: number) => Promise<T> | T) {
  const all: number[] = [];
  return {
    op: async (_w: number, i: number) => {
      const t = performance.now();
      await op(i);
      all.push(performance.now() - t);
    },
    timed: () => all.slice(warmup).sort((a, b) => a - b),
  };
}

/** The machine's load: a p95 of milliseconds moves with whatever else runs. */
export function loadNote(): string {
  const load = loadavg()[0]!;
  const cores = availableParallelism();
  const busy = load > cores ? " — busier than it has CPUs: the p95 figures are not to be trusted" : "";
  return `    (load average over the last minute: ${load.toFixed(1)} on ${cores} CPUs${busy})`;
}

export const verdict = (p95: number, goal: number) =>
  `goal ≤ ${formatMs(goal)} p95: ${p95 <= goal ? "met" : `NOT met (${(p95 / goal).toFixed(2)}× over)`}`;

interface Pair {
  baseline: { name: string; label: string; note: string; op: (i: number) => unknown };
  subject: { name: string; label: string; note: string; op: (i: number) => unknown };
  goalMs: number;
  iterations: number;
  warmup: number;
  rounds: number;
  maxSeconds: number;
}

/** The subject and its baseline in interleaved rounds; p50/p95 of each, the ratios, the absolute goal. */
async function comparePair(ctx: BenchContext, p: Pair): Promise<{ p95: number }> {
  const timed = [p.baseline, p.subject].map((t) => ({ ...t, rec: recording(p.warmup, t.op) }));
  const common = { concurrency: 1, iterations: p.iterations, warmup: p.warmup, maxSeconds: p.maxSeconds };
  const results = await ctx.compare(
    timed.map(
      (t, i): Case => ({
        name: t.name,
        note: t.note,
        op: t.rec.op,
        ...(i > 0 ? { baseline: p.baseline.name } : {}),
        ...common,
      }),
    ),
    { rounds: p.rounds },
  );
  const [base, subject] = timed.map((t) => ({ ...t, xs: t.rec.timed() }));
  const line = (t: { label: string; xs: number[] }) =>
    `  ${t.label}: p50 ${formatMs(percentile(t.xs, 50))}, p95 ${formatMs(percentile(t.xs, 95))} (${t.xs.length} runs)`;
  const p95 = percentile(subject!.xs, 95);
  console.log(line(base!));
  console.log(line(subject!));
  const { ratio, ratioRange } = results[1]!;
  console.log(
    `    → ${(percentile(subject!.xs, 50) / percentile(base!.xs, 50)).toFixed(1)}× at p50, ` +
      `${(p95 / percentile(base!.xs, 95)).toFixed(1)}× at p95 of ${base!.label} (mean: ${ratio!.toFixed(1)}×, ` +
      `rounds ${ratioRange![0].toFixed(1)}–${ratioRange![1].toFixed(1)}×); absolute p95 ${formatMs(p95)}, ` +
      verdict(p95, p.goalMs),
  );
  console.log(loadNote());
  return { p95 };
}

/** A JSON client of the broker with one person's bearer token. */
export function brokerClient(base: string, token: string) {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (res.status !== 200 && res.status !== 201)
      throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  };
}

async function assume(sts: STSClient, roleArn: string) {
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "gatehouse-bench" })))
    .Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
    throw new Error("AssumeRole gave no credentials");
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
}

async function lintBench(ctx: BenchContext): Promise<string[]> {
  const text = tenKilobytePolicy();
  const first = await lintPolicy(text); // loads the catalogue: not timed
  if (!first.valid) throw new Error(`the 10 KB policy does not lint valid: ${first.findings[0]?.code}`);
  console.log(
    `  lint: a ${formatBytes(Buffer.byteLength(text))} policy (${(JSON.parse(text) as { Statement: unknown[] }).Statement.length} ` +
      `statements, ${first.findings.length} findings, risk ${first.risk}), catalogue loaded before timing`,
  );
  const { p95 } = await comparePair(ctx, {
    baseline: {
      name: "requests.json-parse.10k",
      label: "JSON.parse of the same text",
      note: "JSON.parse, 10 KB",
      op: () => JSON.parse(text),
    },
    subject: {
      name: "requests.lint.10k",
      label: "lintPolicy of a 10 KB policy",
      note: "shared/policy-lint.ts, catalogue loaded",
      op: async () => {
        const r = await lintPolicy(text);
        if (!r.valid) throw new Error("the policy stopped linting valid");
      },
    },
    goalMs: LINT_GOAL_MS,
    iterations: 1000,
    warmup: 50,
    rounds: 5,
    maxSeconds: 20,
  });
  return [`lintPolicy of a 10 KB policy: p95 ${formatMs(p95)}, ${verdict(p95, LINT_GOAL_MS)}`];
}

/** Pino's output, dropped. */
const discard = () =>
  new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A broker like the tests' (test/support/broker.ts: prod and staging, approvers from `approvers`) with
 * `sync.requests_per_second` (the per-account cap on its IAM calls, applies and re-reads included) set.
 */
export async function requestsBroker(issuer: string, awsUrl: string, perSecond: number) {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-requests-"));
  const yaml = brokerYaml({
    issuer,
    awsUrl,
    database: join(dir, "broker.sqlite"),
    extra: "requests:\n  approver_groups: [approvers]\n",
  }).replace(/requests_per_second: \d+/, `requests_per_second: ${perSecond}`);
  if (!yaml.includes(`requests_per_second: ${perSecond}\n`))
    throw new Error("the test broker's configuration has no sync.requests_per_second to set");
  const broker: Broker & { url: string } = await startBroker(parseConfig(yaml, join(dir, "gatehouse.yaml")), {
    logStream: discard(),
  });
  await broker.syncer.syncAll();
  return {
    broker,
    async close() {
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Call = <T>(method: string, path: string, body?: unknown) => Promise<T>;

/** alice's pending inline-policy request on `arn`, created untimed. */
async function pendingRequest(alice: Call, arn: string): Promise<string> {
  const r = await alice<PermissionRequest>("POST", "/v1/requests", {
    kind: "inline-policy",
    targets: [arn],
    policy: SMALL_POLICY,
    justification: "quarterly report needs the bucket",
    expiry: "PT8H",
  });
  if (r.targets[0]?.state !== "pending") throw new Error(`request ${r.id} is ${r.targets[0]?.state}`);
  return r.id;
}

/** bob approves request `id`; resolves once a read shows its target applied. Returns the GETs needed. */
export async function approveUntilApplied(bob: Call, alice: Call, id: string): Promise<number> {
  let r = await bob<PermissionRequest>("POST", `/v1/requests/${id}/approve`, {});
  let polls = 0;
  const deadline = performance.now() + 30_000;
  while (r.targets[0]!.state !== "applied") {
    if (!["approved", "applying"].includes(r.targets[0]!.state) || performance.now() > deadline)
      throw new Error(`request ${id} is ${r.targets[0]!.state}: ${JSON.stringify(r.targets[0]!.error)}`);
    polls++;
    await sleep(5);
    r = await alice<PermissionRequest>("GET", `/v1/requests/${id}`);
  }
  return polls;
}

/** Roles like Billing added to prod (untagged, so requestable): `name00`, `name01`, … */
export function addRoles(
  world: ReturnType<typeof loadFixture>,
  prefix: string,
  count: number,
  inline: boolean,
) {
  const prod = world.accounts.get(ACCOUNT)!;
  const billing = prod.roles.get("billing")!;
  return Array.from({ length: count }, (_, i) => {
    const name = `${prefix}${String(i).padStart(2, "0")}`;
    world.putRole(prod, {
      ...billing,
      name,
      id: `AROA${prefix.toUpperCase()}${i}`,
      inlinePolicies: inline ? { ...billing.inlinePolicies } : {},
      tags: [],
    });
    return `arn:aws:iam::${ACCOUNT}:role/${name}`;
  });
}

async function applyBench(ctx: BenchContext): Promise<string[]> {
  let emulator: Emulator | undefined;
  let idp: DevIdp | undefined;
  const closers: (() => unknown)[] = [];
  try {
    // The demo organisation, with roles for the bench in prod, so that no role collects more inline
    // policy than IAM allows: TARGET_ROLES for the back-to-back approvals (no inline policy to start
    // with), and one per isolated approval (with Billing's one inline policy).
    const world = loadFixture(DEMO_FIXTURE);
    const targets = addRoles(world, "BenchTarget", TARGET_ROLES, false);
    const isolatedTargets = ISOLATED.map((_, k) =>
      addRoles(world, `BenchIsolated${k}x`, ISOLATED_APPROVALS, true),
    );
    emulator = await startEmulator({ world });
    idp = await startIdp({ port: 0 });
    const [aliceTokens, bobTokens] = await Promise.all([
      signInWithForm(idp.issuer, "alice@example.com"),
      signInWithForm(idp.issuer, "bob@example.com"),
    ]);

    // ----- back to back, with the tests' broker (50 IAM requests/s per account)
    const fast = await requestsBroker(idp.issuer, emulator.url, BACK_TO_BACK_RATE);
    closers.push(() => fast.close());
    const alice = brokerClient(fast.broker.url, aliceTokens.access_token);
    const bob = brokerClient(fast.broker.url, bobTokens.access_token);
    const total = APPLY.warmup + APPLY.iterations;
    const ids: string[] = [];
    for (let i = 0; i < total; i++) ids.push(await pendingRequest(alice, targets[i % targets.length]!));
    let polled = 0;
    let next = 0;
    const callsBefore = emulator.calls.length;

    // The direct path: base identity → central role → the spoke role (once), then PutRolePolicy.
    const base = new STSClient({ endpoint: emulator.url, region: "us-east-1", credentials: DEMO_KEY });
    closers.push(() => base.destroy());
    const central = new STSClient({
      endpoint: emulator.url,
      region: "us-east-1",
      credentials: await assume(base, CENTRAL_ROLE),
    });
    closers.push(() => central.destroy());
    const iam = new IAMClient({
      endpoint: emulator.url,
      region: "us-east-1",
      credentials: await assume(central, SPOKE_ROLE),
    });
    closers.push(() => iam.destroy());
    let direct = 0;
    const putRolePolicy = (i: number) => {
      direct++;
      return iam.send(
        new PutRolePolicyCommand({
          RoleName: targets[i % targets.length]!.split("/").at(-1)!,
          PolicyName: "bench-direct",
          PolicyDocument: SMALL_POLICY,
        }),
      );
    };

    console.log(
      `  approve-to-applied: emulator ${emulator.url} and dev IdP ${idp.issuer} in this process; ` +
        `alice (engineers) asks, bob (approvers) approves, over HTTP`,
    );
    console.log(
      `  back to back: broker ${fast.broker.url} capped at ${BACK_TO_BACK_RATE} IAM requests/s per account ` +
        `(the tests' configuration); ${total} pending requests over ${TARGET_ROLES} roles, approved one after another`,
    );
    const { p95: backToBackP95 } = await comparePair(ctx, {
      baseline: {
        name: "requests.sdk.put-role-policy",
        label: "PutRolePolicy, SDK → emulator (spoke session)",
        note: "one PutRolePolicy, SDK, spoke session",
        op: putRolePolicy,
      },
      subject: {
        name: "requests.approve-to-applied",
        label: "approve → applied, back to back",
        note: `HTTP to the broker, ${BACK_TO_BACK_RATE} IAM req/s cap`,
        op: async () => {
          polled += await approveUntilApplied(bob, alice, ids[next++]!);
        },
      },
      goalMs: APPLY_GOAL_MS,
      ...APPLY,
      maxSeconds: 120,
    });
    const lastId = ids[next - 1]!;
    const lastRole = world.accounts
      .get(ACCOUNT)!
      .roles.get(targets[(next - 1) % targets.length]!.split("/").at(-1)!.toLowerCase())!;
    if (!lastRole.inlinePolicies[`gatehouse-${lastId}-0`])
      throw new Error("the last approved request's policy is not on its role");
    const perApproval = (emulator.calls.length - callsBefore - direct) / next;
    console.log(
      `    (${next} approvals, warm-up included: ${perApproval.toFixed(1)} IAM calls each, the apply and the ` +
        `re-read of the role, whose GetRolePolicy calls grow with its inline policies (up to ` +
        `${Math.ceil(total / TARGET_ROLES)} here); GETs needed after an approve's answer: ${polled})`,
    );

    // ----- one at a time, after the broker's bucket has refilled, each on its own role
    const goals = [
      `approve → applied, back to back (${BACK_TO_BACK_RATE} req/s): p95 ${formatMs(backToBackP95)}, ${verdict(backToBackP95, APPLY_GOAL_MS)}`,
    ];
    const direct50 = ctx.result("requests.sdk.put-role-policy").p50Ms;
    for (const [k, o] of ISOLATED.entries()) {
      const b = await requestsBroker(idp.issuer, emulator.url, o.rate);
      closers.push(() => b.close());
      const asker = brokerClient(b.broker.url, aliceTokens.access_token);
      const approver = brokerClient(b.broker.url, bobTokens.access_token);
      const pending: string[] = [];
      for (const arn of isolatedTargets[k]!) pending.push(await pendingRequest(asker, arn));
      console.log(
        `  one at a time: broker ${b.broker.url} capped at ${o.rate} IAM requests/s per account (${o.about}); ` +
          `each approval after ${o.pauseMs} ms without IAM calls (a full bucket), on its own role holding one ` +
          "inline policy (like Billing)",
      );
      const xs: number[] = [];
      const before = emulator.calls.length;
      for (const id of pending) {
        await sleep(o.pauseMs);
        const t = performance.now();
        await approveUntilApplied(approver, asker, id);
        xs.push(performance.now() - t);
      }
      xs.sort((x, y) => x - y);
      const p95 = percentile(xs, 95);
      const label = `approve → applied, one at a time (${o.rate} req/s)`;
      const judged = o.goal ? verdict(p95, APPLY_GOAL_MS) : "no goal (a diagnostic)";
      console.log(
        `  ${label}: p50 ${formatMs(percentile(xs, 50))}, p95 ${formatMs(p95)} (${xs.length} runs, ` +
          `${((emulator.calls.length - before) / xs.length).toFixed(1)} IAM calls each); ` +
          `${(percentile(xs, 50) / direct50).toFixed(1)}× the direct PutRolePolicy's p50; ${judged}`,
      );
      if (o.goal) goals.push(`${label}: p95 ${formatMs(p95)}, ${judged}`);
      await b.close();
      closers.pop();
    }
    console.log(loadNote());
    return goals;
  } finally {
    for (const close of closers.reverse()) await close();
    await idp?.close();
    await emulator?.close();
  }
}

defineBench({
  name: "requests",
  description:
    "permission requests: lint of a 10 KB policy vs. JSON.parse of it; approve-to-applied over HTTP vs. a direct PutRolePolicy",
  async run(ctx) {
    const goals = [...(await lintBench(ctx)), ...(await applyBench(ctx))];
    console.log("  goals:");
    for (const g of goals) console.log(`    ${g}`);
  },
});
