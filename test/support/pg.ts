// Fresh PostgreSQL databases for tests, on the private cluster the global setup started for this run.

import { inject } from "vitest";
import { createDatabaseOn } from "../../dev/postgres.ts";
import { GatehouseError } from "../../shared/errors.ts";

/** The run's cluster admin URL (postgres://postgres@127.0.0.1:PORT/postgres). */
export function testClusterUrl(): string {
  const pg = inject("gatehousePg");
  if (!pg?.url)
    throw new GatehouseError(
      "POSTGRES_FAILED",
      `no private PostgreSQL cluster for this run: ${pg?.error || "vitest's globalSetup did not run"}`,
    );
  return pg.url;
}

/** The URL of a new, empty database of its own. */
export async function testDatabaseUrl(): Promise<string> {
  return await createDatabaseOn(testClusterUrl());
}

/** Which store the broker suites run on: GATEHOUSE_TEST_STORE=postgres, else SQLite. */
export function testStore(): "sqlite" | "postgres" {
  const v = process.env.GATEHOUSE_TEST_STORE ?? "sqlite";
  if (v !== "sqlite" && v !== "postgres")
    throw new GatehouseError("BAD_ARGUMENT", `GATEHOUSE_TEST_STORE=${v}: use sqlite or postgres`);
  return v;
}
