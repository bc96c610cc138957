// Doctor: the agent — answering on its socket, the socket and home private to this user, the same version as this CLI.

import { statSync } from "node:fs";
import { agentRequest, noAgent } from "../../cli/agent-client.mjs";
import { type Check, type DoctorContext, type Finding, fail, ok, skip, warn } from "./check.ts";

export interface AgentStatusLike {
  pid: number;
  version?: string;
  signedIn: boolean;
  email: string | null;
}

/** What is wrong with a socket's or directory's mode and owner, or undefined. Pure. */
export function privacyProblem(
  what: string,
  st: { mode: number; uid: number },
  want: number,
  uid: number | undefined,
): string | undefined {
  const mode = st.mode & 0o777;
  if (uid !== undefined && st.uid !== uid) return `${what} belongs to user ${st.uid}, not you (${uid})`;
  if ((mode & 0o077) !== 0)
    return `${what} is ${mode.toString(8).padStart(4, "0")}: other users could ask it for your credentials (must be ${want.toString(8).padStart(4, "0")})`;
  return undefined;
}

const RESTART = "restart the agent: `gatehouse agent stop`, then any gatehouse command starts it again";

export const agentCheck: Check = {
  id: "agent",
  async run(ctx: DoctorContext): Promise<Finding[]> {
    let status: AgentStatusLike;
    try {
      status = (await agentRequest("GET", "/v1/status", undefined, ctx.env)) as AgentStatusLike;
    } catch (e) {
      if (!noAgent(e))
        return [fail("agent", `the agent does not answer properly: ${(e as Error).message}`, RESTART)];
      const start =
        "start it: open the Gatehouse app or run `gatehouse agent` (gatehouse commands also start it by themselves" +
        (ctx.env.GATEHOUSE_NO_AUTOSTART === "1" ? ", but GATEHOUSE_NO_AUTOSTART=1 is set here)" : ")");
      const line = `the agent is not running (no answer on ${ctx.paths.socket})`;
      return [
        ctx.env.GATEHOUSE_NO_AUTOSTART === "1" ? fail("agent", line, start) : warn("agent", line, start),
        skip("agent.socket", "no socket to check"),
        skip("agent.version", "no agent to compare with"),
      ];
    }
    ctx.memo.set("agentStatus", status);
    const out: Finding[] = [ok("agent", `running (pid ${status.pid}) on ${ctx.paths.socket}`)];
    if (process.platform === "win32") out.push(skip("agent.socket", "a named pipe (Windows)"));
    else {
      const uid = process.getuid?.();
      const problem =
        privacyProblem(ctx.paths.home, statSync(ctx.paths.home), 0o700, uid) ??
        privacyProblem(`the socket ${ctx.paths.socket}`, statSync(ctx.paths.socket), 0o600, uid);
      out.push(
        problem
          ? fail("agent.socket", problem, `${RESTART} (it creates the socket 0600 in a 0700 home)`)
          : ok("agent.socket", "socket 0600 in a 0700 home, yours"),
      );
    }
    out.push(
      status.version === ctx.version
        ? ok("agent.version", `version ${status.version}, the same as this CLI`)
        : fail(
            "agent.version",
            `the agent is version ${status.version ?? "unknown (older than 0.1.0's doctor)"}, this CLI ${ctx.version}`,
            `${RESTART}, so that the agent of this release runs`,
          ),
    );
    return out;
  },
};
