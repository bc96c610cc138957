// Vitest global setup: ONE private PostgreSQL cluster for the whole run (test/support/pg.ts hands each
// test a fresh database on it), stopped when the run ends. Its URL reaches the test workers through
// GATEHOUSE_TEST_PG_URL (set before they start, so they inherit it), which also lets test/support/pg.ts
// be imported outside vitest (benches, Playwright) without the vitest runtime.

import { type PrivateCluster, startPrivateCluster } from "../../dev/postgres.ts";

export default async function setup(): Promise<() => Promise<void>> {
  let cluster: PrivateCluster | undefined;
  try {
    cluster = await startPrivateCluster();
    process.env.GATEHOUSE_TEST_PG_URL = cluster.url;
  } catch (e) {
    // Runs that need no PostgreSQL still go on; a test that asks for a database fails with this reason.
    process.env.GATEHOUSE_TEST_PG_URL = "";
    process.env.GATEHOUSE_TEST_PG_ERROR = `${(e as { code?: string }).code ?? "ERROR"}: ${(e as Error).message}`;
  }
  return async () => {
    await cluster?.stop();
  };
}
