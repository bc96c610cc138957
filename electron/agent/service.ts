// Builds and runs the agent from GATEHOUSE_HOME: settings, token store, session, broker client, agent
// core and its local endpoint. `gatehouse agent` runs this headless; the tray app will host the same.

import { existsSync } from "node:fs";
import { GatehouseError } from "../../shared/errors.ts";
import { Agent } from "./agent.ts";
import { BrokerClient } from "./broker-client.ts";
import { withClientConfig } from "./client-config.ts";
import { type Endpoint, startEndpoint } from "./endpoint.ts";
import { type AgentPaths, agentPaths, ensureHome } from "./home.ts";
import { Session } from "./session.ts";
import { loadSettings, pinnedKeys } from "./settings.ts";
import { defaultBrowserOpener } from "./signin.ts";
import { openTokenStore } from "./token-store.ts";

export interface AgentService {
  agent: Agent;
  endpoint: Endpoint;
  paths: AgentPaths;
  /** Open sign-in URLs with this function instead of the browser (for `gatehouse login --no-browser`). */
  setOpener(open: ((url: string) => void) | undefined): void;
  stop(): Promise<void>;
}

export async function startAgentService(
  env: NodeJS.ProcessEnv = process.env,
  opts: { warn?: (msg: string) => void; onShutdown?: () => void } = {},
): Promise<AgentService> {
  const paths = agentPaths(env);
  ensureHome(paths);
  // Pinned sign-in settings win; the rest come from the broker, asked on first run and when its URL changes.
  const settings = await withClientConfig(paths, loadSettings(paths), pinnedKeys(paths));
  const store = await openTokenStore(settings, paths, {
    warn: opts.warn ?? ((m) => console.error(`gatehouse agent: ${m}`)),
  });
  const browser = defaultBrowserOpener(env);
  let override: ((url: string) => void) | undefined;
  const session = new Session({
    settings,
    store,
    openBrowser: (url: string) => (override ? override(url) : browser(url)),
  });
  const broker = new BrokerClient(settings.brokerUrl, session, () => existsSync(paths.signedInMarker));
  const agent = new Agent(settings, session, broker, { env, signedInMarker: paths.signedInMarker });
  // Profiles written by an agent that ran from elsewhere (an older install, npm, the binary before it was
  // put on PATH) would call a command that may be gone: point them at this one.
  try {
    agent.retargetAwsConfig();
  } catch (e) {
    (opts.warn ?? ((m) => console.error(`gatehouse agent: ${m}`)))(
      `the AWS config file's profiles could not be updated: ${(e as Error).message}`,
    );
  }
  let stopping: Promise<void> | undefined;
  const service: AgentService = {
    agent,
    paths,
    endpoint: undefined as unknown as Endpoint,
    setOpener: (open) => {
      override = open;
    },
    stop: () => {
      stopping ??= service.endpoint.close();
      return stopping;
    },
  };
  try {
    service.endpoint = await startEndpoint(agent, paths.socket, service, () => {
      void service.stop().then(() => opts.onShutdown?.());
    });
  } catch (e) {
    if (e instanceof GatehouseError) throw e;
    throw new GatehouseError(
      "INTERNAL",
      `the agent could not listen on ${paths.socket}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return service;
}
