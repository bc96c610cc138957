// Any OpenID Provider whose access token is a JWT for the broker's audience with `email` and `groups`.

import { type ProviderPreset, plainDefaults } from "./types.ts";

export const generic: ProviderPreset = {
  name: "generic",
  defaults: () => plainDefaults(),
  traps: () => [],
};
