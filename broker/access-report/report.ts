// The access review as pure logic: from the roles the access index serves, the people the sources know,
// their grants and their last uses, every person → roles (why, until when, last used, unused?) and every
// role → people. One pass over the tags builds principal → roles, so the report costs what the access
// people hold costs, not people × roles.

import { type AccessTagKeys, parseAccessValue, personPrincipals } from "../../shared/access.ts";
import type {
  AccessReason,
  AccessReport,
  PersonRole,
  ReportPerson,
  ReportRole,
} from "../../shared/access-report.ts";
import type { AccessIndex, IndexedRole } from "../access-index.ts";
import type { Use } from "./audit-usage.ts";
import type { Grant, KnownPerson } from "./people/index.ts";

export interface SourceData {
  name: string;
  people: KnownPerson[];
  grants: Grant[];
}

export interface ReportInput {
  roles: Pick<AccessIndex, "entries" | "syncedRole">;
  keys: AccessTagKeys;
  lowercaseGroups: boolean;
  sources: SourceData[];
  uses: Use[];
  now: Date;
  unusedDays: number;
}

type TagReason = Extract<AccessReason, { kind: "tag" }>;

interface Hit {
  entry: IndexedRole;
  reason: TagReason;
}

interface MergedPerson {
  email: string;
  groups: string[] | null;
  groupsFrom: string | null;
  groupsAt: string | null;
  groupsTruncated: boolean;
  sources: string[];
  lastSignIn: string | null;
}

/** People of every source by e-mail; the newest groups any source knows win. */
export function mergePeople(sources: readonly SourceData[]): MergedPerson[] {
  const byEmail = new Map<string, MergedPerson>();
  for (const s of sources) {
    for (const k of s.people) {
      const email = k.email.toLowerCase();
      let p = byEmail.get(email);
      if (!p) {
        p = {
          email,
          groups: null,
          groupsFrom: null,
          groupsAt: null,
          groupsTruncated: false,
          sources: [],
          lastSignIn: null,
        };
        byEmail.set(email, p);
      }
      if (!p.sources.includes(s.name)) p.sources.push(s.name);
      if (k.groups !== null && (p.groups === null || (k.groupsAt ?? "") > (p.groupsAt ?? ""))) {
        p.groups = k.groups;
        p.groupsFrom = s.name;
        p.groupsAt = k.groupsAt;
        p.groupsTruncated = k.groupsTruncated === true;
      }
      if (k.lastSignIn && (p.lastSignIn === null || k.lastSignIn > p.lastSignIn)) p.lastSignIn = k.lastSignIn;
    }
  }
  return [...byEmail.values()].sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0));
}

export function buildAccessReport(input: ReportInput): AccessReport {
  const { keys, lowercaseGroups, now } = input;
  const authorized = new Set(keys.authorized.map((k) => k.toLowerCase()));
  const cliOnly = new Set(keys.cliOnly.map((k) => k.toLowerCase()));

  // principal → the roles whose tags name it, with the tag. Only what the index serves counts (under
  // `hold` the index serves the effective tags, which are the ones it was given).
  const byPrincipal = new Map<string, Hit[]>();
  const roles = new Map<string, { entry: IndexedRole; out: ReportRole }>();
  const roleOf = (entry: IndexedRole) => {
    let r = roles.get(entry.role.arn);
    if (!r) {
      r = {
        entry,
        out: {
          arn: entry.role.arn,
          accountId: entry.role.accountId,
          accountName: entry.accountName,
          roleName: entry.role.name,
          principals: [],
          people: [],
        },
      };
      roles.set(entry.role.arn, r);
    }
    return r;
  };
  for (const entry of input.roles.entries()) {
    const r = roleOf(entry);
    for (const tag of entry.role.tags) {
      const key = tag.Key.toLowerCase();
      const level = authorized.has(key) ? "console" : cliOnly.has(key) ? "cli" : null;
      if (!level) continue;
      const served = level === "console" ? entry.access.console : entry.access.cliOnly;
      for (const principal of parseAccessValue(tag.Value, lowercaseGroups)) {
        if (!served.has(principal)) continue;
        r.out.principals.push({ principal, tagKey: tag.Key, level });
        const hits = byPrincipal.get(principal) ?? [];
        hits.push({
          entry,
          reason: {
            kind: "tag",
            tagKey: tag.Key,
            principal,
            via: principal.includes("@") ? "email" : "group",
            level,
          },
        });
        byPrincipal.set(principal, hits);
      }
    }
  }

  const grants = new Map<string, Grant[]>();
  for (const s of input.sources)
    for (const g of s.grants) {
      const email = g.email.toLowerCase();
      const list = grants.get(email) ?? [];
      list.push(g);
      grants.set(email, list);
    }

  // e-mail → ARN → last uses: one look-up per person, then one per role they hold.
  const uses = new Map<string, Map<string, { credentials: string | null; console: string | null }>>();
  for (const u of input.uses) {
    let theirs = uses.get(u.email);
    if (!theirs) {
      theirs = new Map();
      uses.set(u.email, theirs);
    }
    let seen = theirs.get(u.arn);
    if (!seen) {
      seen = { credentials: null, console: null };
      theirs.set(u.arn, seen);
    }
    if (seen[u.kind] === null || u.at > seen[u.kind]!) seen[u.kind] = u.at;
  }

  const cutoff = new Date(now.getTime() - input.unusedDays * 86_400_000).toISOString();
  const nowMs = now.getTime();
  let access = 0;
  let unusedCount = 0;
  const people: ReportPerson[] = [];
  for (const m of mergePeople(input.sources)) {
    const mine = new Map<string, { entry: IndexedRole; reasons: AccessReason[] }>();
    const add = (entry: IndexedRole, reason: AccessReason) => {
      const got = mine.get(entry.role.arn);
      if (got) got.reasons.push(reason);
      else mine.set(entry.role.arn, { entry, reasons: [reason] });
    };
    for (const p of personPrincipals({ email: m.email, groups: m.groups ?? [] }, lowercaseGroups))
      for (const hit of byPrincipal.get(p) ?? []) add(hit.entry, hit.reason);
    for (const g of grants.get(m.email) ?? []) {
      // A lapsed grant is no access, even before the expiry scheduler has removed it.
      if (g.until !== null && Date.parse(g.until) <= nowMs) continue;
      const entry = input.roles.syncedRole(g.arn);
      if (entry) add(entry, { kind: "grant", requestId: g.requestId, until: g.until });
    }
    const theirUses = uses.get(m.email);
    // Pairs, never one object spread into another: at 10,000 people × 5,000 roles every copy counts.
    const held: { entry: IndexedRole; row: PersonRole }[] = [];
    for (const { entry, reasons } of mine.values()) {
      const used = theirUses?.get(entry.role.arn);
      const lastCredentials = used?.credentials ?? null;
      const lastConsole = used?.console ?? null;
      const lastUsed =
        lastCredentials === null
          ? lastConsole
          : lastConsole === null || lastCredentials > lastConsole
            ? lastCredentials
            : lastConsole;
      let level: "console" | "cli" = "cli";
      for (const r of reasons) if (r.kind === "grant" || r.level === "console") level = "console";
      const row: PersonRole = {
        arn: entry.role.arn,
        accountId: entry.role.accountId,
        accountName: entry.accountName,
        roleName: entry.role.name,
        level,
        reasons,
        until: endOf(reasons),
        lastCredentials,
        lastConsole,
        lastUsed,
        unused: lastUsed === null || lastUsed < cutoff,
      };
      held.push({ entry, row });
    }
    held.sort(byAccountAndName);
    const rolesOut: PersonRole[] = new Array(held.length);
    for (let i = 0; i < held.length; i++) {
      const { entry, row } = held[i]!;
      rolesOut[i] = row;
      roleOf(entry).out.people.push({
        email: m.email,
        level: row.level,
        lastUsed: row.lastUsed,
        unused: row.unused,
      });
      access++;
      if (row.unused) unusedCount++;
    }
    people.push({
      email: m.email,
      groups: m.groups ?? [],
      groupsFrom: m.groupsFrom,
      groupsAt: m.groupsAt,
      groupsTruncated: m.groupsTruncated,
      sources: m.sources,
      lastSignIn: m.lastSignIn,
      roles: rolesOut,
    });
  }

  const roleList = [...roles.values()].map((r) => ({ ...r.out, entry: r.entry })).sort(byAccountAndName);
  return {
    generatedAt: now.toISOString(),
    unusedDays: input.unusedDays,
    totals: { people: people.length, roles: roleList.length, access, unused: unusedCount },
    people,
    roles: roleList.map(({ entry: _entry, ...r }) => r),
  };
}

/** When access through these reasons ends: never while one is open-ended, else the latest grant's end. */
function endOf(reasons: readonly AccessReason[]): string | null {
  let end: string | null = null;
  for (const r of reasons) {
    if (r.kind === "tag" || r.until === null) return null;
    if (end === null || Date.parse(r.until) > Date.parse(end)) end = r.until;
  }
  return end;
}

/** Account name, then role name, as the roles list orders them (plain comparison: no locale cost per pair). */
function byAccountAndName(a: { entry: IndexedRole }, b: { entry: IndexedRole }): number {
  const x = a.entry.accountName;
  const y = b.entry.accountName;
  if (x !== y) return x < y ? -1 : 1;
  const p = a.entry.role.name;
  const q = b.entry.role.name;
  return p < q ? -1 : p > q ? 1 : 0;
}
