// The person's OIDC session in the agent: a valid broker token on demand (the access token, or the ID token where the
// broker takes ID tokens; in memory only), silent refresh with a
// rotating refresh token kept in the TokenStore, and one shared refresh / one shared sign-in however many wait.

import { decodeJwt } from "jose";
import * as client from "openid-client";
import { GatehouseError, isGatehouseError } from "../../shared/errors.ts";
import type { Settings } from "./settings.ts";
import { discover, idpError, signIn, type TokenResponse } from "./signin.ts";
import type { TokenStore } from "./token-store.ts";

/** An access token with less than this left is not handed out: the caller's request could outlive it. */
export const MIN_ACCESS_TOKEN_LIFETIME_MS = 60_000;

export interface SessionOptions {
  settings: Pick<Settings, "issuer" | "clientId" | "scopes" | "signInTimeoutSeconds"> &
    Partial<Pick<Settings, "clientSecret" | "authorizationParams" | "token">>;
  store: TokenStore;
  openBrowser: (url: string) => Promise<void> | void;
  /** Clock in epoch milliseconds; tests move it forward instead of waiting. */
  now?: () => number;
}

export interface SessionStatus {
  signedIn: boolean;
  email?: string;
  groups?: string[];
  accessTokenExpiresAt?: string;
}

interface AccessToken {
  token: string;
  expiresAt: number;
  email?: string;
  groups?: string[];
}

function notSignedIn(why: string): GatehouseError {
  return new GatehouseError("NOT_SIGNED_IN", `not signed in: ${why}; run gatehouse login`);
}

export class Session {
  readonly #settings: SessionOptions["settings"];
  readonly #store: TokenStore;
  readonly #openBrowser: SessionOptions["openBrowser"];
  readonly #now: () => number;

  #access: AccessToken | undefined;
  /** Whether the store is known to hold a refresh token (undefined until first looked at). */
  #hasRefreshToken: boolean | undefined;
  #config: Promise<client.Configuration> | undefined;
  #refreshing: Promise<AccessToken> | undefined;
  #signingIn: { promise: Promise<AccessToken>; abort: AbortController } | undefined;
  /** Bumped by every sign-in and sign-out; a refresh begun in an older epoch must not write its result. */
  #epoch = 0;
  /** Store writes run one at a time, so a refresh's write and a logout's delete cannot interleave. */
  #storeQueue: Promise<unknown> = Promise.resolve();

  constructor(opts: SessionOptions) {
    this.#settings = opts.settings;
    this.#store = opts.store;
    this.#openBrowser = opts.openBrowser;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * A valid access token (at least a minute left): the cached one, else a refresh, else (interactive only) a
   * sign-in in the browser. However many callers ask at once, there is one refresh and one browser tab.
   */
  async accessToken(opts: { interactive?: boolean } = {}): Promise<string> {
    const cached = this.#valid();
    if (cached) return cached.token;
    // Someone is already signing in: an interactive caller waits for that tab instead of refreshing the old way.
    if (opts.interactive && this.#signingIn) return (await this.#signingIn.promise).token;
    try {
      return (await this.#refreshOnce()).token;
    } catch (e) {
      if (!opts.interactive || !isGatehouseError(e) || e.code !== "NOT_SIGNED_IN") throw e;
    }
    // Another caller's sign-in may have finished while this one was learning that the refresh token is gone.
    const now = this.#valid();
    if (now) return now.token;
    return (await this.#signInOnce()).token;
  }

  /** Signs in in the browser (joining a sign-in already under way) and says who is signed in. */
  async login(): Promise<{ email: string; groups: string[] }> {
    const access = await this.#signInOnce();
    return { email: access.email ?? "", groups: access.groups ?? [] };
  }

  /**
   * Signs out: revokes the refresh token at the IdP when it has a revocation endpoint (a network failure there
   * does not stop the local sign-out), deletes it from the store and forgets the access token.
   */
  async logout(): Promise<void> {
    this.#signingIn?.abort.abort();
    // Let a refresh under way finish, so the token revoked is the latest one and its result is not written after.
    await this.#refreshing?.catch(() => undefined);
    await this.#serialized(async () => {
      this.#epoch++;
      this.#access = undefined;
      const token = await this.#store.get().catch(() => null);
      if (token) await this.#revoke(token);
      await this.#store.delete();
      this.#hasRefreshToken = false;
    });
  }

  status(): SessionStatus {
    const access = this.#access;
    const live = access !== undefined && access.expiresAt > this.#now();
    const signedIn = live || this.#hasRefreshToken === true;
    if (!signedIn) return { signedIn: false };
    return {
      signedIn: true,
      ...(access?.email !== undefined ? { email: access.email } : {}),
      ...(access?.groups !== undefined ? { groups: [...access.groups] } : {}),
      ...(live ? { accessTokenExpiresAt: new Date(access.expiresAt).toISOString() } : {}),
    };
  }

  /** Forgets the cached access token (e.g. the broker answered 401); the next call refreshes. */
  invalidate(): void {
    if (this.#access) this.#access = { ...this.#access, expiresAt: 0 };
  }

  #valid(): AccessToken | undefined {
    const a = this.#access;
    return a && a.expiresAt - this.#now() >= MIN_ACCESS_TOKEN_LIFETIME_MS ? a : undefined;
  }

  #serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#storeQueue.then(fn, fn);
    this.#storeQueue = run.catch(() => undefined);
    return run;
  }

  #configuration(): Promise<client.Configuration> {
    if (!this.#config) {
      this.#config = discover(this.#settings.issuer, this.#settings.clientId, this.#settings.clientSecret);
      // A failed discovery (IdP down) is not remembered: the next call tries again.
      this.#config.catch(() => {
        this.#config = undefined;
      });
    }
    return this.#config;
  }

  #refreshOnce(): Promise<AccessToken> {
    if (!this.#refreshing) {
      const p = this.#refresh();
      this.#refreshing = p;
      const clear = () => {
        if (this.#refreshing === p) this.#refreshing = undefined;
      };
      p.then(clear, clear);
    }
    return this.#refreshing;
  }

  async #refresh(): Promise<AccessToken> {
    const epoch = this.#epoch;
    const old = await this.#store.get();
    this.#hasRefreshToken = old !== null;
    if (!old) throw notSignedIn("no sign-in is stored");
    const config = await this.#configuration();
    let tokens: TokenResponse;
    try {
      // No scope parameter: the refresh keeps exactly what the sign-in was granted.
      tokens = await client.refreshTokenGrant(config, old);
    } catch (e) {
      const err = idpError(e, "refreshing the sign-in");
      if (e instanceof client.ResponseBodyError && e.error === "invalid_grant") {
        // Expired, revoked, or already used (rotation reuse): it will never work again. Delete it, unless a
        // sign-in meanwhile stored a new one.
        await this.#serialized(async () => {
          if ((await this.#store.get()) === old) {
            await this.#store.delete();
            this.#hasRefreshToken = false;
          }
        });
        const gone = notSignedIn("the sign-in has expired or was revoked");
        throw new GatehouseError(gone.code, gone.message, { cause: err });
      }
      throw err;
    }
    const kept = await this.#adopt(tokens, { epoch, previous: old });
    if (kept) return kept.access;
    // Signed out or signed in anew while this refresh ran: its result belongs to a session that is over.
    if (tokens.refresh_token) void this.#revoke(tokens.refresh_token);
    const current = this.#valid();
    if (current) return current;
    throw notSignedIn("signed out while the sign-in was being refreshed");
  }

  #signInOnce(): Promise<AccessToken> {
    if (!this.#signingIn) {
      const abort = new AbortController();
      const promise = (async () => {
        // A refresh under way would write its (older) token after ours; let it land first.
        await this.#refreshing?.catch(() => undefined);
        const epoch = this.#epoch;
        const tokens = await signIn({
          issuer: this.#settings.issuer,
          clientId: this.#settings.clientId,
          clientSecret: this.#settings.clientSecret,
          scopes: this.#settings.scopes,
          authorizationParams: this.#settings.authorizationParams ?? {},
          openBrowser: this.#openBrowser,
          timeoutMs: this.#settings.signInTimeoutSeconds * 1000,
          signal: abort.signal,
        });
        const kept = await this.#adopt(tokens, { epoch, fromSignIn: true });
        if (kept) {
          // The grant the replaced refresh token belonged to is of no more use: end it at the IdP (best effort).
          if (kept.replaced) await this.#revoke(kept.replaced);
          return kept.access;
        }
        if (tokens.refresh_token) void this.#revoke(tokens.refresh_token);
        throw new GatehouseError("SIGNIN_FAILED", "sign-in cancelled: signed out meanwhile");
      })();
      const entry = { promise, abort };
      this.#signingIn = entry;
      const clear = () => {
        if (this.#signingIn === entry) this.#signingIn = undefined;
      };
      promise.then(clear, clear);
    }
    return this.#signingIn.promise;
  }

  /**
   * Keeps a token response: the new refresh token is written to the store first, and only then is the access
   * token used, so a crash or a failed write never leaves us holding tokens whose refresh token is lost.
   * Returns undefined, keeping nothing, when a sign-in or sign-out happened since `ctx.epoch`; else the access
   * token and, after a sign-in, the refresh token it replaced in the store.
   */
  async #adopt(
    tokens: TokenResponse,
    ctx: { epoch: number; previous?: string; fromSignIn?: boolean },
  ): Promise<{ access: AccessToken; replaced: string | null } | undefined> {
    return this.#serialized(async () => {
      if (ctx.epoch !== this.#epoch) return undefined;
      const previous = ctx.fromSignIn ? await this.#store.get().catch(() => null) : ctx.previous;
      if (tokens.refresh_token) {
        if (tokens.refresh_token !== previous) await this.#store.set(tokens.refresh_token);
        this.#hasRefreshToken = true;
      } else if (ctx.fromSignIn) {
        // An IdP that gives no refresh token: a stale one from an earlier sign-in must not linger.
        await this.#store.delete();
        this.#hasRefreshToken = false;
      }
      if (ctx.fromSignIn) {
        // A refresh still running on the old grant must not write over this sign-in.
        this.#epoch++;
      }
      // After the refresh token is safe: a response without the token the broker takes loses nothing else.
      const access = this.#describe(tokens);
      this.#access = access;
      const replaced = ctx.fromSignIn && previous && previous !== tokens.refresh_token ? previous : null;
      return { access, replaced };
    });
  }

  #describe(tokens: TokenResponse): AccessToken {
    // The broker takes the ID token (Google, JumpCloud, Cognito) or the access token; a refresh that gives no new
    // ID token leaves nothing to send, so it is a failed sign-in rather than an old token sent on.
    const idMode = this.#settings.token === "id_token";
    if (idMode && !tokens.id_token)
      throw new GatehouseError(
        "SIGNIN_FAILED",
        "the IdP returned no ID token, which this broker needs: sign in again (gatehouse login)",
      );
    const token = idMode ? tokens.id_token! : tokens.access_token;
    let exp: number | undefined;
    let email: string | undefined;
    let groups: string[] | undefined;
    try {
      const claims = decodeJwt(token);
      exp = typeof claims.exp === "number" ? claims.exp * 1000 : undefined;
      email = typeof claims.email === "string" ? claims.email : undefined;
      groups = Array.isArray(claims.groups) ? claims.groups.filter((g) => typeof g === "string") : undefined;
    } catch {
      // Opaque access token: its lifetime comes from expires_in and the person from the ID token.
    }
    const id = tokens.claims();
    email ??= typeof id?.email === "string" ? id.email : undefined;
    groups ??= Array.isArray(id?.groups) ? id.groups.filter((g) => typeof g === "string") : undefined;
    exp ??= this.#now() + (tokens.expiresIn() ?? 0) * 1000;
    return {
      token,
      expiresAt: exp,
      ...(email !== undefined ? { email } : {}),
      ...(groups !== undefined ? { groups } : {}),
    };
  }

  async #revoke(token: string): Promise<void> {
    try {
      const config = await this.#configuration();
      if (!config.serverMetadata().revocation_endpoint) return;
      await client.tokenRevocation(config, token, { token_type_hint: "refresh_token" });
    } catch {
      // Signing out locally must not depend on the IdP being reachable; the token still expires there.
    }
  }
}
