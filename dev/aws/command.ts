// `gatehouse-dev aws`: flags → a started emulator that prints its URL and stops cleanly on a signal.

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { GatehouseError } from "../../shared/errors.ts";
import { reportStartFailure, stopOnSignals } from "../serve.ts";
import { type FaultConfig, parseThrottleFlag } from "./faults.ts";
import { generateWorld, loadFixture, parseGenerateSpec } from "./fixture.ts";
import { World } from "./model.ts";
import { startEmulator } from "./server.ts";

const USAGE = `usage: gatehouse-dev aws [options]

  --port N              port to listen on (default 7422; 0 picks a free one)
  --host ADDR           address to bind (default 127.0.0.1)
  --fixture FILE        organisation to load (default dev/fixtures/demo.yaml)
  --generate SPEC       build a large organisation instead: accounts=N,roles=M,users=K[,ous=J]
                        (ous=J adds an AWS Organization with J OUs over the accounts)
  --state FILE          keep IAM changes and sessions in FILE across restarts (loaded when it exists)
  --latency MS          delay every API call
  --failure-rate P      fail this share (0..1) of calls with 503 ServiceUnavailable
  --throttle SPEC       ACCOUNT|*:ACTION|*:PROBABILITY or ACCOUNT|*:ACTION|*:N/s (repeatable)
  --https-proxy DIR     also act as an HTTPS proxy for *.amazonaws.com, with a CA written to DIR/ca.pem
                        (for tools that cannot be pointed at an endpoint, e.g. the CLI's assume-role profiles)

Fault settings can be changed at run time: PUT /__admin/faults (loopback only).`;

export interface AwsCommandInput {
  port: number;
  host: string;
  fixture?: string;
  generate?: string;
  state?: string;
  faults: FaultConfig;
  httpsProxyDir?: string;
}

export function parseAwsArgs(argv: string[]): AwsCommandInput | "help" {
  let values: ReturnType<typeof parse>["values"];
  function parse() {
    return parseArgs({
      args: argv,
      strict: true,
      options: {
        port: { type: "string", default: "7422" },
        host: { type: "string", default: "127.0.0.1" },
        fixture: { type: "string" },
        generate: { type: "string" },
        state: { type: "string" },
        latency: { type: "string" },
        "failure-rate": { type: "string" },
        throttle: { type: "string", multiple: true },
        "https-proxy": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  }
  try {
    values = parse().values;
  } catch (e) {
    throw new GatehouseError("BAD_ARGUMENT", (e as Error).message);
  }
  if (values.help) return "help";
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new GatehouseError("BAD_ARGUMENT", `--port must be 0-65535; got "${values.port}"`);
  }
  if (values.fixture && values.generate) {
    throw new GatehouseError("BAD_ARGUMENT", "--fixture and --generate cannot be used together");
  }
  const latency = values.latency === undefined ? 0 : Number(values.latency);
  if (!Number.isInteger(latency) || latency < 0)
    throw new GatehouseError("BAD_ARGUMENT", "--latency must be whole milliseconds");
  const failureRate = values["failure-rate"] === undefined ? 0 : Number(values["failure-rate"]);
  if (!(failureRate >= 0 && failureRate <= 1))
    throw new GatehouseError("BAD_ARGUMENT", "--failure-rate must be between 0 and 1");
  let throttles: FaultConfig["throttles"];
  try {
    throttles = (values.throttle ?? []).map(parseThrottleFlag);
  } catch (e) {
    throw new GatehouseError("BAD_ARGUMENT", (e as Error).message);
  }
  if (values.generate) parseGenerateSpec(values.generate);
  return {
    port,
    host: values.host!,
    ...(values.fixture ? { fixture: values.fixture } : {}),
    ...(values.generate ? { generate: values.generate } : {}),
    ...(values.state ? { state: values.state } : {}),
    ...(values["https-proxy"] ? { httpsProxyDir: values["https-proxy"] } : {}),
    faults: { latencyMs: latency, failureRate, throttles },
  };
}

export const DEMO_FIXTURE = resolve(import.meta.dirname, "../fixtures/demo.yaml");

export function buildWorld(input: Pick<AwsCommandInput, "fixture" | "generate" | "state">): World {
  let world: World;
  if (input.state && existsSync(input.state)) world = World.fromStateFile(input.state);
  else if (input.generate) world = generateWorld(parseGenerateSpec(input.generate));
  else world = loadFixture(input.fixture ?? DEMO_FIXTURE);
  if (input.state) {
    world.attachStateFile(input.state);
    world.persist();
  }
  return world;
}

export async function runAwsCommand(argv: string[]): Promise<void> {
  let input: AwsCommandInput | "help";
  try {
    input = parseAwsArgs(argv);
    if (input === "help") {
      console.log(USAGE);
      return;
    }
    const world = buildWorld(input);
    const emulator = await startEmulator({ world, host: input.host, port: input.port });
    emulator.faults.set(input.faults);
    let proxyNote = "";
    if (input.httpsProxyDir) {
      const { enableHttpsProxy } = await import("./https-proxy.ts");
      const ca = await enableHttpsProxy(emulator.server, input.httpsProxyDir);
      proxyNote = `, https proxy for *.amazonaws.com (CA ${ca})`;
    }
    let roles = 0;
    let users = 0;
    for (const a of world.accounts.values()) {
      roles += a.roles.size;
      users += a.users.size;
    }
    console.log(
      `gatehouse-dev aws listening on ${emulator.url} (${world.accounts.size} accounts, ${roles} roles, ${users} users${proxyNote})`,
    );
    stopOnSignals("aws", async () => {
      await emulator.close();
      world.persist();
    });
  } catch (e) {
    reportStartFailure("aws", e);
  }
}
