// Any OpenID Provider whose access token is a JWT for the broker's audience with `email` and `groups`.

import { OIDC_SCOPES, type ProviderPreset } from "./types.ts";

export const generic: ProviderPreset = {
  name: "generic",
  defaults: () => ({
    token: "access_token",
    email_claim: "email",
    groups_claim: "groups",
    scopes: OIDC_SCOPES,
    authorization_params: {},
    audience_rule: "aud",
    requires_token_use: false,
  }),
  traps: () => [],
};
