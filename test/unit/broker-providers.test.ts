// IdP presets (oidc.provider): each fills its provider's defaults, every key stays overridable, and the traps
// each provider is known for stop the broker with the file, the line and what to do.

import { describe, expect, it } from "vitest";
import { parseConfig } from "../../broker/config.ts";
import { GatehouseError } from "../../shared/errors.ts";

const FILE = "/etc/gatehouse/gatehouse.yaml";

function yaml(oidc: string): string {
  const lines = oidc
    .trim()
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
  return `database: broker.sqlite
oidc:
${lines}
aws:
  spoke_role_name: GatehouseSpoke
  accounts:
    - { id: "222222222222", name: prod }
`;
}

const oidcOf = (oidc: string) => parseConfig(yaml(oidc), FILE).oidc;

function errorOf(oidc: string): string {
  try {
    parseConfig(yaml(oidc), FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(GatehouseError);
    expect((e as GatehouseError).code).toBe("CONFIG_INVALID");
    return (e as GatehouseError).message;
  }
  throw new Error("the config was accepted");
}

describe("presets fill what each provider needs", () => {
  const cases = [
    {
      provider: "generic",
      oidc: "issuer: https://sso.example.com\naudience: gatehouse-broker",
      want: { token: "access_token", email_claim: ["email"], groups_claim: ["groups"], audience_rule: "aud" },
    },
    {
      provider: "okta",
      oidc: "provider: okta\nissuer: https://acme.okta.com/oauth2/default\naudience: api://gatehouse\nclient_id: 0oa1",
      want: { token: "access_token", scopes: ["openid", "email", "profile", "offline_access"] },
    },
    {
      provider: "entra",
      oidc: "provider: entra\nissuer: https://login.microsoftonline.com/72f9/v2.0\naudience: api://gatehouse\nclient_id: d1e5",
      want: {
        token: "access_token",
        scopes: ["openid", "email", "profile", "offline_access", "api://gatehouse/access"],
      },
    },
    {
      provider: "google",
      oidc: "provider: google\nissuer: https://accounts.google.com\nclient_id: 1.apps.googleusercontent.com\nclient_secret: GOCSPX-x",
      want: {
        token: "id_token",
        scopes: ["openid", "email", "profile"],
        authorization_params: { access_type: "offline", prompt: "consent" },
      },
    },
    {
      provider: "auth0",
      oidc: "provider: auth0\nissuer: https://acme.eu.auth0.com/\naudience: https://gatehouse.example.com\nclient_id: abc",
      want: {
        token: "access_token",
        email_claim: ["https://gatehouse.example.com/email"],
        groups_claim: ["https://gatehouse.example.com/groups"],
        authorization_params: { audience: "https://gatehouse.example.com" },
      },
    },
    {
      provider: "keycloak",
      oidc: "provider: keycloak\nissuer: https://kc.example.com/realms/acme\naudience: gatehouse-broker\nclient_id: gatehouse-desktop",
      want: { token: "access_token", groups_claim: ["groups"] },
    },
    {
      provider: "jumpcloud",
      oidc: "provider: jumpcloud\nissuer: https://oauth.id.jumpcloud.com/\nclient_id: 7c1",
      want: { token: "id_token", groups_claim: ["groups"] },
    },
    {
      provider: "cognito",
      oidc: "provider: cognito\nissuer: https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC\nclient_id: 5r3",
      want: {
        token: "id_token",
        groups_claim: ["cognito:groups"],
        requires_token_use: true,
        scopes: ["openid", "email", "profile"],
      },
    },
    {
      provider: "cognito (access tokens)",
      oidc: 'provider: cognito\nissuer: https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC\nclient_id: 5r3\ntoken: access_token\nemail_claim: ["custom:email"]',
      want: { token: "access_token", audience_rule: "client_id_claim", email_claim: ["custom:email"] },
    },
  ];
  it.each(cases)("$provider", ({ oidc, want }) => {
    expect(oidcOf(oidc)).toMatchObject(want);
  });

  it("every default is overridable", () => {
    const o = oidcOf(`provider: google
issuer: https://accounts.google.com
client_id: 1.apps.googleusercontent.com
client_secret: GOCSPX-x
scopes: [openid, email]
authorization_params: { prompt: select_account }
groups_claim: [groups]
email_claim: email`);
    expect(o).toMatchObject({
      scopes: ["openid", "email"],
      authorization_params: { prompt: "select_account" },
    });
  });

  it("a claim name with colons, dots or slashes is a list of keys; a dotted string is a path", () => {
    expect(
      oidcOf('issuer: https://sso.example.com\naudience: b\ngroups_claim: ["https://x.example.com/groups"]')
        .groups_claim,
    ).toEqual(["https://x.example.com/groups"]);
    expect(
      oidcOf(
        "issuer: https://sso.example.com\naudience: b\ngroups_claim: [resource_access, gatehouse, roles]",
      ).groups_claim,
    ).toEqual(["resource_access", "gatehouse", "roles"]);
    expect(
      oidcOf("issuer: https://sso.example.com\naudience: b\ngroups_claim: realm_access.roles").groups_claim,
    ).toEqual(["realm_access", "roles"]);
    expect(errorOf("issuer: https://sso.example.com\naudience: b\ngroups_claim: cognito:groups")).toMatch(
      /:5: oidc\.groups_claim: a dotted path .* or a list of keys/,
    );
    expect(errorOf("issuer: https://sso.example.com\naudience: b\ngroups_claim: []")).toContain(
      "oidc.groups_claim",
    );
  });
});

describe("traps are refused with the provider's advice, at their line", () => {
  const traps = [
    {
      trap: "Keycloak's default audience account",
      oidc: "provider: keycloak\nissuer: https://kc.example.com/realms/acme\naudience: account",
      want: /:5: oidc\.audience: keycloak: Keycloak puts aud "account" .* Audience mapper/,
    },
    {
      trap: "a Keycloak issuer that is not a realm",
      oidc: "provider: keycloak\nissuer: https://kc.example.com/\naudience: gatehouse-broker",
      want: /oidc\.issuer: keycloak: .*\/realms\/<realm>/,
    },
    {
      trap: "Okta's org authorization server",
      oidc: "provider: okta\nissuer: https://acme.okta.com\naudience: api://gatehouse",
      want: /:4: oidc\.issuer: okta: .*org authorization server.*custom authorization server/,
    },
    {
      trap: "Auth0 without audience",
      oidc: "provider: auth0\nissuer: https://acme.eu.auth0.com/\nemail_claim: [e]",
      want: /oidc\.audience: auth0: .*opaque/,
    },
    {
      trap: "Google without its client secret",
      oidc: "provider: google\nissuer: https://accounts.google.com\nclient_id: 1.apps.googleusercontent.com",
      want: /oidc\.client_secret: google: .*Desktop app/,
    },
    {
      trap: "Google access tokens",
      oidc: "provider: google\nissuer: https://accounts.google.com\nclient_id: x\nclient_secret: y\ntoken: access_token\naudience: z",
      want: /oidc\.token: google: .*opaque/,
    },
    {
      trap: "Entra's preferred_username as the e-mail",
      oidc: "provider: entra\nissuer: https://login.microsoftonline.com/72f9/v2.0\naudience: api://g\nemail_claim: preferred_username",
      want: /oidc\.email_claim: entra: .*preferred_username can be changed/,
    },
    {
      trap: "Entra's common endpoint",
      oidc: "provider: entra\nissuer: https://login.microsoftonline.com/common/v2.0\naudience: api://g",
      want: /oidc\.issuer: entra: a multi-tenant issuer/,
    },
    {
      trap: "a Cognito hosted UI domain as issuer",
      oidc: "provider: cognito\nissuer: https://acme.auth.eu-west-1.amazoncognito.com\nclient_id: c",
      want: /oidc\.issuer: cognito: .*user pool/,
    },
    {
      trap: "Cognito access tokens without client_id",
      oidc: "provider: cognito\nissuer: https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC\ntoken: access_token\nemail_claim: [e]",
      want: /oidc\.client_id: cognito: .*no aud/,
    },
    {
      trap: "ID tokens without a client id",
      oidc: "provider: jumpcloud\nissuer: https://oauth.id.jumpcloud.com/",
      want: /oidc\.client_id: jumpcloud: required with token: id_token/,
    },
    {
      trap: "an audience equal to the client id (ID tokens would pass)",
      oidc: "issuer: https://sso.example.com\naudience: desk\nclient_id: desk",
      want: /oidc\.audience: generic: the audience equals client_id/,
    },
    {
      trap: "access tokens without an audience",
      oidc: "issuer: https://sso.example.com",
      want: /oidc\.audience: generic: required with token: access_token/,
    },
    {
      trap: "an authorization parameter the desktop owns",
      oidc: "issuer: https://sso.example.com\naudience: b\nauthorization_params: { redirect_uri: https://evil.example.com }",
      want: /oidc\.authorization_params\.redirect_uri: generic: redirect_uri is set by the desktop/,
    },
    {
      trap: "an unknown provider",
      oidc: "provider: ping\nissuer: https://sso.example.com\naudience: b",
      want: /oidc\.provider: Invalid option/,
    },
  ];
  it.each(traps)("$trap", ({ oidc, want }) => {
    expect(errorOf(oidc)).toMatch(want);
  });

  it("Entra's preferred_username is accepted only when asked for knowingly", () => {
    expect(
      oidcOf(
        "provider: entra\nissuer: https://login.microsoftonline.com/72f9/v2.0\naudience: api://g\nemail_claim: preferred_username\nallow_mutable_email_claim: true",
      ).email_claim,
    ).toEqual(["preferred_username"]);
  });
});
