// Auth0: access tokens for an API (the `audience` parameter), with e-mail and groups as namespaced custom claims.

import { OIDC_SCOPES, type ProviderPreset } from "./types.ts";

/** Auth0 Actions must namespace custom claims; the API identifier (a URL) is the usual namespace. */
function namespaced(audience: string | undefined, name: string): string[] | undefined {
  return audience && /^https?:\/\//.test(audience) ? [`${audience.replace(/\/+$/, "")}/${name}`] : undefined;
}

export const auth0: ProviderPreset = {
  name: "auth0",
  defaults: (o) => ({
    token: "access_token",
    email_claim: namespaced(o.audience, "email"),
    groups_claim: namespaced(o.audience, "groups") ?? "groups",
    scopes: OIDC_SCOPES,
    // Without `audience` Auth0 hands out an opaque access token for its /userinfo only.
    authorization_params: o.audience ? { audience: o.audience } : ({} as Record<string, string>),
    audience_rule: "aud",
    requires_token_use: false,
  }),
  traps: (o) => {
    const traps = [];
    if (o.token === "access_token" && !o.audience)
      traps.push({
        path: "audience",
        message:
          "Auth0 issues a JWT access token only when the sign-in names an API: without audience the token is opaque and every sign-in fails. Set audience to the API identifier",
      });
    if (o.token === "access_token" && o.audience && o.authorization_params.audience !== o.audience)
      traps.push({
        path: "authorization_params.audience",
        message: `the sign-in must ask for the audience the broker checks (${o.audience}), or Auth0 issues tokens for another API`,
      });
    return traps;
  },
};
