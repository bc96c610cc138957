// Bearer-token authentication: OIDC access or ID tokens (JWT) checked against the IdP's JWKS from discovery,
// with issuer, bounded clock skew and a pinned list of asymmetric algorithms; token kind and audience are
// checked in token-kind.ts, the person read in claims.ts, the groups taken from the configured group source.

import { createHash } from "node:crypto";
import {
  createRemoteJWKSet,
  customFetch,
  type JWTHeaderParameters,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
} from "jose";
import { GatehouseError } from "../shared/errors.ts";
import { readIdentity } from "./claims.ts";
import type { BrokerConfig } from "./config.ts";
import type { GroupSource, GroupsQuery } from "./groups/index.ts";
import { tokenSource } from "./groups/token.ts";
import { accessTokenTypeRefusal, tokenTimesRefusal } from "./token-claims.ts";
import { checkTokenKind } from "./token-kind.ts";

export interface Principal {
  email: string;
  groups: string[];
  subject: string;
  /** Epoch milliseconds of the token's `exp`. */
  expiresAt: number;
}

/** A verified token: who it names and what it says of their groups (the group source decides the rest). */
interface VerifiedToken extends GroupsQuery {
  subject: string;
  expiresAt: number;
}

const unauthenticated = (why: string, cause?: unknown) =>
  new GatehouseError("UNAUTHENTICATED", `access token rejected: ${why}`, cause ? { cause } : undefined);

const idpUnavailable = (cause: unknown) =>
  new GatehouseError("IDP_UNAVAILABLE", "the identity provider could not be reached to check the token", {
    cause,
  });

/** A request to the IdP failed or was held back: the broker answers 503, not 401 (the token may be fine). */
class IdpUnreachable extends Error {}

export class TokenVerifier {
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  private discovering: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  /** No request to the IdP before this time (ms). Without it, while the IdP is down every request with
   * any well-formed token, signed or not, would make the broker ask the IdP again, bypassing the JWKS
   * cooldown. */
  private idpQuietUntil = 0;

  /**
   * Verified tokens, keyed by the SHA-256 of the whole token (two different tokens never share an entry),
   * kept until the token expires or at most a minute: a desktop sends the same token on every call.
   */
  private readonly verified = new Map<string, { token: VerifiedToken; until: number }>();

  constructor(
    private readonly oidc: BrokerConfig["oidc"],
    private readonly groups: GroupSource = tokenSource(),
  ) {}

  private heldBack(): IdpUnreachable | undefined {
    return Date.now() < this.idpQuietUntil
      ? new IdpUnreachable("the identity provider failed recently; not asked again before the cooldown")
      : undefined;
  }

  private holdBack(): void {
    this.idpQuietUntil = Date.now() + this.oidc.jwks_cooldown_seconds * 1000;
  }

  /** fetch for discovery and the JWKS: after a failure the IdP is left alone for one JWKS cooldown. */
  private readonly idpFetch = async (url: string, init: RequestInit): Promise<Response> => {
    const held = this.heldBack();
    if (held) throw held;
    try {
      const res = await fetch(url, init);
      if (res.status !== 200) throw new IdpUnreachable(`${url} answered ${res.status}`);
      return res;
    } catch (e) {
      this.holdBack();
      throw e instanceof IdpUnreachable ? e : new IdpUnreachable(`${url} could not be fetched`, { cause: e });
    }
  };

  /** JWKS from the issuer's discovery document, fetched once (retried after a cooldown on failure). */
  private keys(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.jwks) return Promise.resolve(this.jwks);
    const held = this.heldBack();
    if (held) return Promise.reject(held);
    this.discovering ??= (async () => {
      const issuer = this.oidc.issuer.replace(/\/$/, "");
      const res = await this.idpFetch(`${issuer}/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(5000),
      });
      const meta = (await res.json()) as { issuer?: string; jwks_uri?: string };
      if (meta.issuer !== this.oidc.issuer)
        throw new Error(`discovery names issuer ${meta.issuer}, expected ${this.oidc.issuer}`);
      if (!meta.jwks_uri) throw new Error("discovery has no jwks_uri");
      // A kid we do not know triggers one re-fetch at most once per cooldown (key rotation, without
      // letting unknown kids hammer the IdP).
      this.jwks = createRemoteJWKSet(new URL(meta.jwks_uri), {
        cooldownDuration: this.oidc.jwks_cooldown_seconds * 1000,
        timeoutDuration: 5000,
        [customFetch]: this.idpFetch,
      });
      return this.jwks;
    })()
      .catch((e: unknown) => {
        // A document that does not fit (wrong issuer, no jwks_uri) holds the IdP back like an outage.
        this.holdBack();
        throw e;
      })
      .finally(() => {
        this.discovering = undefined;
      });
    return this.discovering;
  }

  async verify(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw unauthenticated("no Authorization header");
    const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(authorization);
    if (!m)
      throw unauthenticated(
        `Authorization must be 'Bearer <JWT>' (this broker takes the ${this.oidc.token === "id_token" ? "ID token" : "access token"})`,
      );
    const key = createHash("sha256").update(m[1]!).digest("base64");
    const hit = this.verified.get(key);
    let token: VerifiedToken;
    if (hit && hit.until > Date.now()) token = hit.token;
    else {
      token = await this.verifyJwt(m[1]!);
      if (this.verified.size >= 10_000) this.verified.clear();
      this.verified.set(key, { token, until: Math.min(token.expiresAt, Date.now() + 60_000) });
    }
    // Asked on every request, not kept with the token: the group source has its own cache and its own
    // rules for a directory that fails (a stale answer only up to its maximum age).
    const groups = await this.groups.groupsFor(token);
    const lower = this.oidc.force_groups_lowercase;
    return {
      email: token.email,
      groups: lower ? groups.map((g) => g.toLowerCase()) : groups,
      subject: token.subject,
      expiresAt: token.expiresAt,
    };
  }

  private async verifyJwt(token: string): Promise<VerifiedToken> {
    let jwks: ReturnType<typeof createRemoteJWKSet>;
    try {
      jwks = await this.keys();
    } catch (e) {
      throw idpUnavailable(e);
    }
    let payload: JWTPayload;
    let header: JWTHeaderParameters;
    try {
      // The audience depends on the token kind (and Cognito's access tokens have none): checkTokenKind does it.
      ({ payload, protectedHeader: header } = await jwtVerify(token, jwks, {
        issuer: this.oidc.issuer,
        algorithms: this.oidc.algorithms,
        clockTolerance: this.oidc.clock_skew_seconds,
        requiredClaims: ["exp", "iat", "sub"],
      }));
    } catch (e) {
      if (e instanceof IdpUnreachable) throw idpUnavailable(e);
      if (e instanceof joseErrors.JOSEError) throw unauthenticated(e.code, e);
      throw unauthenticated("invalid token", e);
    }
    // Times and the header's type first (SECURITY 37): an access token must say it is one, where it says.
    const refused =
      tokenTimesRefusal(payload, {
        skewSeconds: this.oidc.clock_skew_seconds,
        maxLifetimeSeconds: this.oidc.max_token_lifetime_seconds,
      }) ?? (this.oidc.token === "access_token" ? accessTokenTypeRefusal(header) : null);
    if (refused) throw unauthenticated(refused);
    checkTokenKind(header, payload, this.oidc);
    // No groups claim is no groups from the token (the group source may ask a directory); a claim that
    // is there but not a list of strings is a malformed token (refused in readIdentity).
    const who = readIdentity(payload, this.oidc);
    return {
      claims: payload,
      email: who.email,
      tokenGroups: who.tokenGroups,
      overage: who.overage,
      subject: String(payload.sub),
      expiresAt: (payload.exp ?? 0) * 1000,
    };
  }
}
