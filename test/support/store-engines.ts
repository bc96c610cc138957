// Fresh broker databases on either engine for the store tests (the same tests, an engine parameter): a
// SQLite file in a temporary folder, or a new database on the run's private PostgreSQL cluster.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { type Db, openDb } from "../../broker/db/index.ts";
import { testDatabaseUrl } from "./pg.ts";

export type EngineName = "sqlite" | "postgres";
export const ENGINES: EngineName[] = ["sqlite", "postgres"];

export interface StoreEngines {
  /** Where a new, empty database is: a file path or a postgres:// URL. */
  fresh(engine: EngineName): Promise<string>;
  /** A connection to `database` (default: a fresh one), closed after the file's tests. */
  open(engine: EngineName, database?: string): Promise<Db>;
}

/** Call at a test file's top level; the files and connections it made go after the file's tests. */
export function storeEngines(): StoreEngines {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-store-"));
  let files = 0;
  const opened: Db[] = [];
  afterAll(() => {
    for (const db of opened) db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const fresh = async (engine: EngineName) =>
    engine === "sqlite" ? join(dir, `broker-${++files}.sqlite`) : await testDatabaseUrl();
  return {
    fresh,
    open: async (engine, database) => {
      const db = openDb(database ?? (await fresh(engine)));
      opened.push(db);
      return db;
    },
  };
}
