// The broker's one database layer: the same small synchronous interface over SQLite (better-sqlite3, a
// file) and PostgreSQL (`pg` in a worker thread, reached synchronously; see postgres.ts), so that every
// store has one readable code path for both. Transactions stay synchronous, as they always were with
// SQLite: no other JavaScript of this process runs between two statements of one transaction.
//
// SQL is written once, in the subset both engines speak: `?` placeholders (numbered for PostgreSQL by
// the driver), `INSERT … ON CONFLICT (…) DO UPDATE/NOTHING`, `RETURNING`, `lower(x) = lower(?)` instead
// of COLLATE NOCASE, TEXT timestamps (ISO 8601, compared as text), INTEGER 0/1 instead of booleans.
// Where the engines truly differ (DDL, row locks) a store asks `db.dialect`, or uses `db.forUpdate`.

export type Dialect = "sqlite" | "postgres";

/** A bound parameter. BIGINT results come back as numbers on both engines. */
export type Param = string | number | null;

export type Row = Record<string, unknown>;

export interface TransactionOptions {
  /**
   * One consistent read snapshot for the whole transaction (PostgreSQL: REPEATABLE READ READ ONLY;
   * SQLite's read transactions always are): walking the audit chain while others append.
   */
  snapshot?: boolean;
}

export interface Db {
  readonly dialect: Dialect;
  /** Where it is, for messages: the file, or the URL without its password. */
  readonly where: string;
  /** A statement without result rows; the number of rows it changed. */
  run(sql: string, params?: Param[]): { changes: number };
  /** The first result row (also of INSERT/UPDATE … RETURNING). */
  get<T = Row>(sql: string, params?: Param[]): T | undefined;
  all<T = Row>(sql: string, params?: Param[]): T[];
  /**
   * The result rows as arrays, values in the SELECT's column order (its names distinct): for reads of
   * thousands of rows, where making an object per row costs more than the query (better-sqlite3's raw
   * mode).
   */
  values(sql: string, params?: Param[]): unknown[][];
  /** Several statements without parameters (migrations). */
  exec(sql: string): void;
  /** `fn` in one transaction, committed when it returns, rolled back when it throws; nested calls join it. */
  transaction<T>(fn: () => T, opts?: TransactionOptions): T;
  /** Whether a transaction is open on this connection. */
  readonly inTransaction: boolean;
  /**
   * " FOR UPDATE" on PostgreSQL (lock the rows read, so a concurrent transaction on another replica
   * waits), "" on SQLite (a write transaction already excludes every other writer).
   */
  readonly forUpdate: string;
  /** Throws STORE_UNAVAILABLE when the database cannot be reached (readiness). */
  ping(): void;
  /**
   * Tell every connection listening on `channel` (PostgreSQL NOTIFY, sent at commit when inside a
   * transaction); a no-op on SQLite, whose one broker process needs no telling.
   */
  notify(channel: string, payload: string): void;
  /** Hear `channel` (PostgreSQL LISTEN, delivered on the event loop); returns a stop function. */
  listen(channel: string, fn: (payload: string) => void): () => void;
  close(): void;
}
