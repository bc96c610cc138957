// JumpCloud: ID tokens (its access tokens are opaque), groups from the SSO app's group attribute.

import { type ProviderPreset, plainDefaults } from "./types.ts";

export const jumpcloud: ProviderPreset = {
  name: "jumpcloud",
  defaults: () => plainDefaults({ token: "id_token" }),
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
