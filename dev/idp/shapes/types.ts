// What a token shape of the dev IdP is: the claims one real provider puts in its ID and access tokens.

import type { DemoUser } from "../users.ts";

export interface TokenShape {
  readonly name: string;
  /** Claims of the ID token (and userinfo) beyond sub; each is released with the scope named for it. */
  idClaims(user: DemoUser): Record<string, unknown>;
  /** Claims added to the JWT access token (ignored when the access token is opaque). */
  accessClaims(user: DemoUser): Record<string, unknown>;
  /** Which scope releases each ID-token claim (oidc-provider keeps only the claims the granted scopes allow). */
  readonly claimScopes: Readonly<Record<string, string>>;
  /** Google's and JumpCloud's access tokens are not JWTs: only their ID tokens can be checked. */
  readonly opaqueAccessToken: boolean;
  /** Google's Desktop app clients authenticate with a client secret (which is not one). */
  readonly clientSecret?: string;
}

export const STANDARD_SCOPES = {
  email: "email",
  email_verified: "email",
  name: "profile",
  preferred_username: "profile",
  groups: "groups",
} as const;

export function standardClaims(user: DemoUser): Record<string, unknown> {
  return {
    email: user.email,
    email_verified: true,
    name: user.name,
    preferred_username: user.email.split("@")[0],
    groups: [...user.groups],
  };
}
