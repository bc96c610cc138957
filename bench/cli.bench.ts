// The `gatehouse` CLI on the path of every `aws` call, with everything really started in this process
// (the demo emulator, the dev IdP with auto-login, the broker and a signed-in agent) and each measured
// thing a real child process:
//   1. `gatehouse credential-process --role staging/Developer` with the agent's cache warm, against
//      `node -e 0` (the cost of starting Node at all), spawned the same way in the same run;
//   2. the single-file binary (dist/cli/gatehouse, built when missing) doing the same, next to the script
//      and to `node -e 0` (goals: binary ≤ script, binary ≤ 1.25× node -e 0), with the binary's size;
//   3. `/usr/bin/aws sts get-caller-identity` through a credential_process profile the agent wrote,
//      against the same call with a profile holding the same credentials as static keys.
// Cases of a pair run in interleaved rounds; the goals are ratios of p50 and of p95.

import { spawn } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import type { Emulator } from "../dev/aws/server.ts";
import { Browser } from "../dev/idp/login.ts";
import { type DevIdp, startIdp } from "../dev/idp/provider.ts";
import { commandLine } from "../electron/agent/aws-config.ts";
import { type AgentService, startAgentService } from "../electron/agent/service.ts";
import { type StartedBroker, startTestBroker } from "../test/support/broker.ts";
import { startDemoEmulator } from "../test/support/emulator.ts";
import { singleFileCli } from "../test/support/single-file.ts";
import { type BenchContext, type Case, defineBench, formatMs, percentile } from "./lib.ts";

const ROOT = resolve(import.meta.dirname, "..");
const GATEHOUSE = join(ROOT, "bin/gatehouse.cjs");
const AWS = "/usr/bin/aws";
const ALICE = "alice@example.com";
const ROLE = "staging/Developer";
const PROFILE = "staging-Developer";
const STATIC_PROFILE = "staging-Developer-static-keys";

const CREDENTIAL_PROCESS_GOAL = 1.25;
const AWS_GOAL = 1.15;

/** A child process run to its end: its stdout, or an error with its stderr when it exits non-zero. */
function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) return resolvePromise(Buffer.concat(out).toString("utf8"));
      const why = signal ? `signal ${signal}` : `exit ${code}`;
      reject(new Error(`${file} ${args.join(" ")}: ${why}: ${Buffer.concat(err).toString("utf8").trim()}`));
    });
  });
}

/**
 * The person's browser for the agent's sign-in: through the IdP (auto-login) and its redirects, cookies
 * kept, on to the agent's loopback callback, which it fetches like a browser would.
 */
async function browse(authorizationUrl: string): Promise<void> {
  const browser = new Browser();
  let step = await browser.navigate(new URL(authorizationUrl));
  // `navigate` stops short of one fixed loopback origin (the scripted logins' one): should the agent's
  // random port be that one, fetch the callback here.
  if ("callback" in step) step = { page: await browser.request(step.callback), url: step.callback };
  const body = await step.page.text();
  if (step.page.status !== 200 || step.url.pathname !== "/callback")
    throw new Error(`sign-in stopped at ${step.url} (${step.page.status}): ${body.slice(0, 200)}`);
}

/** Timed latencies of one case as its op sees them (the first `warmup` are the untimed warm-up). */
function recording(warmup: number, op: () => Promise<unknown>) {
  const all: number[] = [];
  return {
    op: async () => {
      const t = performance.now();
      await op();
      all.push(performance.now() - t);
    },
    timed: () => all.slice(warmup).sort((a, b) => a - b),
  };
}

interface Timed {
  /** Result name (in the run's table). */
  name: string;
  /** How the printed lines call it. */
  label: string;
  note: string;
  op: () => Promise<unknown>;
}

interface Pair {
  /** What the goal is about, and what it is divided by. */
  subject: Timed;
  baseline: Timed;
  /** Shown with its ratios to the baseline, no goal: e.g. a part of the subject's work. */
  diagnostic?: Timed;
  goal: number;
  iterations: number;
  warmup: number;
  rounds: number;
  maxSeconds: number;
}

/**
 * Time the subject and its baseline (and a diagnostic) in interleaved rounds; print p50 and p95 of each,
 * the ratios of p50 and of p95 to the baseline's, and whether both meet the goal.
 */
async function comparePair(ctx: BenchContext, p: Pair): Promise<Map<string, number[]>> {
  const timed = [p.baseline, p.subject, ...(p.diagnostic ? [p.diagnostic] : [])].map((t) => ({
    ...t,
    rec: recording(p.warmup, t.op),
  }));
  const common = { concurrency: 1, iterations: p.iterations, warmup: p.warmup, maxSeconds: p.maxSeconds };
  const results = await ctx.compare(
    timed.map(
      (t, i): Case => ({
        name: t.name,
        op: t.rec.op,
        note: t.note,
        ...(i > 0 ? { baseline: p.baseline.name } : {}),
        ...common,
      }),
    ),
    { rounds: p.rounds },
  );
  const [base, ...others] = timed.map((t, i) => ({ ...t, xs: t.rec.timed(), result: results[i]! }));
  const times = (t: { label: string; xs: number[] }) =>
    `  ${t.label}: p50 ${formatMs(percentile(t.xs, 50))}, p95 ${formatMs(percentile(t.xs, 95))} (${t.xs.length} runs)`;
  console.log(times(base!));
  for (const t of others) {
    const r50 = percentile(t.xs, 50) / percentile(base!.xs, 50);
    const r95 = percentile(t.xs, 95) / percentile(base!.xs, 95);
    const { ratio, ratioRange } = t.result;
    const verdict =
      t.name === p.subject.name
        ? `goal ≤ ${p.goal.toFixed(2)}× at p50 and p95: ${r50 <= p.goal && r95 <= p.goal ? "met" : "NOT met"}`
        : "no goal (a part of the above)";
    console.log(times(t));
    console.log(
      `    → ${r50.toFixed(2)}× at p50, ${r95.toFixed(2)}× at p95 of ${base!.label}` +
        ` (mean: ${ratio!.toFixed(2)}×, median of ${p.rounds} rounds ranging ${ratioRange![0].toFixed(2)}–${ratioRange![1].toFixed(2)}×); ${verdict}`,
    );
  }
  // Processes that each take a CPU for a moment are timed: other work on the machine shows in them.
  const load = loadavg()[0]!;
  const cores = availableParallelism();
  const busy = load > cores ? " — busier than it has CPUs: these figures are not to be trusted" : "";
  console.log(`    (load average over the last minute: ${load.toFixed(1)} on ${cores} CPUs${busy})`);
  return new Map([base!, ...others].map((t) => [t.name, t.xs]));
}

defineBench({
  name: "cli",
  description:
    "gatehouse credential-process (warm; script and single-file binary) vs. node -e 0, and aws sts get-caller-identity through credential_process vs. static keys",
  async run(ctx) {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-cli-"));
    const home = join(dir, "home");
    const awsConfig = join(dir, "aws-config");
    let emulator: Emulator | undefined;
    let idp: DevIdp | undefined;
    let broker: StartedBroker | undefined;
    let service: AgentService | undefined;
    let keepRolesFresh: NodeJS.Timeout | undefined;
    try {
      emulator = await startDemoEmulator();
      idp = await startIdp({ port: 0, autoLogin: ALICE });
      broker = await startTestBroker({ issuer: idp.issuer, awsUrl: emulator.url });

      // The agent, in this process (what is timed is the CLI process), with its refresh token in a 0600
      // file so that no keychain is needed, and profiles that run this checkout's CLI.
      mkdirSync(home, { recursive: true, mode: 0o700 });
      writeFileSync(
        join(home, "settings.json"),
        `${JSON.stringify({
          brokerUrl: broker.url,
          issuer: idp.issuer,
          tokenStore: "file",
          awsConfigFile: awsConfig,
          cliCommand: commandLine([process.execPath, GATEHOUSE]),
          signInTimeoutSeconds: 30,
        })}\n`,
        { mode: 0o600 },
      );
      service = await startAgentService({ ...process.env, GATEHOUSE_HOME: home }, { warn: () => undefined });
      // A browser that fails says why at once, instead of the sign-in timing out.
      let browserFailed: (e: unknown) => void = () => undefined;
      const failed = new Promise<never>((_, reject) => {
        browserFailed = reject;
      });
      service.setOpener((url) => void browse(url).catch(browserFailed));
      const who = await Promise.race([service.agent.login(), failed]);
      if (who.email !== ALICE) throw new Error(`signed in as ${who.email}, not ${ALICE}`);
      const written = await service.agent.writeAwsConfig();
      // Warm means all the agent keeps for a session: the credentials (an hour) and the list of roles a
      // request is looked up in, which lapses after a minute and is then fetched from the broker by the
      // next request. Keep the list fresh from here, so that no timed call waits on the broker.
      const agent = service.agent;
      keepRolesFresh = setInterval(() => void agent.roles(true).catch(() => undefined), 20_000);
      if (!readFileSync(awsConfig, "utf8").includes(`[profile ${PROFILE}]`))
        throw new Error(`${awsConfig} has no profile ${PROFILE} (${written.profiles} profiles)`);

      // Children get a small environment of their own: this checkout's agent, no autostart (a missing
      // agent must fail, not be started behind the figures), and an AWS CLI that reads only our files.
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: dir,
        GATEHOUSE_HOME: home,
        GATEHOUSE_NO_AUTOSTART: "1",
        AWS_CONFIG_FILE: awsConfig,
        AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-credentials"),
        AWS_PAGER: "",
        AWS_EC2_METADATA_DISABLED: "true",
      };

      // One credentials call warms the agent's cache; every timed call must then get these very keys.
      const warm = JSON.parse(
        await run(process.execPath, [GATEHOUSE, "credential-process", "--role", ROLE], env),
      );
      if (warm.Version !== 1 || !warm.AccessKeyId || !warm.SessionToken)
        throw new Error(`credential-process printed ${JSON.stringify(warm)}`);
      const credentialProcess = async () => {
        const out = await run(process.execPath, [GATEHOUSE, "credential-process", "--role", ROLE], env);
        if (!out.includes(`"AccessKeyId":"${warm.AccessKeyId}"`))
          throw new Error(`credential-process did not serve the cached keys: ${out.slice(0, 200)}`);
      };

      console.log(
        `  set-up: emulator ${emulator.url}, IdP ${idp.issuer} (auto-login ${ALICE}), broker ${broker.url}, ` +
          `agent ${service.paths.socket}; ${written.profiles} profiles in ${awsConfig}`,
      );
      await comparePair(ctx, {
        baseline: {
          name: "cli.node-e-0",
          label: "node -e 0",
          note: "node -e 0, spawned the same way",
          op: () => run(process.execPath, ["-e", "0"], env),
        },
        subject: {
          name: "cli.credential-process.warm",
          label: `credential-process --role ${ROLE} (warm)`,
          note: "node bin/gatehouse.cjs, agent cache warm",
          op: credentialProcess,
        },
        // Starting Node and loading the fast path without asking the agent: the rest is the request.
        diagnostic: {
          name: "cli.credential-process.help",
          label: "of which start and load (credential-process --help)",
          note: "no agent request",
          op: () => run(process.execPath, [GATEHOUSE, "credential-process", "--help"], env),
        },
        goal: CREDENTIAL_PROCESS_GOAL,
        iterations: 120,
        warmup: 5,
        rounds: 20,
        maxSeconds: 60,
      });

      // The single-file binary (npm run build:cli) next to the script and to Node starting at all: the
      // binary is a whole Node with the CLI inside, so its floor is node -e 0 too.
      const binary = await singleFileCli();
      console.log(`  single-file binary: ${binary}, ${(statSync(binary).size / 1024 / 1024).toFixed(1)} MB`);
      const viaBinary = async () => {
        const out = await run(binary, ["credential-process", "--role", ROLE], env);
        if (!out.includes(`"AccessKeyId":"${warm.AccessKeyId}"`))
          throw new Error(`the binary did not serve the cached keys: ${out.slice(0, 200)}`);
      };
      const single = await comparePair(ctx, {
        baseline: {
          name: "cli.sea.node-e-0",
          label: "node -e 0",
          note: "node -e 0, spawned the same way",
          op: () => run(process.execPath, ["-e", "0"], env),
        },
        subject: {
          name: "cli.sea.credential-process.warm",
          label: `dist/cli/gatehouse credential-process --role ${ROLE} (warm)`,
          note: "single-file binary, agent cache warm",
          op: viaBinary,
        },
        diagnostic: {
          name: "cli.sea.script.warm",
          label: "node bin/gatehouse.cjs credential-process (warm), the same run",
          note: "the script, for the goal binary ≤ script",
          op: credentialProcess,
        },
        goal: CREDENTIAL_PROCESS_GOAL,
        iterations: 90,
        warmup: 5,
        rounds: 15,
        maxSeconds: 60,
      });
      const bin = single.get("cli.sea.credential-process.warm")!;
      const script = single.get("cli.sea.script.warm")!;
      const b50 = percentile(bin, 50) / percentile(script, 50);
      const b95 = percentile(bin, 95) / percentile(script, 95);
      console.log(
        `    → binary vs script: ${b50.toFixed(2)}× at p50, ${b95.toFixed(2)}× at p95; goal ≤ 1.00× at p50: ${b50 <= 1 ? "met" : "NOT met"}`,
      );

      // The same credentials as static keys in a profile of the same file: the AWS CLI does the same
      // work but for running credential_process.
      appendFileSync(
        awsConfig,
        `\n[profile ${STATIC_PROFILE}]\nregion = us-east-1\naws_access_key_id = ${warm.AccessKeyId}\n` +
          `aws_secret_access_key = ${warm.SecretAccessKey}\naws_session_token = ${warm.SessionToken}\n`,
      );
      const callerIdentity = (profile: string) => async () => {
        const out = await run(
          AWS,
          [
            "sts",
            "get-caller-identity",
            "--profile",
            profile,
            "--endpoint-url",
            emulator!.url,
            "--output",
            "json",
          ],
          env,
        );
        const arn = (JSON.parse(out) as { Arn?: string }).Arn ?? "";
        if (arn !== `arn:aws:sts::333333333333:assumed-role/Developer/${ALICE}`)
          throw new Error(`aws --profile ${profile} is ${arn || out}`);
      };
      await comparePair(ctx, {
        baseline: {
          name: "cli.aws.static-keys",
          label: "aws sts get-caller-identity, static keys",
          note: "aws, profile with static keys",
          op: callerIdentity(STATIC_PROFILE),
        },
        subject: {
          name: "cli.aws.credential-process",
          label: "aws sts get-caller-identity via credential_process",
          note: `aws --profile ${PROFILE}`,
          op: callerIdentity(PROFILE),
        },
        goal: AWS_GOAL,
        iterations: 30,
        warmup: 2,
        rounds: 15,
        maxSeconds: 120,
      });
    } finally {
      clearInterval(keepRolesFresh);
      await service?.stop();
      await broker?.stop();
      await idp?.close();
      await emulator?.close();
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    }
  },
});
