// Signing the person in through their system browser (RFC 8252): authorization code + PKCE S256 + state + nonce,
// redirected to a one-shot listener on the literal 127.0.0.1 with an ephemeral port.

import { spawn } from "node:child_process";
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import * as client from "openid-client";
import { GatehouseError } from "../../shared/errors.ts";

export type TokenResponse = client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;

export interface SignInOptions {
  issuer: string;
  clientId: string;
  /** Only for IdPs that want one from a desktop client (Google "Desktop app"). */
  clientSecret?: string | undefined;
  scopes: string;
  /** Extra authorization request parameters (Auth0's audience, Google's access_type). */
  authorizationParams?: Readonly<Record<string, string>>;
  /** Shows the authorization URL to the person: the system browser, or printing it (`--no-browser`). */
  openBrowser: (url: string) => Promise<void> | void;
  /** How long to wait for the person to finish in the browser. */
  timeoutMs: number;
  signal?: AbortSignal;
}

const LOOPBACK = "127.0.0.1";
const CALLBACK_PATH = "/callback";

function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === "localhost" || h === "[::1]" || /^127(\.\d{1,3}){3}$/.test(h);
}

/** Plain http is accepted only for an IdP on this machine (the dev IdP); anything else must be https. */
function checkIssuer(issuer: string): URL {
  const url = URL.parse(issuer);
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:"))
    throw new GatehouseError("SETTINGS_INVALID", `the issuer must be an https URL; got "${issuer}"`);
  if (url.protocol === "http:" && !isLoopbackHostname(url.hostname))
    throw new GatehouseError(
      "SETTINGS_INVALID",
      `the issuer ${issuer} uses plain http; only an IdP on this machine (127.0.0.1) may, others need https`,
    );
  return url;
}

/** Turns an openid-client failure into what the person should be told: the IdP is down, or it said no. */
export function idpError(e: unknown, doing: string): GatehouseError {
  if (e instanceof GatehouseError) return e;
  if (e instanceof client.ResponseBodyError) {
    const detail = e.error_description ? `${e.error}: ${e.error_description}` : e.error;
    if (e.status >= 500)
      return new GatehouseError("IDP_UNAVAILABLE", `${doing}: the IdP failed (${detail})`, { cause: e });
    return new GatehouseError("SIGNIN_FAILED", `${doing}: the IdP refused (${detail})`, { cause: e });
  }
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  // fetch reports a refused or reset connection as a TypeError; timeouts and 5xx come as these ClientError codes.
  if (
    e instanceof TypeError ||
    code === "OAUTH_TIMEOUT" ||
    code === "OAUTH_ABORT" ||
    code === "OAUTH_RESPONSE_IS_NOT_CONFORM" ||
    code === "OAUTH_RESPONSE_IS_NOT_JSON"
  ) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? message;
    return new GatehouseError("IDP_UNAVAILABLE", `${doing}: the IdP could not be reached (${why})`, {
      cause: e,
    });
  }
  return new GatehouseError("SIGNIN_FAILED", `${doing}: ${message}`, { cause: e });
}

/** Reads the issuer's discovery document (the issuer in it must be exactly the configured one). */
export async function discover(
  issuer: string,
  clientId: string,
  clientSecret?: string,
): Promise<client.Configuration> {
  const url = checkIssuer(issuer);
  try {
    // A public client authenticates with PKCE alone; Google's Desktop app clients also send their (non-)secret.
    const auth = clientSecret ? client.ClientSecretPost(clientSecret) : client.None();
    return await client.discovery(url, clientId, undefined, auth, {
      // Only for the loopback http issuer that checkIssuer let through; an https issuer keeps TLS-only requests.
      ...(url.protocol === "http:" ? { execute: [client.allowInsecureRequests] } : {}),
      timeout: 15,
    });
  } catch (e) {
    throw idpError(e, `discovery at ${issuer}`);
  }
}

const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A self-contained page (no scripts, images or links: nothing to load, nothing to leak the code to). */
function page(title: string, message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)} · Gatehouse</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:15vh auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}@media(prefers-color-scheme:dark){body{background:#1e1e1e;color:#eee}}</style>
</head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>
`;
}

function send(res: ServerResponse, status: number, title: string, message: string, close = false): void {
  res.writeHead(status, { ...PAGE_HEADERS, ...(close ? { connection: "close" } : {}) });
  res.end(page(title, message));
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    // The literal IPv4 loopback, never "localhost": that name may resolve elsewhere or to ::1 (RFC 8252 §8.3).
    server.listen(0, LOOPBACK, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** The browser may only be sent to the configured issuer's own authorization endpoint, over https (or loopback). */
function checkAuthorizationUrl(url: URL, config: client.Configuration): void {
  const endpoint = URL.parse(config.serverMetadata().authorization_endpoint ?? "");
  const safeScheme =
    url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHostname(url.hostname));
  if (!endpoint || url.origin !== endpoint.origin || url.pathname !== endpoint.pathname || !safeScheme)
    throw new GatehouseError(
      "SIGNIN_FAILED",
      `refusing to open ${url.origin}${url.pathname} in the browser: it is not the issuer's authorization endpoint`,
    );
}

/**
 * Runs one interactive sign-in and returns the IdP's tokens. The listener answers only GET /callback: a callback
 * without the right `state` gets a 400 page and the sign-in goes on waiting (whoever sent it cannot end or
 * steer it); the IdP's `error=` ends it with SIGNIN_FAILED; the first valid callback ends it and closes the
 * listener, so a replay finds nothing to connect to.
 */
export async function signIn(opts: SignInOptions): Promise<TokenResponse> {
  const { signal } = opts;
  const cancelled = () => new GatehouseError("SIGNIN_FAILED", "sign-in cancelled");
  if (signal?.aborted) throw cancelled();

  const config = await discover(opts.issuer, opts.clientId, opts.clientSecret);
  if (signal?.aborted) throw cancelled();

  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const wantsIdToken = opts.scopes.split(/\s+/).includes("openid");

  let settle!: { resolve: (t: TokenResponse) => void; reject: (e: unknown) => void };
  const outcome = new Promise<TokenResponse>((resolve, reject) => {
    settle = { resolve, reject };
  });
  let finished = false;
  let claimed = false; // a valid callback is being exchanged; later ones are turned away
  const finish = (result: { tokens: TokenResponse } | { error: unknown }) => {
    if (finished) return;
    finished = true;
    if ("tokens" in result) settle.resolve(result.tokens);
    else settle.reject(result.error);
  };

  const server = createServer();
  let port = 0;
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, "Sign-in failed", "Gatehouse could not complete the sign-in.");
      else res.destroy();
    });
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", `http://${LOOPBACK}:${port}`);
    if (url.pathname !== CALLBACK_PATH) return send(res, 404, "Not found", "There is nothing here.");
    if (req.method !== "GET") {
      res.setHeader("allow", "GET");
      return send(res, 405, "Not allowed", "Only GET is served here.");
    }
    // A page elsewhere that points a rebound DNS name at this port is not the IdP's redirect.
    if (req.headers.host !== `${LOOPBACK}:${port}`)
      return send(res, 400, "Wrong address", "This sign-in must come back to 127.0.0.1.");
    const params = url.searchParams;
    const got = params.get("state");
    if (got === null || !sameSecret(got, state))
      return send(
        res,
        400,
        "Not this sign-in",
        "This link does not belong to the sign-in Gatehouse is waiting for. Start again from Gatehouse if needed.",
      );
    if (finished || claimed)
      return send(res, 409, "Already done", "This sign-in has already been handled.", true);

    const error = params.get("error");
    if (error !== null) {
      const description = params.get("error_description");
      send(res, 400, "Sign-in failed", description ?? error, true);
      finish({
        error: new GatehouseError(
          "SIGNIN_FAILED",
          `the IdP ended the sign-in: ${error}${description ? `: ${description}` : ""}`,
        ),
      });
      return;
    }

    claimed = true;
    try {
      // The redirect URI is rebuilt from what we registered, not from the request's Host header.
      const current = new URL(`http://${LOOPBACK}:${port}${CALLBACK_PATH}${url.search}`);
      const tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
        idTokenExpected: wantsIdToken,
      });
      if (finished) {
        // Timed out or cancelled while the code was being exchanged: the person was already told it failed.
        send(res, 408, "Sign-in expired", "Gatehouse stopped waiting. Start the sign-in again.", true);
        return;
      }
      send(res, 200, "Signed in", "Signed in — you can close this tab and return to Gatehouse.", true);
      finish({ tokens });
    } catch (e) {
      send(res, 400, "Sign-in failed", "Gatehouse could not complete the sign-in. Start it again.", true);
      finish({ error: idpError(e, "exchanging the authorization code") });
    }
  };

  try {
    port = await listen(server);
  } catch (e) {
    throw new GatehouseError("SIGNIN_FAILED", `cannot listen on ${LOOPBACK}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const redirectUri = `http://${LOOPBACK}:${port}${CALLBACK_PATH}`;

  const timer = setTimeout(
    () =>
      finish({
        error: new GatehouseError(
          "SIGNIN_TIMEOUT",
          `sign-in timed out after ${Math.round(opts.timeoutMs / 1000)} s: nobody finished it in the browser`,
        ),
      }),
    opts.timeoutMs,
  );
  const onAbort = () => finish({ error: cancelled() });
  signal?.addEventListener("abort", onAbort, { once: true });

  try {
    const authUrl = client.buildAuthorizationUrl(config, {
      // First, so that none of them can replace PKCE, state, nonce or the redirect (the broker refuses those too).
      ...opts.authorizationParams,
      redirect_uri: redirectUri,
      scope: opts.scopes,
      response_type: "code",
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    checkAuthorizationUrl(authUrl, config);
    // Not awaited: an opener that lingers (or one that drives the browser itself) must not hold up the callback.
    Promise.resolve()
      .then(() => opts.openBrowser(authUrl.href))
      .catch((e: unknown) =>
        finish({
          error: new GatehouseError(
            "SIGNIN_FAILED",
            `could not open the browser: ${(e as Error).message ?? e}`,
            {
              cause: e,
            },
          ),
        }),
      );
    return await outcome;
  } catch (e) {
    finish({ error: e });
    throw e;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    await closeServer(server);
  }
}

/** Stops listening at once and drops the browser's keep-alive connections once their answers are sent. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    // A connection still in a handler (e.g. a late callback) is cut after its response; do not wait on a stuck one.
    setTimeout(() => server.closeAllConnections(), 1000).unref();
  });
}

/**
 * Opens a URL in the person's browser without a shell: $GATEHOUSE_BROWSER (a command, split on spaces, the URL
 * appended as its last argument), else the platform's opener. The child is detached so it outlives us.
 */
export function defaultBrowserOpener(env: NodeJS.ProcessEnv = process.env): (url: string) => Promise<void> {
  return (url: string) => {
    const parsed = URL.parse(url);
    if (!parsed || (parsed.protocol !== "https:" && parsed.protocol !== "http:"))
      return Promise.reject(
        new GatehouseError("BAD_ARGUMENT", "only http(s) URLs are opened in the browser"),
      );
    let command: string;
    let args: string[];
    const custom = env.GATEHOUSE_BROWSER?.trim();
    if (custom) {
      [command = "", ...args] = custom.split(/ +/);
      args.push(parsed.href);
    } else if (process.platform === "darwin") {
      [command, args] = ["open", [parsed.href]];
    } else if (process.platform === "win32") {
      // Not `cmd /c start`: cmd would interpret the URL's `&` and `%…%`. The URL protocol handler takes it as is.
      [command, args] = ["rundll32.exe", ["url.dll,FileProtocolHandler", parsed.href]];
    } else {
      [command, args] = ["xdg-open", [parsed.href]];
    }
    return new Promise<void>((resolve, reject) => {
      const child = spawn(command, args, { detached: true, stdio: "ignore", shell: false });
      child.once("error", (e) =>
        reject(new GatehouseError("SIGNIN_FAILED", `cannot run ${command}: ${e.message}`, { cause: e })),
      );
      // An opener that fails at once (xdg-open with no desktop, say) is a failed sign-in the person hears
      // about now, not after the timeout; one still running after a moment has handed the URL on.
      const settled = setTimeout(() => {
        child.unref();
        resolve();
      }, 3000);
      settled.unref();
      child.once("exit", (code, signal) => {
        clearTimeout(settled);
        if (code === 0) resolve();
        else {
          reject(
            new GatehouseError(
              "SIGNIN_FAILED",
              `${command} could not open a browser (${signal ?? `exit ${code}`}); use \`gatehouse login --no-browser\``,
            ),
          );
        }
      });
    });
  };
}
