// The roles view's model, pure and fast enough to run on every keystroke over 10,000 roles: an index built
// once per roles list (sorted, one lower-cased haystack per role, rows allocated once), and the flat row list
// that the virtualised list renders: Favourites, Recent, then every account with its roles.

import type { Role } from "../../../shared/api.ts";

export type Section = "favourites" | "recent" | "accounts";

export type Row =
  | { kind: "section"; key: string; title: string; count: number }
  | { kind: "account"; key: string; accountName: string; accountId: string; count: number }
  | { kind: "role"; key: string; role: Role; section: Section };

export type RoleRow = Extract<Row, { kind: "role" }>;

interface Entry {
  role: Role;
  haystack: string;
  row: RoleRow;
}

interface AccountGroup {
  accountId: string;
  accountName: string;
  entries: Entry[];
}

export interface RoleIndex {
  readonly total: number;
  readonly accounts: readonly AccountGroup[];
  readonly byRef: ReadonlyMap<string, Role>;
}

const byName = new Intl.Collator("en", { sensitivity: "base", numeric: true });

/** Everything search looks at: account id and name, role name and ref, description, tag keys and values. */
function haystackOf(role: Role): string {
  // Plain concatenation: this runs 10,000 times before the first paint of a large organisation.
  let s = `${role.accountId} ${role.accountName} ${role.roleName} ${role.ref} ${role.description ?? ""}`;
  for (const k in role.tags) s += ` ${k}=${role.tags[k]}`;
  if (role.cliOnly) s += " cli-only";
  return s.toLowerCase();
}

export function indexRoles(roles: readonly Role[]): RoleIndex {
  const groups = new Map<string, AccountGroup>();
  const byRef = new Map<string, Role>();
  for (const role of roles) {
    byRef.set(role.ref, role);
    let g = groups.get(role.accountId);
    if (!g) {
      g = { accountId: role.accountId, accountName: role.accountName, entries: [] };
      groups.set(role.accountId, g);
    }
    g.entries.push({
      role,
      haystack: haystackOf(role),
      row: { kind: "role", key: `a:${role.arn}`, role, section: "accounts" },
    });
  }
  const accounts = [...groups.values()].sort(
    (a, b) => byName.compare(a.accountName, b.accountName) || a.accountId.localeCompare(b.accountId),
  );
  for (const g of accounts) g.entries.sort((a, b) => byName.compare(a.role.roleName, b.role.roleName));
  return { total: roles.length, accounts, byRef };
}

/** The words of a query, lower-cased; a role matches when its haystack holds every one. */
export function queryTerms(query: string): string[] {
  return query.toLowerCase().split(/\s+/).filter(Boolean);
}

function matchesAll(haystack: string, terms: readonly string[]): boolean {
  for (const t of terms) if (!haystack.includes(t)) return false;
  return true;
}

/**
 * The roles matching a query, per account in index order. Typing on narrows: when the query extends the
 * previous one, only the previous matches can match, so only they are tested again.
 */
export interface Matches {
  readonly index: RoleIndex;
  readonly query: string;
  readonly terms: readonly string[];
  /** Parallel to index.accounts. */
  readonly perAccount: readonly (readonly Entry[])[];
  readonly count: number;
}

export function matchRoles(index: RoleIndex, query: string, previous?: Matches): Matches {
  const q = query.toLowerCase().trim();
  const terms = queryTerms(q);
  const from =
    previous && previous.index === index && previous.terms.length > 0 && q.startsWith(previous.query)
      ? previous.perAccount
      : index.accounts.map((g) => g.entries);
  let count = 0;
  const perAccount = from.map((entries) => {
    if (terms.length === 0) {
      count += entries.length;
      return entries;
    }
    const kept: Entry[] = [];
    for (const e of entries) if (matchesAll(e.haystack, terms)) kept.push(e);
    count += kept.length;
    return kept;
  });
  return { index, query: q, terms, perAccount, count };
}

export interface Rows {
  rows: Row[];
  /** Roles matching the query (each once, whatever sections it shows in). */
  matches: number;
}

function pinned(index: RoleIndex, refs: readonly string[], section: Section): RoleRow[] {
  const out: RoleRow[] = [];
  for (const ref of refs) {
    const role = index.byRef.get(ref);
    if (role) out.push({ kind: "role", key: `${section[0]}:${role.arn}`, role, section });
  }
  return out;
}

/**
 * Rows to render. With no query: Favourites and Recent (when they have roles) above every account. With a
 * query: only the accounts, holding only matching roles, so each match shows once.
 */
export function buildRows(
  m: Matches,
  pins: { favourites: readonly string[]; recent: readonly string[] },
): Rows {
  const { index } = m;
  const rows: Row[] = [];
  if (m.terms.length === 0) {
    const fav = pinned(index, pins.favourites, "favourites").sort((a, b) =>
      byName.compare(a.role.ref, b.role.ref),
    );
    if (fav.length > 0)
      rows.push({ kind: "section", key: "s:favourites", title: "Favourites", count: fav.length }, ...fav);
    const recent = pinned(index, pins.recent, "recent");
    if (recent.length > 0)
      rows.push({ kind: "section", key: "s:recent", title: "Recent", count: recent.length }, ...recent);
    if (rows.length > 0)
      rows.push({ kind: "section", key: "s:accounts", title: "All roles", count: index.total });
  }
  index.accounts.forEach((g, i) => {
    const entries = m.perAccount[i]!;
    if (entries.length === 0) return;
    rows.push({
      kind: "account",
      key: `h:${g.accountId}`,
      accountName: g.accountName,
      accountId: g.accountId,
      count: entries.length,
    });
    for (const e of entries) rows.push(e.row);
  });
  return { rows, matches: m.count };
}

/** Ranges of `text` that any term matches, merged and in order (for highlighting). */
export function matchRanges(text: string, terms: readonly string[]): [number, number][] {
  if (terms.length === 0) return [];
  const lower = text.toLowerCase();
  const ranges: [number, number][] = [];
  for (const t of terms) {
    for (let i = lower.indexOf(t); i !== -1; i = lower.indexOf(t, i + t.length))
      ranges.push([i, i + t.length]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}
