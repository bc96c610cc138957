// The Db contract (broker/db/types.ts), one set of tests run on both engines — a SQLite file and a real
// PostgreSQL database on the run's private cluster — so that a store written once behaves the same on
// either. PostgreSQL-only: a server restarted or hung mid-use gives STORE_UNAVAILABLE in bounded time.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Db, type Dialect, openDb } from "../../broker/db/index.ts";
import { addColumnIfMissing, migrate } from "../../broker/db/migrate.ts";
import { openPostgresDb } from "../../broker/db/postgres.ts";
import { type PrivateCluster, startPrivateCluster } from "../../dev/postgres.ts";
import { GatehouseError } from "../../shared/errors.ts";
import { testDatabaseUrl } from "../support/pg.ts";

const CHILD = join(import.meta.dirname, "../support/db-child.ts");

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A second process on the database (test/support/db-child.ts), started and ready for "go". */
async function child(op: string, database: string): Promise<{ go: () => void; result: Promise<unknown> }> {
  const proc: ChildProcess = spawn(process.execPath, ["--import", "tsx", CHILD, op, database], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  proc.stderr!.on("data", (d) => {
    stderr += d;
  });
  const lines = createInterface({ input: proc.stdout! });
  const queue: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  lines.on("line", (l) => {
    const w = waiting.shift();
    if (w) w(l);
    else queue.push(l);
  });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const l = queue.shift();
      if (l !== undefined) return resolve(l);
      waiting.push(resolve);
      proc.once("exit", (code) => reject(new Error(`child exited ${code}: ${stderr}`)));
    });
  expect(await next()).toBe("ready");
  return { go: () => proc.stdin!.write("go\n"), result: next().then((l) => JSON.parse(l)) };
}

interface Engine {
  open(): Promise<{ database: string; a: Db; b: Db }>;
}

const engines: Record<Dialect, Engine> = {
  sqlite: {
    async open() {
      const dir = mkdtempSync(join(tmpdir(), "gh-dbc-"));
      dirs.push(dir);
      const database = join(dir, "broker.sqlite");
      return { database, a: openDb(database), b: openDb(database) };
    },
  },
  postgres: {
    async open() {
      const database = await testDatabaseUrl();
      return { database, a: openDb(database), b: openDb(database) };
    },
  },
};
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.each(["sqlite", "postgres"] as const)("Db on %s", (dialect) => {
  let database: string;
  let a: Db;
  let b: Db;
  beforeAll(async () => {
    ({ database, a, b } = await engines[dialect].open());
    a.exec(`CREATE TABLE items (
      id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, note TEXT, big BIGINT, seen INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)`);
    a.run("INSERT INTO counter (id, n) VALUES (1, 0)");
  }, 60_000);
  afterEach(() => {
    a.run("DELETE FROM items");
    a.run("UPDATE counter SET n = 0");
  });
  afterAll(() => {
    a?.close();
    b?.close();
  });

  it("says which engine it is and where, without a password", () => {
    expect(a.dialect).toBe(dialect);
    expect(a.forUpdate).toBe(dialect === "postgres" ? " FOR UPDATE" : "");
    expect(a.where).toContain(dialect === "postgres" ? "postgres://" : "broker.sqlite");
  });

  it("run, get and all; the other connection sees committed rows", () => {
    expect(a.run("INSERT INTO items (id, name) VALUES (?, ?)", [1, "one"])).toEqual({ changes: 1 });
    a.run("INSERT INTO items (id, name) VALUES (?, ?), (?, ?)", [2, "two", 3, "three"]);
    expect(b.get("SELECT id, name FROM items WHERE id = ?", [2])).toEqual({ id: 2, name: "two" });
    expect(b.get("SELECT id FROM items WHERE id = ?", [99])).toBeUndefined();
    expect(b.all("SELECT id FROM items ORDER BY id")).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(a.run("UPDATE items SET seen = 1 WHERE id > ?", [1]).changes).toBe(2);
    expect(a.run("DELETE FROM items WHERE id = ?", [404]).changes).toBe(0);
  });

  it("values: the rows as arrays in the SELECT's column order, NULLs and BIGINT as all() gives them", () => {
    a.run("INSERT INTO items (id, name, note, big) VALUES (?, ?, ?, ?), (?, ?, ?, ?)", [
      2,
      "two",
      null,
      9_007_199_254_740_991,
      1,
      "one",
      "n",
      null,
    ]);
    const sql = "SELECT note, id, name, big FROM items WHERE id < ? ORDER BY id";
    expect(b.values(sql, [10])).toEqual([
      ["n", 1, "one", null],
      [null, 2, "two", 9_007_199_254_740_991],
    ]);
    expect(b.values(sql, [0])).toEqual([]);
    // The same statement as objects still comes back as objects (raw mode is not shared with all()).
    expect(b.all(sql, [2])).toEqual([{ note: "n", id: 1, name: "one", big: null }]);
  });

  it("? inside string literals, quoted identifiers and comments is not a placeholder; hostile values stay values", () => {
    a.run(`INSERT INTO items (id, name, note) VALUES (?, 'what?', 'it''s ?') -- a comment?`, [1]);
    expect(a.get(`SELECT "name" AS "q?", note FROM items WHERE note = 'it''s ?' AND id = ?`, [1])).toEqual({
      "q?": "what?",
      note: "it's ?",
    });
    const hostile = "x'); DROP TABLE items; --";
    a.run("INSERT INTO items (id, name) VALUES (?, ?)", [2, hostile]);
    expect(a.get<{ name: string }>("SELECT name FROM items WHERE id = ?", [2])?.name).toBe(hostile);
    // A miscount is the caller's bug: refused before anything runs (SQLite's own message, or ours).
    expect(() => a.run("INSERT INTO items (id, name) VALUES (?, ?)", [3])).toThrow();
    expect(a.get("SELECT id FROM items WHERE id = 3")).toBeUndefined();
  });

  it("NULLs, numbers and BIGINT come back as JavaScript values; counts are numbers", () => {
    a.run("INSERT INTO items (id, name, note, big) VALUES (?, ?, ?, ?)", [
      1,
      "n",
      null,
      9_007_199_254_740_991,
    ]);
    a.run("INSERT INTO items (id, name, big) VALUES (?, ?, ?)", [2, "m", -42]);
    expect(a.get("SELECT note, big FROM items WHERE id = 1")).toEqual({
      note: null,
      big: 9_007_199_254_740_991,
    });
    expect(a.get("SELECT id FROM items WHERE note IS NULL AND big = ?", [-42])).toEqual({ id: 2 });
    expect(a.get("SELECT count(*) AS n, sum(id) AS s, max(big) AS m FROM items")).toEqual({
      n: 2,
      s: 3,
      m: 9_007_199_254_740_991,
    });
  });

  it("case-insensitive matching the portable way: lower() = lower(?) and LIKE … ESCAPE", () => {
    a.run("INSERT INTO items (id, name) VALUES (1, 'Alice@Example.com'), (2, 'bob_x'), (3, 'bobbx')");
    expect(a.get("SELECT id FROM items WHERE lower(name) = lower(?)", ["alice@example.COM"])).toEqual({
      id: 1,
    });
    expect(a.all("SELECT id FROM items WHERE lower(name) LIKE lower(?) ESCAPE '\\'", ["%EXAMPLE%"])).toEqual([
      { id: 1 },
    ]);
    // An escaped _ matches only an underscore.
    expect(
      a.all("SELECT id FROM items WHERE lower(name) LIKE lower(?) ESCAPE '\\' ORDER BY id", ["BOB\\_%"]),
    ).toEqual([{ id: 2 }]);
  });

  it("ON CONFLICT DO UPDATE / DO NOTHING and RETURNING", () => {
    const upsert =
      "INSERT INTO items (id, name, note) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET note = excluded.note";
    a.run(upsert, [1, "one", "first"]);
    a.run(upsert, [1, "one", "second"]);
    expect(a.all("SELECT id, note FROM items")).toEqual([{ id: 1, note: "second" }]);
    expect(
      a.run("INSERT INTO items (id, name) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", [2, "one"]).changes,
    ).toBe(0);
    expect(
      a.get("INSERT INTO items (id, name) VALUES (?, ?) RETURNING id, name, seen", [3, "three"]),
    ).toEqual({ id: 3, name: "three", seen: 0 });
    expect(a.get("UPDATE counter SET n = n + 5 WHERE id = 1 RETURNING n")).toEqual({ n: 5 });
    // A constraint error keeps its engine's code (stores may tell a duplicate apart).
    let err: unknown;
    try {
      a.run("INSERT INTO items (id, name) VALUES (?, ?)", [4, "three"]);
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe(
      dialect === "postgres" ? "23505" : "SQLITE_CONSTRAINT_UNIQUE",
    );
  });

  it("transactions commit, roll back when fn throws, and a nested one that throws undoes only itself", () => {
    expect(a.inTransaction).toBe(false);
    const r = a.transaction(() => {
      expect(a.inTransaction).toBe(true);
      a.run("INSERT INTO items (id, name) VALUES (1, 'kept')");
      // Not visible to the other connection before commit.
      expect(b.get("SELECT id FROM items WHERE id = 1")).toBeUndefined();
      return 7;
    });
    expect(r).toBe(7);
    expect(b.get("SELECT id FROM items WHERE id = 1")).toEqual({ id: 1 });

    expect(() =>
      a.transaction(() => {
        a.run("INSERT INTO items (id, name) VALUES (2, 'lost')");
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(a.inTransaction).toBe(false);
    expect(b.get("SELECT id FROM items WHERE id = 2")).toBeUndefined();

    a.transaction(() => {
      a.run("INSERT INTO items (id, name) VALUES (3, 'outer')");
      expect(() =>
        a.transaction(() => {
          a.run("INSERT INTO items (id, name) VALUES (4, 'inner')");
          throw new Error("inner");
        }),
      ).toThrow("inner");
      a.transaction(() => a.run("INSERT INTO items (id, name) VALUES (5, 'inner kept')"));
    });
    expect(b.all("SELECT id FROM items ORDER BY id")).toEqual([{ id: 1 }, { id: 3 }, { id: 5 }]);
  });

  it("a snapshot transaction reads one consistent state while another connection writes", () => {
    a.run("INSERT INTO items (id, name) VALUES (1, 'before')");
    const counts = a.transaction(
      () => {
        const first = a.get<{ n: number }>("SELECT count(*) AS n FROM items")!.n;
        b.run("INSERT INTO items (id, name) VALUES (2, 'during')");
        const second = a.get<{ n: number }>("SELECT count(*) AS n FROM items")!.n;
        return [first, second];
      },
      { snapshot: true },
    );
    expect(counts).toEqual([1, 1]);
    expect(a.get<{ n: number }>("SELECT count(*) AS n FROM items")!.n).toBe(2);
  });

  it("migrate() applies each version once, records it, and refuses a database newer than it knows", () => {
    const list = [
      { version: 1, name: "one", up: "CREATE TABLE mig_one (x INTEGER)" },
      {
        version: 2,
        name: "two",
        up: { sqlite: "CREATE TABLE mig_two (x INTEGER)", postgres: "CREATE TABLE mig_two (x BIGINT)" },
      },
    ];
    expect(migrate(a, "contract-seq", list)).toEqual([1, 2]);
    expect(migrate(b, "contract-seq", list)).toEqual([]);
    expect(
      migrate(a, "contract-seq", [
        ...list,
        { version: 3, name: "three", up: "CREATE TABLE mig_three (x INTEGER)" },
      ]),
    ).toEqual([3]);
    expect(() => migrate(b, "contract-seq", list)).toThrow(
      expect.objectContaining({ code: "STORE_TOO_NEW" }),
    );
    // A failing migration leaves nothing half-done.
    expect(() =>
      migrate(a, "contract-bad", [
        { version: 1, name: "ok", up: "CREATE TABLE mig_bad_ok (x INTEGER)" },
        { version: 2, name: "broken", up: "CREATE TABLE (" },
      ]),
    ).toThrow();
    expect(a.get("SELECT count(*) AS n FROM schema_migrations WHERE component = 'contract-bad'")).toEqual({
      n: 0,
    });
    expect(() => a.get("SELECT x FROM mig_bad_ok")).toThrow();
  });

  it("migrate() from two processes at once applies each migration once", async () => {
    const [p, q] = await Promise.all([child("migrate", database), child("migrate", database)]);
    p.go();
    q.go();
    const [rp, rq] = (await Promise.all([p.result, q.result])) as { applied: number[] }[];
    expect([...rp!.applied, ...rq!.applied].sort()).toEqual([1, 2]);
    expect(a.all("SELECT version FROM migration_log")).toEqual([{ version: 2 }]);
  }, 60_000);

  it("addColumnIfMissing adds once and is a no-op after", () => {
    addColumnIfMissing(a, "items", "extra", "TEXT");
    addColumnIfMissing(a, "items", "extra", "TEXT");
    a.run("INSERT INTO items (id, name, extra) VALUES (1, 'x', 'y')");
    expect(b.get("SELECT extra FROM items WHERE id = 1")).toEqual({ extra: "y" });
  });

  it("a row read forUpdate and written in a transaction makes another process's write wait for the commit", async () => {
    const other = await child("update", database);
    a.transaction(() => {
      const row = a.get<{ n: number }>(`SELECT n FROM counter WHERE id = ?${a.forUpdate}`, [1]);
      a.run("UPDATE counter SET n = ? WHERE id = 1", [row!.n + 10]);
      other.go();
      sleepSync(1_000);
    });
    const r = (await other.result) as { waitedMs: number; n: number };
    // It waited for the commit, then saw it.
    expect(r.waitedMs).toBeGreaterThanOrEqual(600);
    expect(r.n).toBe(11);
  }, 60_000);

  it("listen hears notify on the same connection; a rolled-back notify is never heard", async () => {
    const heard: string[] = [];
    const stop = a.listen("contract_same", (p) => heard.push(p));
    a.transaction(() => a.notify("contract_same", "committed"));
    await expect.poll(() => heard, { timeout: 5_000 }).toEqual(["committed"]);
    stop();
    a.notify("contract_same", "after stop");
    await new Promise((r) => setTimeout(r, 200));
    expect(heard).toEqual(["committed"]);
  });
});

describe("Db on postgres only", () => {
  it("notify reaches another connection's listener at commit, never on rollback", async () => {
    const url = await testDatabaseUrl();
    const a = openDb(url);
    const b = openDb(url);
    try {
      const heard: string[] = [];
      b.listen("contract_cross", (p) => heard.push(p));
      expect(() =>
        a.transaction(() => {
          a.notify("contract_cross", "rolled back");
          throw new Error("undo");
        }),
      ).toThrow("undo");
      a.transaction(() => {
        a.notify("contract_cross", "one");
        // Inside the transaction nothing has left yet.
        sleepSync(200);
        expect(heard).toEqual([]);
        a.notify("contract_cross", "two");
      });
      await expect.poll(() => heard, { timeout: 5_000 }).toEqual(["one", "two"]);
      // A hostile channel name is an identifier, quoted, not SQL.
      const hostile = 'x"; DROP TABLE t; --';
      b.listen(hostile, (p) => heard.push(p));
      a.notify(hostile, "quoted");
      await expect.poll(() => heard, { timeout: 5_000 }).toContain("quoted");
    } finally {
      a.close();
      b.close();
    }
  });

  it("a transaction whose connection is lost fails with STORE_UNAVAILABLE and never continues outside it", async () => {
    const cluster: PrivateCluster = await startPrivateCluster();
    try {
      const url = await cluster.createDatabase();
      const db = openPostgresDb(url);
      db.exec("CREATE TABLE t (x INTEGER)");
      let caught: unknown;
      let restarted: Promise<void> | undefined;
      expect(() =>
        db.transaction(() => {
          db.run("INSERT INTO t (x) VALUES (1)");
          // The server goes away mid-transaction (what a failover looks like).
          restarted = cluster.restart();
          try {
            db.run("INSERT INTO t (x) VALUES (2)");
          } catch (e) {
            caught = e;
          }
          // A store that swallowed the error must not write outside the lost transaction.
          db.run("INSERT INTO t (x) VALUES (3)");
        }),
      ).toThrow(expect.objectContaining({ code: "STORE_UNAVAILABLE" }));
      await restarted;
      expect(caught).toBeInstanceOf(GatehouseError);
      expect((caught as GatehouseError).code).toBe("STORE_UNAVAILABLE");
      expect((caught as GatehouseError).status).toBe(503);
      // The next call reconnects; nothing of the lost transaction was kept.
      expect(db.all("SELECT x FROM t")).toEqual([]);
      db.run("INSERT INTO t (x) VALUES (4)");
      expect(db.all("SELECT x FROM t")).toEqual([{ x: 4 }]);
      db.close();
    } finally {
      await cluster.stop();
    }
  }, 120_000);

  it("a server that is down or hung costs a bounded wait and STORE_UNAVAILABLE, never a hang", async () => {
    const cluster = await startPrivateCluster();
    try {
      const url = await cluster.createDatabase();
      const db = openPostgresDb(url, { connectTimeoutMs: 1_000, statementTimeoutMs: 1_000 });
      const pid = db.get<{ pid: number }>("SELECT pg_backend_pid() AS pid")!.pid;
      // The backend serving this connection stops answering (SIGSTOP): no error ever comes by itself.
      process.kill(pid, "SIGSTOP");
      let started = Date.now();
      try {
        expect(() => db.get("SELECT 1")).toThrow(expect.objectContaining({ code: "STORE_UNAVAILABLE" }));
        expect(Date.now() - started).toBeLessThan(10_000);
      } finally {
        process.kill(pid, "SIGCONT");
      }
      // Back: the next call reconnects.
      expect(db.get("SELECT 1 AS one")).toEqual({ one: 1 });
      db.ping();
      await cluster.stop();
      started = Date.now();
      expect(() => db.ping()).toThrow(expect.objectContaining({ code: "STORE_UNAVAILABLE" }));
      expect(() => db.get("SELECT 1")).toThrow(expect.objectContaining({ code: "STORE_UNAVAILABLE" }));
      expect(Date.now() - started).toBeLessThan(10_000);
      db.close();
    } finally {
      await cluster.stop();
    }
  }, 120_000);

  it("a database that does not exist, or a port nobody listens on, is STORE_UNAVAILABLE at once", async () => {
    const url = await testDatabaseUrl();
    const missing = openDb(url.replace(/\/[^/]+$/, "/gh_no_such_database"));
    expect(() => missing.ping()).toThrow(expect.objectContaining({ code: "STORE_UNAVAILABLE" }));
    missing.close();
    const nobody = openDb("postgres://postgres@127.0.0.1:1/x");
    const started = Date.now();
    expect(() => nobody.get("SELECT 1")).toThrow(expect.objectContaining({ code: "STORE_UNAVAILABLE" }));
    expect(Date.now() - started).toBeLessThan(6_000);
    nobody.close();
  });
});
