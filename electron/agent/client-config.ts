// The agent's sign-in settings: those pinned in settings.json win (managed deployments); the rest come from
// what the broker publishes at /v1/client-config, read on first run and whenever the broker URL changes.

import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { type ClientConfig, clientConfigSchema } from "../../shared/api.ts";
import { GatehouseError } from "../../shared/errors.ts";
import type { AgentPaths } from "./home.ts";
import { type Settings, SIGN_IN_KEYS } from "./settings.ts";

/**
 * The broker's published settings; null when it publishes none (no oidc.client_id). Anything else that is not a
 * valid answer is BROKER_UNREACHABLE: the desktop must not sign in to an IdP it was not told about.
 */
export async function fetchClientConfig(brokerUrl: string): Promise<ClientConfig | null> {
  const url = `${brokerUrl.replace(/\/+$/, "")}/v1/client-config`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000), redirect: "error" });
  } catch (e) {
    throw new GatehouseError("BROKER_UNREACHABLE", `${url} could not be reached`, { cause: e });
  }
  const body = (await res.json().catch(() => undefined)) as { code?: unknown } | undefined;
  if (res.status === 404 && body?.code === "CLIENT_CONFIG_UNAVAILABLE") return null;
  const parsed = clientConfigSchema.safeParse(body);
  if (res.status !== 200 || !parsed.success)
    throw new GatehouseError(
      "BROKER_UNREACHABLE",
      `${url} answered ${res.status} without sign-in settings: is ${brokerUrl} a Gatehouse broker?`,
    );
  return parsed.data;
}

interface CachedClientConfig {
  brokerUrl: string;
  config: ClientConfig | null;
}

function readCache(paths: AgentPaths): CachedClientConfig | undefined {
  if (!existsSync(paths.clientConfig)) return undefined;
  try {
    const raw = JSON.parse(readFileSync(paths.clientConfig, "utf8")) as CachedClientConfig;
    const config = raw.config === null ? null : clientConfigSchema.parse(raw.config);
    return typeof raw.brokerUrl === "string" ? { brokerUrl: raw.brokerUrl, config } : undefined;
  } catch {
    return undefined; // a broken cache is asked again
  }
}

function writeCache(paths: AgentPaths, entry: CachedClientConfig): void {
  const tmp = `${paths.clientConfig}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(entry, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, paths.clientConfig);
}

/** The broker's published settings as settings keys, without the ones settings.json pins. */
export function overlay(config: ClientConfig, pinned: ReadonlySet<string>): Partial<Settings> {
  const published: Partial<Settings> = {
    issuer: config.issuer,
    clientId: config.clientId,
    scopes: config.scopes.join(" "),
    authorizationParams: config.authorizationParams,
    token: config.token,
    ...(config.clientSecret ? { clientSecret: config.clientSecret } : {}),
  };
  for (const key of SIGN_IN_KEYS) if (pinned.has(key)) delete published[key];
  return published;
}

/**
 * Settings with the broker's sign-in settings filled in. The broker is asked only when nothing is cached for its
 * URL. When settings.json pins the issuer and client id, the broker is not needed; otherwise a broker that cannot
 * be asked is an error (never a silent fall-back to another IdP).
 */
export async function withClientConfig(
  paths: AgentPaths,
  settings: Settings,
  pinned: ReadonlySet<string>,
): Promise<Settings> {
  if (pinned.has("issuer") && pinned.has("clientId") && pinned.has("token")) return settings;
  let cached = readCache(paths);
  if (cached?.brokerUrl !== settings.brokerUrl) {
    try {
      cached = { brokerUrl: settings.brokerUrl, config: await fetchClientConfig(settings.brokerUrl) };
    } catch (e) {
      // A pinned issuer is enough to sign in (with the default client); the broker is asked again next start.
      if (pinned.has("issuer")) return settings;
      throw e;
    }
    writeCache(paths, cached);
  }
  return cached.config ? { ...settings, ...overlay(cached.config, pinned) } : settings;
}
