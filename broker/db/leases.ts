// Leases: a named piece of work held by one replica until a deadline on the database's clock. Several
// brokers on one database take `sync:<account>`, `apply:<id>/<n>`, `expire:<id>/<n>` this way, so a job
// runs once, and a dead replica's work is taken over when its lease runs out.

import { GatehouseError } from "../../shared/errors.ts";
import { nowMsSql } from "./clock.ts";
import { type Migration, migrate } from "./migrate.ts";
import type { Db } from "./types.ts";

export const LEASE_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "leases",
    // BIGINT on PostgreSQL: epoch milliseconds do not fit its 32-bit INTEGER.
    up: {
      sqlite:
        "CREATE TABLE IF NOT EXISTS leases (key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL, acquired_at INTEGER NOT NULL)",
      postgres:
        "CREATE TABLE IF NOT EXISTS leases (key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL, acquired_at BIGINT NOT NULL)",
    },
  },
];

export interface LeaseHolder {
  holder: string;
  /** Epoch ms on the database's clock. */
  expiresAt: number;
}

/** Keys and holders are short printable names; a hostile one is refused, never stored. */
const NAME = /^[\x21-\x7e]{1,200}$/;

function check(key: string, holder: string, ttlMs?: number): void {
  if (!NAME.test(key)) throw new GatehouseError("BAD_REQUEST", "a lease key is 1-200 printable characters");
  if (!NAME.test(holder))
    throw new GatehouseError("BAD_REQUEST", "a lease holder is 1-200 printable characters");
  if (ttlMs !== undefined && !(Number.isInteger(ttlMs) && ttlMs > 0 && ttlMs <= 86_400_000))
    throw new GatehouseError("BAD_REQUEST", "a lease lasts 1 ms to 1 day");
}

export class Leases {
  private readonly now: string;

  constructor(private readonly db: Db) {
    migrate(db, "leases", LEASE_MIGRATIONS);
    this.now = nowMsSql(db);
  }

  /**
   * Take `key` for `holder` for `ttlMs`, if it is free, expired, or already the holder's (then it is
   * extended). One statement: two replicas asking at once cannot both get it. True when taken.
   */
  tryClaim(key: string, holder: string, ttlMs: number): boolean {
    check(key, holder, ttlMs);
    const row = this.db.get(
      `INSERT INTO leases (key, holder, expires_at, acquired_at) VALUES (?, ?, ${this.now} + ?, ${this.now})
       ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
         acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END
       WHERE leases.expires_at <= ${this.now} OR leases.holder = excluded.holder
       RETURNING holder`,
      [key, holder, ttlMs],
    );
    return row !== undefined;
  }

  /** Extend a lease the holder still has; false when it lapsed and someone else took it (or it was released). */
  renew(key: string, holder: string, ttlMs: number): boolean {
    check(key, holder, ttlMs);
    return (
      this.db.run(`UPDATE leases SET expires_at = ${this.now} + ? WHERE key = ? AND holder = ?`, [
        ttlMs,
        key,
        holder,
      ]).changes === 1
    );
  }

  /** Give a lease up (only the holder can). */
  release(key: string, holder: string): boolean {
    check(key, holder);
    return this.db.run("DELETE FROM leases WHERE key = ? AND holder = ?", [key, holder]).changes === 1;
  }

  /** Who holds `key` now (an expired lease is held by nobody). */
  holderOf(key: string): LeaseHolder | undefined {
    check(key, "-");
    const row = this.db.get<{ holder: string; expires_at: number | string }>(
      `SELECT holder, expires_at FROM leases WHERE key = ? AND expires_at > ${this.now}`,
      [key],
    );
    return row ? { holder: row.holder, expiresAt: Number(row.expires_at) } : undefined;
  }

  /** Live leases whose key starts with `prefix` (metrics, the sweep), by key. */
  held(prefix: string): (LeaseHolder & { key: string })[] {
    const like = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.db
      .all<{ key: string; holder: string; expires_at: number | string }>(
        `SELECT key, holder, expires_at FROM leases WHERE key LIKE ? ESCAPE '\\' AND expires_at > ${this.now} ORDER BY key`,
        [like],
      )
      .map((r) => ({ key: r.key, holder: r.holder, expiresAt: Number(r.expires_at) }));
  }

  /** Drop leases that lapsed more than `olderThanMs` ago (they are free anyway; this keeps the table small). */
  prune(olderThanMs = 3_600_000): number {
    return this.db.run(`DELETE FROM leases WHERE expires_at < ${this.now} - ?`, [olderThanMs]).changes;
  }

  /**
   * Hold `key` while `work` runs: taken (or null when another live holder has it), renewed every third of
   * the TTL, released at the end. `lost` is set when a renewal finds the lease gone, so long work can stop.
   */
  async hold<T>(
    key: string,
    holder: string,
    ttlMs: number,
    work: (lease: { readonly lost: boolean }) => Promise<T>,
  ): Promise<{ ran: true; value: T } | { ran: false; holder: string | undefined }> {
    if (!this.tryClaim(key, holder, ttlMs)) return { ran: false, holder: this.holderOf(key)?.holder };
    const lease = { lost: false };
    const timer = setInterval(
      () => {
        try {
          if (!this.renew(key, holder, ttlMs)) lease.lost = true;
        } catch {
          // The database is away for a moment: the lease may lapse; the next renewal tells.
        }
      },
      Math.max(10, Math.floor(ttlMs / 3)),
    );
    timer.unref();
    try {
      return { ran: true, value: await work(lease) };
    } finally {
      clearInterval(timer);
      try {
        this.release(key, holder);
      } catch {
        // Unreachable database: the lease lapses by itself.
      }
    }
  }
}
