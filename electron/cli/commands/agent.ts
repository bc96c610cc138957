// `gatehouse agent [stop|status]`: run the agent headless (foreground), stop it, or show whether it runs.

import { startAgentService } from "../../agent/service.ts";
import { agentRequest, socketPath } from "../agent-client.mjs";
import { flags, helped } from "../io.ts";

export const USAGE =
  "usage: gatehouse agent [stop | status]   (runs the agent in the foreground; the CLI starts it by itself when needed)";

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = flags(argv, {}, USAGE);
  if (values.help) return helped(USAGE);
  const [sub] = positionals;
  if (sub === "stop") {
    await agentRequest("POST", "/v1/shutdown", {}).catch(() => undefined);
    console.log("gatehouse agent stopped");
    return 0;
  }
  if (sub === "status") {
    try {
      const s = (await agentRequest("GET", "/v1/status")) as { pid: number };
      console.log(`gatehouse agent running (pid ${s.pid}) on ${socketPath()}`);
      return 0;
    } catch {
      console.log("gatehouse agent not running");
      return 3;
    }
  }
  const service = await startAgentService(process.env, { onShutdown: () => process.exit(0) });
  console.error(`gatehouse agent listening on ${service.paths.socket} (pid ${process.pid})`);
  const stop = async () => {
    await service.stop();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
  return -1;
}
