// What clients and the broker need to know about the development IdP, without loading oidc-provider.

/** `aud` of every access token the IdP issues: what the broker must be configured to expect. */
export const BROKER_AUDIENCE = "gatehouse-broker";
/**
 * The resource indicator (RFC 8707) that stands for the broker. Resource indicators must be absolute URIs, so
 * this is not the audience itself; clients need not send it: it is the default for every request.
 */
export const BROKER_RESOURCE = "urn:gatehouse:broker";
export const DESKTOP_CLIENT_ID = "gatehouse-desktop";
/** Registered redirect URI; any port is accepted on it (RFC 8252 §7.3). */
export const DESKTOP_REDIRECT_URI = "http://127.0.0.1/callback";
export const IDP_SCOPES = ["openid", "email", "profile", "groups", "offline_access"] as const;
export const DEFAULT_IDP_PORT = 7421;
export const DEFAULT_ACCESS_TOKEN_TTL = 600;

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || h === "[::1]" || /^127(\.\d{1,3}){3}$/.test(h);
}
