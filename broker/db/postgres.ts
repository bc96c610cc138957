// The database layer on PostgreSQL, synchronous like SQLite's: `pg` runs in a worker thread
// (postgres-worker.mjs) and this thread blocks on a SharedArrayBuffer until the reply is there, so a
// store's transaction runs start to end with no other JavaScript of this process in between.

import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import { GatehouseError } from "../../shared/errors.ts";
import type { Db, Param, Row, TransactionOptions } from "./types.ts";

export interface PostgresTls {
  /** disable: plain TCP; require: encrypted, server not verified; verify-full: CA and host name checked. */
  mode: "disable" | "require" | "verify-full";
  /** PEM of the CA(s) to trust instead of the system's (verify-full). */
  ca?: string;
}

export interface PostgresOptions {
  /** The password, from the environment (never from the URL or the config file). */
  password?: string;
  tls?: PostgresTls;
  /** How long to wait for a connection (default 5 s). */
  connectTimeoutMs?: number;
  /** PostgreSQL's statement_timeout, and with a margin how long this thread waits (default 15 s). */
  statementTimeoutMs?: number;
}

/** An error PostgreSQL returned for a statement (a constraint, a syntax error): its SQLSTATE as `code`. */
export class PostgresError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = "PostgresError";
    this.code = code;
  }
}

interface Reply {
  id: number;
  rows?: Row[];
  rowCount?: number;
  generation?: number;
  error?: { message: string; code?: string; unavailable?: boolean };
}

/** The URL with any password removed, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = "";
    return u.toString();
  } catch {
    return "(an unparsable database URL)";
  }
}

/** Host, port, user and database from a postgres:// URL; a password or options in it are refused. */
export function parsePostgresUrl(url: string): {
  host: string;
  port: number;
  user: string;
  database: string;
} {
  let u: URL;
  try {
    u = new URL(url);
  } catch (e) {
    throw new GatehouseError("CONFIG_INVALID", `database: ${redactUrl(url)} is not a valid URL`, {
      cause: e,
    });
  }
  if (!/^postgres(ql)?:$/.test(u.protocol))
    throw new GatehouseError("CONFIG_INVALID", "database: the URL must begin postgres:// or postgresql://");
  if (u.password)
    throw new GatehouseError(
      "CONFIG_INVALID",
      "database: the URL holds a password; put it in PGPASSWORD (or the variable database_password_env names) instead",
    );
  if (u.search)
    throw new GatehouseError(
      "CONFIG_INVALID",
      `database: URL options (${u.search}) are not read; TLS is set with database_tls`,
    );
  const host = decodeURIComponent(u.hostname).replace(/^\[(.*)\]$/, "$1");
  const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  if (!host || !database)
    throw new GatehouseError("CONFIG_INVALID", "database: the URL needs a host and a database name");
  return {
    host,
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || "postgres",
    database,
  };
}

// `?` → `$1…`, outside string literals, quoted identifiers, dollar quotes and comments.
export function numberPlaceholders(sql: string): { text: string; count: number } {
  let out = "";
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    const skipTo = (end: string, from: number): number => {
      const j = sql.indexOf(end, from);
      return j < 0 ? sql.length : j + end.length;
    };
    let j = i + 1;
    if (ch === "'") {
      // '' inside a literal is a quote, which the loop handles as two adjacent literals.
      j = skipTo("'", i + 1);
    } else if (ch === '"') j = skipTo('"', i + 1);
    else if (ch === "-" && sql[i + 1] === "-") j = skipTo("\n", i + 2);
    else if (ch === "/" && sql[i + 1] === "*") j = skipTo("*/", i + 2);
    else if (ch === "$") {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i));
      if (tag) j = skipTo(tag[0], i + tag[0].length);
    } else if (ch === "?") {
      out += `$${++n}`;
      i++;
      continue;
    }
    out += sql.slice(i, j);
    i = j;
  }
  return { text: out, count: n };
}

export function openPostgresDb(url: string, opts: PostgresOptions = {}): Db {
  const target = parsePostgresUrl(url);
  const where = redactUrl(url);
  const connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
  const statementTimeoutMs = opts.statementTimeoutMs ?? 15_000;
  const tls = opts.tls ?? { mode: "disable" };
  const ssl =
    tls.mode === "disable"
      ? false
      : tls.mode === "require"
        ? { rejectUnauthorized: false }
        : { rejectUnauthorized: true, ...(tls.ca ? { ca: tls.ca } : {}) };
  const config = {
    ...target,
    password: opts.password,
    ssl,
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: true,
    application_name: "gatehouse-broker",
  };

  const signal = new SharedArrayBuffer(4);
  const flag = new Int32Array(signal);
  const requests = new MessageChannel();
  const events = new MessageChannel();
  const worker = new Worker(new URL("./postgres-worker.mjs", import.meta.url), {
    workerData: { config, signal, requests: requests.port2, events: events.port2, statementTimeoutMs },
    transferList: [requests.port2, events.port2],
  });
  // Neither the worker nor its ports keep the process alive: a broker exits when its server closes.
  worker.unref();
  const port = requests.port1;
  let nextId = 0;
  let closed = false;

  // The longest a call may take: connecting, then the statement, then a margin for the worker itself.
  const waitMs = connectTimeoutMs + statementTimeoutMs + 3_000;
  const call = (msg: Record<string, unknown>): Reply => {
    if (closed) throw new GatehouseError("STORE_UNAVAILABLE", `${where}: the database connection is closed`);
    const id = ++nextId;
    port.postMessage({ ...msg, id });
    const deadline = Date.now() + waitMs;
    for (;;) {
      const seen = Atomics.load(flag, 0);
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
        const reply = m.message as Reply;
        // A reply this thread stopped waiting for earlier is dropped.
        if (reply.id === id) return reply;
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new GatehouseError(
          "STORE_UNAVAILABLE",
          `${where}: no answer from the database within ${Math.round(waitMs / 1000)} s`,
        );
      Atomics.wait(flag, 0, seen, left);
    }
  };

  const failed = (reply: Reply): Error => {
    const e = reply.error!;
    const cause = new PostgresError(e.message, e.code);
    return e.unavailable
      ? new GatehouseError("STORE_UNAVAILABLE", `${where}: ${e.message}`, { cause })
      : cause;
  };

  // The connection a transaction began on (see the worker's `generation`), while one is open.
  let txGeneration: number | undefined;
  let depth = 0;

  const query = (sql: string, params?: Param[]): Reply => {
    let text = sql;
    if (params !== undefined) {
      const numbered = numberPlaceholders(sql);
      if (numbered.count !== params.length)
        throw new GatehouseError(
          "INTERNAL",
          `SQL has ${numbered.count} placeholders but ${params.length} parameters: ${sql.slice(0, 120)}`,
        );
      text = numbered.text;
    }
    const reply = call({ op: "query", sql: text, params, generation: txGeneration });
    if (reply.error) throw failed(reply);
    return reply;
  };

  // BLOBs come back as Buffers, as from better-sqlite3 (structured cloning turns them into Uint8Arrays).
  const fix = (row: Row): Row => {
    for (const k in row) {
      const v = row[k];
      if (v instanceof Uint8Array && !Buffer.isBuffer(v))
        row[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    }
    return row;
  };

  const listeners = new Map<string, Set<(payload: string) => void>>();
  const eventsPort = events.port1;
  eventsPort.on("message", (m: { channel?: string; payload?: string; reconnected?: boolean }) => {
    if (m.channel === undefined) return;
    for (const fn of listeners.get(m.channel) ?? []) {
      try {
        fn(m.payload ?? "");
      } catch {
        // One listener's failure is its own; the others still hear the news.
      }
    }
  });
  eventsPort.unref();

  const db: Db = {
    dialect: "postgres",
    where,
    run: (sql, params = []) => ({ changes: query(sql, params).rowCount ?? 0 }),
    get: <T = Row>(sql: string, params: Param[] = []) => {
      const row = query(sql, params).rows?.[0];
      return (row ? fix(row) : undefined) as T | undefined;
    },
    all: <T = Row>(sql: string, params: Param[] = []) => (query(sql, params).rows ?? []).map(fix) as T[],
    // The worker hands rows over as objects (in column order); arrays here keep one code path for callers.
    values: (sql, params: Param[] = []) => (query(sql, params).rows ?? []).map((r) => Object.values(fix(r))),
    exec: (sql) => void query(sql),
    transaction: <T>(fn: () => T, topts: TransactionOptions = {}): T => {
      // Nested: a savepoint, as better-sqlite3 does — the inner part undone alone when it throws.
      const savepoint = depth > 0 ? `gh_sp_${depth}` : undefined;
      if (savepoint) query(`SAVEPOINT ${savepoint}`);
      else {
        const began = query(topts.snapshot ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN");
        txGeneration = began.generation;
      }
      depth++;
      let result: T;
      try {
        result = fn();
        if (result && typeof (result as { then?: unknown }).then === "function")
          throw new GatehouseError("INTERNAL", "a transaction function must not return a promise");
      } catch (e) {
        depth--;
        try {
          if (savepoint) query(`ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}`);
          else query("ROLLBACK");
        } catch {
          // The connection is gone with the transaction: there is nothing left to roll back.
        } finally {
          if (!savepoint) txGeneration = undefined;
        }
        throw e;
      }
      depth--;
      if (savepoint) query(`RELEASE SAVEPOINT ${savepoint}`);
      else
        try {
          query("COMMIT");
        } finally {
          txGeneration = undefined;
        }
      return result;
    },
    get inTransaction() {
      return depth > 0;
    },
    forUpdate: " FOR UPDATE",
    ping: () => void query("SELECT 1"),
    notify: (channel, payload) => void query("SELECT pg_notify(?, ?)", [channel, payload]),
    listen: (channel, fn) => {
      let set = listeners.get(channel);
      if (!set) {
        const reply = call({ op: "listen", channel });
        if (reply.error) throw failed(reply);
        set = new Set();
        listeners.set(channel, set);
      }
      set.add(fn);
      return () => {
        const s = listeners.get(channel);
        if (!s?.delete(fn) || s.size > 0) return;
        listeners.delete(channel);
        if (!closed) call({ op: "unlisten", channel });
      };
    },
    close: () => {
      if (closed) return;
      try {
        call({ op: "close" });
      } finally {
        closed = true;
        port.close();
        eventsPort.close();
        void worker.terminate();
      }
    },
  };
  return db;
}
