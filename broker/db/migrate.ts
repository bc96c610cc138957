// Versioned migrations, applied at start under a lock (PostgreSQL: an advisory lock, so two replicas
// starting together never both migrate; SQLite: the write transaction). Each part of the broker keeps
// its own numbered list (`component`); a database records which versions it has in schema_migrations.

import { GatehouseError } from "../../shared/errors.ts";
import type { Db } from "./types.ts";

export interface Migration {
  version: number;
  name: string;
  /** SQL for both engines, SQL per engine, or a function (for steps that must look first). */
  up: string | { sqlite: string; postgres: string } | ((db: Db) => void);
}

/** A fixed key for pg_advisory_xact_lock: "gatehouse migrations". */
const MIGRATION_LOCK = 7_145_812_233;

export function migrate(db: Db, component: string, migrations: Migration[]): number[] {
  const versions = migrations.map((m) => m.version);
  if (versions.some((v, i) => i > 0 && v <= versions[i - 1]!))
    throw new GatehouseError("INTERNAL", `${component}: migrations must be numbered in increasing order`);
  return db.transaction(() => {
    if (db.dialect === "postgres") db.get("SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK]);
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      component TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL,
      PRIMARY KEY (component, version)
    )`);
    const have = new Set(
      db
        .all<{ version: number }>("SELECT version FROM schema_migrations WHERE component = ?", [component])
        .map((r) => Number(r.version)),
    );
    const newest = Math.max(0, ...have);
    const known = Math.max(0, ...versions);
    if (newest > known)
      throw new GatehouseError(
        "STORE_TOO_NEW",
        `the database's ${component} schema is at version ${newest}, newer than this broker knows (${known}); run the newer broker, or restore a backup`,
      );
    const applied: number[] = [];
    for (const m of migrations) {
      if (have.has(m.version)) continue;
      if (typeof m.up === "function") m.up(db);
      else db.exec(typeof m.up === "string" ? m.up : m.up[db.dialect]);
      db.run("INSERT INTO schema_migrations (component, version, name, applied_at) VALUES (?, ?, ?, ?)", [
        component,
        m.version,
        m.name,
        new Date().toISOString(),
      ]);
      applied.push(m.version);
    }
    return applied;
  });
}

/** Add a column unless it is there (databases from before versioned migrations may have it). */
export function addColumnIfMissing(db: Db, table: string, column: string, type: string): void {
  if (db.dialect === "postgres") {
    db.exec(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${column} ${type}`);
    return;
  }
  const cols = db.all<{ name: string }>(`PRAGMA table_info(${table})`);
  if (!cols.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
}
