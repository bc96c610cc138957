// `gatehouse-dev stack` (`npm start`): the whole demo on one machine — the AWS emulator, the dev IdP
// and the broker configured for them — each a real server on loopback, stopped together.

import { createWriteStream, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { startBroker } from "../broker/app.ts";
import { loadConfig } from "../broker/config.ts";
import { GatehouseError } from "../shared/errors.ts";
import { buildWorld, DEMO_FIXTURE } from "./aws/command.ts";
import { startEmulator } from "./aws/server.ts";
import { startIdp } from "./idp/provider.ts";

const USAGE = `usage: gatehouse-dev stack [--auto-login EMAIL] [--fresh]

Starts on 127.0.0.1: the AWS emulator (:7422, demo organisation, state in .tmp/demo/),
the development IdP (:7421, users alice/bob/carol/dave@example.com) and the broker (:7420,
dev/gatehouse.demo.yaml). Stop with Ctrl-C.

  --auto-login EMAIL   the IdP signs every login in as EMAIL without its form
  --fresh              forget the emulator's saved state and start from the demo fixture`;

export async function runStack(argv: string[]): Promise<void> {
  let values: { "auto-login"?: string; fresh?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        "auto-login": { type: "string" },
        fresh: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    console.error(`gatehouse-dev stack: ${(e as Error).message} [BAD_ARGUMENT]\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const root = resolve(import.meta.dirname, "..");
  const stateDir = resolve(root, ".tmp/demo");
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const statePath = resolve(stateDir, "aws-state.json");
  if (values.fresh) {
    const { rmSync } = await import("node:fs");
    rmSync(statePath, { force: true });
  }
  try {
    const world = buildWorld({ fixture: DEMO_FIXTURE, state: statePath });
    const aws = await startEmulator({ world, port: 7422 });
    const idp = await startIdp({
      port: 7421,
      ...(values["auto-login"] ? { autoLogin: values["auto-login"] } : {}),
    });
    const config = loadConfig(resolve(root, "dev/gatehouse.demo.yaml"));
    // The broker's JSON log goes to a file so that this terminal stays readable.
    const logPath = resolve(stateDir, "broker.log");
    const broker = await startBroker(config, {
      logStream: createWriteStream(logPath, { flags: "a", mode: 0o600 }),
    });
    await broker.syncer.syncAll();
    console.log(`gatehouse demo stack is up:
  AWS emulator  ${aws.url}   (demo organisation; IAM changes kept in ${statePath})
  IdP           ${idp.issuer}   (alice, bob, carol, dave @example.com${values["auto-login"] ? `; auto-login ${values["auto-login"]}` : ""})
  broker        ${broker.url}   (dev/gatehouse.demo.yaml; database ${config.database}; log ${logPath})

Try: TOKEN=$(npx gatehouse-dev token alice@example.com)
     curl -s -H "Authorization: Bearer $TOKEN" ${broker.url}/v1/roles
The desktop agent and tray app join this stack in later releases. Ctrl-C stops everything.`);
    const stop = async (signal: string) => {
      await broker.close();
      await idp.close();
      await aws.close();
      world.persist();
      console.error(`gatehouse-dev stack: stopped on ${signal}`);
      process.exit(0);
    };
    process.once("SIGINT", () => void stop("SIGINT"));
    process.once("SIGTERM", () => void stop("SIGTERM"));
  } catch (e) {
    if (e instanceof GatehouseError) {
      console.error(`gatehouse-dev stack: ${e.message} [${e.code}]`);
      process.exitCode = 2;
      return;
    }
    if ((e as { code?: string }).code === "EADDRINUSE") {
      console.error(
        "gatehouse-dev stack: a port of the stack (7420-7422) is already in use [ADDRESS_IN_USE]",
      );
      process.exitCode = 1;
      process.exit(1);
    }
    throw e;
  }
}
