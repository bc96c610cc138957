// Vitest global setup: ONE private PostgreSQL cluster for the whole run (test/support/pg.ts hands each
// test a fresh database on it), stopped when the run ends.

import type { TestProject } from "vitest/node";
import { type PrivateCluster, startPrivateCluster } from "../../dev/postgres.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The cluster's admin URL, or "" when it could not start (then `error` says why). */
    gatehousePg: { url: string; error: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let cluster: PrivateCluster | undefined;
  let error = "";
  try {
    cluster = await startPrivateCluster();
  } catch (e) {
    // Runs that need no PostgreSQL still go on; a test that asks for a database fails with this reason.
    error = `${(e as { code?: string }).code ?? "ERROR"}: ${(e as Error).message}`;
  }
  project.provide("gatehousePg", { url: cluster?.url ?? "", error });
  return async () => {
    await cluster?.stop();
  };
}
