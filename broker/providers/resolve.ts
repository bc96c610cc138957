// Fills the oidc block from its provider's preset (the YAML always wins) and lists what is wrong with the result.

import { PROVIDERS, type ProviderName } from "./index.ts";
import type { AudienceRule, OidcInput, TokenKind, Trap } from "./types.ts";

/** A claim as a list of keys: `realm_access.roles` → [realm_access, roles]; a YAML list is taken as it is. */
export function claimPath(claim: string | readonly string[]): string[] {
  return typeof claim === "string" ? claim.split(".") : [...claim];
}

/** How the person and the token are read and checked, once the preset's defaults are in. */
export interface ResolvedOidc {
  provider: ProviderName;
  token: TokenKind;
  audience: string | undefined;
  client_id: string | undefined;
  client_secret: string | undefined;
  scopes: string[];
  authorization_params: Record<string, string>;
  email_claim: string[];
  groups_claim: string[];
  audience_rule: AudienceRule;
  requires_token_use: boolean;
}

/** Parameters the desktop sets itself: a configured value would break PKCE, state or the redirect. */
const RESERVED_PARAMS = new Set([
  "client_id",
  "redirect_uri",
  "response_type",
  "response_mode",
  "scope",
  "state",
  "nonce",
  "code_challenge",
  "code_challenge_method",
  "request",
  "request_uri",
]);

export function resolveOidc(input: OidcInput & { provider: ProviderName }): {
  resolved: ResolvedOidc;
  traps: Trap[];
} {
  const preset = PROVIDERS[input.provider];
  const d = preset.defaults(input);
  const token = input.token ?? d.token;
  const email = input.email_claim ?? d.email_claim;
  const traps: Trap[] = [];
  if (email === undefined)
    traps.push({
      path: "email_claim",
      message: `${input.provider} has no standard e-mail claim in this set-up: name it, e.g. email_claim: ["https://gatehouse.example.com/email"]`,
    });
  const groups = input.groups_claim ?? d.groups_claim;
  const merged = {
    ...input,
    token,
    email_claim: email ?? "email",
    groups_claim: groups,
    scopes: input.scopes ?? d.scopes,
    authorization_params: input.authorization_params ?? d.authorization_params,
  };
  const audienceRule: AudienceRule = token === "id_token" ? "aud" : d.audience_rule;
  // The rules every provider shares: which token, checked against what.
  if (token === "access_token") {
    if (audienceRule === "aud" && !input.audience)
      traps.push({
        path: "audience",
        message: "required with token: access_token: the API audience (aud) the broker's access tokens carry",
      });
    if (input.audience && input.audience === input.client_id)
      traps.push({
        path: "audience",
        message:
          "the audience equals client_id, so the desktop's ID tokens would pass as access tokens: use the API's own audience, or token: id_token",
      });
  } else {
    if (!input.client_id)
      traps.push({
        path: "client_id",
        message:
          "required with token: id_token: ID tokens are checked against the desktop's client id (aud/azp)",
      });
    if (input.audience)
      traps.push({
        path: "audience",
        message: "with token: id_token the token's aud is the desktop's client_id; remove audience",
      });
  }
  for (const key of Object.keys(merged.authorization_params))
    if (RESERVED_PARAMS.has(key))
      traps.push({
        path: `authorization_params.${key}`,
        message: `${key} is set by the desktop itself (PKCE, state, redirect) and cannot be configured`,
      });
  if (!merged.scopes.includes("openid"))
    traps.push({ path: "scopes", message: "must include openid (the sign-in is OpenID Connect)" });
  // The provider's own advice first: it names the cause behind a generic complaint (Auth0's missing audience).
  traps.unshift(...preset.traps(merged));
  return {
    resolved: {
      provider: input.provider,
      token,
      audience: input.audience,
      client_id: input.client_id,
      client_secret: input.client_secret,
      scopes: [...merged.scopes],
      authorization_params: { ...merged.authorization_params },
      email_claim: claimPath(merged.email_claim),
      groups_claim: claimPath(groups),
      audience_rule: audienceRule,
      requires_token_use: d.requires_token_use,
    },
    traps,
  };
}
