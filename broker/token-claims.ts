// The token checks jose leaves to the caller (SECURITY 37): an `iat` in the future, a lifetime longer than
// the broker allows, and a `typ` header that says the token is not an access token.

import type { JWTHeaderParameters, JWTPayload } from "jose";

export interface TokenLimits {
  /** Seconds a clock may be ahead: an `iat` later than now + skew is refused. */
  skewSeconds: number;
  /** The longest lifetime accepted: `exp - iat`, or `exp - now` for a token without `iat`. */
  maxLifetimeSeconds: number;
}

/**
 * `typ` values of an access token (RFC 9068 `at+jwt`, and plain `JWT`, which many IdPs send). Media types
 * compare without case; `application/` may be left out (RFC 7515 4.1.9).
 */
const ACCESS_TOKEN_TYPES = new Set(["at+jwt", "jwt"]);

/**
 * Why a signature-checked token is refused on its times, or null. Without these, a token minted with
 * `iat` an hour ahead or `exp` ten years away (a leaked signing key, a misconfigured IdP) stays valid
 * for as long as its maker wished.
 */
export function tokenTimesRefusal(payload: JWTPayload, limits: TokenLimits, now = Date.now()): string | null {
  const seconds = now / 1000;
  const { iat, exp } = payload;
  if (typeof iat === "number" && iat > seconds + limits.skewSeconds)
    return `TOKEN_IAT_IN_FUTURE: issued ${Math.round(iat - seconds)} s in the future (skew ${limits.skewSeconds} s)`;
  if (typeof exp === "number") {
    const lifetime = exp - (typeof iat === "number" ? iat : seconds);
    if (lifetime > limits.maxLifetimeSeconds)
      return `TOKEN_LIFETIME_TOO_LONG: valid for ${Math.round(lifetime)} s, more than max_token_lifetime_seconds (${limits.maxLifetimeSeconds})`;
  }
  return null;
}

/** Why an access token's `typ` header is refused, or null; a token without `typ` is not refused here. */
export function accessTokenTypeRefusal(header: Pick<JWTHeaderParameters, "typ">): string | null {
  if (header.typ === undefined) return null;
  const typ = typeof header.typ === "string" ? header.typ.toLowerCase().replace(/^application\//, "") : "";
  if (ACCESS_TOKEN_TYPES.has(typ)) return null;
  return `TOKEN_TYPE_REFUSED: typ ${JSON.stringify(String(header.typ)).slice(0, 60)} is not an access token (at+jwt or JWT)`;
}
