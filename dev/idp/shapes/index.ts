// The token shapes the dev IdP can issue (`gatehouse-dev idp --shape NAME`), one per real provider's habit, so
// that tests sign in through the whole chain as each provider would.

import type { DemoUser } from "../users.ts";
import { STANDARD_SCOPES, standardClaims, type TokenShape } from "./types.ts";

/** Auth0 requires custom claims under a namespace (a URL); this one matches the docs' example. */
export const AUTH0_NAMESPACE = "https://gatehouse.example.com";
/** The client secret a Google Desktop app client is given (published to desktops: not a secret). */
export const GOOGLE_CLIENT_SECRET = "GOCSPX-dev-desktop-not-a-secret";

const emailOnly = (u: DemoUser) => ({ email: u.email });

const SHAPES = {
  /** The dev IdP's own: JWT access tokens with email and groups, groups in the ID token too. */
  generic: {
    name: "generic",
    idClaims: standardClaims,
    accessClaims: (u) => ({ email: u.email, groups: [...u.groups] }),
    claimScopes: STANDARD_SCOPES,
    opaqueAccessToken: false,
  },
  /** Okta or JumpCloud without a groups mapping: nobody has groups in any token. */
  "no-groups": {
    name: "no-groups",
    idClaims: (u) => {
      const { groups: _, ...rest } = standardClaims(u);
      return rest;
    },
    accessClaims: emailOnly,
    claimScopes: STANDARD_SCOPES,
    opaqueAccessToken: false,
  },
  /** Auth0: e-mail and groups only as namespaced custom claims (an Action adds them). */
  auth0: {
    name: "auth0",
    idClaims: (u) => ({ name: u.name, [`${AUTH0_NAMESPACE}/email`]: u.email, email_verified: true }),
    accessClaims: (u) => ({
      [`${AUTH0_NAMESPACE}/email`]: u.email,
      [`${AUTH0_NAMESPACE}/groups`]: [...u.groups],
    }),
    claimScopes: { name: "profile", email_verified: "email", [`${AUTH0_NAMESPACE}/email`]: "email" },
    opaqueAccessToken: false,
  },
  /** Entra ID for someone in more than 200 groups: no groups claim, a pointer to Graph instead. */
  "entra-overage": {
    name: "entra-overage",
    idClaims: (u) => ({ email: u.email, name: u.name }),
    accessClaims: (u) => ({
      email: u.email,
      _claim_names: { groups: "src1" },
      _claim_sources: {
        src1: { endpoint: `https://graph.microsoft.com/v1.0/users/${u.sub}/getMemberObjects` },
      },
    }),
    claimScopes: { email: "email", name: "profile" },
    opaqueAccessToken: false,
  },
  /** Google Workspace: opaque access tokens; the ID token has hd and email_verified, never groups. */
  google: {
    name: "google",
    idClaims: (u) => ({ email: u.email, email_verified: true, hd: u.email.split("@")[1], name: u.name }),
    accessClaims: () => ({}),
    claimScopes: { email: "email", email_verified: "email", hd: "email", name: "profile" },
    opaqueAccessToken: true,
    clientSecret: GOOGLE_CLIENT_SECRET,
  },
  /** JumpCloud: opaque access tokens; the ID token carries the SSO app's group attribute (no scope asks for it). */
  jumpcloud: {
    name: "jumpcloud",
    idClaims: standardClaims,
    accessClaims: () => ({}),
    claimScopes: { ...STANDARD_SCOPES, groups: "openid" },
    opaqueAccessToken: true,
  },
  /** Cognito user pools: cognito:groups and token_use in every token. */
  cognito: {
    name: "cognito",
    idClaims: (u) => ({
      email: u.email,
      email_verified: true,
      "cognito:groups": [...u.groups],
      token_use: "id",
    }),
    accessClaims: (u) => ({ "cognito:groups": [...u.groups], token_use: "access", username: u.email }),
    claimScopes: { email: "email", email_verified: "email", "cognito:groups": "openid", token_use: "openid" },
    opaqueAccessToken: false,
  },
  /** An IdP that says the e-mail is not verified (self-registered, never confirmed). */
  unverified: {
    name: "unverified",
    idClaims: (u) => ({ ...standardClaims(u), email_verified: false }),
    accessClaims: (u) => ({ email: u.email, email_verified: false, groups: [...u.groups] }),
    claimScopes: STANDARD_SCOPES,
    opaqueAccessToken: false,
  },
} as const satisfies Record<string, TokenShape>;

export type ShapeName = keyof typeof SHAPES;
export const SHAPE_NAMES = Object.keys(SHAPES) as ShapeName[];

export function tokenShape(name: ShapeName = "generic"): TokenShape {
  return SHAPES[name];
}
