// `gatehouse-dev stack` (`npm start`): the whole demo on one machine — the AWS emulator, the dev IdP, the
// broker configured for them and a desktop agent — each a real server on loopback, all state in one demo
// directory (never the user's ~/.gatehouse or ~/.aws/config), stopped together. With --postgres the broker
// is two replicas on one private PostgreSQL cluster behind the dev load balancer (dev/lb.ts), which takes
// the broker's port, so that desktops see one URL as they would in a replicated deployment.

import { createWriteStream, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { startBroker } from "../broker/app.ts";
import { loadConfig } from "../broker/config.ts";
import { socketAlive } from "../electron/agent/endpoint.ts";
import { startAgentService } from "../electron/agent/service.ts";
import { GatehouseError } from "../shared/errors.ts";
import { buildWorld, DEMO_FIXTURE } from "./aws/command.ts";
import { startEmulator } from "./aws/server.ts";
import { startIdp } from "./idp/provider.ts";
import { type ReplicatedBroker, startReplicatedBroker } from "./stack-replicas.ts";
import { tryStartTrayApp } from "./tray-launch.ts";

const USAGE = `usage: gatehouse-dev stack [options]

Starts on 127.0.0.1 the AWS emulator, the development IdP, the broker (dev/gatehouse.demo.yaml) and a
desktop agent, with all state in .tmp/demo/. Stop with Ctrl-C.

  --aws-port N         emulator port (default 7422)
  --idp-port N         IdP port (default 7421)
  --broker-port N      broker port (default 7420); with --postgres, the load balancer's
  --postgres           two brokers on a private PostgreSQL cluster behind a round-robin load balancer
                       (the cluster lives in a temporary folder and is removed on Ctrl-C)
  --auto-login EMAIL   the IdP signs every login in as EMAIL without its form
  --dir DIR            demo directory (default .tmp/demo)
  --fresh              forget the demo directory's saved state first`;

function port(value: string | undefined, fallback: number, name: string): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new GatehouseError("BAD_ARGUMENT", `--${name} must be 1-65535`);
  return n;
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

export async function runStack(argv: string[]): Promise<void> {
  try {
    let values: Record<string, string | boolean | undefined>;
    try {
      ({ values } = parseArgs({
        args: argv,
        strict: true,
        options: {
          "aws-port": { type: "string" },
          "idp-port": { type: "string" },
          "broker-port": { type: "string" },
          "auto-login": { type: "string" },
          dir: { type: "string" },
          fresh: { type: "boolean" },
          postgres: { type: "boolean" },
          help: { type: "boolean", short: "h" },
        },
      }));
    } catch (e) {
      throw new GatehouseError("BAD_ARGUMENT", `${(e as Error).message}\n\n${USAGE}`);
    }
    if (values.help) {
      console.log(USAGE);
      return;
    }
    const awsPort = port(values["aws-port"] as string | undefined, 7422, "aws-port");
    const idpPort = port(values["idp-port"] as string | undefined, 7421, "idp-port");
    const brokerPort = port(values["broker-port"] as string | undefined, 7420, "broker-port");
    const root = resolve(import.meta.dirname, "..");
    const dir = resolve((values.dir as string | undefined) ?? resolve(root, ".tmp/demo"));
    const home = resolve(dir, "home");
    const awsConfig = resolve(dir, "aws-config");
    const statePath = resolve(dir, "aws-state.json");

    // A second stack says so instead of failing on a busy port.
    if (
      (await answers(`http://127.0.0.1:${brokerPort}/healthz`)) ||
      (await socketAlive(resolve(home, "agent.sock")))
    ) {
      console.error(
        `gatehouse-dev stack: a demo stack is already running (broker on :${brokerPort}, agent in ${home}); stop it with Ctrl-C first [ADDRESS_IN_USE]`,
      );
      process.exitCode = 1;
      return;
    }
    if (values.fresh) rmSync(dir, { recursive: true, force: true });
    mkdirSync(home, { recursive: true, mode: 0o700 });

    const world = buildWorld({ fixture: DEMO_FIXTURE, state: statePath });
    const aws = await startEmulator({ world, port: awsPort });
    const autoLogin = values["auto-login"] as string | undefined;
    const idp = await startIdp({ port: idpPort, ...(autoLogin ? { autoLogin } : {}) });
    const config = loadConfig(resolve(root, "dev/gatehouse.demo.yaml"));
    config.listen.port = brokerPort;
    config.oidc.issuer = idp.issuer;
    config.aws.endpoint = aws.url;
    config.aws.federation_url = `${aws.url}/federation`;
    // The broker's JSON log goes to a file so that this terminal stays readable.
    const brokerLog = resolve(dir, "broker.log");
    let broker: { url: string; close(): Promise<void> };
    let replicated: ReplicatedBroker | undefined;
    if (values.postgres) {
      try {
        replicated = await startReplicatedBroker(config, dir, brokerPort);
      } catch (e) {
        // What started before the brokers stops too, so that the error is the last word.
        await idp.close();
        await aws.close();
        throw e;
      }
      const lb = replicated.lb;
      broker = { url: lb.url, close: () => replicated!.stop() };
    } else {
      config.database = resolve(dir, "broker.sqlite");
      const one = await startBroker(config, {
        logStream: createWriteStream(brokerLog, { flags: "a", mode: 0o600 }),
      });
      await one.syncer.syncAll();
      broker = one;
    }

    // The demo agent: its own home and AWS config file; the dev IdP's tokens are worthless, so the demo
    // keeps them in a 0600 file (an explicit choice, printed below) and works where no keychain runs.
    const settingsPath = resolve(home, "settings.json");
    if (!existsSync(settingsPath)) {
      writeFileSync(
        settingsPath,
        `${JSON.stringify(
          {
            // Only the broker: it publishes the IdP, the client and the scopes (/v1/client-config).
            brokerUrl: broker.url,
            tokenStore: "file",
            manageAwsConfig: true,
            awsConfigFile: awsConfig,
            cliCommand: `node ${resolve(root, "bin/gatehouse.cjs")}`,
          },
          null,
          2,
        )}\n`,
        { mode: 0o600 },
      );
    }
    const agentEnv = { ...process.env, GATEHOUSE_HOME: home, AWS_CONFIG_FILE: awsConfig };
    // The tray app hosts the agent where Electron can start; otherwise a headless agent serves the same home.
    const tray = await tryStartTrayApp(agentEnv);
    const agent =
      tray === "started" ? undefined : await startAgentService(agentEnv, { warn: () => undefined });

    const gh = `node ${resolve(root, "bin/gatehouse.cjs")}`;
    const brokerLines = replicated
      ? [
          `  broker        ${broker.url}   the load balancer (dev/lb.ts): round robin over the ready brokers`,
          ...replicated.replicas.map((r) => `    ${r.name}    ${r.broker.url}   log ${r.log}`),
          `  PostgreSQL    ${replicated.database}   private cluster in ${replicated.cluster.dataDir}, removed on Ctrl-C`,
        ].join("\n")
      : `  broker        ${broker.url}   log ${brokerLog}`;
    console.log(`Gatehouse demo stack is up (state in ${dir}):
  AWS emulator  ${aws.url}   demo organisation: accounts prod 222222222222, staging 333333333333
  IdP           ${idp.issuer}   users alice, bob, carol, dave @example.com${autoLogin ? ` (auto-login ${autoLogin})` : " (type the e-mail at its form)"}
${brokerLines}
  agent         ${resolve(home, "agent.sock")}   ${agent ? "headless" : "in the tray app"}; refresh token in a demo file (tokenStore "file")
  tray app      ${tray === "started" ? "started" : tray.replace(/^tray app /, "")}

In another terminal:
  export GATEHOUSE_HOME=${home} AWS_CONFIG_FILE=${awsConfig}
  ${gh} login --no-browser        # open the URL, sign in as alice@example.com
  ${gh} roles                     # alice's roles; profiles are written to $AWS_CONFIG_FILE
  aws sts get-caller-identity --profile staging-Developer --endpoint-url ${aws.url}
Ctrl-C stops everything.${replicated ? "\nEach request through the load balancer is shown below with the broker that served it." : ""}`);
    replicated?.announce((line) => console.log(line));
    const stop = async (signal: string) => {
      await agent?.stop();
      await broker.close();
      await idp.close();
      await aws.close();
      world.persist();
      console.error(`gatehouse-dev stack: stopped on ${signal}`);
      process.exit(0);
    };
    replicated?.handOverSignals();
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
        "gatehouse-dev stack: a port of the stack is already in use by another program [ADDRESS_IN_USE]",
      );
      process.exit(1);
    }
    throw e;
  }
}
