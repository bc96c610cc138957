// What an IdP preset is: the defaults one provider needs and the configuration traps it is known for.

/** Which token the desktop sends and the broker checks. */
export type TokenKind = "access_token" | "id_token";

/**
 * How a token names who it is for: `aud` (the API audience, or the desktop's client id for ID tokens), or
 * Cognito's access tokens, which carry no `aud` but a `client_id` claim and `token_use: access`.
 */
export type AudienceRule = "aud" | "client_id_claim";

/** The oidc block as written, before a preset fills it in (only what presets look at). */
export interface OidcInput {
  issuer: string;
  token?: TokenKind | undefined;
  audience?: string | undefined;
  client_id?: string | undefined;
  client_secret?: string | undefined;
  email_claim?: string | readonly string[] | undefined;
  groups_claim?: string | readonly string[] | undefined;
  scopes?: readonly string[] | undefined;
  authorization_params?: Readonly<Record<string, string>> | undefined;
  allow_mutable_email_claim?: boolean | undefined;
}

/** Defaults a preset fills in; the YAML's own value always wins. */
export interface PresetDefaults {
  token: TokenKind;
  email_claim: string | readonly string[] | undefined;
  groups_claim: string | readonly string[];
  scopes: readonly string[];
  authorization_params: Readonly<Record<string, string>>;
  audience_rule: AudienceRule;
  /** Cognito marks each token `token_use: id | access`: its absence is then a forgery, not an old IdP. */
  requires_token_use: boolean;
}

/** The oidc block once the preset's defaults are in: what the traps are checked against. */
export interface ResolvedOidcInput extends OidcInput {
  token: TokenKind;
  scopes: readonly string[];
  email_claim: string | readonly string[];
  groups_claim: string | readonly string[];
  authorization_params: Readonly<Record<string, string>>;
}

/** A configuration mistake this provider is known for: the key it is about and what to do instead. */
export interface Trap {
  path: string;
  message: string;
}

export interface ProviderPreset {
  /** The value of `oidc.provider`. */
  readonly name: string;
  /** Defaults for this provider; some depend on what the YAML already says (Auth0's namespace, Entra's scope). */
  defaults(input: OidcInput): PresetDefaults;
  /** Mistakes in the resolved block that would make sign-in fail or, worse, accept the wrong tokens. */
  traps(oidc: ResolvedOidcInput): Trap[];
}

/** The OIDC scopes most providers take; `offline_access` asks for a refresh token. */
export const OIDC_SCOPES = ["openid", "email", "profile", "offline_access"] as const;

/** The first segment of a claim name as written (a dotted path or a list of keys). */
export function firstKey(claim: string | readonly string[]): string {
  return typeof claim === "string" ? (claim.split(".")[0] ?? claim) : (claim[0] ?? "");
}

/**
 * The defaults of a provider with nothing unusual about it: a JWT access token for the broker's audience
 * with `email` and `groups`, the usual scopes. A preset names only where its provider differs.
 */
export function plainDefaults(differences: Partial<PresetDefaults> = {}): PresetDefaults {
  return {
    token: "access_token",
    email_claim: "email",
    groups_claim: "groups",
    scopes: OIDC_SCOPES,
    authorization_params: {},
    audience_rule: "aud",
    requires_token_use: false,
    ...differences,
  };
}
