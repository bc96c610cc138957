// The database layer on SQLite: one better-sqlite3 connection to the broker's file (WAL, FULL sync,
// 0600), prepared statements kept by their text.

import { dirname } from "node:path";
import Database from "better-sqlite3";
import { privateFile, privateFolder, withPrivateUmask } from "../private-files.ts";
import type { Db, Param, Row, TransactionOptions } from "./types.ts";

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

export function openSqliteDb(file: string, opts: { maxMb?: number } = {}): Db {
  const db = openDatabase(file, opts);
  db.pragma("foreign_keys = ON");
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let s = statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      // Keep the cache bounded: SQL built from filters varies (IN lists of any length).
      if (statements.size > 500) statements.clear();
      statements.set(sql, s);
    }
    return s;
  };
  // Raw statements apart: raw mode is a statement's state, and the cache above shares its statements.
  const rawStatements = new Map<string, Database.Statement>();
  const prepareRaw = (sql: string): Database.Statement => {
    let s = rawStatements.get(sql);
    if (!s) {
      s = db.prepare(sql).raw(true);
      if (rawStatements.size > 100) rawStatements.clear();
      rawStatements.set(sql, s);
    }
    return s;
  };
  const listeners = new Map<string, Set<(payload: string) => void>>();
  return {
    dialect: "sqlite",
    where: file,
    run: (sql, params: Param[] = []) => ({ changes: prepare(sql).run(...params).changes }),
    get: <T = Row>(sql: string, params: Param[] = []) => prepare(sql).get(...params) as T | undefined,
    all: <T = Row>(sql: string, params: Param[] = []) => prepare(sql).all(...params) as T[],
    values: (sql, params: Param[] = []) => prepareRaw(sql).all(...params) as unknown[][],
    exec: (sql) => void db.exec(sql),
    // better-sqlite3 runs a nested transaction function in a savepoint of the open one. A writing
    // transaction takes the write lock at BEGIN (IMMEDIATE): a deferred one that reads first and writes
    // later fails at once with SQLITE_BUSY when another connection wrote meanwhile (no busy wait helps),
    // e.g. two processes migrating together. A snapshot only reads, so it stays deferred.
    transaction: <T>(fn: () => T, opts?: TransactionOptions): T =>
      opts?.snapshot ? db.transaction(fn).deferred() : db.transaction(fn).immediate(),
    get inTransaction() {
      return db.inTransaction;
    },
    forUpdate: "",
    ping: () => void db.prepare("SELECT 1").get(),
    // One process holds a SQLite database: what it writes it already knows. Listeners in this process
    // still hear it (the same code path as PostgreSQL's), after the current call returns.
    notify: (channel, payload) => {
      const set = listeners.get(channel);
      if (!set?.size) return;
      queueMicrotask(() => {
        for (const fn of set) fn(payload);
      });
    },
    listen: (channel, fn) => {
      const set = listeners.get(channel) ?? new Set<(payload: string) => void>();
      listeners.set(channel, set);
      set.add(fn);
      return () => set.delete(fn);
    },
    close: () => db.close(),
  };
}
