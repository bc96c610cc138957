// Fresh databases for tests of the database layer: a SQLite file (several connections to it, as several
// brokers on one machine would have), or, with GATEHOUSE_TEST_STORE=postgres, a database in a private
// PostgreSQL cluster (dev/postgres.ts).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb } from "../../broker/db/index.ts";
import type { Db } from "../../broker/db/types.ts";

export type TestEngine = "sqlite" | "postgres";

/** The engine the suite runs on (GATEHOUSE_TEST_STORE), SQLite by default. */
export const testEngine = (): TestEngine =>
  process.env.GATEHOUSE_TEST_STORE === "postgres" ? "postgres" : "sqlite";

interface ClusterLike {
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

let cluster: Promise<ClusterLike> | undefined;

async function postgresCluster(): Promise<ClusterLike> {
  // A variable path: the module comes with the PostgreSQL driver's branch.
  const mod = "../../dev/postgres.ts";
  const { startPrivateCluster } = (await import(mod)) as {
    startPrivateCluster(): Promise<ClusterLike>;
  };
  cluster ??= startPrivateCluster();
  return cluster;
}

/** A fresh empty database: its `database:` value and a remover. */
export async function freshDatabase(engine = testEngine()): Promise<{ database: string; remove(): void }> {
  if (engine === "postgres") {
    const url = await (await postgresCluster()).createDatabase();
    return { database: url, remove: () => undefined };
  }
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-db-"));
  return {
    database: join(dir, "broker.sqlite"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `n` connections to one fresh database, and a closer. */
export async function connections(n: number, engine = testEngine()): Promise<{ dbs: Db[]; close(): void }> {
  const fresh = await freshDatabase(engine);
  const dbs = Array.from({ length: n }, () => openDb(fresh.database));
  return {
    dbs,
    close() {
      for (const d of dbs) d.close();
      fresh.remove();
    },
  };
}
