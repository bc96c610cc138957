// Microsoft Entra ID: v2.0 access tokens for the broker's app registration (api://…/access scope), groups as object ids.

import { OIDC_SCOPES, type ProviderPreset, plainDefaults } from "./types.ts";

const MUTABLE = new Set(["preferred_username", "upn", "unique_name"]);

/** The scope that makes Entra issue an access token for the broker's API instead of for Microsoft Graph. */
function apiScope(audience: string | undefined): string[] {
  if (!audience) return [];
  return [audience.startsWith("api://") ? `${audience}/access` : `api://${audience}/access`];
}

export const entra: ProviderPreset = {
  name: "entra",
  defaults: (o) => plainDefaults({ scopes: [...OIDC_SCOPES, ...apiScope(o.audience)] }),
  traps: (o) => {
    const traps = [];
    const email = typeof o.email_claim === "string" ? o.email_claim : o.email_claim.join(".");
    if (MUTABLE.has(email) && !o.allow_mutable_email_claim)
      traps.push({
        path: "email_claim",
        message: `Entra's ${email} can be changed by users or admins and may name someone else later: it is not accepted as the e-mail. Add the optional claim "email" to the token (Token configuration), or set allow_mutable_email_claim: true knowingly`,
      });
    if (/\/(common|organizations|consumers)(\/|$)/.test(URL.parse(o.issuer)?.pathname ?? ""))
      traps.push({
        path: "issuer",
        message:
          "a multi-tenant issuer (common, organizations, consumers) never matches a token's iss: use https://login.microsoftonline.com/<tenant id>/v2.0",
      });
    return traps;
  },
};
