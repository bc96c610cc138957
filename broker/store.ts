// The broker's store: synced roles and users, per-account sync status, access-tag states and the
// hash-chained audit log, on the database layer (SQLite or PostgreSQL, one code path for both).

import { createHash } from "node:crypto";
import type { Tag } from "../shared/access.ts";
import type { AccessTags, TagChange } from "../shared/api.ts";
import { GatehouseError } from "../shared/errors.ts";
import { type ChainResult, walkChain } from "./audit/chain.ts";
import type { Db, Param } from "./db/index.ts";
import { addColumnIfMissing, type Migration, migrate } from "./db/migrate.ts";
import { openSqliteDb } from "./db/sqlite.ts";

export interface SyncedRole {
  arn: string;
  accountId: string;
  name: string;
  path: string;
  roleId: string;
  description?: string;
  maxSessionDuration: number;
  tags: Tag[];
  inlinePolicies: Record<string, string>;
  managedPolicies: string[];
}

export interface SyncedUser {
  arn: string;
  accountId: string;
  name: string;
  path: string;
  userId: string;
  tags: Tag[];
  inlinePolicies: Record<string, string>;
  managedPolicies: string[];
  /** The IAM groups the user is in (absent in rows synced before groups were read). */
  groups?: string[];
}

/** An IAM group of a synced account with its policies (a member gets what they allow). */
export interface SyncedGroup {
  name: string;
  arn: string;
  inlinePolicies: Record<string, string>;
  managedPolicies: string[];
}

/** A customer-managed policy of a synced account, with its default version's document. */
export interface SyncedPolicy {
  arn: string;
  name: string;
  document: string;
}

/** The account's IAM quotas that requests check (GetAccountSummary). */
export interface AccountQuotas {
  attachedPoliciesPerRole: number;
  attachedPoliciesPerUser: number;
  groupsPerUser: number;
}

/**
 * What requests check beyond roles and users, read by each sync, so that no request needs an IAM call
 * before it is approved: the account's groups, its customer-managed policies and its quotas.
 */
export interface AccountIam {
  accountId: string;
  groups: SyncedGroup[];
  policies: SyncedPolicy[];
  /** Null when GetAccountSummary was refused or failed (IAM's defaults are assumed; `quotasError` says why). */
  quotas: AccountQuotas | null;
  quotasError?: string | null;
}

/** IAM's default quotas, assumed when the account's summary could not be read. */
export const DEFAULT_ACCOUNT_QUOTAS: AccountQuotas = {
  attachedPoliciesPerRole: 10,
  attachedPoliciesPerUser: 10,
  groupsPerUser: 10,
};

export interface EntitySearch {
  terms: { text: string; accountIds: string[] }[];
  excludeArns: string[];
  limit: number;
}

export interface EntityHit {
  type: "role" | "user";
  arn: string;
  accountId: string;
  name: string;
  description: string | null;
}

export interface AccountSyncStatus {
  accountId: string;
  name: string;
  state: "never" | "ok" | "error";
  lastAttemptAt: string | null;
  lastSuccessAt: string | null;
  error: { code: string; message: string } | null;
  roles: number;
  users: number;
  durationMs: number | null;
  /** Something a good sync could not read (the account's quotas): what requests then assume. */
  warning?: string;
}

export interface AuditInput {
  actor: string;
  action: string;
  target?: string | null;
  outcome: "ok" | "denied" | "error";
  detail?: Record<string, unknown>;
}

export interface AuditEntry {
  seq: number;
  time: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  detail: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  since?: string;
  afterSeq?: number;
  limit?: number;
}

/** What the previous sync saw of one role's or user's access tags, and what Gatehouse serves of them. */
export interface TagState {
  arn: string;
  accountId: string;
  type: "role" | "user";
  /** IAM's unique id (RoleId/UserId): a new one under the same ARN means deleted and created again. */
  entityId: string;
  observed: AccessTags;
  /** Differs from `observed` only while a change is held (access.external_tag_changes: hold). */
  served: AccessTags;
}

export interface Store {
  /** Run `fn` in one transaction (nested calls join it): the tag watch's states, changes and audit rows. */
  transaction<T>(fn: () => T): T;
  /** The tag states of one account (or of every account): rows stay when a role is deleted. */
  tagStates(accountId?: string): TagState[];
  tagState(arn: string): TagState | undefined;
  putTagState(state: TagState): void;
  /** Several at once (in statements of a few hundred rows): an account's sync. */
  putTagStates(states: readonly TagState[]): void;
  /** Whether an account's access tags were recorded once: before that, nothing is a change. */
  hasTagBaseline(accountId: string): boolean;
  setTagBaseline(accountId: string, now?: Date): void;
  addTagChange(change: Omit<TagChange, "id">): TagChange;
  getTagChange(id: number): TagChange | undefined;
  tagChanges(filter: { state?: TagChange["state"]; arn?: string; limit?: number }): TagChange[];
  setTagChangeState(id: number, state: TagChange["state"], by: string | null, at: Date): void;
  replaceAccount(accountId: string, roles: SyncedRole[], users: SyncedUser[]): void;
  /** An account's groups, customer-managed policies and quotas, as its last sync read them. */
  putAccountIam(data: AccountIam): void;
  accountIam(accountId: string): AccountIam | undefined;
  upsertRole(role: SyncedRole): void;
  upsertUser(user: SyncedUser): void;
  /** One synced role or user by ARN, or a role by account and name (permission requests). */
  getRole(arn: string): SyncedRole | undefined;
  roleNamed(accountId: string, name: string): SyncedRole | undefined;
  getUser(arn: string): SyncedUser | undefined;
  loadRoles(): SyncedRole[];
  loadUsers(): SyncedUser[];
  /** Roles and users matching every term (name, ARN or one of the term's accounts), by name, at most `limit`. */
  searchEntities(filter: EntitySearch): EntityHit[];
  /** Roles and users carrying a tag whose key contains `key` (case-insensitive), as their tags. */
  taggedEntities(key: string): { arn: string; accountId: string; tags: Tag[] }[];
  /** Drop answers kept in memory (another replica wrote roles or users: broker/replica.ts). */
  forgetCaches(): void;
  putSyncStatus(status: AccountSyncStatus): void;
  syncStatuses(): AccountSyncStatus[];
  appendAudit(entry: AuditInput, now?: Date): AuditEntry;
  listAudit(filter: AuditFilter): AuditEntry[];
  verifyAudit(): { ok: boolean; count: number; brokenAt: number | null; reason: string | null };
  /** Run `fn` on one read snapshot of the audit table (checkpoint checks walk the chain with it). */
  auditSnapshot<T>(fn: (snap: AuditSnapshot) => T): T;
  close(): void;
}

const GENESIS = "0".repeat(64);

/** The audit table as one read transaction sees it. */
export interface AuditSnapshot {
  /** Rows with seq above `afterSeq`, in order, at most `limit`, hashes not checked. */
  rows(afterSeq?: number, limit?: number): Iterable<AuditEntry>;
  /** The row with this seq, if any. */
  row(seq: number): AuditEntry | undefined;
  /** The head kept beside the rows (seq 0 and the genesis hash when there is none). */
  head(): { seq: number; hash: string };
  /** How many rows the table holds. */
  count(): number;
  /** The chain from `from` (default the genesis) to the head; `seen` gets every good row. */
  walk(from?: { seq: number; hash: string }, seen?: (e: AuditEntry) => void): ChainResult;
}

/** The hash of one audit row: the previous hash and the row's fields in a fixed order. */
export function auditHash(prevHash: string, e: Omit<AuditEntry, "hash" | "prevHash">): string {
  const canonical = JSON.stringify([e.seq, e.time, e.actor, e.action, e.target, e.outcome, e.detail]);
  return createHash("sha256").update(prevHash).update("\n").update(canonical).digest("hex");
}

/**
 * Whether a database error code means the database cannot be written: SQLite full, I/O, read-only;
 * PostgreSQL's SQLSTATE classes 53 (insufficient resources: 53100 disk_full, 53200 out of memory…),
 * 58 (system error: I/O) and 25006 (a read-only transaction, e.g. a standby). Connection loss is
 * already STORE_UNAVAILABLE from the driver.
 */
export function isWriteFailure(code: unknown): code is string {
  return (
    typeof code === "string" &&
    (/^SQLITE_(FULL|IOERR|READONLY|CANTOPEN)/.test(code) ||
      /^(53|58)[0-9A-Z]{3}$/.test(code) ||
      code === "25006")
  );
}

/** The database's "cannot write" errors as the audit's stable code. */
export function auditWriteError(e: unknown): unknown {
  const code = (e as { code?: unknown })?.code;
  if (isWriteFailure(code))
    return new GatehouseError(
      "AUDIT_UNAVAILABLE",
      `the audit log cannot be written (${code}: ${(e as Error).message}); nothing was handed out`,
      { cause: e },
    );
  return e;
}

/** An audit row as the database holds it (detail as JSON text). */
export interface AuditRow {
  seq: number;
  time: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  detail: string;
  prev_hash: string;
  hash: string;
}

/** Rows read at once when walking the audit table: memory stays flat however long the log is. */
const AUDIT_PAGE = 1000;

const GENESIS_HEAD = JSON.stringify({ seq: 0, hash: GENESIS });

/**
 * Version 1's DDL, the same on both engines but for the audit's sequence type and the tag changes' id
 * column. IF NOT EXISTS: a database written by the previous release adopts this version as it is.
 */
const schemaV1 = (t: { seq: string; id: string }) => `
        CREATE TABLE IF NOT EXISTS roles (
          arn TEXT PRIMARY KEY, account_id TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS roles_account ON roles(account_id);
        CREATE TABLE IF NOT EXISTS users (
          arn TEXT PRIMARY KEY, account_id TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS users_account ON users(account_id);
        CREATE TABLE IF NOT EXISTS sync_status (account_id TEXT PRIMARY KEY, data TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS audit (
          seq ${t.seq} PRIMARY KEY, time TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
          target TEXT, outcome TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS audit_actor ON audit(actor, seq);
        CREATE INDEX IF NOT EXISTS audit_action ON audit(action, seq);
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS access_tag_state (
          arn TEXT PRIMARY KEY, account_id TEXT NOT NULL, type TEXT NOT NULL, entity_id TEXT NOT NULL,
          observed TEXT NOT NULL, served TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS access_tag_state_account ON access_tag_state(account_id);
        CREATE TABLE IF NOT EXISTS access_tag_baseline (account_id TEXT PRIMARY KEY, at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS access_tag_changes (
          id ${t.id}, arn TEXT NOT NULL, account_id TEXT NOT NULL, state TEXT NOT NULL,
          detected_at TEXT NOT NULL, data TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS access_tag_changes_state ON access_tag_changes(state, id);
        CREATE INDEX IF NOT EXISTS access_tag_changes_arn ON access_tag_changes(arn, id);`;

/** The store's schema, by version. Version 1 is the schema of the release before versioned migrations. */
export const STORE_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "roles, users, sync status, audit, access tags",
    up: {
      sqlite: schemaV1({ seq: "INTEGER", id: "INTEGER PRIMARY KEY AUTOINCREMENT" }),
      postgres: schemaV1({ seq: "BIGINT", id: "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" }),
    },
  },
  {
    version: 2,
    name: "path and description as columns",
    // Search filtered and showed these through json_extract, which PostgreSQL does not speak: they are
    // columns now, filled on write, and filled here from `data` for the rows already there.
    up: (db) => {
      addColumnIfMissing(db, "roles", "path", "TEXT");
      addColumnIfMissing(db, "roles", "description", "TEXT");
      addColumnIfMissing(db, "users", "path", "TEXT");
      for (const table of ["roles", "users"]) {
        for (const r of db.all<{ arn: string; data: string }>(
          `SELECT arn, data FROM ${table} WHERE path IS NULL`,
        )) {
          const d = JSON.parse(r.data) as { path?: string; description?: string };
          if (table === "roles")
            db.run("UPDATE roles SET path = ?, description = ? WHERE arn = ?", [
              d.path ?? "/",
              d.description ?? null,
              r.arn,
            ]);
          else db.run("UPDATE users SET path = ? WHERE arn = ?", [d.path ?? "/", r.arn]);
        }
      }
    },
  },
  {
    version: 3,
    name: "account groups, customer-managed policies and quotas",
    up: "CREATE TABLE IF NOT EXISTS account_iam (account_id TEXT PRIMARY KEY, data TEXT NOT NULL)",
  },
];

/** Rows per multi-row upsert in a sync: 6 parameters each stays far below SQLite's and PostgreSQL's limits. */
const SYNC_BATCH = 500;

/** The store on a database the caller opened (and closes: one `Db` is shared by the broker's stores). */
export function openStore(db: Db, opts: { onAppend?: (e: AuditEntry) => void } = {}): Store {
  migrate(db, "store", STORE_MIGRATIONS);

  const roleColumns = (r: SyncedRole): Param[] => [
    r.arn,
    r.accountId,
    r.name,
    r.path ?? "/",
    r.description ?? null,
    JSON.stringify(r),
  ];
  const userColumns = (u: SyncedUser): Param[] => [
    u.arn,
    u.accountId,
    u.name,
    u.path ?? "/",
    JSON.stringify(u),
  ];
  const ROLE_UPSERT = {
    head: "INSERT INTO roles (arn, account_id, name, path, description, data) VALUES",
    row: "(?, ?, ?, ?, ?, ?)",
    tail: `ON CONFLICT (arn) DO UPDATE SET account_id = excluded.account_id, name = excluded.name,
         path = excluded.path, description = excluded.description, data = excluded.data`,
  };
  const USER_UPSERT = {
    head: "INSERT INTO users (arn, account_id, name, path, data) VALUES",
    row: "(?, ?, ?, ?, ?)",
    tail: `ON CONFLICT (arn) DO UPDATE SET account_id = excluded.account_id, name = excluded.name,
         path = excluded.path, data = excluded.data`,
  };
  /**
   * Upsert rows in statements of up to SYNC_BATCH rows: on PostgreSQL each statement is a round trip to
   * the driver's thread and the server, so a sync of 1,000 roles per account pays for two, not 1,000.
   * Rows are unique by ARN first (the last wins, as one-by-one upserts would have it): PostgreSQL refuses
   * a statement whose ON CONFLICT would update the same row twice.
   */
  const upsertMany = <T extends { arn: string }>(
    sql: { head: string; row: string; tail: string },
    items: readonly T[],
    columns: (item: T) => Param[],
  ) => {
    const unique = [...new Map(items.map((i) => [i.arn, i])).values()];
    for (let at = 0; at < unique.length; at += SYNC_BATCH) {
      const chunk = unique.slice(at, at + SYNC_BATCH);
      db.run(`${sql.head} ${chunk.map(() => sql.row).join(", ")} ${sql.tail}`, chunk.flatMap(columns));
    }
  };
  const TAG_STATE_UPSERT = {
    head: "INSERT INTO access_tag_state (arn, account_id, type, entity_id, observed, served) VALUES",
    row: "(?, ?, ?, ?, ?, ?)",
    tail: `ON CONFLICT (arn) DO UPDATE SET account_id = excluded.account_id, type = excluded.type,
         entity_id = excluded.entity_id, observed = excluded.observed, served = excluded.served`,
  };
  const tagStateColumns = (t: TagState): Param[] => [
    t.arn,
    t.accountId,
    t.type,
    t.entityId,
    JSON.stringify(t.observed),
    JSON.stringify(t.served),
  ];
  const insertRole = (r: SyncedRole) => upsertMany(ROLE_UPSERT, [r], roleColumns);
  const insertUser = (u: SyncedUser) => upsertMany(USER_UPSERT, [u], userColumns);
  const replace = (accountId: string, roles: SyncedRole[], users: SyncedUser[]) =>
    db.transaction(() => {
      db.run("DELETE FROM roles WHERE account_id = ?", [accountId]);
      db.run("DELETE FROM users WHERE account_id = ?", [accountId]);
      upsertMany(ROLE_UPSERT, roles, roleColumns);
      upsertMany(USER_UPSERT, users, userColumns);
    });

  // The head (last seq and hash) is kept apart so that deleting the newest rows is detected too. Its row
  // is also the chain's lock: every appender, on this replica or another, reads it FOR UPDATE first, so
  // appends to one database queue up and each row follows the one committed before it.
  const lockHead = () => {
    const sql = `SELECT value FROM meta WHERE key = 'audit_head'${db.forUpdate}`;
    if (db.get(sql)) return;
    // The first append ever (or a database whose head was lost): make the row there is to lock. A racing
    // appender's insert makes this one wait, then do nothing.
    db.run("INSERT INTO meta (key, value) VALUES ('audit_head', ?) ON CONFLICT (key) DO NOTHING", [
      GENESIS_HEAD,
    ]);
    db.get(sql);
  };
  const append = (input: AuditInput, now: Date): AuditEntry =>
    db.transaction(() => {
      lockHead();
      const last = db.get<{ seq: number; hash: string }>(
        "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
      );
      const base = {
        seq: Number(last?.seq ?? 0) + 1,
        time: now.toISOString(),
        actor: input.actor,
        action: input.action,
        target: input.target ?? null,
        outcome: input.outcome,
        detail: input.detail ?? {},
      };
      const prevHash = last?.hash ?? GENESIS;
      const hash = auditHash(prevHash, base);
      db.run(
        "INSERT INTO audit (seq, time, actor, action, target, outcome, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
          base.seq,
          base.time,
          base.actor,
          base.action,
          base.target,
          base.outcome,
          JSON.stringify(base.detail),
          prevHash,
          hash,
        ],
      );
      db.run("UPDATE meta SET value = ? WHERE key = 'audit_head'", [JSON.stringify({ seq: base.seq, hash })]);
      return { ...base, prevHash, hash };
    });

  const fromRow = (r: AuditRow): AuditEntry => ({
    seq: Number(r.seq),
    time: r.time,
    actor: r.actor,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
    prevHash: r.prev_hash,
    hash: r.hash,
  });

  const snapshot: AuditSnapshot = {
    // In pages: a cursor would hold the connection between yields, and the log may be long.
    *rows(afterSeq = 0, limit = -1) {
      let after = afterSeq;
      let left = limit < 0 ? Number.POSITIVE_INFINITY : limit;
      while (left > 0) {
        const page = db.all<AuditRow>("SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", [
          after,
          Math.min(left, AUDIT_PAGE),
        ]);
        for (const r of page) yield fromRow(r);
        if (page.length < Math.min(left, AUDIT_PAGE)) return;
        after = Number(page[page.length - 1]!.seq);
        left -= page.length;
      }
    },
    row: (seq) => {
      const r = db.get<AuditRow>("SELECT * FROM audit WHERE seq = ?", [seq]);
      return r ? fromRow(r) : undefined;
    },
    head: () => {
      const head = db.get<{ value: string }>("SELECT value FROM meta WHERE key = 'audit_head'");
      return head ? (JSON.parse(head.value) as { seq: number; hash: string }) : { seq: 0, hash: GENESIS };
    },
    count: () => Number(db.get<{ n: number }>("SELECT COUNT(*) AS n FROM audit")!.n),
    walk: (from, seen) => walkChain(snapshot.rows(from?.seq ?? 0), snapshot.head(), auditHash, from, seen),
  };

  // taggedEntities scans every role and user (GET /v1/me asks it on every call): its answers are kept
  // until roles or users are written again.
  const tagged = new Map<string, { arn: string; accountId: string; tags: Tag[] }[]>();

  const tagStateOf = (r: Record<string, string>): TagState => ({
    arn: r.arn!,
    accountId: r.account_id!,
    type: r.type as TagState["type"],
    entityId: r.entity_id!,
    observed: JSON.parse(r.observed!),
    served: JSON.parse(r.served!),
  });
  // The change's fields live in `data`; id, state and the decision are the row's own columns.
  const tagChangeOf = (r: Record<string, string | number | null>): TagChange => {
    const d = JSON.parse(r.data as string) as TagChange;
    return { ...d, id: Number(r.id), state: r.state as TagChange["state"] };
  };
  const getTagChange = (id: number) =>
    db.get<Record<string, string | number | null>>("SELECT * FROM access_tag_changes WHERE id = ?", [id]);
  const escapeLike = (t: string) => `%${t.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const dataOf = <T>(row: { data: string } | undefined): T | undefined =>
    row ? (JSON.parse(row.data) as T) : undefined;

  return {
    transaction: <T>(fn: () => T): T => db.transaction(fn),
    tagStates: (accountId) =>
      (accountId === undefined
        ? db.all<Record<string, string>>("SELECT * FROM access_tag_state")
        : db.all<Record<string, string>>("SELECT * FROM access_tag_state WHERE account_id = ?", [accountId])
      ).map(tagStateOf),
    tagState: (arn) => {
      const row = db.get<Record<string, string>>("SELECT * FROM access_tag_state WHERE arn = ?", [arn]);
      return row ? tagStateOf(row) : undefined;
    },
    putTagState: (t) => upsertMany(TAG_STATE_UPSERT, [t], tagStateColumns),
    putTagStates: (states) => upsertMany(TAG_STATE_UPSERT, states, tagStateColumns),
    hasTagBaseline: (accountId) =>
      db.get("SELECT 1 AS one FROM access_tag_baseline WHERE account_id = ?", [accountId]) !== undefined,
    setTagBaseline: (accountId, now = new Date()) =>
      void db.run(
        "INSERT INTO access_tag_baseline (account_id, at) VALUES (?, ?) ON CONFLICT (account_id) DO NOTHING",
        [accountId, now.toISOString()],
      ),
    addTagChange: (c) => {
      const row = db.get<{ id: number }>(
        "INSERT INTO access_tag_changes (arn, account_id, state, detected_at, data) VALUES (?, ?, ?, ?, ?) RETURNING id",
        [c.arn, c.accountId, c.state, c.detectedAt, JSON.stringify(c)],
      );
      return { ...c, id: Number(row!.id) };
    },
    getTagChange: (id) => {
      const row = getTagChange(id);
      return row ? tagChangeOf(row) : undefined;
    },
    tagChanges: (f) => {
      const where: string[] = [];
      const args: (string | number)[] = [];
      if (f.state) {
        where.push("state = ?");
        args.push(f.state);
      }
      if (f.arn) {
        where.push("arn = ?");
        args.push(f.arn);
      }
      const sql = `SELECT * FROM access_tag_changes ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`;
      return db.all<Record<string, string | number | null>>(sql, [...args, f.limit ?? 100]).map(tagChangeOf);
    },
    setTagChangeState: (id, state, by, at) =>
      db.transaction(() => {
        const row = db.get<Record<string, string | number | null>>(
          `SELECT * FROM access_tag_changes WHERE id = ?${db.forUpdate}`,
          [id],
        );
        if (!row) return;
        const data = { ...tagChangeOf(row), state, decidedBy: by, decidedAt: at.toISOString() };
        db.run("UPDATE access_tag_changes SET state = ?, data = ? WHERE id = ?", [
          state,
          JSON.stringify(data),
          id,
        ]);
      }),
    replaceAccount: (accountId, roles, users) => {
      tagged.clear();
      replace(accountId, roles, users);
    },
    upsertRole: (r) => {
      tagged.clear();
      insertRole(r);
    },
    upsertUser: (u) => {
      tagged.clear();
      insertUser(u);
    },
    putAccountIam: (a) =>
      void db.run(
        "INSERT INTO account_iam (account_id, data) VALUES (?, ?) ON CONFLICT (account_id) DO UPDATE SET data = excluded.data",
        [a.accountId, JSON.stringify(a)],
      ),
    accountIam: (accountId) =>
      dataOf(db.get<{ data: string }>("SELECT data FROM account_iam WHERE account_id = ?", [accountId])),
    getRole: (arn) => dataOf(db.get<{ data: string }>("SELECT data FROM roles WHERE arn = ?", [arn])),
    roleNamed: (accountId, name) =>
      dataOf(
        db.get<{ data: string }>("SELECT data FROM roles WHERE account_id = ? AND lower(name) = lower(?)", [
          accountId,
          name,
        ]),
      ),
    getUser: (arn) => dataOf(db.get<{ data: string }>("SELECT data FROM users WHERE arn = ?", [arn])),
    loadRoles: () =>
      db.all<{ data: string }>("SELECT data FROM roles ORDER BY arn").map((r) => JSON.parse(r.data)),
    loadUsers: () =>
      db.all<{ data: string }>("SELECT data FROM users ORDER BY arn").map((r) => JSON.parse(r.data)),
    searchEntities: (f) => {
      const where: string[] = [];
      const params: (string | number)[] = [];
      for (const t of f.terms) {
        const inAccounts = t.accountIds.length
          ? ` OR account_id IN (${t.accountIds.map(() => "?").join(", ")})`
          : "";
        // lower() on both sides: PostgreSQL's LIKE minds case, SQLite's does not.
        where.push(
          `(lower(name) LIKE lower(?) ESCAPE '\\' OR lower(arn) LIKE lower(?) ESCAPE '\\'${inAccounts})`,
        );
        params.push(escapeLike(t.text), escapeLike(t.text), ...t.accountIds);
      }
      if (f.excludeArns.length) {
        where.push(`arn NOT IN (${f.excludeArns.map(() => "?").join(", ")})`);
        params.push(...f.excludeArns);
      }
      // Service-linked roles take no inline policies; they are never targets.
      where.push("COALESCE(path, '/') NOT LIKE '/aws-service-role/%'");
      const cond = where.join(" AND ");
      const sql = `SELECT * FROM (
          SELECT 'role' AS type, arn, account_id, name, description FROM roles WHERE ${cond}
          UNION ALL
          SELECT 'user' AS type, arn, account_id, name, NULL AS description FROM users WHERE ${cond}
        ) AS hits ORDER BY lower(name), account_id, type LIMIT ?`;
      const rows = db.all<{
        type: "role" | "user";
        arn: string;
        account_id: string;
        name: string;
        description: string | null;
      }>(sql, [...params, ...params, f.limit]);
      return rows.map((r) => ({
        type: r.type,
        arn: r.arn,
        accountId: r.account_id,
        name: r.name,
        description: r.description ?? null,
      }));
    },
    taggedEntities: (key) => {
      const known = tagged.get(key);
      if (known) return known;
      const pattern = escapeLike(key);
      const rows = db.all<{ data: string }>(
        `SELECT data FROM roles WHERE lower(data) LIKE lower(?) ESCAPE '\\'
           UNION ALL SELECT data FROM users WHERE lower(data) LIKE lower(?) ESCAPE '\\'`,
        [pattern, pattern],
      );
      const found = rows.map((r) => {
        const e = JSON.parse(r.data) as { arn: string; accountId: string; tags: Tag[] };
        return { arn: e.arn, accountId: e.accountId, tags: e.tags };
      });
      tagged.set(key, found);
      return found;
    },
    forgetCaches: () => tagged.clear(),
    putSyncStatus: (s) =>
      void db.run(
        "INSERT INTO sync_status (account_id, data) VALUES (?, ?) ON CONFLICT (account_id) DO UPDATE SET data = excluded.data",
        [s.accountId, JSON.stringify(s)],
      ),
    syncStatuses: () =>
      db
        .all<{ data: string }>("SELECT data FROM sync_status ORDER BY account_id")
        .map((r) => JSON.parse(r.data)),
    appendAudit: (input, now = new Date()) => {
      let e: AuditEntry;
      try {
        e = append(input, now);
      } catch (err) {
        throw auditWriteError(err);
      }
      opts.onAppend?.(e);
      return e;
    },
    listAudit: (f) => {
      const conditions: [string, string | number | undefined][] = [
        ["actor = ?", f.actor],
        ["action = ?", f.action],
        ["time >= ?", f.since],
        ["seq > ?", f.afterSeq],
      ];
      const used = conditions.filter(([, v]) => v !== undefined && v !== "");
      const where = used.map(([c]) => c);
      const args: (string | number)[] = used.map(([, v]) => v as string | number);
      const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq LIMIT ?`;
      args.push(f.limit ?? 1000);
      return db.all<AuditRow>(sql, args).map(fromRow);
    },
    // One snapshot: the rows and the head must come from the same moment, or a row another appender
    // adds mid-walk makes the head look ahead of the rows ("rows were deleted").
    verifyAudit: () =>
      db.transaction(
        () => {
          const { ok, count, brokenAt, reason } = snapshot.walk();
          return { ok, count, brokenAt, reason };
        },
        { snapshot: true },
      ),
    auditSnapshot: <T>(fn: (snap: AuditSnapshot) => T): T =>
      db.transaction(() => fn(snapshot), { snapshot: true }),
    // The `Db` belongs to whoever opened it (the broker shares one between its stores).
    close: () => {},
  };
}

/** The store on its own SQLite file (tests and tools); closing the store closes the file. */
export function openSqliteStore(
  file: string,
  opts: { maxMb?: number; onAppend?: (e: AuditEntry) => void } = {},
): Store {
  const db = openSqliteDb(file, { maxMb: opts.maxMb });
  try {
    return { ...openStore(db, opts), close: () => db.close() };
  } catch (e) {
    db.close();
    throw e;
  }
}
