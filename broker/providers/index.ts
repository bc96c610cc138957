// The IdP presets by name (`oidc.provider`): each fills the defaults its provider needs and names its traps.

import { auth0 } from "./auth0.ts";
import { cognito } from "./cognito.ts";
import { entra } from "./entra.ts";
import { generic } from "./generic.ts";
import { google } from "./google.ts";
import { jumpcloud } from "./jumpcloud.ts";
import { keycloak } from "./keycloak.ts";
import { okta } from "./okta.ts";
import type { ProviderPreset } from "./types.ts";

export const PROVIDERS = {
  generic,
  okta,
  entra,
  google,
  auth0,
  keycloak,
  jumpcloud,
  cognito,
} as const satisfies Record<string, ProviderPreset>;

export type ProviderName = keyof typeof PROVIDERS;
export const PROVIDER_NAMES = Object.keys(PROVIDERS) as [ProviderName, ...ProviderName[]];
