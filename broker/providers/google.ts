// Google Workspace: ID tokens (Google's access tokens are opaque), the Desktop app's client secret, no groups claim.

import type { ProviderPreset } from "./types.ts";

export const google: ProviderPreset = {
  name: "google",
  defaults: () => ({
    token: "id_token",
    email_claim: "email",
    groups_claim: "groups",
    // Google refuses offline_access; a refresh token comes from access_type=offline instead.
    scopes: ["openid", "email", "profile"],
    authorization_params: { access_type: "offline", prompt: "consent" },
    audience_rule: "aud",
    requires_token_use: false,
  }),
  traps: (o) => {
    const traps = [];
    if (o.token === "access_token")
      traps.push({
        path: "token",
        message: "Google's access tokens are opaque (not JWTs) and cannot be checked: use token: id_token",
      });
    if (!o.client_secret)
      traps.push({
        path: "client_secret",
        message:
          "Google's token endpoint wants the client secret even from a Desktop app client (for installed apps it is not a secret): copy it from the OAuth client into client_secret",
      });
    return traps;
  },
};
