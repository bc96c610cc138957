// `gatehouse status [--json]`: who is signed in, the broker, cached credentials.

import type { AgentStatus } from "../../agent/agent.ts";
import { agent, flags, helped, one, print, printJson } from "../io.ts";

export const USAGE = "usage: gatehouse status [--json]";

function left(iso: string): string {
  const s = Math.max(0, Math.round((Date.parse(iso) - Date.now()) / 1000));
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
    : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = flags(argv, { json: { type: "boolean" } }, USAGE);
  if (values.help) return helped(USAGE);
  const s = await agent<AgentStatus>("GET", "/v1/status");
  if (values.json) {
    printJson(s);
    return 0;
  }
  print(
    s.signedIn
      ? `Signed in as ${one(s.email ?? "")}${s.groups.length ? ` (${s.groups.map(one).join(", ")})` : ""}\n`
      : "Not signed in (gatehouse login)\n",
  );
  const reach =
    s.brokerReachable === null ? "not contacted yet" : s.brokerReachable ? "reachable" : "UNREACHABLE";
  print(`Broker ${one(s.brokerUrl ?? "")}: ${reach}\n`);
  for (const c of s.cached) print(`  ${one(c.role)}: credentials valid for ${left(c.expiration)}\n`);
  return s.signedIn ? 0 : 3;
}
