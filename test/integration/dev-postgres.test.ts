// dev/postgres.ts: a private PostgreSQL cluster really starts, serves databases, restarts on the same
// port keeping its data, and leaves nothing behind when stopped.

import { existsSync, statSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PrivateCluster, postgresBinDir, startPrivateCluster } from "../../dev/postgres.ts";

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

describe("private PostgreSQL cluster", () => {
  let cluster: PrivateCluster;
  beforeAll(async () => {
    cluster = await startPrivateCluster();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it("listens on a loopback port other than 5432, with its socket in its own folder", async () => {
    expect(cluster.port).not.toBe(5432);
    expect(cluster.url).toBe(`postgres://postgres@127.0.0.1:${cluster.port}/postgres`);
    expect(existsSync(`${cluster.socketDir}/.s.PGSQL.${cluster.port}`)).toBe(true);
    // The data folder is PostgreSQL's own (0700), as initdb demands.
    expect(statSync(cluster.dataDir).mode & 0o077).toBe(0);
    const r = await query(
      cluster.url,
      "SELECT current_setting('server_version_num')::int AS v, current_setting('fsync') AS f",
    );
    expect(r.rows[0].v).toBeGreaterThanOrEqual(150000);
    expect(r.rows[0].f).toBe("off");
    const enc = await query(
      cluster.url,
      "SELECT pg_encoding_to_char(encoding) AS e, datcollate FROM pg_database WHERE datname = 'postgres'",
    );
    expect(enc.rows[0]).toEqual({ e: "UTF8", datcollate: "C" });
  });

  it("creates fresh empty databases, named or not, and refuses a hostile name", async () => {
    const a = await cluster.createDatabase();
    const b = await cluster.createDatabase("gh_named_db");
    expect(a).not.toBe(b);
    expect(b).toBe(`postgres://postgres@127.0.0.1:${cluster.port}/gh_named_db`);
    await query(a, "CREATE TABLE t (x INTEGER)");
    // Separate databases: b does not see a's table.
    const seen = await query(b, "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 't'");
    expect(seen.rows[0].n).toBe(0);
    await expect(cluster.createDatabase('x"; DROP DATABASE postgres; --')).rejects.toMatchObject({
      code: "BAD_ARGUMENT",
    });
  });

  it("restart keeps the port and the data; a client of before gets an error, a new one connects", async () => {
    const url = await cluster.createDatabase();
    await query(url, "CREATE TABLE kept (x INTEGER); INSERT INTO kept VALUES (42)");
    const before = new pg.Client({ connectionString: url });
    await before.connect();
    before.on("error", () => {});
    await cluster.restart();
    await expect(before.query("SELECT 1")).rejects.toThrow();
    const r = await query(url, "SELECT x FROM kept");
    expect(r.rows).toEqual([{ x: 42 }]);
    await before.end().catch(() => {});
  }, 120_000);

  it("stop removes the folder and the server is gone", async () => {
    const other = await startPrivateCluster();
    const dir = other.socketDir;
    expect(existsSync(dir)).toBe(true);
    await other.stop();
    expect(existsSync(dir)).toBe(false);
    await expect(query(other.url, "SELECT 1")).rejects.toThrow();
  }, 120_000);

  it("names the apt package when the binaries are missing", () => {
    const saved = process.env.GATEHOUSE_PG_BIN;
    process.env.GATEHOUSE_PG_BIN = "/nonexistent/bin";
    try {
      expect(() => postgresBinDir()).toThrow(expect.objectContaining({ code: "POSTGRES_NOT_INSTALLED" }));
    } finally {
      if (saved === undefined) delete process.env.GATEHOUSE_PG_BIN;
      else process.env.GATEHOUSE_PG_BIN = saved;
    }
    // The default lookup finds the installed server.
    expect(existsSync(`${postgresBinDir()}/initdb`)).toBe(true);
  });
});
