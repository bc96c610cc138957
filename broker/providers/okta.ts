// Okta: access tokens from a custom authorization server (…/oauth2/default or …/oauth2/<id>) for the API audience.

import { type ProviderPreset, plainDefaults } from "./types.ts";

/** The org authorization server's issuer is the bare Okta domain; custom servers live under /oauth2/<id>. */
function isOrgAuthorizationServer(issuer: string): boolean {
  return !/\/oauth2\/[^/]+\/?$/.test(URL.parse(issuer)?.pathname ?? "");
}

export const okta: ProviderPreset = {
  name: "okta",
  // No "groups" scope: a custom authorization server has none unless created; the claim is set to any scope.
  defaults: () => plainDefaults(),
  traps: (o) =>
    o.token === "access_token" && isOrgAuthorizationServer(o.issuer)
      ? [
          {
            path: "issuer",
            message: `${o.issuer} is Okta's org authorization server: its access tokens are for Okta's own APIs and cannot be checked by a third party. Use a custom authorization server (https://<org>.okta.com/oauth2/default, or /oauth2/<id>) or set token: id_token`,
          },
        ]
      : [],
};
