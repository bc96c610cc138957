// Amazon Cognito user pools: ID tokens by default (access tokens carry no e-mail), groups in cognito:groups,
// every token marked with token_use; access tokens name the app client in client_id and carry no aud.

import type { ProviderPreset } from "./types.ts";

export const cognito: ProviderPreset = {
  name: "cognito",
  defaults: (o) => ({
    token: "id_token",
    email_claim: "email",
    groups_claim: ["cognito:groups"],
    // Cognito gives a refresh token without asking and refuses scopes it does not know (offline_access).
    scopes: ["openid", "email", "profile"],
    authorization_params: {},
    audience_rule: o.token === "access_token" && !o.audience ? "client_id_claim" : "aud",
    requires_token_use: true,
  }),
  traps: (o) => {
    const traps = [];
    if (o.token === "access_token" && !o.client_id)
      traps.push({
        path: "client_id",
        message:
          "Cognito's access tokens have no aud: the broker checks their client_id claim, so set client_id",
      });
    if (!/^\/[\w-]+_[0-9A-Za-z]+\/?$/.test(URL.parse(o.issuer)?.pathname ?? ""))
      traps.push({
        path: "issuer",
        message:
          "a Cognito issuer is the user pool's: https://cognito-idp.<region>.amazonaws.com/<user pool id> (not the hosted UI domain)",
      });
    return traps;
  },
};
