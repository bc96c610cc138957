// The development OpenID Provider (`gatehouse-dev idp`) on oidc-provider 9: the demo users, the desktop's public
// native client (PKCE S256, loopback redirect on any port, rotating refresh tokens), JWT access tokens for the
// broker carrying email and groups, a real login form, and an optional auto-login for scripts.

import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";
import Provider, {
  type Configuration,
  errors,
  type InteractionResults,
  interactionPolicy,
  type KoaContextWithOIDC,
} from "oidc-provider";
import { GatehouseError } from "../../shared/errors.ts";
import {
  BROKER_AUDIENCE,
  BROKER_RESOURCE,
  DEFAULT_ACCESS_TOKEN_TTL,
  DEFAULT_IDP_PORT,
  DESKTOP_CLIENT_ID,
  DESKTOP_REDIRECT_URI,
  IDP_SCOPES,
  isLoopbackHost,
} from "./config.ts";
import { createMemoryStore } from "./memory-adapter.ts";
import { loginPage, messagePage, PAGE_HEADERS, page } from "./pages.ts";
import { SHAPE_NAMES, type ShapeName, tokenShape } from "./shapes/index.ts";
import type { TokenShape } from "./shapes/types.ts";
import { type DemoUser, findUserByEmail, findUserBySub } from "./users.ts";

export {
  BROKER_AUDIENCE,
  BROKER_RESOURCE,
  DEFAULT_ACCESS_TOKEN_TTL,
  DEFAULT_IDP_PORT,
  DESKTOP_CLIENT_ID,
  DESKTOP_REDIRECT_URI,
  IDP_SCOPES,
  isLoopbackHost,
} from "./config.ts";

const AUTHORIZATION_CODE_TTL = 60;
const INTERACTION_TTL = 10 * 60;
const REFRESH_TOKEN_TTL = 24 * 60 * 60;
const SESSION_TTL = 24 * 60 * 60;
const GRANT_TTL = 7 * 24 * 60 * 60;
const MAX_FORM_BYTES = 8 * 1024;

export interface IdpOptions {
  /** Port to listen on (default 7421; 0 picks a free one). */
  port?: number;
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** E-mail of a demo user who is signed in on every authorization request, without the form. Loopback only. */
  autoLogin?: string;
  /** Issuer to advertise instead of http://HOST:PORT, e.g. when a TLS proxy sits in front. No path. */
  issuerUrl?: string;
  /** Access token lifetime in seconds (default 600). */
  accessTokenTtl?: number;
  /** `aud` of access tokens (default BROKER_AUDIENCE). */
  audience?: string;
  /** Which provider's token shapes to issue (default generic): auth0, cognito, google, entra-overage, … */
  shape?: ShapeName;
}

export interface DevIdp {
  /** Issuer identifier, without a trailing slash, e.g. http://127.0.0.1:7421. */
  readonly issuer: string;
  readonly port: number;
  close(): Promise<void>;
  /** Puts a new RS256 signing key (new kid) first: new tokens are signed with it; old keys stay in the JWKS. */
  rotateKeys(): Promise<void>;
}

function checkOptions(opts: IdpOptions): { autoLoginUser?: DemoUser; issuerUrl?: string } {
  const host = opts.host ?? "127.0.0.1";
  const port = opts.port ?? DEFAULT_IDP_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new GatehouseError("BAD_ARGUMENT", `port must be 0-65535; got "${port}"`);
  const ttl = opts.accessTokenTtl ?? DEFAULT_ACCESS_TOKEN_TTL;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 24 * 60 * 60)
    throw new GatehouseError("BAD_ARGUMENT", `access token lifetime must be 1-86400 seconds; got "${ttl}"`);
  if (opts.audience !== undefined && opts.audience.trim() === "")
    throw new GatehouseError("BAD_ARGUMENT", "audience must not be empty");
  if (opts.shape !== undefined && !SHAPE_NAMES.includes(opts.shape))
    throw new GatehouseError(
      "BAD_ARGUMENT",
      `shape must be one of ${SHAPE_NAMES.join(", ")}; got "${opts.shape}"`,
    );
  let autoLoginUser: DemoUser | undefined;
  if (opts.autoLogin !== undefined) {
    if (!isLoopbackHost(host)) {
      throw new GatehouseError(
        "BAD_ARGUMENT",
        `--auto-login is only allowed when bound to a loopback address (127.0.0.1, ::1, localhost); host is "${host}"`,
      );
    }
    autoLoginUser = findUserByEmail(opts.autoLogin);
    if (!autoLoginUser)
      throw new GatehouseError(
        "BAD_ARGUMENT",
        `--auto-login: no demo user has the e-mail "${opts.autoLogin}"`,
      );
  }
  let issuerUrl: string | undefined;
  if (opts.issuerUrl !== undefined) {
    const u = URL.parse(opts.issuerUrl);
    if (!u || (u.protocol !== "http:" && u.protocol !== "https:"))
      throw new GatehouseError("BAD_ARGUMENT", `issuer must be an http(s) URL; got "${opts.issuerUrl}"`);
    if (u.pathname !== "/" || u.search || u.hash || u.username || u.password)
      throw new GatehouseError("BAD_ARGUMENT", `issuer must be an origin with no path, query or credentials`);
    issuerUrl = u.origin;
  }
  return { ...(autoLoginUser ? { autoLoginUser } : {}), ...(issuerUrl ? { issuerUrl } : {}) };
}

async function signingKey(alg: "RS256" | "ES256"): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const thumbprint = await calculateJwkThumbprint(jwk);
  return { ...jwk, alg, use: "sig", kid: `${alg.toLowerCase()}-${thumbprint.slice(0, 16)}` };
}

function accountFor(sub: string, shape: TokenShape) {
  const user = findUserBySub(sub);
  if (!user) return undefined;
  return {
    accountId: user.sub,
    // oidc-provider keeps only the claims the granted scopes (and claims parameter) allow.
    claims: () => ({ sub: user.sub, ...shape.idClaims(user) }),
  };
}

/** The claims each scope releases: the standard ones plus the shape's own (cognito:groups, hd, namespaced…). */
function scopeClaims(shape: TokenShape): Record<string, string[]> {
  const out: Record<string, string[]> = { openid: ["sub"], email: [], profile: [], groups: [] };
  for (const [claim, scope] of Object.entries(shape.claimScopes)) out[scope] = [...(out[scope] ?? []), claim];
  return out;
}

function htmlBody(ctx: KoaContextWithOIDC, html: string): void {
  for (const [name, value] of Object.entries(PAGE_HEADERS)) ctx.set(name, value);
  ctx.body = html;
}

/**
 * Everything is granted to the first-party desktop client at once (no consent screen): the requested OpenID
 * scopes and claims, and the requested scopes of each resource server (the broker) it resolved to.
 */
async function loadExistingGrant(ctx: KoaContextWithOIDC) {
  const { oidc } = ctx;
  const clientId = oidc.client?.clientId;
  const accountId = oidc.session?.accountId;
  if (!clientId || !accountId) return undefined;
  const grantId = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(clientId);
  let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  if (clientId !== DESKTOP_CLIENT_ID) return grant;
  if (!grant || grant.accountId !== accountId) grant = new oidc.provider.Grant({ accountId, clientId });
  if (oidc.requestParamOIDCScopes.size) grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(" "));
  if (oidc.requestParamClaims.size) grant.addOIDCClaims([...oidc.requestParamClaims]);
  for (const [indicator, server] of Object.entries(oidc.resourceServers ?? {})) {
    const scope = [...oidc.requestParamScopes].filter((s) => server.scopes.has(s)).join(" ");
    if (scope) grant.addResourceScope(indicator, scope);
  }
  await grant.save();
  return grant;
}

interface ProviderInput {
  issuer: string;
  keys: JWK[];
  cookieKeys: string[];
  adapter: Configuration["adapter"];
  audience: string;
  accessTokenTtl: number;
  behindProxy: boolean;
  shape: TokenShape;
}

function createProvider(input: ProviderInput): Provider {
  const { accessTokenTtl, audience, shape } = input;
  const policy = interactionPolicy.base();
  // oidc-provider asks a native client's user to confirm every authorization, because anyone can claim a
  // native client's id. This dev IdP has one first-party client and must work with SSO and auto-login.
  policy.get("consent")?.checks.remove("native_client_prompt");

  const configuration: Configuration = {
    adapter: input.adapter,
    jwks: { keys: input.keys },
    cookies: { keys: input.cookieKeys },
    clients: [
      {
        client_id: DESKTOP_CLIENT_ID,
        client_name: "Gatehouse",
        application_type: "native",
        ...(shape.clientSecret
          ? { token_endpoint_auth_method: "client_secret_post" as const, client_secret: shape.clientSecret }
          : { token_endpoint_auth_method: "none" as const }),
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        redirect_uris: [DESKTOP_REDIRECT_URI],
        scope: IDP_SCOPES.join(" "),
        id_token_signed_response_alg: "RS256",
      },
    ],
    responseTypes: ["code"],
    scopes: [...IDP_SCOPES],
    claims: scopeClaims(shape),
    // Put the granted claims (groups…) in the ID token too, not only at the userinfo endpoint.
    conformIdTokenClaims: false,
    pkce: { required: () => true }, // oidc-provider 9 only implements S256; "plain" is refused.
    rotateRefreshToken: true,
    // oidc-provider drops offline_access unless the request also says prompt=consent (OpenID Connect Core §11),
    // which a real IdP would answer with a consent screen on every sign-in. Like Okta, Entra ID or Auth0 with a
    // first-party app, the desktop client gets a rotating refresh token anyway, and it outlives the browser's
    // IdP session (signing out of the IdP in the browser does not sign the desktop out).
    issueRefreshToken: (_ctx, client, code) =>
      client.grantTypeAllowed("refresh_token") &&
      (client.clientId === DESKTOP_CLIENT_ID || code.scopes.has("offline_access")),
    expiresWithSession: (ctx, code) =>
      ctx.oidc.client?.clientId !== DESKTOP_CLIENT_ID && !code.scopes.has("offline_access"),
    loadExistingGrant,
    findAccount: (_ctx: unknown, sub: string) => accountFor(sub, shape),
    extraTokenClaims: (_ctx, token) => {
      if (token.kind !== "AccessToken" || !token.accountId) return undefined;
      const user = findUserBySub(token.accountId);
      return user ? shape.accessClaims(user) : undefined;
    },
    interactions: {
      policy,
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      revocation: {
        enabled: true,
        allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => BROKER_RESOURCE,
        // The token endpoint issues for the resource granted at authorization (not an opaque userinfo token).
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, indicator: string) => {
          if (indicator !== BROKER_RESOURCE)
            throw new errors.InvalidTarget(`unknown resource "${indicator}"`);
          return {
            scope: IDP_SCOPES.join(" "),
            audience,
            accessTokenFormat: shape.opaqueAccessToken ? "opaque" : "jwt",
            accessTokenTTL: accessTokenTtl,
            jwt: { sign: { alg: "RS256" } },
          };
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx: KoaContextWithOIDC, form: string) =>
          htmlBody(
            ctx,
            page(
              "Sign out",
              `<h1>Sign out?</h1>\n<p>You are signed in to the Gatehouse dev IdP.</p>\n${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Sign out</button>
<button type="submit" form="op.logoutForm" class="secondary">Stay signed in</button>`,
            ),
          ),
        postLogoutSuccessSource: (ctx: KoaContextWithOIDC) =>
          htmlBody(ctx, messagePage("Signed out", "You have been signed out of the Gatehouse dev IdP.")),
      },
    },
    clientBasedCORS: () => false,
    renderError: (ctx, out) =>
      htmlBody(ctx, messagePage("Sign-in failed", "The request could not be completed.", { ...out })),
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? accessTokenTtl,
      AuthorizationCode: AUTHORIZATION_CODE_TTL,
      IdToken: () => accessTokenTtl,
      RefreshToken: () => REFRESH_TOKEN_TTL,
      Interaction: () => INTERACTION_TTL,
      Session: () => SESSION_TTL,
      Grant: () => GRANT_TTL,
    },
  };

  const provider = new Provider(input.issuer, configuration);
  provider.proxy = input.behindProxy;
  provider.on("server_error", (_ctx, err) => console.error("gatehouse-dev idp: internal error:", err));
  return provider;
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, PAGE_HEADERS);
  res.end(html);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | "too-large" | "bad-type"> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") return "bad-type";
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return "too-large";
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

export async function startIdp(opts: IdpOptions = {}): Promise<DevIdp> {
  const { autoLoginUser, issuerUrl } = checkOptions(opts);
  const host = opts.host ?? "127.0.0.1";
  const audience = opts.audience ?? BROKER_AUDIENCE;
  const accessTokenTtl = opts.accessTokenTtl ?? DEFAULT_ACCESS_TOKEN_TTL;

  let keys = [await signingKey("RS256"), await signingKey("ES256")];
  const cookieKeys = [randomBytes(32).toString("base64url"), randomBytes(32).toString("base64url")];
  const store = createMemoryStore();

  const server = createServer();
  try {
    await listen(server, opts.port ?? DEFAULT_IDP_PORT, host);
  } catch (e) {
    store.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  const issuer = issuerUrl ?? `http://${urlHost}:${port}`;

  const build = () => {
    const provider = createProvider({
      issuer,
      keys,
      cookieKeys,
      adapter: (model: string) => store.adapter(model),
      audience,
      accessTokenTtl,
      behindProxy: issuerUrl?.startsWith("https:") ?? false,
      shape: tokenShape(opts.shape),
    });
    return { provider, handle: provider.callback() };
  };
  // Rotation builds a new Provider over the same storage and cookie keys, so sessions and tokens survive it.
  let current = build();

  const finish = (req: IncomingMessage, res: ServerResponse, result: InteractionResults) =>
    current.provider.interactionFinished(req, res, result);

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, action?: string) {
    const details = await current.provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new errors.SessionNotFound("interaction session mismatch");
    const clientName =
      details.params.client_id === DESKTOP_CLIENT_ID ? "Gatehouse" : String(details.params.client_id);
    const isLogin = details.prompt.name === "login";

    if (action === undefined) {
      if (req.method !== "GET" && req.method !== "HEAD")
        return send(res, 405, messagePage("Not allowed", "Use GET."));
      // Anything but a login (e.g. prompt=consent) is granted without a screen: see loadExistingGrant.
      if (!isLogin) return finish(req, res, { consent: {} });
      if (autoLoginUser) return finish(req, res, { login: { accountId: autoLoginUser.sub } });
      return send(res, 200, loginPage({ uid, clientName }));
    }
    if (req.method !== "POST") return send(res, 405, messagePage("Not allowed", "Use POST."));
    if (action === "abort") {
      return current.provider.interactionFinished(
        req,
        res,
        { error: "access_denied", error_description: "The sign-in was cancelled." },
        { mergeWithLastSubmission: false },
      );
    }
    if (!isLogin) return finish(req, res, { consent: {} });
    const form = await readForm(req);
    if (form === "bad-type")
      return send(res, 415, messagePage("Unsupported form", "Send the form as a browser does."));
    if (form === "too-large") return send(res, 413, messagePage("Form too large", "The form is too large."));
    const email = (form.get("login") ?? "").trim();
    const user = findUserByEmail(email);
    if (!user) {
      const error = email ? `There is no demo user "${email}".` : "Enter the e-mail of a demo user.";
      return send(res, 422, loginPage({ uid, clientName, email, error }));
    }
    return finish(req, res, { login: { accountId: user.sub } });
  }

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const pathname = URL.parse(req.url ?? "/", "http://idp.invalid")?.pathname ?? "";
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?$/.exec(pathname);
    if (!match) {
      void current.handle(req, res);
      return;
    }
    interaction(req, res, match[1]!, match[2]).catch((e: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof errors.OIDCProviderError) {
        send(
          res,
          400,
          messagePage("Sign-in expired", "This sign-in is no longer valid. Start it again from Gatehouse.", {
            error: e.error,
            error_description: e.error_description,
          }),
        );
        return;
      }
      console.error("gatehouse-dev idp: internal error:", e);
      send(res, 500, messagePage("Internal error", "The IdP failed; see its log."));
    });
  });

  return {
    issuer,
    port,
    async rotateKeys() {
      keys = [await signingKey("RS256"), ...keys];
      current = build();
    },
    close() {
      store.close();
      return new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
