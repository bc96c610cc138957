// JumpCloud: ID tokens (its access tokens are opaque), groups from the SSO app's group attribute.

import { OIDC_SCOPES, type ProviderPreset } from "./types.ts";

export const jumpcloud: ProviderPreset = {
  name: "jumpcloud",
  defaults: () => ({
    token: "id_token",
    email_claim: "email",
    groups_claim: "groups",
    scopes: OIDC_SCOPES,
    authorization_params: {},
    audience_rule: "aud",
    requires_token_use: false,
  }),
  traps: (o) =>
    o.token === "access_token"
      ? [
          {
            path: "token",
            message:
              "JumpCloud's access tokens are opaque (not JWTs) and cannot be checked: use token: id_token",
          },
        ]
      : [],
};
