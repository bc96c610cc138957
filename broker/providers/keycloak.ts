// Keycloak: access tokens of a realm, with an audience mapper for the broker and a group membership mapper.

import { type ProviderPreset, plainDefaults } from "./types.ts";

export const keycloak: ProviderPreset = {
  name: "keycloak",
  defaults: () => plainDefaults(),
  traps: (o) => {
    const traps = [];
    if (o.token === "access_token" && o.audience === "account")
      traps.push({
        path: "audience",
        message:
          'Keycloak puts aud "account" in every access token of the realm, whichever client asked: add an Audience mapper for the broker (e.g. gatehouse-broker) to the desktop client and use that audience',
      });
    if (!/\/realms\/[^/]+\/?$/.test(URL.parse(o.issuer)?.pathname ?? ""))
      traps.push({
        path: "issuer",
        message:
          "a Keycloak issuer is the realm's URL: https://<host>/realms/<realm> (/auth/realms/… before Keycloak 17)",
      });
    return traps;
  },
};
