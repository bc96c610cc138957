// The database's clock as SQL, in epoch milliseconds: replicas on several machines agree on what
// "expired" means only if they ask one clock, so leases and claims never use Date.now() of a replica.

import type { Db } from "./types.ts";

/** An SQL expression for "now" in epoch ms on this engine (an integer). */
export function nowMsSql(db: Db): string {
  return db.dialect === "postgres"
    ? "(floor(extract(epoch from clock_timestamp()) * 1000))::bigint"
    : "CAST(round((julianday('now') - 2440587.5) * 86400000) AS INTEGER)";
}

/** The database's time now, in epoch ms. */
export function dbNowMs(db: Db): number {
  return Number(db.get<{ now: number | string }>(`SELECT ${nowMsSql(db)} AS now`)!.now);
}
