// Emulator throughput: STS AssumeRole and IAM GetAccountAuthorizationDetails (a page of 1000 roles),
// through the real AWS SDK clients over real HTTP, at 1 and 16 concurrent clients. Each figure is
// compared with a bare node:http round trip that carries the same request and reply bytes, measured
// just before it. Later benches divide by the emulator figures: see `emulatorResult`.

import {
  GetAccountAuthorizationDetailsCommand,
  type GetAccountAuthorizationDetailsCommandOutput,
  IAMClient,
} from "@aws-sdk/client-iam";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { HttpRequest, HttpResponse } from "@smithy/protocol-http";
import { CENTRAL_ACCOUNT, DEMO_KEY, generateWorld } from "../dev/aws/fixture.ts";
import { startEmulator } from "../dev/aws/server.ts";
// Aliased: biome's Playwright rules take a call named `describe` for a test suite.
import {
  type BareServer,
  bareClient,
  defineBench,
  describe as describeResult,
  formatBytes,
  startBareServer,
} from "./lib.ts";

export const CONCURRENCIES = [1, 16] as const;
export type EmulatorCall = "assume-role" | "gaad-1000";

/** The name of an emulator result, for later benches' `baseline` (list "emulator" in `requires`). */
export const emulatorResult = (call: EmulatorCall, concurrency: number) => `emulator.${call}.c${concurrency}`;
export const bareResult = (call: EmulatorCall, concurrency: number) => `bare-http.${call}.c${concurrency}`;
export const cannedResult = (call: EmulatorCall, concurrency: number) => `sdk-canned.${call}.c${concurrency}`;

const WORLD = { accounts: 2, roles: 3000, users: 10 };
const SPOKE = "200000000000";
const PAGE = 1000;

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const clientConfig = (endpoint: string, credentials: Credentials) => ({
  endpoint,
  region: "us-east-1",
  credentials,
  // A failed call must fail the benchmark, not be retried out of sight.
  maxAttempts: 1,
});

/** The bytes of one real exchange, captured below the SDK's signer and above its parser. */
interface Sample {
  request: string;
  response: Buffer;
}

/** Run one SDK call and keep the form body it sent and the raw XML it got back. */
async function capture(client: STSClient | IAMClient, call: () => Promise<unknown>): Promise<Sample> {
  let sample: Sample | undefined;
  // Innermost in the deserialize step: sees the signed request and the response before parsing.
  const middleware =
    <A extends { request: unknown }, R extends { response: unknown }>(next: (args: A) => Promise<R>) =>
    async (args: A): Promise<R> => {
      const out = await next(args);
      if (HttpRequest.isInstance(args.request) && HttpResponse.isInstance(out.response)) {
        const chunks: Buffer[] = [];
        for await (const c of out.response.body as AsyncIterable<Buffer>) chunks.push(c);
        const response = Buffer.concat(chunks);
        out.response.body = response; // the parser takes a Uint8Array as it is
        sample = { request: String(args.request.body), response };
      }
      return out;
    };
  const options = { step: "deserialize", priority: "low", name: "benchCapture" } as const;
  if (client instanceof STSClient) client.middlewareStack.add(middleware, options);
  else client.middlewareStack.add(middleware, options);
  try {
    await call();
  } finally {
    client.middlewareStack.remove(options.name);
  }
  if (!sample) throw new Error("could not capture the HTTP exchange");
  return sample;
}

function sessionCredentials(c: { AccessKeyId?: string; SecretAccessKey?: string; SessionToken?: string }) {
  if (!c.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
    throw new Error("AssumeRole gave no credentials");
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
}

interface CallPlan {
  call: EmulatorCall;
  label: string;
  short: string;
  /** A real request and reply, replayed by the bare client and server. */
  sample: Sample;
  /** One ready-made SDK call per worker against the server at `url`. */
  callers(url: string): (() => Promise<unknown>)[];
  /** Timed operations per concurrency: SDK calls, and bare round trips (cheap, and the divisor). */
  iterations: Record<(typeof CONCURRENCIES)[number], { sdk: number; bare: number }>;
  /** Time cap per case (all rounds): on a loaded machine fewer operations run, the ratios still hold. */
  maxSeconds: number;
}

function checkPage(out: GetAccountAuthorizationDetailsCommandOutput): void {
  const n = out.RoleDetailList?.length ?? 0;
  if (n !== PAGE || !out.IsTruncated) {
    throw new Error(`GetAccountAuthorizationDetails returned ${n} roles (truncated: ${out.IsTruncated})`);
  }
}

defineBench({
  name: "emulator",
  description:
    "emulator AssumeRole and GetAccountAuthorizationDetails (1000 roles) at 1 and 16 clients vs. a bare HTTP round trip",
  async run(ctx) {
    const emulator = await startEmulator({ world: generateWorld(WORLD) });
    const bares: BareServer[] = [];
    const closers: (() => void)[] = [];
    try {
      const broker = { accessKeyId: DEMO_KEY.id, secretAccessKey: DEMO_KEY.secret };
      const centralArn = `arn:aws:iam::${CENTRAL_ACCOUNT}:role/GatehouseCentral`;
      const assumeCentral = new AssumeRoleCommand({
        RoleArn: centralArn,
        RoleSessionName: "gatehouse-bench",
      });
      const gaad = new GetAccountAuthorizationDetailsCommand({ MaxItems: PAGE, Filter: ["Role"] });

      // The broker's real path: its user → GatehouseCentral → GatehouseSpoke in a spoke account.
      const brokerSts = new STSClient(clientConfig(emulator.url, broker));
      const central = await brokerSts.send(assumeCentral);
      const centralSts = new STSClient(clientConfig(emulator.url, sessionCredentials(central.Credentials!)));
      const spoke = await centralSts.send(
        new AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${SPOKE}:role/GatehouseSpoke`,
          RoleSessionName: "gatehouse-bench",
        }),
      );
      const spokeCreds = sessionCredentials(spoke.Credentials!);
      const spokeIam = new IAMClient(clientConfig(emulator.url, spokeCreds));

      closers.push(
        () => brokerSts.destroy(),
        () => centralSts.destroy(),
        () => spokeIam.destroy(),
      );

      // One SDK client per concurrent worker, as separate callers would have; each returns its call.
      const max = Math.max(...CONCURRENCIES);
      const clients = <C extends { destroy(): void }>(make: () => C, op: (c: C) => Promise<unknown>) => {
        const made = Array.from({ length: max }, make);
        closers.push(...made.map((c) => () => c.destroy()));
        return made.map((c) => () => op(c));
      };
      const plans: CallPlan[] = [
        {
          call: "assume-role",
          label: "AssumeRole",
          short: "AssumeRole",
          sample: await capture(brokerSts, () => brokerSts.send(assumeCentral)),
          callers: (url) =>
            clients(
              () => new STSClient(clientConfig(url, broker)),
              (c) => c.send(assumeCentral),
            ),
          iterations: { 1: { sdk: 1500, bare: 8000 }, 16: { sdk: 3000, bare: 12000 } },
          maxSeconds: 3,
        },
        {
          call: "gaad-1000",
          label: `GetAccountAuthorizationDetails ${PAGE} roles`,
          short: `GAAD ${PAGE} roles`,
          sample: await capture(spokeIam, async () => checkPage(await spokeIam.send(gaad))),
          callers: (url) =>
            clients(
              () => new IAMClient(clientConfig(url, spokeCreds)),
              async (c) => checkPage(await c.send(gaad)),
            ),
          iterations: { 1: { sdk: 40, bare: 800 }, 16: { sdk: 96, bare: 960 } },
          maxSeconds: 4,
        },
      ];

      for (const plan of plans) {
        const { call, sample } = plan;
        const bare = await startBareServer(sample.response);
        bares.push(bare);
        const size = `${formatBytes(sample.request.length)} → ${formatBytes(sample.response.length)}`;
        // The same SDK calls against the bare server's canned reply: the client's own share of the cost.
        const canned = plan.callers(bare.url);
        const real = plan.callers(emulator.url);
        for (const c of CONCURRENCIES) {
          const n = plan.iterations[c];
          const { maxSeconds } = plan;
          const raw = Array.from({ length: c }, () => bareClient(bare.url, sample.request));
          closers.push(...raw.map((b) => b.close));
          const base = bareResult(call, c);
          const [, , r] = await ctx.compare([
            {
              name: base,
              op: (w) => raw[w]!.post(),
              concurrency: c,
              maxSeconds,
              iterations: n.bare,
              note: `bare HTTP, ${size}`,
            },
            {
              name: cannedResult(call, c),
              op: (w) => canned[w]!(),
              concurrency: c,
              maxSeconds,
              iterations: n.sdk,
              baseline: base,
              note: "SDK client, canned reply",
            },
            {
              name: emulatorResult(call, c),
              op: (w) => real[w]!(),
              concurrency: c,
              maxSeconds,
              iterations: n.sdk,
              baseline: base,
              note: `${plan.short}, SDK → emulator`,
            },
          ]);
          const sentence = describeResult(r!, {
            name: `${plan.label} c=${c}`,
            baseline: "the bare HTTP round trip",
          });
          console.log(`  ${sentence}`);
        }
      }
    } finally {
      for (const close of closers) close();
      await Promise.all(bares.map((b) => b.close()));
      await emulator.close();
    }
  },
});
