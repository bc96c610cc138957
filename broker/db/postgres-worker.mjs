// The PostgreSQL side of broker/db/postgres.ts, in a worker thread: one pg.Client runs the statements the
// main thread posts (which blocks until this thread signals the reply), a second one LISTENs.
// Plain JavaScript so that node, tsx and vitest all load it without a TypeScript loader.

import { workerData } from "node:worker_threads";
import pg from "pg";

// Counts come back as numbers, as they do from SQLite: BIGINT (count(*), sums of integers) and NUMERIC.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

const { config, signal, requests, events, statementTimeoutMs } = workerData;
const flag = new Int32Array(signal);

// Errors meaning "the database cannot be used right now", not "this statement is wrong": class 08
// (connection; 08P01 is a protocol error of ours), 57P01-03 (shut down, crashed, starting), 53 (out of
// disk, memory, connections), 57014 (statement_timeout), 28 (authentication), 3D000 (no such database).
function unavailable(err) {
  const code = typeof err?.code === "string" ? err.code : "";
  if (/^(ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ENOENT)/.test(code)) return true;
  if (/^08/.test(code) && code !== "08P01") return true;
  if (/^(57P0|53|28)/.test(code) || code === "57014" || code === "3D000") return true;
  const msg = String(err?.message ?? "");
  return /Connection terminated|connection error|timeout|Client was closed|not queryable/i.test(msg);
}

// Whether the connection itself is gone or in an unknown state (and must be replaced).
function connectionLost(err) {
  const code = typeof err?.code === "string" ? err.code : "";
  if (code === "57014" || /^53/.test(code)) return false;
  return unavailable(err);
}

let client = null;
// Bumped on every new connection: a transaction begun on one connection must never continue on the next.
let generation = 0;

async function connect() {
  const c = new pg.Client({
    ...config,
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + 2000,
  });
  // An idle connection that drops emits "error": without a handler the worker would die.
  c.on("error", () => {
    if (client === c) client = null;
  });
  c.on("end", () => {
    if (client === c) client = null;
  });
  await c.connect();
  client = c;
  generation++;
  return c;
}

function drop() {
  const c = client;
  client = null;
  if (c) c.end().catch(() => {});
}

async function handle(msg) {
  switch (msg.op) {
    case "query": {
      // A statement of a transaction whose connection is gone: refuse, never run it outside the transaction.
      if (msg.generation !== undefined && (client === null || msg.generation !== generation))
        return {
          error: {
            message: "the connection was lost during the transaction",
            code: "08006",
            unavailable: true,
          },
        };
      const c = client ?? (await connect());
      const r = msg.params ? await c.query(msg.sql, msg.params) : await c.query(msg.sql);
      // exec() of several statements yields one result per statement.
      const last = Array.isArray(r) ? r[r.length - 1] : r;
      return { rows: last?.rows ?? [], rowCount: last?.rowCount ?? 0, generation };
    }
    case "listen":
      await ensureListener();
      listening.add(msg.channel);
      await listener.query(`LISTEN ${pg.escapeIdentifier(msg.channel)}`);
      return {};
    case "unlisten":
      listening.delete(msg.channel);
      if (listener) await listener.query(`UNLISTEN ${pg.escapeIdentifier(msg.channel)}`);
      return {};
    case "close":
      closed = true;
      drop();
      if (listener) await listener.end().catch(() => {});
      listener = null;
      return {};
    default:
      return { error: { message: `unknown operation ${msg.op}`, code: "INTERNAL" } };
  }
}

// LISTEN on a connection of its own (the main one is busy with statements and transactions). When it
// drops, it comes back by itself and LISTENs again; each return is announced so that caches reload what
// they may have missed meanwhile.
let listener = null;
let listenerConnecting = null;
const listening = new Set();
let closed = false;

async function ensureListener() {
  if (listener) return listener;
  if (listenerConnecting) return await listenerConnecting;
  listenerConnecting = (async () => {
    const l = new pg.Client(config);
    const lost = () => {
      if (listener !== l) return;
      listener = null;
      if (!closed && listening.size > 0) setTimeout(relisten, 500);
    };
    l.on("error", lost);
    l.on("end", lost);
    l.on("notification", (n) => events.postMessage({ channel: n.channel, payload: n.payload ?? "" }));
    await l.connect();
    listener = l;
    return l;
  })();
  try {
    return await listenerConnecting;
  } finally {
    listenerConnecting = null;
  }
}

async function relisten() {
  if (closed || listener) return;
  try {
    const l = await ensureListener();
    for (const ch of listening) await l.query(`LISTEN ${pg.escapeIdentifier(ch)}`);
    events.postMessage({ reconnected: true });
  } catch {
    setTimeout(relisten, 1000);
  }
}

// One operation at a time, in the order posted: the main thread waits for each anyway, but a reply it
// gave up on (timeout) must not overtake the next request.
let queue = Promise.resolve();
requests.on("message", (msg) => {
  queue = queue.then(async () => {
    let reply;
    try {
      reply = await handle(msg);
    } catch (err) {
      const isUnavailable = unavailable(err);
      if (msg.op === "query" && connectionLost(err)) drop();
      reply = {
        error: {
          message: String(err?.message ?? err),
          code: typeof err?.code === "string" ? err.code : undefined,
          unavailable: isUnavailable,
        },
      };
    }
    requests.postMessage({ id: msg.id, ...reply });
    // After the reply is queued: the main thread reads it as soon as the counter moves.
    Atomics.add(flag, 0, 1);
    Atomics.notify(flag, 0);
    if (msg.op === "close") {
      requests.close();
      events.close();
    }
  });
});
