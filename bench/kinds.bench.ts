// Approve → applied for the managed-policy and group-membership kinds, each next to the inline-policy
// kind measured in the same interleaved rounds: bob's POST /v1/requests/:id/approve of alice's pending
// request until it shows applied, over real HTTP against a broker, the demo emulator and the dev IdP
// started in this process (the tests' cap of 50 IAM requests/s per account, approvals back to back).
// An attach is one AttachRolePolicy and the role's re-read; a membership one AddUserToGroup and the
// user's re-read (attachments and groups included). The goal is the issue's, absolute: ≤ 1 s p95.
// GATEHOUSE_BENCH_KINDS_N sets the timed approvals per kind (default 40).

import { DEMO_FIXTURE } from "../dev/aws/command.ts";
import { loadFixture } from "../dev/aws/fixture.ts";
import { type Emulator, startEmulator } from "../dev/aws/server.ts";
import { signInWithForm } from "../dev/idp/login.ts";
import { type DevIdp, startIdp } from "../dev/idp/provider.ts";
import type { PermissionRequest } from "../shared/requests.ts";
import { type Case, defineBench, formatMs, percentile } from "./lib.ts";
import {
  addRoles,
  approveUntilApplied,
  brokerClient,
  loadNote,
  recording,
  requestsBroker,
  verdict,
} from "./requests.bench.ts";

const GOAL_MS = 1000;
const ACCOUNT = "222222222222";
const RATE = 50;
const N = Number(process.env.GATEHOUSE_BENCH_KINDS_N ?? 40);
const WARMUP = 4;
/** Read-only AWS-managed policies (medium risk at most): each role takes each once, under the quota of 10. */
const POLICIES = [
  "AmazonS3ReadOnlyAccess",
  "AmazonEC2ReadOnlyAccess",
  "AmazonDynamoDBReadOnlyAccess",
  "AmazonSQSReadOnlyAccess",
  "AmazonSNSReadOnlyAccess",
  "CloudWatchReadOnlyAccess",
  "AmazonRDSReadOnlyAccess",
  "AmazonMSKReadOnlyAccess",
].map((n) => `arn:aws:iam::aws:policy/${n}`);
const GROUPS = Array.from({ length: 8 }, (_, i) => `BenchTeam${i}`);
const SMALL_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::prod-reports/*" }],
});

/** IAM users (no policies) and groups (one small inline policy each) added to prod. */
function addUsersAndGroups(world: ReturnType<typeof loadFixture>, users: number): string[] {
  const prod = world.accounts.get(ACCOUNT)!;
  const date = "2024-01-01T00:00:00Z";
  for (const [i, name] of GROUPS.entries())
    world.putGroup(prod, {
      name,
      path: "/",
      id: `AGPABENCHTEAM${i}`,
      createDate: date,
      inlinePolicies: { Read: SMALL_POLICY },
      managedPolicies: [],
    });
  return Array.from({ length: users }, (_, i) => {
    const name = `bench-user${String(i).padStart(2, "0")}`;
    world.putUser(prod, {
      name,
      path: "/",
      id: `AIDABENCHUSER${i}`,
      createDate: date,
      tags: [],
      inlinePolicies: {},
      managedPolicies: [],
      accessKeys: [],
      groups: [],
    });
    return `arn:aws:iam::${ACCOUNT}:user/${name}`;
  });
}

defineBench({
  name: "kinds",
  description:
    "approve-to-applied over HTTP for a managed-policy attach and a group membership vs. an inline policy",
  async run(ctx) {
    let emulator: Emulator | undefined;
    let idp: DevIdp | undefined;
    const closers: (() => unknown)[] = [];
    try {
      const total = WARMUP + N;
      const per = POLICIES.length;
      const world = loadFixture(DEMO_FIXTURE);
      const inlineRoles = addRoles(world, "KindsInline", Math.ceil(total / 4), false);
      const attachRoles = addRoles(world, "KindsAttach", Math.ceil(total / per), false);
      const users = addUsersAndGroups(world, Math.ceil(total / GROUPS.length));
      emulator = await startEmulator({ world });
      idp = await startIdp({ port: 0 });
      const [aliceTokens, bobTokens] = await Promise.all([
        signInWithForm(idp.issuer, "alice@example.com"),
        signInWithForm(idp.issuer, "bob@example.com"),
      ]);
      const b = await requestsBroker(idp.issuer, emulator.url, RATE);
      closers.push(() => b.close());
      const alice = brokerClient(b.broker.url, aliceTokens.access_token);
      const bob = brokerClient(b.broker.url, bobTokens.access_token);
      const ask = async (body: Record<string, unknown>) => {
        const r = await alice<PermissionRequest>("POST", "/v1/requests", {
          justification: "quarterly report needs it",
          expiry: "PT8H",
          ...body,
        });
        if (r.targets[0]?.state !== "pending") throw new Error(`request ${r.id} is ${r.targets[0]?.state}`);
        return r.id;
      };
      // Every request pending before timing starts (created untimed).
      const pending = { inline: [] as string[], attach: [] as string[], group: [] as string[] };
      for (let i = 0; i < total; i++) {
        pending.inline.push(
          await ask({
            kind: "inline-policy",
            targets: [inlineRoles[i % inlineRoles.length]!],
            policy: SMALL_POLICY,
          }),
        );
        pending.attach.push(
          await ask({
            kind: "managed-policy",
            targets: [attachRoles[Math.floor(i / per)]!],
            policyArn: POLICIES[i % per]!,
          }),
        );
        pending.group.push(
          await ask({
            kind: "group-membership",
            targets: [users[Math.floor(i / GROUPS.length)]!],
            group: GROUPS[i % GROUPS.length]!,
          }),
        );
      }
      console.log(
        `  approve-to-applied: broker ${b.broker.url} capped at ${RATE} IAM requests/s per account, emulator ` +
          `${emulator.url}; ${total} pending requests of each kind, approved one after another in interleaved rounds`,
      );
      const kinds = [
        { key: "inline", label: "inline policy (PutRolePolicy)" },
        { key: "attach", label: "managed policy (AttachRolePolicy)" },
        { key: "group", label: "group membership (AddUserToGroup)" },
      ] as const;
      const recs = kinds.map((k) => {
        let next = 0;
        const ids = pending[k.key];
        return {
          ...k,
          rec: recording(WARMUP, async () => {
            await approveUntilApplied(bob, alice, ids[next++]!);
          }),
        };
      });
      const results = await ctx.compare(
        recs.map(
          (r, i): Case => ({
            name: `kinds.approve-to-applied.${r.key}`,
            note: r.label,
            op: r.rec.op,
            concurrency: 1,
            iterations: N,
            warmup: WARMUP,
            maxSeconds: 120,
            ...(i > 0 ? { baseline: "kinds.approve-to-applied.inline" } : {}),
          }),
        ),
        { rounds: 4 },
      );
      // What was approved is in IAM.
      const prod = world.accounts.get(ACCOUNT)!;
      if (!prod.roles.get(attachRoles[0]!.split("/").at(-1)!.toLowerCase())!.managedPolicies.length)
        throw new Error("no attached policy on the first attach role");
      if (!prod.users.get(users[0]!.split("/").at(-1)!)!.groups.length)
        throw new Error("the first user is in no group");
      const base = recs[0]!.rec.timed();
      const goals: string[] = [];
      for (const [i, r] of recs.entries()) {
        const xs = r.rec.timed();
        const p95 = percentile(xs, 95);
        const ratio = results[i]!.ratio;
        console.log(
          `  ${r.label}: p50 ${formatMs(percentile(xs, 50))}, p95 ${formatMs(p95)} (${xs.length} runs)` +
            (i > 0
              ? `; ${(p95 / percentile(base, 95)).toFixed(2)}× the inline policy's p95 (mean ratio ${ratio!.toFixed(2)}×)`
              : " — the baseline"),
        );
        goals.push(`approve → applied, ${r.label}: p95 ${formatMs(p95)}, ${verdict(p95, GOAL_MS)}`);
      }
      console.log(loadNote());
      console.log("  goals:");
      for (const g of goals) console.log(`    ${g}`);
    } finally {
      for (const close of closers.reverse()) await close();
      await idp?.close();
      await emulator?.close();
    }
  },
});
