// Reading the person from a verified token's claims: the e-mail (verified, of an allowed domain), the groups
// claim at any path, and whether Entra left the groups out (overage) for a directory to fill in.

import type { JWTPayload } from "jose";
import { GatehouseError } from "../shared/errors.ts";

export interface ClaimRules {
  email_claim: readonly string[];
  groups_claim: readonly string[];
  allowed_domains?: readonly string[] | undefined;
}

export interface TokenIdentity {
  email: string;
  /** The groups claim, or undefined when the token has none (Google, Entra overage, no groups mapping). */
  tokenGroups: string[] | undefined;
  /** Entra had more groups than fit in a token and says where to look them up instead. */
  overage: boolean;
}

const rejected = (why: string) => new GatehouseError("UNAUTHENTICATED", `access token rejected: ${why}`);

/** A claim name for messages: a dotted path when that reads back the same, else the list of keys. */
export function claimLabel(path: readonly string[]): string {
  return path.every((k) => /^[\w-]+$/.test(k)) ? path.join(".") : JSON.stringify(path);
}

/** The value at a list of keys; own properties only, so `__proto__` or `constructor` never resolve. */
export function claimAt(payload: JWTPayload, path: readonly string[]): unknown {
  let v: unknown = payload;
  for (const key of path) {
    if (v === null || typeof v !== "object" || Array.isArray(v) || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/**
 * Entra leaves `groups` out when a person has more than fit (200 in a JWT) and says so with
 * `_claim_names.groups` (pointing at Graph) or, in implicit flows, `hasgroups: true`.
 */
export function isGroupsOverage(payload: JWTPayload): boolean {
  const names = payload._claim_names;
  const pointed =
    names !== null && typeof names === "object" && !Array.isArray(names) && Object.hasOwn(names, "groups");
  return pointed || payload.hasgroups === true;
}

function domainOf(email: string): string {
  return email.slice(email.lastIndexOf("@") + 1).toLowerCase();
}

export function readIdentity(payload: JWTPayload, rules: ClaimRules): TokenIdentity {
  const email = claimAt(payload, rules.email_claim);
  if (typeof email !== "string" || !/^[^\s@:]+@[^\s@:]+$/.test(email))
    throw rejected(`no usable ${claimLabel(rules.email_claim)} claim`);
  // Absent means the IdP does not say (Entra, Okta access tokens); only an explicit false is a refusal.
  const verified = payload.email_verified;
  if (verified !== undefined && verified !== true && verified !== "true")
    throw rejected("the e-mail address is not verified (email_verified is not true)");
  if (rules.allowed_domains) {
    // Google's hd names the Workspace domain; a personal account has none, so its e-mail's domain is checked.
    const hd = payload.hd;
    if (hd !== undefined && typeof hd !== "string") throw rejected("hd is not a string");
    const domain = (hd ?? domainOf(email)).toLowerCase();
    if (!rules.allowed_domains.includes(domain)) throw rejected(`the domain ${domain} is not allowed`);
  }
  const groups = claimAt(payload, rules.groups_claim);
  if (groups !== undefined && (!Array.isArray(groups) || !groups.every((g) => typeof g === "string")))
    throw rejected(`the ${claimLabel(rules.groups_claim)} claim is not a list of strings`);
  return {
    email: email.toLowerCase(),
    tokenGroups: groups as string[] | undefined,
    overage: groups === undefined && isGroupsOverage(payload),
  };
}
