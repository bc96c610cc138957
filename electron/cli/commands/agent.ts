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

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = flags(argv, {}, USAGE);
  if (values.help) return helped(USAGE);
  const [sub] = positionals;
  if (sub === "stop") {
    let pid: number;
    try {
      pid = ((await agentRequest("GET", "/v1/status")) as { pid: number }).pid;
    } catch (e) {
      if (!noAgent(e)) throw e;
      console.log("gatehouse agent not running");
      return 0;
    }
    await agentRequest("POST", "/v1/shutdown", {}).catch(() => undefined);
    // Returns once the process is gone, so a script can start another one straight after.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && alive(pid)) await new Promise((r) => setTimeout(r, 50));
    if (alive(pid)) {
      console.error(`gatehouse: the agent (pid ${pid}) is still running after 10 s [AGENT_UNREACHABLE]`);
      return 1;
    }
    console.log(`gatehouse agent stopped (pid ${pid})`);
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
