// Which URLs the tray app may hand to the system browser (shell.openExternal) or show in a console
// window: https on a known host only. Plain Node, no Electron import, so it is unit-tested as is.
//
// Known hosts: AWS's own sign-in and console hosts, and the hosts this install is configured with (the
// broker, and the IdP that sign-in opens). Plain http only on the loopback address, and only when the
// configured broker is itself on loopback (the demo stack: broker, IdP and emulator on 127.0.0.1).

/** AWS hosts a federated console URL leads to: the sign-in endpoint, then the console. */
const AWS_HOSTS = new Set(["signin.aws.amazon.com", "console.aws.amazon.com"]);
/** Every host below this suffix is AWS's own (regional consoles, service consoles, docs). */
const AWS_SUFFIX = ".aws.amazon.com";

const LOOPBACK = new Set(["127.0.0.1", "[::1]"]);

export interface ExternalUrlPolicy {
  /** Hosts of this install's configuration (lower case, no port): the broker's, the IdP's. */
  hosts: readonly string[];
  /** Allow http and https to the loopback address (any port): true only for a loopback broker. */
  allowLoopback: boolean;
}

/** The policy for the agent's settings: their broker and IdP hosts; loopback only for a loopback broker. */
export function externalUrlPolicy(settings: { brokerUrl: string; issuer: string }): ExternalUrlPolicy {
  const hosts: string[] = [];
  let allowLoopback = false;
  for (const configured of [settings.brokerUrl, settings.issuer]) {
    const u = URL.parse(configured);
    if (!u) continue;
    if (u.protocol === "https:" && !LOOPBACK.has(u.hostname)) hosts.push(u.hostname.toLowerCase());
  }
  const broker = URL.parse(settings.brokerUrl);
  if (broker && LOOPBACK.has(broker.hostname)) allowLoopback = true;
  return { hosts, allowLoopback };
}

/**
 * Whether `url` may be opened outside the app window: https to AWS's hosts or a configured host, or
 * (demo only) http(s) to 127.0.0.1 / [::1]. Never other schemes, never user:password@ URLs.
 */
export function isAllowedExternalUrl(url: string, policy: ExternalUrlPolicy): boolean {
  if (typeof url !== "string" || url.length > 8192) return false;
  const u = URL.parse(url);
  if (!u) return false;
  if (u.username !== "" || u.password !== "") return false;
  const host = u.hostname.toLowerCase();
  if (LOOPBACK.has(host)) return policy.allowLoopback && (u.protocol === "http:" || u.protocol === "https:");
  if (u.protocol !== "https:") return false;
  if (AWS_HOSTS.has(host) || host.endsWith(AWS_SUFFIX)) return true;
  return policy.hosts.includes(host);
}
