// Fresh broker databases on either engine for the store tests: a SQLite file in a temporary folder, or
// a new database on a private PostgreSQL cluster (dev/postgres.ts) started once per test file.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { type Db, openDb } from "../../broker/db/index.ts";
import { type PrivateCluster, startPrivateCluster } from "../../dev/postgres.ts";

export type EngineName = "sqlite" | "postgres";
export const ENGINES: EngineName[] = ["sqlite", "postgres"];

export interface StoreEngines {
  /** Where a new, empty database is: a file path or a postgres:// URL. */
  fresh(engine: EngineName): Promise<string>;
  /** A connection to `database` (default: a fresh one), closed after the file's tests. */
  open(engine: EngineName, database?: string): Promise<Db>;
  /** The cluster, once a PostgreSQL database was asked for (to stop or restart it). */
  cluster(): Promise<PrivateCluster>;
}

/** Call at a test file's top level; everything it made is removed after the file's tests. */
export function storeEngines(): StoreEngines {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-store-"));
  let cluster: Promise<PrivateCluster> | undefined;
  let files = 0;
  const open: Db[] = [];
  afterAll(async () => {
    for (const db of open) db.close();
    await (await cluster)?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const getCluster = () => {
    cluster ??= startPrivateCluster();
    return cluster;
  };
  const fresh = async (engine: EngineName) =>
    engine === "sqlite" ? join(dir, `broker-${++files}.sqlite`) : await (await getCluster()).createDatabase();
  return {
    fresh,
    open: async (engine, database) => {
      const db = openDb(database ?? (await fresh(engine)));
      open.push(db);
      return db;
    },
    cluster: getCluster,
  };
}
