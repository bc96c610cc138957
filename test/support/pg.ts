// Fresh PostgreSQL databases for tests, on the private cluster the global setup started for this run,
// and the store the broker suites run on (GATEHOUSE_TEST_STORE=postgres, else SQLite).

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Db } from "../../broker/db/index.ts";
import { openPostgresDb } from "../../broker/db/postgres.ts";
import { createDatabaseOn } from "../../dev/postgres.ts";
import { GatehouseError } from "../../shared/errors.ts";

/** The run's cluster admin URL (postgres://postgres@127.0.0.1:PORT/postgres). */
export function testClusterUrl(): string {
  const url = process.env.GATEHOUSE_TEST_PG_URL;
  if (!url)
    throw new GatehouseError(
      "POSTGRES_FAILED",
      `no private PostgreSQL cluster for this run: ${process.env.GATEHOUSE_TEST_PG_ERROR || "vitest's globalSetup (test/support/pg-global-setup.ts) did not run"}`,
    );
  return url;
}

/** The URL of a new, empty database of its own. */
export async function testDatabaseUrl(): Promise<string> {
  return await createDatabaseOn(testClusterUrl());
}

/** Which store the broker suites run on: GATEHOUSE_TEST_STORE=postgres, else SQLite. */
export function testStore(): "sqlite" | "postgres" {
  const v = process.env.GATEHOUSE_TEST_STORE || "sqlite";
  if (v !== "sqlite" && v !== "postgres")
    throw new GatehouseError("BAD_ARGUMENT", `GATEHOUSE_TEST_STORE=${v}: use sqlite or postgres`);
  return v;
}

let admin: Db | undefined;
let created = 0;

/**
 * The `database:` of a test broker whose files live in `dir`: dir/broker.sqlite, or with
 * GATEHOUSE_TEST_STORE=postgres a fresh PostgreSQL database — the same one again for the same folder, so
 * a broker restarted on its folder finds its data as it would its file. Synchronous (config builders are).
 */
export function testBrokerDatabase(dir: string): string {
  if (testStore() === "sqlite") return join(dir, "broker.sqlite");
  const remembered = join(dir, "pg-database.url");
  if (existsSync(remembered)) return readFileSync(remembered, "utf8").trim();
  const clusterUrl = testClusterUrl();
  admin ??= openPostgresDb(clusterUrl);
  const name = `gh_broker_${process.pid}_${++created}_${Math.random().toString(36).slice(2, 8)}`;
  admin.exec(`CREATE DATABASE "${name}"`);
  const u = new URL(clusterUrl);
  u.pathname = `/${name}`;
  writeFileSync(remembered, u.toString());
  return u.toString();
}
