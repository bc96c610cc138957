// The broker's store: synced roles and users, per-account sync status and the hash-chained audit log
// in SQLite (WAL). A small interface, so that PostgreSQL can stand behind it later.

import { createHash } from "node:crypto";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { Tag } from "../shared/access.ts";
import type { AccessTags, TagChange } from "../shared/api.ts";
import { GatehouseError } from "../shared/errors.ts";
import { type ChainResult, walkChain } from "./audit/chain.ts";
import { privateFile, privateFolder, withPrivateUmask } from "./private-files.ts";

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
}

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
  /** Whether an account's access tags were recorded once: before that, nothing is a change. */
  hasTagBaseline(accountId: string): boolean;
  setTagBaseline(accountId: string, now?: Date): void;
  addTagChange(change: Omit<TagChange, "id">): TagChange;
  getTagChange(id: number): TagChange | undefined;
  tagChanges(filter: { state?: TagChange["state"]; arn?: string; limit?: number }): TagChange[];
  setTagChangeState(id: number, state: TagChange["state"], by: string | null, at: Date): void;
  replaceAccount(accountId: string, roles: SyncedRole[], users: SyncedUser[]): void;
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
 * A connection to the broker's database file, as every part of the broker opens it: WAL; FULL sync (an
 * acknowledged write — an audit row, a request's state — survives a crash of the process or the machine);
 * a write waits for another connection's instead of failing; and the optional size cap in MiB (SQLite
 * then answers SQLITE_FULL, as on a full disk).
 */
export function openDatabase(file: string, opts: { maxMb?: number } = {}): Database.Database {
  let db: Database.Database;
  if (file === ":memory:") {
    db = new Database(file);
    db.pragma("journal_mode = WAL");
  } else {
    // 0600 (SECURITY 38): SQLite gives the -wal and -shm files the database file's mode whenever it
    // creates them again, so a private database keeps them private.
    const files = [file, `${file}-wal`, `${file}-shm`];
    privateFolder(dirname(file));
    for (const f of files) privateFile(f);
    db = withPrivateUmask(() => {
      const opened = new Database(file);
      opened.pragma("journal_mode = WAL");
      return opened;
    });
    for (const f of files) privateFile(f);
  }
  if (opts.maxMb !== undefined) {
    const pageSize = db.pragma("page_size", { simple: true }) as number;
    db.pragma(`max_page_count = ${Math.max(1, Math.floor((opts.maxMb * 1_048_576) / pageSize))}`);
  }
  db.pragma("synchronous = FULL");
  db.pragma("busy_timeout = 5000");
  return db;
}

/** Whether a SQLite error code means the database cannot be written (full, I/O, read-only). */
export function isWriteFailure(code: unknown): code is string {
  return typeof code === "string" && /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN)/.test(code);
}

/** SQLite's "cannot write" errors as the audit's stable code. */
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

/** An audit row as SQLite holds it (detail as JSON text). */
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

export function openSqliteStore(
  file: string,
  opts: { maxMb?: number; onAppend?: (e: AuditEntry) => void } = {},
): Store {
  const db = openDatabase(file, opts);
  db.pragma("foreign_keys = ON");
  db.exec(`
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
      seq INTEGER PRIMARY KEY, time TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
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
      id INTEGER PRIMARY KEY AUTOINCREMENT, arn TEXT NOT NULL, account_id TEXT NOT NULL, state TEXT NOT NULL,
      detected_at TEXT NOT NULL, data TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS access_tag_changes_state ON access_tag_changes(state, id);
    CREATE INDEX IF NOT EXISTS access_tag_changes_arn ON access_tag_changes(arn, id);
  `);

  const deleteRoles = db.prepare("DELETE FROM roles WHERE account_id = ?");
  const deleteUsers = db.prepare("DELETE FROM users WHERE account_id = ?");
  const insertRole = db.prepare(
    "INSERT OR REPLACE INTO roles (arn, account_id, name, data) VALUES (?, ?, ?, ?)",
  );
  const insertUser = db.prepare(
    "INSERT OR REPLACE INTO users (arn, account_id, name, data) VALUES (?, ?, ?, ?)",
  );
  const replace = db.transaction((accountId: string, roles: SyncedRole[], users: SyncedUser[]) => {
    deleteRoles.run(accountId);
    deleteUsers.run(accountId);
    for (const r of roles) insertRole.run(r.arn, r.accountId, r.name, JSON.stringify(r));
    for (const u of users) insertUser.run(u.arn, u.accountId, u.name, JSON.stringify(u));
  });
  const putStatus = db.prepare("INSERT OR REPLACE INTO sync_status (account_id, data) VALUES (?, ?)");
  const lastAudit = db.prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
  const insertAudit = db.prepare(
    "INSERT INTO audit (seq, time, actor, action, target, outcome, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
  );
  // The head (last seq and hash) is kept apart so that deleting the newest rows is detected too.
  const putHead = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_head', ?)");
  const getHead = db.prepare("SELECT value FROM meta WHERE key = 'audit_head'");
  const append = db.transaction((input: AuditInput, now: Date): AuditEntry => {
    const last = lastAudit.get() as { seq: number; hash: string } | undefined;
    const base = {
      seq: (last?.seq ?? 0) + 1,
      time: now.toISOString(),
      actor: input.actor,
      action: input.action,
      target: input.target ?? null,
      outcome: input.outcome,
      detail: input.detail ?? {},
    };
    const prevHash = last?.hash ?? GENESIS;
    const hash = auditHash(prevHash, base);
    insertAudit.run(
      base.seq,
      base.time,
      base.actor,
      base.action,
      base.target,
      base.outcome,
      JSON.stringify(base.detail),
      prevHash,
      hash,
    );
    putHead.run(JSON.stringify({ seq: base.seq, hash }));
    return { ...base, prevHash, hash };
  });

  const fromRow = (r: AuditRow): AuditEntry => ({
    seq: r.seq,
    time: r.time,
    actor: r.actor,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
    prevHash: r.prev_hash,
    hash: r.hash,
  });

  const rowsAfter = db.prepare("SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?");
  const rowAt = db.prepare("SELECT * FROM audit WHERE seq = ?");
  const countRows = db.prepare("SELECT COUNT(*) AS n FROM audit");
  const snapshot: AuditSnapshot = {
    *rows(afterSeq = 0, limit = -1) {
      for (const r of rowsAfter.iterate(afterSeq, limit) as IterableIterator<AuditRow>) yield fromRow(r);
    },
    row: (seq) => {
      const r = rowAt.get(seq) as AuditRow | undefined;
      return r ? fromRow(r) : undefined;
    },
    head: () => {
      const head = getHead.get() as { value: string } | undefined;
      return head ? (JSON.parse(head.value) as { seq: number; hash: string }) : { seq: 0, hash: GENESIS };
    },
    count: () => (countRows.get() as { n: number }).n,
    walk: (from, seen) => walkChain(snapshot.rows(from?.seq ?? 0), snapshot.head(), auditHash, from, seen),
  };

  // taggedEntities scans every role and user (GET /v1/me asks it on every call): its answers are kept
  // until roles or users are written again.
  const tagged = new Map<string, { arn: string; accountId: string; tags: Tag[] }[]>();

  const putTagState = db.prepare(
    "INSERT OR REPLACE INTO access_tag_state (arn, account_id, type, entity_id, observed, served) VALUES (?, ?, ?, ?, ?, ?)",
  );
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
    return { ...d, id: r.id as number, state: r.state as TagChange["state"] };
  };
  const getTagChange = db.prepare("SELECT * FROM access_tag_changes WHERE id = ?");

  return {
    transaction: <T>(fn: () => T): T => db.transaction(fn)(),
    tagStates: (accountId) =>
      (
        (accountId === undefined
          ? db.prepare("SELECT * FROM access_tag_state").all()
          : db.prepare("SELECT * FROM access_tag_state WHERE account_id = ?").all(accountId)) as Record<
          string,
          string
        >[]
      ).map(tagStateOf),
    tagState: (arn) => {
      const row = db.prepare("SELECT * FROM access_tag_state WHERE arn = ?").get(arn) as
        | Record<string, string>
        | undefined;
      return row ? tagStateOf(row) : undefined;
    },
    putTagState: (t) =>
      void putTagState.run(
        t.arn,
        t.accountId,
        t.type,
        t.entityId,
        JSON.stringify(t.observed),
        JSON.stringify(t.served),
      ),
    hasTagBaseline: (accountId) =>
      db.prepare("SELECT 1 FROM access_tag_baseline WHERE account_id = ?").get(accountId) !== undefined,
    setTagBaseline: (accountId, now = new Date()) =>
      void db
        .prepare("INSERT OR IGNORE INTO access_tag_baseline (account_id, at) VALUES (?, ?)")
        .run(accountId, now.toISOString()),
    addTagChange: (c) => {
      const { lastInsertRowid } = db
        .prepare(
          "INSERT INTO access_tag_changes (arn, account_id, state, detected_at, data) VALUES (?, ?, ?, ?, ?)",
        )
        .run(c.arn, c.accountId, c.state, c.detectedAt, JSON.stringify(c));
      return { ...c, id: Number(lastInsertRowid) };
    },
    getTagChange: (id) => {
      const row = getTagChange.get(id) as Record<string, string | number | null> | undefined;
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
      return (db.prepare(sql).all(...args, f.limit ?? 100) as Record<string, string | number | null>[]).map(
        tagChangeOf,
      );
    },
    setTagChangeState: (id, state, by, at) => {
      const row = getTagChange.get(id) as Record<string, string | number | null> | undefined;
      if (!row) return;
      const data = { ...tagChangeOf(row), state, decidedBy: by, decidedAt: at.toISOString() };
      db.prepare("UPDATE access_tag_changes SET state = ?, data = ? WHERE id = ?").run(
        state,
        JSON.stringify(data),
        id,
      );
    },
    replaceAccount: (accountId, roles, users) => {
      tagged.clear();
      replace(accountId, roles, users);
    },
    upsertRole: (r) => {
      tagged.clear();
      insertRole.run(r.arn, r.accountId, r.name, JSON.stringify(r));
    },
    upsertUser: (u) => {
      tagged.clear();
      insertUser.run(u.arn, u.accountId, u.name, JSON.stringify(u));
    },
    getRole: (arn) => {
      const row = db.prepare("SELECT data FROM roles WHERE arn = ?").get(arn) as { data: string } | undefined;
      return row ? JSON.parse(row.data) : undefined;
    },
    roleNamed: (accountId, name) => {
      const row = db
        .prepare("SELECT data FROM roles WHERE account_id = ? AND name = ? COLLATE NOCASE")
        .get(accountId, name) as { data: string } | undefined;
      return row ? JSON.parse(row.data) : undefined;
    },
    getUser: (arn) => {
      const row = db.prepare("SELECT data FROM users WHERE arn = ?").get(arn) as { data: string } | undefined;
      return row ? JSON.parse(row.data) : undefined;
    },
    loadRoles: () =>
      (db.prepare("SELECT data FROM roles ORDER BY arn").all() as { data: string }[]).map((r) =>
        JSON.parse(r.data),
      ),
    loadUsers: () =>
      (db.prepare("SELECT data FROM users ORDER BY arn").all() as { data: string }[]).map((r) =>
        JSON.parse(r.data),
      ),
    searchEntities: (f) => {
      const like = (t: string) => `%${t.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const where: string[] = [];
      const params: unknown[] = [];
      for (const t of f.terms) {
        const inAccounts = t.accountIds.length
          ? ` OR account_id IN (${t.accountIds.map(() => "?").join(", ")})`
          : "";
        where.push(`(name LIKE ? ESCAPE '\\' OR arn LIKE ? ESCAPE '\\'${inAccounts})`);
        params.push(like(t.text), like(t.text), ...t.accountIds);
      }
      if (f.excludeArns.length) {
        where.push(`arn NOT IN (${f.excludeArns.map(() => "?").join(", ")})`);
        params.push(...f.excludeArns);
      }
      // Service-linked roles take no inline policies; they are never targets.
      where.push("COALESCE(json_extract(data, '$.path'), '/') NOT LIKE '/aws-service-role/%'");
      const cond = where.join(" AND ");
      const sql = `SELECT * FROM (
          SELECT 'role' AS type, arn, account_id, name, json_extract(data, '$.description') AS description
            FROM roles WHERE ${cond}
          UNION ALL
          SELECT 'user' AS type, arn, account_id, name, NULL AS description FROM users WHERE ${cond}
        ) ORDER BY name COLLATE NOCASE, account_id, type LIMIT ?`;
      const rows = db.prepare(sql).all(...params, ...params, f.limit) as {
        type: "role" | "user";
        arn: string;
        account_id: string;
        name: string;
        description: string | null;
      }[];
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
      const pattern = `%${key.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const rows = db
        .prepare(
          `SELECT data FROM roles WHERE data LIKE ? ESCAPE '\\' UNION ALL SELECT data FROM users WHERE data LIKE ? ESCAPE '\\'`,
        )
        .all(pattern, pattern) as { data: string }[];
      const found = rows.map((r) => {
        const e = JSON.parse(r.data) as { arn: string; accountId: string; tags: Tag[] };
        return { arn: e.arn, accountId: e.accountId, tags: e.tags };
      });
      tagged.set(key, found);
      return found;
    },
    forgetCaches: () => tagged.clear(),
    putSyncStatus: (s) => void putStatus.run(s.accountId, JSON.stringify(s)),
    syncStatuses: () =>
      (db.prepare("SELECT data FROM sync_status ORDER BY account_id").all() as { data: string }[]).map((r) =>
        JSON.parse(r.data),
      ),
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
      return (db.prepare(sql).all(...args) as AuditRow[]).map(fromRow);
    },
    // One read transaction: the rows and the head must come from the same snapshot, or a row the
    // running broker appends mid-walk makes the head look ahead of the rows ("rows were deleted").
    verifyAudit: db.transaction(() => {
      const { ok, count, brokenAt, reason } = snapshot.walk();
      return { ok, count, brokenAt, reason };
    }),
    auditSnapshot: <T>(fn: (snap: AuditSnapshot) => T): T => db.transaction(() => fn(snapshot))(),
    close: () => db.close(),
  };
}
