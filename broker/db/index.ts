// Open the broker's database from the config's `database:` — a file path (SQLite) or a postgres:// URL.

import { GatehouseError } from "../../shared/errors.ts";
import { openSqliteDb } from "./sqlite.ts";
import type { Db } from "./types.ts";

export type { Db, Dialect, Param, Row } from "./types.ts";

export interface OpenDbOptions {
  /** SQLite only: a cap on the file's size in MiB. */
  maxMb?: number;
}

export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//i.test(database);
}

export function openDb(database: string, opts: OpenDbOptions = {}): Db {
  if (isPostgresUrl(database))
    throw new GatehouseError("CONFIG_INVALID", "PostgreSQL is not wired in yet (broker/db/postgres.ts)");
  return openSqliteDb(database, { maxMb: opts.maxMb });
}
