// The people the broker knows beyond a token: SCIM-provisioned users, groups and memberships, and each
// person's enabled/disabled state, kept through the `Db` layer (SQLite or PostgreSQL, one code path).

import { randomUUID } from "node:crypto";
import { GatehouseError } from "../../shared/errors.ts";
import type { Db, Param } from "../db/index.ts";
import { type Migration, migrate } from "../db/migrate.ts";

/** SCIM-provisioned user as the broker keeps it (the attributes it serves back and filters on). */
export interface ScimUserRow {
  id: string;
  userName: string;
  externalId: string | null;
  displayName: string | null;
  name: { givenName: string | null; familyName: string | null; formatted: string | null };
  emails: ScimEmail[];
  /** The person this user is: the primary e-mail, else the first, else userName; lower-cased. */
  email: string | null;
  active: boolean;
  created: string;
  lastModified: string;
}

export interface ScimEmail {
  value: string;
  type?: string | undefined;
  primary?: boolean | undefined;
}

export interface ScimGroupRow {
  id: string;
  displayName: string;
  externalId: string | null;
  members: { value: string; display: string }[];
  created: string;
  lastModified: string;
}

export type NewScimUser = Omit<ScimUserRow, "id" | "email" | "created" | "lastModified">;
export type NewScimGroup = { displayName: string; externalId: string | null; members: string[] };

/** Why a person is disabled; the person is disabled while either flag is set. */
export interface PersonState {
  email: string;
  disabled: boolean;
  /** The IdP said so (SCIM `active: false` or DELETE); cleared by SCIM `active: true` or an admin. */
  scimDisabled: boolean;
  /** An admin said so; cleared only by an admin. */
  adminDisabled: boolean;
  reason: string | null;
  actor: string | null;
  changedAt: string;
}

/** A WHERE clause over one resource's table, with its parameters (built from a parsed SCIM filter). */
export interface Where {
  sql: string;
  params: Param[];
}

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "scim users, groups, members; people state",
    up: `
      CREATE TABLE scim_users (
        id TEXT PRIMARY KEY, user_name TEXT NOT NULL, user_name_key TEXT NOT NULL UNIQUE,
        external_id TEXT, display_name TEXT, given_name TEXT, family_name TEXT, formatted_name TEXT,
        emails TEXT NOT NULL, email TEXT, active INTEGER NOT NULL,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL
      );
      CREATE INDEX scim_users_email ON scim_users(email);
      CREATE INDEX scim_users_external ON scim_users(external_id);
      CREATE TABLE scim_emails (
        user_id TEXT NOT NULL, n INTEGER NOT NULL, value_key TEXT NOT NULL, type TEXT,
        PRIMARY KEY (user_id, n)
      );
      CREATE INDEX scim_emails_value ON scim_emails(value_key);
      CREATE TABLE scim_groups (
        id TEXT PRIMARY KEY, display_name TEXT NOT NULL, display_name_key TEXT NOT NULL UNIQUE,
        external_id TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
      );
      CREATE TABLE scim_members (
        group_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (group_id, user_id)
      );
      CREATE INDEX scim_members_user ON scim_members(user_id);
      CREATE TABLE people_state (
        email TEXT PRIMARY KEY, scim_disabled INTEGER NOT NULL, admin_disabled INTEGER NOT NULL,
        reason TEXT, actor TEXT, changed_at TEXT NOT NULL
      );`,
  },
];

/** The person a SCIM user is: its primary e-mail, else its first, else a userName that is an e-mail. */
export function personEmail(u: { userName: string; emails: ScimEmail[] }): string | null {
  const e = u.emails.find((m) => m.primary) ?? u.emails[0];
  if (e) return e.value.toLowerCase();
  return u.userName.includes("@") ? u.userName.toLowerCase() : null;
}

const conflict = (what: string) => new GatehouseError("SCIM_CONFLICT", what);

/** A unique index answered (two replicas creating the same name at once): the same 409 as the check. */
function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "23505";
}

type UserRecord = Record<string, unknown>;

export class PeopleStore {
  constructor(private readonly db: Db) {
    migrate(db, "people", MIGRATIONS);
  }

  /** Run `fn` in one transaction (several changes of one SCIM request land together or not at all). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn);
  }

  // ---- users

  private toUser(r: UserRecord): ScimUserRow {
    return {
      id: r.id as string,
      userName: r.user_name as string,
      externalId: (r.external_id as string | null) ?? null,
      displayName: (r.display_name as string | null) ?? null,
      name: {
        givenName: (r.given_name as string | null) ?? null,
        familyName: (r.family_name as string | null) ?? null,
        formatted: (r.formatted_name as string | null) ?? null,
      },
      emails: JSON.parse(r.emails as string) as ScimEmail[],
      email: (r.email as string | null) ?? null,
      active: Number(r.active) === 1,
      created: r.created_at as string,
      lastModified: r.updated_at as string,
    };
  }

  getUser(id: string): ScimUserRow | undefined {
    const r = this.db.get<UserRecord>("SELECT * FROM scim_users WHERE id = ?", [id]);
    return r ? this.toUser(r) : undefined;
  }

  /** For updates: the row, locked against another replica's change until this transaction ends. */
  getUserForUpdate(id: string): ScimUserRow | undefined {
    const r = this.db.get<UserRecord>(`SELECT * FROM scim_users WHERE id = ?${this.db.forUpdate}`, [id]);
    return r ? this.toUser(r) : undefined;
  }

  countUsers(where: Where): number {
    const r = this.db.get<{ n: number }>(
      `SELECT COUNT(*) AS n FROM scim_users WHERE ${where.sql}`,
      where.params,
    );
    return Number(r?.n ?? 0);
  }

  listUsers(where: Where, offset: number, limit: number): ScimUserRow[] {
    return this.db
      .all<UserRecord>(
        `SELECT * FROM scim_users WHERE ${where.sql} ORDER BY created_at, id LIMIT ? OFFSET ?`,
        [...where.params, limit, offset],
      )
      .map((r) => this.toUser(r));
  }

  private checkUserName(userName: string, exceptId: string | null): void {
    const other = this.db.get<{ id: string }>("SELECT id FROM scim_users WHERE user_name_key = ?", [
      userName.toLowerCase(),
    ]);
    if (other && other.id !== exceptId) throw conflict(`a user with userName "${userName}" already exists`);
  }

  private writeEmails(id: string, emails: ScimEmail[]): void {
    this.db.run("DELETE FROM scim_emails WHERE user_id = ?", [id]);
    for (const [n, e] of emails.entries())
      this.db.run("INSERT INTO scim_emails (user_id, n, value_key, type) VALUES (?, ?, ?, ?)", [
        id,
        n,
        e.value.toLowerCase(),
        e.type ?? null,
      ]);
  }

  createUser(u: NewScimUser, now = new Date()): ScimUserRow {
    const id = randomUUID();
    const at = now.toISOString();
    try {
      this.db.transaction(() => {
        this.checkUserName(u.userName, null);
        this.db.run(
          `INSERT INTO scim_users (id, user_name, user_name_key, external_id, display_name, given_name, family_name,
             formatted_name, emails, email, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            id,
            u.userName,
            u.userName.toLowerCase(),
            u.externalId,
            u.displayName,
            u.name.givenName,
            u.name.familyName,
            u.name.formatted,
            JSON.stringify(u.emails),
            personEmail(u),
            u.active ? 1 : 0,
            at,
            at,
          ],
        );
        this.writeEmails(id, u.emails);
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`a user with userName "${u.userName}" already exists`);
      throw e;
    }
    return this.getUser(id)!;
  }

  /** Replace a user's attributes (PUT, or PATCH once applied); the caller holds the transaction. */
  saveUser(u: ScimUserRow, now = new Date()): ScimUserRow {
    this.checkUserName(u.userName, u.id);
    this.db.run(
      `UPDATE scim_users SET user_name = ?, user_name_key = ?, external_id = ?, display_name = ?, given_name = ?,
         family_name = ?, formatted_name = ?, emails = ?, email = ?, active = ?, updated_at = ? WHERE id = ?`,
      [
        u.userName,
        u.userName.toLowerCase(),
        u.externalId,
        u.displayName,
        u.name.givenName,
        u.name.familyName,
        u.name.formatted,
        JSON.stringify(u.emails),
        personEmail(u),
        u.active ? 1 : 0,
        now.toISOString(),
        u.id,
      ],
    );
    this.writeEmails(u.id, u.emails);
    return this.getUser(u.id)!;
  }

  deleteUser(id: string): boolean {
    return this.db.transaction(() => {
      this.db.run("DELETE FROM scim_members WHERE user_id = ?", [id]);
      this.db.run("DELETE FROM scim_emails WHERE user_id = ?", [id]);
      return this.db.run("DELETE FROM scim_users WHERE id = ?", [id]).changes > 0;
    });
  }

  // ---- groups

  private membersOf(groupId: string): { value: string; display: string }[] {
    return this.db
      .all<{ id: string; user_name: string }>(
        "SELECT u.id, u.user_name FROM scim_members m JOIN scim_users u ON u.id = m.user_id WHERE m.group_id = ? ORDER BY u.user_name_key",
        [groupId],
      )
      .map((r) => ({ value: r.id, display: r.user_name }));
  }

  private toGroup(r: UserRecord, withMembers: boolean): ScimGroupRow {
    const id = r.id as string;
    return {
      id,
      displayName: r.display_name as string,
      externalId: (r.external_id as string | null) ?? null,
      members: withMembers ? this.membersOf(id) : [],
      created: r.created_at as string,
      lastModified: r.updated_at as string,
    };
  }

  getGroup(id: string, withMembers = true): ScimGroupRow | undefined {
    const r = this.db.get<UserRecord>("SELECT * FROM scim_groups WHERE id = ?", [id]);
    return r ? this.toGroup(r, withMembers) : undefined;
  }

  getGroupForUpdate(id: string): ScimGroupRow | undefined {
    const r = this.db.get<UserRecord>(`SELECT * FROM scim_groups WHERE id = ?${this.db.forUpdate}`, [id]);
    return r ? this.toGroup(r, true) : undefined;
  }

  countGroups(where: Where): number {
    const r = this.db.get<{ n: number }>(
      `SELECT COUNT(*) AS n FROM scim_groups WHERE ${where.sql}`,
      where.params,
    );
    return Number(r?.n ?? 0);
  }

  listGroups(where: Where, offset: number, limit: number, withMembers: boolean): ScimGroupRow[] {
    return this.db
      .all<UserRecord>(
        `SELECT * FROM scim_groups WHERE ${where.sql} ORDER BY created_at, id LIMIT ? OFFSET ?`,
        [...where.params, limit, offset],
      )
      .map((r) => this.toGroup(r, withMembers));
  }

  private checkDisplayName(name: string, exceptId: string | null): void {
    const other = this.db.get<{ id: string }>("SELECT id FROM scim_groups WHERE display_name_key = ?", [
      name.toLowerCase(),
    ]);
    if (other && other.id !== exceptId) throw conflict(`a group with displayName "${name}" already exists`);
  }

  private checkUsers(ids: readonly string[]): void {
    for (const id of ids)
      if (!this.db.get("SELECT id FROM scim_users WHERE id = ?", [id]))
        throw new GatehouseError("SCIM_INVALID_VALUE", `member "${id}" is not a user of this broker`);
  }

  createGroup(g: NewScimGroup, now = new Date()): ScimGroupRow {
    const id = randomUUID();
    const at = now.toISOString();
    try {
      this.db.transaction(() => {
        this.checkDisplayName(g.displayName, null);
        this.checkUsers(g.members);
        this.db.run(
          "INSERT INTO scim_groups (id, display_name, display_name_key, external_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
          [id, g.displayName, g.displayName.toLowerCase(), g.externalId, at, at],
        );
        this.addMembers(id, g.members);
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`a group with displayName "${g.displayName}" already exists`);
      throw e;
    }
    return this.getGroup(id)!;
  }

  /** Write a group's name, externalId and exact member list; the caller holds the transaction. */
  saveGroup(
    g: { id: string; displayName: string; externalId: string | null; members: string[] },
    now = new Date(),
  ) {
    this.checkDisplayName(g.displayName, g.id);
    const members = [...new Set(g.members)];
    this.checkUsers(members);
    this.db.run(
      "UPDATE scim_groups SET display_name = ?, display_name_key = ?, external_id = ?, updated_at = ? WHERE id = ?",
      [g.displayName, g.displayName.toLowerCase(), g.externalId, now.toISOString(), g.id],
    );
    this.db.run("DELETE FROM scim_members WHERE group_id = ?", [g.id]);
    this.addMembers(g.id, members);
    return this.getGroup(g.id)!;
  }

  private addMembers(groupId: string, userIds: readonly string[]): void {
    for (const u of new Set(userIds))
      this.db.run(
        "INSERT INTO scim_members (group_id, user_id) VALUES (?, ?) ON CONFLICT (group_id, user_id) DO NOTHING",
        [groupId, u],
      );
  }

  deleteGroup(id: string): boolean {
    return this.db.transaction(() => {
      this.db.run("DELETE FROM scim_members WHERE group_id = ?", [id]);
      return this.db.run("DELETE FROM scim_groups WHERE id = ?", [id]).changes > 0;
    });
  }

  /** Every active provisioned person with their groups and when their record last changed (access review). */
  provisionedPeople(): { email: string; groups: string[]; updatedAt: string }[] {
    const rows = this.db.all<{ email: string; updated_at: string; display_name: string | null }>(
      `SELECT u.email, u.updated_at, g.display_name FROM scim_users u
         LEFT JOIN scim_members m ON m.user_id = u.id LEFT JOIN scim_groups g ON g.id = m.group_id
         WHERE u.active = 1 AND u.email IS NOT NULL ORDER BY u.email, g.display_name`,
    );
    const people = new Map<string, { email: string; groups: string[]; updatedAt: string }>();
    for (const r of rows) {
      const p = people.get(r.email) ?? { email: r.email, groups: [], updatedAt: r.updated_at };
      if (r.display_name !== null && !p.groups.includes(r.display_name)) p.groups.push(r.display_name);
      if (r.updated_at > p.updatedAt) p.updatedAt = r.updated_at;
      people.set(r.email, p);
    }
    return [...people.values()];
  }

  /** The display names of the groups a person (by e-mail) is provisioned into. */
  groupsOf(email: string): string[] {
    return this.db
      .all<{ display_name: string }>(
        `SELECT DISTINCT g.display_name FROM scim_users u JOIN scim_members m ON m.user_id = u.id
           JOIN scim_groups g ON g.id = m.group_id WHERE u.email = ? ORDER BY g.display_name`,
        [email.toLowerCase()],
      )
      .map((r) => r.display_name);
  }

  // ---- people state

  state(email: string): PersonState | undefined {
    const r = this.db.get<UserRecord>("SELECT * FROM people_state WHERE email = ?", [email.toLowerCase()]);
    if (!r) return undefined;
    const scimDisabled = Number(r.scim_disabled) === 1;
    const adminDisabled = Number(r.admin_disabled) === 1;
    return {
      email: r.email as string,
      disabled: scimDisabled || adminDisabled,
      scimDisabled,
      adminDisabled,
      reason: (r.reason as string | null) ?? null,
      actor: (r.actor as string | null) ?? null,
      changedAt: r.changed_at as string,
    };
  }

  isDisabled(email: string): boolean {
    return (
      this.db.get(
        "SELECT 1 AS d FROM people_state WHERE email = ? AND (scim_disabled = 1 OR admin_disabled = 1)",
        [email.toLowerCase()],
      ) !== undefined
    );
  }

  /** Set the flags (undefined keeps one); returns the state before and after, in one transaction. */
  setState(
    email: string,
    change: { scim?: boolean; admin?: boolean; reason: string | null; actor: string },
    now = new Date(),
  ): { before: PersonState | undefined; after: PersonState } {
    const key = email.toLowerCase();
    return this.db.transaction(() => {
      const before = this.db.get(`SELECT email FROM people_state WHERE email = ?${this.db.forUpdate}`, [key])
        ? this.state(key)
        : undefined;
      const scim = change.scim ?? before?.scimDisabled ?? false;
      const admin = change.admin ?? before?.adminDisabled ?? false;
      // Clearing one flag while the other holds keeps the reason of the one that holds.
      const keep = change.reason === null && (scim || admin) && before;
      const reason = keep ? before.reason : change.reason;
      const actor = keep ? before.actor : change.actor;
      this.db.run(
        `INSERT INTO people_state (email, scim_disabled, admin_disabled, reason, actor, changed_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (email) DO UPDATE SET scim_disabled = excluded.scim_disabled, admin_disabled = excluded.admin_disabled,
           reason = excluded.reason, actor = excluded.actor, changed_at = excluded.changed_at`,
        [key, scim ? 1 : 0, admin ? 1 : 0, reason, actor, now.toISOString()],
      );
      return { before, after: this.state(key)! };
    });
  }

  /** The e-mails of SCIM users marked inactive whose person is not disabled by SCIM (a stop in between). */
  inactiveNotDisabled(): string[] {
    return this.db
      .all<{ email: string }>(
        `SELECT DISTINCT u.email FROM scim_users u LEFT JOIN people_state p ON p.email = u.email
           WHERE u.active = 0 AND u.email IS NOT NULL AND (p.email IS NULL OR p.scim_disabled = 0)`,
      )
      .map((r) => r.email);
  }

  disabledPeople(): PersonState[] {
    return this.db
      .all<{ email: string }>(
        "SELECT email FROM people_state WHERE scim_disabled = 1 OR admin_disabled = 1 ORDER BY email",
      )
      .map((r) => this.state(r.email)!);
  }
}
