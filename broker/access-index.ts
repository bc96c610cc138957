// The in-memory access index: principal (e-mail or group) → roles, so that finding a person's roles
// costs what their own roles cost, not what the organisation's size costs. Rebuilt per account.
// Gatehouse's own roles are never in it, whatever their tags say (SECURITY 32).

import {
  type AccessLevel,
  type AccessTagKeys,
  accessLevel,
  type Person,
  personPrincipals,
  type RoleAccess,
  roleAccess,
} from "../shared/access.ts";
import type { RoleRef } from "../shared/roles.ts";
import { isOwnRole } from "./own-roles.ts";
import type { SyncedRole } from "./store.ts";

export interface IndexedRole {
  role: SyncedRole;
  accountName: string;
  access: RoleAccess;
}

export interface RoleGrant {
  entry: IndexedRole;
  level: AccessLevel;
}

export class AccessIndex {
  private readonly byArn = new Map<string, IndexedRole>();
  private readonly byPrincipal = new Map<string, Set<string>>();
  private readonly byAccount = new Map<string, Set<string>>();
  /** account id → role name → the ARNs of that name (one, in practice), latest upsert last. */
  private readonly byName = new Map<string, Map<string, string[]>>();
  /** Every synced role, tagged or not: a role-access grant may name a role nobody is tagged for. */
  private readonly synced = new Map<string, SyncedRole>();
  /** Role-access grants from approved requests: e-mail → role ARN → expiry (epoch ms; null: permanent). */
  private readonly grants = new Map<string, Map<string, number | null>>();

  constructor(
    private readonly keys: AccessTagKeys,
    private readonly lowercaseGroups: boolean,
    private readonly accountNames: ReadonlyMap<string, string>,
    /** Gatehouse's own role names (ownRoleNames): left out of the index and of grants. */
    private readonly ownRoles: ReadonlySet<string> = new Set(),
  ) {}

  get size(): number {
    return this.byArn.size;
  }

  private remove(arn: string): void {
    const old = this.byArn.get(arn);
    if (!old) return;
    this.byArn.delete(arn);
    for (const p of [...old.access.console, ...old.access.cliOnly]) {
      const set = this.byPrincipal.get(p);
      set?.delete(arn);
      if (set?.size === 0) this.byPrincipal.delete(p);
    }
    this.byAccount.get(old.role.accountId)?.delete(arn);
    const names = this.byName.get(old.role.accountId);
    const arns = names?.get(old.role.name);
    if (arns) {
      arns.splice(arns.indexOf(arn), 1);
      if (arns.length === 0) names!.delete(old.role.name);
    }
  }

  upsertRole(role: SyncedRole): void {
    this.remove(role.arn);
    this.synced.delete(role.arn);
    // Not even in `synced`: a role-access grant must not reach one either.
    if (isOwnRole(this.ownRoles, role)) return;
    this.synced.set(role.arn, role);
    const access = roleAccess(role.tags, this.keys, this.lowercaseGroups);
    if (access.console.size === 0 && access.cliOnly.size === 0) return;
    const entry: IndexedRole = {
      role,
      accountName: this.accountNames.get(role.accountId) ?? role.accountId,
      access,
    };
    this.byArn.set(role.arn, entry);
    for (const p of [...access.console, ...access.cliOnly]) {
      const set = this.byPrincipal.get(p) ?? new Set<string>();
      set.add(role.arn);
      this.byPrincipal.set(p, set);
    }
    const acct = this.byAccount.get(role.accountId) ?? new Set<string>();
    acct.add(role.arn);
    this.byAccount.set(role.accountId, acct);
    const names = this.byName.get(role.accountId) ?? new Map<string, string[]>();
    const arns = names.get(role.name);
    if (arns) arns.push(role.arn);
    else names.set(role.name, [role.arn]);
    this.byName.set(role.accountId, names);
  }

  /** The role named `roleName` in account `accountId`: a map look-up, not a walk over the account's roles. */
  private named(accountId: string, roleName: string): IndexedRole | undefined {
    const arns = this.byName.get(accountId)?.get(roleName);
    return arns ? this.byArn.get(arns[arns.length - 1]!) : undefined;
  }

  /** Swap one account's roles for a fresh set (after a sync of that account). */
  replaceAccount(accountId: string, roles: readonly SyncedRole[]): void {
    for (const arn of [...(this.byAccount.get(accountId) ?? [])]) this.remove(arn);
    for (const [arn, r] of this.synced) if (r.accountId === accountId) this.synced.delete(arn);
    for (const r of roles) this.upsertRole(r);
  }

  /** Grant a person console access to a role until `expiresAt` (epoch ms), or for good (null). */
  grant(email: string, arn: string, expiresAt: number | null): void {
    const key = email.toLowerCase();
    const mine = this.grants.get(key) ?? new Map<string, number | null>();
    mine.set(arn, expiresAt);
    this.grants.set(key, mine);
  }

  revoke(email: string, arn: string): void {
    const key = email.toLowerCase();
    this.grants.get(key)?.delete(arn);
    if (this.grants.get(key)?.size === 0) this.grants.delete(key);
  }

  /** Every role the index serves through its tags (the access review walks them all). */
  entries(): IterableIterator<IndexedRole> {
    return this.byArn.values();
  }

  /** A synced role, tagged or not, unless it is Gatehouse's own: what a role-access grant may name. */
  syncedRole(arn: string): IndexedRole | undefined {
    const tagged = this.byArn.get(arn);
    if (tagged) return tagged;
    const role = this.synced.get(arn);
    return role
      ? {
          role,
          accountName: this.accountNames.get(role.accountId) ?? role.accountId,
          access: { console: new Set(), cliOnly: new Set() },
        }
      : undefined;
  }

  /** The roles granted to a person that have not lapsed (checked here, so a grant ends on time). */
  private granted(person: Person, now = Date.now()): IndexedRole[] {
    const out: IndexedRole[] = [];
    for (const [arn, until] of this.grants.get(person.email.toLowerCase()) ?? []) {
      if (until !== null && until <= now) continue;
      const role = this.synced.get(arn);
      if (!role) continue;
      out.push(
        this.byArn.get(arn) ?? {
          role,
          accountName: this.accountNames.get(role.accountId) ?? role.accountId,
          access: { console: new Set(), cliOnly: new Set() },
        },
      );
    }
    return out;
  }

  /** Every role the person may use, with the access level. */
  rolesFor(person: Person): RoleGrant[] {
    const arns = new Set<string>();
    for (const p of personPrincipals(person, this.lowercaseGroups)) {
      for (const arn of this.byPrincipal.get(p) ?? []) arns.add(arn);
    }
    const out: RoleGrant[] = [];
    for (const arn of arns) {
      const entry = this.byArn.get(arn)!;
      const level = accessLevel(person, entry.access, this.lowercaseGroups);
      if (level) out.push({ entry, level });
    }
    for (const entry of this.granted(person)) {
      const i = out.findIndex((g) => g.entry.role.arn === entry.role.arn);
      if (i < 0) out.push({ entry, level: "console" });
      else out[i] = { entry, level: "console" };
    }
    return out.sort((a, b) =>
      a.entry.accountName === b.entry.accountName
        ? a.entry.role.name.localeCompare(b.entry.role.name)
        : a.entry.accountName.localeCompare(b.entry.accountName),
    );
  }

  /** One role by reference, only if the person may use it: a role they may not use is not found. */
  find(person: Person, ref: RoleRef): RoleGrant | undefined {
    let entry: IndexedRole | undefined;
    if (ref.kind === "arn") {
      entry = this.byArn.get(ref.arn);
    } else {
      entry = this.named(ref.account, ref.role);
      if (!entry) {
        for (const [id, name] of this.accountNames) {
          if (name === ref.account) entry = this.named(id, ref.role) ?? entry;
        }
      }
    }
    const level = entry ? accessLevel(person, entry.access, this.lowercaseGroups) : null;
    if (entry && level === "console") return { entry, level };
    const matches = (e: IndexedRole) =>
      ref.kind === "arn"
        ? e.role.arn === ref.arn
        : e.role.name === ref.role && (e.role.accountId === ref.account || e.accountName === ref.account);
    const granted = this.granted(person).find(matches);
    if (granted) return { entry: granted, level: "console" };
    return entry && level ? { entry, level } : undefined;
  }
}
