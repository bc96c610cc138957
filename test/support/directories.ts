// Brokers whose groups come from a directory stand-in (dev/directories), and the requests tests make of them.

import type { JWTPayload } from "jose";
import { type StartedBroker, startTestBroker } from "./broker.ts";
import type { TestIssuer } from "./test-issuer.ts";

/** Start a broker with `oidc.groups_source: source` and the `directory:` block's lines. */
export function startDirectoryBroker(o: {
  issuer: TestIssuer;
  awsUrl: string;
  source: "google_directory" | "microsoft_graph" | "okta_api";
  /** Lines inside `directory:` (two-space indented by this helper). */
  directory: string;
}): Promise<StartedBroker> {
  const lines = o.directory
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => `  ${l}`)
    .join("\n");
  return startTestBroker({
    issuer: o.issuer.issuer,
    awsUrl: o.awsUrl,
    oidcExtra: `groups_source: ${o.source}`,
    extra: `directory:\n${lines}\n`,
  });
}

/** A token for the broker carrying `claims` (and no groups claim unless given). */
export const tokenFor = (issuer: TestIssuer, claims: JWTPayload) =>
  issuer.sign({ aud: "gatehouse-broker", iss: issuer.issuer, ...claims });

export async function get(broker: { url: string }, path: string, token: string) {
  const res = await fetch(`${broker.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return {
    status: res.status,
    json: (await res.json()) as Record<string, unknown> & { code?: string; detail?: string },
  };
}

export async function post(broker: { url: string }, path: string, token: string, body: unknown) {
  const res = await fetch(`${broker.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    json: (await res.json()) as Record<string, unknown> & { code?: string; detail?: string },
  };
}

/** The refs of the roles the token's person may use. */
export async function roleRefs(broker: { url: string }, token: string): Promise<string[]> {
  const r = await get(broker, "/v1/roles", token);
  if (r.status !== 200) throw new Error(`/v1/roles answered ${r.status}: ${JSON.stringify(r.json)}`);
  return (r.json.roles as { ref: string }[]).map((x) => x.ref).sort();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
