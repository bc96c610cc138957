// Bearer-token authentication: OIDC access tokens (JWT) checked against the IdP's JWKS from discovery,
// with issuer, audience, bounded clock skew and a pinned list of asymmetric algorithms.

import { createRemoteJWKSet, type JWTPayload, errors as joseErrors, jwtVerify } from "jose";
import { GatehouseError } from "../shared/errors.ts";
import type { BrokerConfig } from "./config.ts";

export interface Principal {
  email: string;
  groups: string[];
  subject: string;
}

function claimAt(payload: JWTPayload, path: string): unknown {
  let v: unknown = payload;
  for (const part of path.split(".")) {
    if (v === null || typeof v !== "object" || !Object.hasOwn(v, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const unauthenticated = (why: string, cause?: unknown) =>
  new GatehouseError("UNAUTHENTICATED", `access token rejected: ${why}`, cause ? { cause } : undefined);

export class TokenVerifier {
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  private discovering: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  constructor(private readonly oidc: BrokerConfig["oidc"]) {}

  /** JWKS from the issuer's discovery document, fetched once (retried on the next call after a failure). */
  private keys(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.jwks) return Promise.resolve(this.jwks);
    this.discovering ??= (async () => {
      const issuer = this.oidc.issuer.replace(/\/$/, "");
      const res = await fetch(`${issuer}/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) throw new Error(`discovery answered ${res.status}`);
      const meta = (await res.json()) as { issuer?: string; jwks_uri?: string };
      if (meta.issuer !== this.oidc.issuer)
        throw new Error(`discovery names issuer ${meta.issuer}, expected ${this.oidc.issuer}`);
      if (!meta.jwks_uri) throw new Error("discovery has no jwks_uri");
      // A kid we do not know triggers one re-fetch at most once per cooldown (key rotation, without
      // letting unknown kids hammer the IdP).
      this.jwks = createRemoteJWKSet(new URL(meta.jwks_uri), {
        cooldownDuration: this.oidc.jwks_cooldown_seconds * 1000,
        timeoutDuration: 5000,
      });
      return this.jwks;
    })().finally(() => {
      this.discovering = undefined;
    });
    return this.discovering;
  }

  async verify(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw unauthenticated("no Authorization header");
    const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(authorization);
    if (!m) throw unauthenticated("Authorization must be 'Bearer <JWT>'");
    let jwks: ReturnType<typeof createRemoteJWKSet>;
    try {
      jwks = await this.keys();
    } catch (e) {
      throw new GatehouseError(
        "IDP_UNAVAILABLE",
        "the identity provider could not be reached to check the token",
        { cause: e },
      );
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(m[1]!, jwks, {
        issuer: this.oidc.issuer,
        audience: this.oidc.audience,
        algorithms: this.oidc.algorithms,
        clockTolerance: this.oidc.clock_skew_seconds,
        requiredClaims: ["exp", "iat", "sub"],
      }));
    } catch (e) {
      if (e instanceof joseErrors.JOSEError) throw unauthenticated(e.code, e);
      throw unauthenticated("invalid token", e);
    }
    const email = claimAt(payload, this.oidc.email_claim);
    if (typeof email !== "string" || !/^[^\s@:]+@[^\s@:]+$/.test(email))
      throw unauthenticated(`no usable ${this.oidc.email_claim} claim`);
    const groups = claimAt(payload, this.oidc.groups_claim);
    if (!Array.isArray(groups) || !groups.every((g) => typeof g === "string")) {
      throw unauthenticated(`no ${this.oidc.groups_claim} claim (a list of strings)`);
    }
    const lower = this.oidc.force_groups_lowercase;
    return {
      email: email.toLowerCase(),
      groups: groups.map((g) => (lower ? g.toLowerCase() : g)),
      subject: String(payload.sub),
    };
  }
}
