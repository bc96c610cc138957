// Which token was sent, an ID token or an access token, and whether it is the kind (and for the audience) this
// broker takes: an ID token is proof of a sign-in for the desktop, never a grant to call an API, and the reverse.

import type { JWTHeaderParameters, JWTPayload } from "jose";
import { GatehouseError } from "../shared/errors.ts";
import type { AudienceRule, TokenKind } from "./providers/types.ts";

export interface TokenKindRules {
  token: TokenKind;
  audience?: string | undefined;
  client_id?: string | undefined;
  audience_rule: AudienceRule;
  /** Cognito marks every token with token_use; one without it is not Cognito's. */
  requires_token_use: boolean;
}

const rejected = (why: string) => new GatehouseError("UNAUTHENTICATED", `access token rejected: ${why}`);

/**
 * What the token says it is, from signals no provider mixes up: RFC 9068's `typ: at+jwt`, Cognito's
 * `token_use`, Keycloak's `typ` claim (Bearer / ID), hashes and nonce that only ID tokens carry, and the
 * scope claims that only access tokens carry. Undefined when it says nothing either way.
 */
export function detectKind(header: JWTHeaderParameters, payload: JWTPayload): TokenKind | undefined {
  const typ = typeof header.typ === "string" ? header.typ.toLowerCase() : "";
  if (typ === "at+jwt" || typ === "application/at+jwt") return "access_token";
  if (payload.token_use === "access") return "access_token";
  if (payload.token_use === "id") return "id_token";
  if (payload.typ === "Bearer") return "access_token";
  if (payload.typ === "ID") return "id_token";
  if (payload.at_hash !== undefined || payload.c_hash !== undefined || payload.nonce !== undefined)
    return "id_token";
  if (payload.scp !== undefined || payload.scope !== undefined) return "access_token";
  return undefined;
}

const NAMES: Record<TokenKind, string> = { access_token: "an access token", id_token: "an ID token" };

function audiences(payload: JWTPayload): string[] {
  const aud = payload.aud;
  if (typeof aud === "string") return [aud];
  if (Array.isArray(aud) && aud.every((a) => typeof a === "string")) return aud;
  return [];
}

/** Throws UNAUTHENTICATED unless the token is the configured kind, for the configured audience. */
export function checkTokenKind(
  header: JWTHeaderParameters,
  payload: JWTPayload,
  rules: TokenKindRules,
): void {
  const kind = detectKind(header, payload);
  if (kind !== undefined && kind !== rules.token)
    throw rejected(`${NAMES[kind]} was sent; this broker takes ${NAMES[rules.token]}`);
  if (rules.requires_token_use && payload.token_use !== (rules.token === "id_token" ? "id" : "access"))
    throw rejected(`token_use must be ${rules.token === "id_token" ? "id" : "access"}`);
  const aud = audiences(payload);
  if (rules.token === "id_token") {
    const clientId = rules.client_id ?? "";
    if (!aud.includes(clientId)) throw rejected("the ID token is for another client (aud)");
    // OIDC Core 3.1.3.7: with several audiences azp names the client it was issued to; when present it must be us.
    if (payload.azp !== undefined && payload.azp !== clientId)
      throw rejected("the ID token was issued to another client (azp)");
    if (aud.length > 1 && payload.azp === undefined)
      throw rejected("an ID token with several audiences must name its client (azp)");
    return;
  }
  if (rules.audience_rule === "client_id_claim") {
    // Cognito access tokens: no aud at all; the app client is in client_id.
    if (payload.aud !== undefined) throw rejected("a Cognito access token carries no aud");
    if (payload.client_id !== rules.client_id)
      throw rejected("the access token is for another client (client_id)");
    return;
  }
  if (!rules.audience || !aud.includes(rules.audience))
    throw rejected("the access token is for another audience (aud)");
}
