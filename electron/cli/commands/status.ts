// `gatehouse status [--json]`: who is signed in, the broker, cached credentials.

import type { AgentStatus } from "../../agent/agent.ts";
import { agent, flags, helped } from "../io.ts";

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
  if (values.json) return helped(JSON.stringify(s, null, 2));
  console.log(
    s.signedIn
      ? `Signed in as ${s.email}${s.groups.length ? ` (${s.groups.join(", ")})` : ""}`
      : "Not signed in (gatehouse login)",
  );
  const reach =
    s.brokerReachable === null ? "not contacted yet" : s.brokerReachable ? "reachable" : "UNREACHABLE";
  console.log(`Broker ${s.brokerUrl}: ${reach}`);
  for (const c of s.cached) console.log(`  ${c.role}: credentials valid for ${left(c.expiration)}`);
  return s.signedIn ? 0 : 3;
}
