// Open the broker's database from the config's `database:` — a file path (SQLite) or a postgres:// URL.

import { readFileSync } from "node:fs";
import { GatehouseError } from "../../shared/errors.ts";
import { openPostgresDb, type PostgresOptions, parsePostgresUrl } from "./postgres.ts";
import { openSqliteDb } from "./sqlite.ts";
import type { Db } from "./types.ts";

export type { Db, Dialect, Param, Row } from "./types.ts";

export interface OpenDbOptions {
  /** SQLite only: a cap on the file's size in MiB. */
  maxMb?: number;
  /** PostgreSQL only: password (from the environment), TLS and timeouts. */
  postgres?: PostgresOptions;
}

export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//i.test(database);
}

export function openDb(database: string, opts: OpenDbOptions = {}): Db {
  if (isPostgresUrl(database)) return openPostgresDb(database, opts.postgres);
  return openSqliteDb(database, { maxMb: opts.maxMb });
}

/** What of the broker's config opening its database needs. */
export interface DatabaseConfig {
  database: string;
  database_max_mb?: number;
  database_password_env?: string;
  database_tls?: { mode?: "disable" | "require" | "verify-full"; ca_file?: string };
  database_timeouts?: { connect_seconds: number; statement_seconds: number };
}

/**
 * Open the database a (parsed) broker config names. The PostgreSQL password comes from the environment
 * only — the variable database_password_env names, else PGPASSWORD — never from a file Gatehouse reads.
 */
export function openConfiguredDb(config: DatabaseConfig): Db {
  if (!isPostgresUrl(config.database)) return openDb(config.database, { maxMb: config.database_max_mb });
  const envName = config.database_password_env ?? "PGPASSWORD";
  const password = process.env[envName];
  if (config.database_password_env && password === undefined)
    throw new GatehouseError(
      "CONFIG_INVALID",
      `database_password_env names ${envName}, which is not set in the broker's environment`,
    );
  const tls = config.database_tls ?? {};
  let ca: string | undefined;
  if (tls.ca_file) {
    try {
      ca = readFileSync(tls.ca_file, "utf8");
    } catch (e) {
      throw new GatehouseError("CONFIG_INVALID", `database_tls.ca_file: cannot read ${tls.ca_file}`, {
        cause: e,
      });
    }
  }
  return openDb(config.database, {
    postgres: {
      password,
      tls: { mode: tls.mode ?? defaultTlsMode(config.database), ca },
      connectTimeoutMs: (config.database_timeouts?.connect_seconds ?? 5) * 1000,
      statementTimeoutMs: (config.database_timeouts?.statement_seconds ?? 15) * 1000,
    },
  });
}

/** verify-full off the machine; nothing to encrypt on loopback or a Unix socket. */
export function defaultTlsMode(url: string): "disable" | "verify-full" {
  const host = parsePostgresUrl(url).host;
  return host === "127.0.0.1" || host === "::1" || host === "localhost" || host.startsWith("/")
    ? "disable"
    : "verify-full";
}
