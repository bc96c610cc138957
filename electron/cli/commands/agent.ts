// `gatehouse agent [stop|status]`: run the agent headless (foreground), stop it, or show whether it runs.

import { startAgentService } from "../../agent/service.ts";
import { agentRequest, noAgent, socketPath } from "../agent-client.mjs";
import { flags, helped } from "../io.ts";

export const USAGE =
  "usage: gatehouse agent [stop | status]   (runs the agent in the foreground; the CLI starts it by itself when needed)";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Stops the running agent and returns once its process is gone, so a new one can start straight after. */
export async function stopAgent(): Promise<number | "not-running" | "stuck"> {
  let pid: number;
  try {
    pid = ((await agentRequest("GET", "/v1/status")) as { pid: number }).pid;
  } catch (e) {
    if (!noAgent(e)) throw e;
    return "not-running";
  }
  await agentRequest("POST", "/v1/shutdown", {}).catch(() => undefined);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && alive(pid)) await new Promise((r) => setTimeout(r, 50));
  return alive(pid) ? "stuck" : pid;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = flags(argv, {}, USAGE);
  if (values.help) return helped(USAGE);
  const [sub] = positionals;
  if (sub === "stop") {
    const stopped = await stopAgent();
    if (stopped === "not-running") console.log("gatehouse agent not running");
    else if (stopped === "stuck") {
      console.error("gatehouse: the agent is still running after 10 s [AGENT_UNREACHABLE]");
      return 1;
    } else console.log(`gatehouse agent stopped (pid ${stopped})`);
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
