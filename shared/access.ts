// Role-access tags (ConsoleMe-compatible): which people a role or user may be used by, and how.
// A tag value lists group names or e-mails separated by ":"; matching is exact per item.

export interface AccessTagKeys {
  /** Tags whose principals get console and CLI access. */
  authorized: readonly string[];
  /** Tags whose principals get CLI access only. */
  cliOnly: readonly string[];
}

export const DEFAULT_ACCESS_TAG_KEYS: AccessTagKeys = {
  authorized: ["gatehouse-authorized"],
  cliOnly: ["gatehouse-authorized-cli-only"],
};

/** ConsoleMe's tag keys, accepted when configured so an estate migrates without re-tagging. */
export const CONSOLEME_ACCESS_TAG_KEYS: AccessTagKeys = {
  authorized: ["consoleme-authorized"],
  cliOnly: ["consoleme-authorized-cli-only"],
};

export interface Tag {
  Key: string;
  Value: string;
}

export type AccessLevel = "console" | "cli";

export interface Person {
  email: string;
  groups: readonly string[];
}

/**
 * One principal as the index stores it. E-mails are compared without case (mailboxes are not
 * case-sensitive in practice); groups keep their case unless the configuration lowers them.
 */
export function normalizePrincipal(item: string, lowercaseGroups: boolean): string {
  return item.includes("@") || lowercaseGroups ? item.toLowerCase() : item;
}

/** Items of one tag value: split on ":", trimmed, empty items dropped. */
export function parseAccessValue(value: string, lowercaseGroups: boolean): string[] {
  const out: string[] = [];
  for (const raw of value.split(":")) {
    const item = raw.trim();
    if (item) out.push(normalizePrincipal(item, lowercaseGroups));
  }
  return out;
}

export interface RoleAccess {
  console: Set<string>;
  cliOnly: Set<string>;
}

/** The principals a role's tags name, by access level. Tag keys match exactly (IAM keys are case-insensitive). */
export function roleAccess(tags: readonly Tag[], keys: AccessTagKeys, lowercaseGroups: boolean): RoleAccess {
  const authorized = new Set(keys.authorized.map((k) => k.toLowerCase()));
  const cliOnly = new Set(keys.cliOnly.map((k) => k.toLowerCase()));
  const access: RoleAccess = { console: new Set(), cliOnly: new Set() };
  for (const t of tags) {
    const key = t.Key.toLowerCase();
    const target = authorized.has(key) ? access.console : cliOnly.has(key) ? access.cliOnly : undefined;
    if (!target) continue;
    for (const p of parseAccessValue(t.Value, lowercaseGroups)) target.add(p);
  }
  return access;
}

/** The principals a person is known by: their e-mail and each of their groups. */
export function personPrincipals(person: Person, lowercaseGroups: boolean): string[] {
  const out = new Set<string>([person.email.toLowerCase()]);
  for (const g of person.groups) {
    const item = g.trim();
    if (item) out.add(normalizePrincipal(item, lowercaseGroups));
  }
  return [...out];
}

/** The best access a person has to a role, or null. Console access includes the CLI. */
export function accessLevel(
  person: Person,
  access: RoleAccess,
  lowercaseGroups: boolean,
): AccessLevel | null {
  let level: AccessLevel | null = null;
  for (const p of personPrincipals(person, lowercaseGroups)) {
    if (access.console.has(p)) return "console";
    if (access.cliOnly.has(p)) level = "cli";
  }
  return level;
}
