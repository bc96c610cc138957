// The kill switch's durable jobs on the broker's database (SQLite or PostgreSQL through `Db`): one row
// per revocation, and one work item per (revocation, role) that must carry a deny statement until every
// session of that person on that role has expired. A broker stopped half-way resumes from these rows.

import type { Db } from "../db/index.ts";
import { type Migration, migrate } from "../db/migrate.ts";

export type ItemState = "pending" | "written" | "failed" | "removed";

export interface Revocation {
  id: string;
  email: string;
  sourceIdentity: string;
  revokedAt: string;
  denyBefore: string;
  actor: string;
  reason: string | null;
  /** active: statements may still be up; restored: the person may sign in again (old sessions stay denied). */
  restoredAt: string | null;
  doneAt: string | null;
}

export interface RoleItem {
  revocationId: string;
  roleArn: string;
  accountId: string;
  roleName: string;
  /** When the last session of this person on this role has expired: the statement goes after that. */
  until: string;
  state: ItemState;
  attempts: number;
  nextAttemptAt: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  writtenAt: string | null;
  removedAt: string | null;
}

export const KILLSWITCH_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "revocations and per-role items",
    up: `
      CREATE TABLE IF NOT EXISTS killswitch_revocations (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        source_identity TEXT NOT NULL,
        revoked_at TEXT NOT NULL,
        deny_before TEXT NOT NULL,
        actor TEXT NOT NULL,
        reason TEXT,
        restored_at TEXT,
        done_at TEXT
      );
      CREATE INDEX IF NOT EXISTS killswitch_revocations_email ON killswitch_revocations(email);
      CREATE TABLE IF NOT EXISTS killswitch_roles (
        revocation_id TEXT NOT NULL,
        role_arn TEXT NOT NULL,
        account_id TEXT NOT NULL,
        role_name TEXT NOT NULL,
        until_at TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        error_code TEXT,
        error_message TEXT,
        written_at TEXT,
        removed_at TEXT,
        PRIMARY KEY (revocation_id, role_arn)
      );
      CREATE INDEX IF NOT EXISTS killswitch_roles_role ON killswitch_roles(role_arn, state);
      CREATE INDEX IF NOT EXISTS killswitch_roles_state ON killswitch_roles(state);
    `,
  },
  {
    version: 2,
    name: "per-role claims across replicas",
    // One broker at a time writes a role's policy: two replicas each writing the document they computed
    // could land in the wrong order and drop a statement the later one added.
    up: `
      CREATE TABLE IF NOT EXISTS killswitch_claims (
        role_arn TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        until_at TEXT NOT NULL
      );
    `,
  },
];

type Rec = Record<string, unknown>;
const str = (v: unknown) => (v === null || v === undefined ? null : String(v));

function revocationOf(r: Rec): Revocation {
  return {
    id: String(r.id),
    email: String(r.email),
    sourceIdentity: String(r.source_identity),
    revokedAt: String(r.revoked_at),
    denyBefore: String(r.deny_before),
    actor: String(r.actor),
    reason: str(r.reason),
    restoredAt: str(r.restored_at),
    doneAt: str(r.done_at),
  };
}

function itemOf(r: Rec): RoleItem {
  return {
    revocationId: String(r.revocation_id),
    roleArn: String(r.role_arn),
    accountId: String(r.account_id),
    roleName: String(r.role_name),
    until: String(r.until_at),
    state: String(r.state) as ItemState,
    attempts: Number(r.attempts),
    nextAttemptAt: str(r.next_attempt_at),
    errorCode: str(r.error_code),
    errorMessage: str(r.error_message),
    writtenAt: str(r.written_at),
    removedAt: str(r.removed_at),
  };
}

export class KillSwitchStore {
  constructor(readonly db: Db) {
    migrate(db, "killswitch", KILLSWITCH_MIGRATIONS);
  }

  /** The revocation and its items, written in one transaction: either the whole plan is durable or none. */
  insert(
    rev: Revocation,
    items: Pick<RoleItem, "roleArn" | "accountId" | "roleName" | "until" | "state">[],
  ): void {
    this.db.transaction(() => {
      this.db.run(
        `INSERT INTO killswitch_revocations (id, email, source_identity, revoked_at, deny_before, actor, reason, restored_at, done_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          rev.id,
          rev.email,
          rev.sourceIdentity,
          rev.revokedAt,
          rev.denyBefore,
          rev.actor,
          rev.reason,
          null,
          rev.doneAt,
        ],
      );
      for (const i of items)
        this.db.run(
          `INSERT INTO killswitch_roles (revocation_id, role_arn, account_id, role_name, until_at, state, attempts)
           VALUES (?, ?, ?, ?, ?, ?, 0)`,
          [rev.id, i.roleArn, i.accountId, i.roleName, i.until, i.state],
        );
    });
  }

  revocation(id: string): Revocation | undefined {
    const r = this.db.get<Rec>("SELECT * FROM killswitch_revocations WHERE id = ?", [id]);
    return r ? revocationOf(r) : undefined;
  }

  /** The person's revocation that is not restored yet, if any (a second disable joins it). */
  unrestored(email: string): Revocation | undefined {
    const r = this.db.get<Rec>(
      "SELECT * FROM killswitch_revocations WHERE lower(email) = lower(?) AND restored_at IS NULL ORDER BY revoked_at DESC LIMIT 1",
      [email],
    );
    return r ? revocationOf(r) : undefined;
  }

  revocations(filter: { email?: string; open?: boolean } = {}): Revocation[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.email) {
      where.push("lower(email) = lower(?)");
      args.push(filter.email);
    }
    if (filter.open) where.push("done_at IS NULL");
    return this.db
      .all<Rec>(
        `SELECT * FROM killswitch_revocations ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY revoked_at, id`,
        args,
      )
      .map(revocationOf);
  }

  items(revocationId: string): RoleItem[] {
    return this.db
      .all<Rec>("SELECT * FROM killswitch_roles WHERE revocation_id = ? ORDER BY role_arn", [revocationId])
      .map(itemOf);
  }

  /** Every item on a role that may still need a statement, oldest revocation first. */
  liveOnRole(roleArn: string): (RoleItem & { revocation: Revocation })[] {
    return this.db
      .all<Rec>(
        `SELECT i.*, r.id AS r_id, r.email, r.source_identity, r.revoked_at, r.deny_before, r.actor, r.reason, r.restored_at, r.done_at
         FROM killswitch_roles i JOIN killswitch_revocations r ON r.id = i.revocation_id
         WHERE i.role_arn = ? AND i.state <> 'removed' ORDER BY r.revoked_at, r.id`,
        [roleArn],
      )
      .map((row) => ({ ...itemOf(row), revocation: revocationOf({ ...row, id: row.r_id }) }));
  }

  /**
   * Roles with work due at `now`: a statement not written yet (pending, or failed and its back-off
   * over), or one written whose sessions have all expired.
   */
  dueRoles(now: string): { roleArn: string; accountId: string; roleName: string }[] {
    return this.db.all<{ roleArn: string; accountId: string; roleName: string }>(
      `SELECT role_arn AS "roleArn", MIN(account_id) AS "accountId", MIN(role_name) AS "roleName"
       FROM killswitch_roles
       WHERE (state IN ('pending', 'failed') AND (next_attempt_at IS NULL OR next_attempt_at <= ?))
          OR (state = 'written' AND until_at <= ? AND (next_attempt_at IS NULL OR next_attempt_at <= ?))
       GROUP BY role_arn ORDER BY role_arn`,
      [now, now, now],
    );
  }

  /**
   * Claim the roles for `owner` until `until` (wall-clock ISO): those free, expired, or already its own.
   * Returns the ones it holds; the others are another replica's for now.
   */
  claim(roleArns: readonly string[], owner: string, now: string, until: string): Set<string> {
    return this.db.transaction(() => {
      const held = new Set<string>();
      for (const arn of roleArns) {
        const row = this.db.get(
          `INSERT INTO killswitch_claims (role_arn, owner, until_at) VALUES (?, ?, ?)
           ON CONFLICT (role_arn) DO UPDATE SET owner = excluded.owner, until_at = excluded.until_at
           WHERE killswitch_claims.until_at < ? OR killswitch_claims.owner = excluded.owner
           RETURNING role_arn`,
          [arn, owner, until, now],
        );
        if (row) held.add(arn);
      }
      return held;
    });
  }

  release(roleArns: Iterable<string>, owner: string): void {
    this.db.transaction(() => {
      for (const arn of roleArns)
        this.db.run("DELETE FROM killswitch_claims WHERE role_arn = ? AND owner = ?", [arn, owner]);
    });
  }

  markWritten(revocationId: string, roleArn: string, at: string): void {
    this.db.run(
      `UPDATE killswitch_roles SET state = 'written', written_at = COALESCE(written_at, ?), next_attempt_at = NULL,
         error_code = NULL, error_message = NULL WHERE revocation_id = ? AND role_arn = ? AND state <> 'removed'`,
      [at, revocationId, roleArn],
    );
  }

  markRemoved(revocationId: string, roleArn: string, at: string): void {
    this.db.run(
      `UPDATE killswitch_roles SET state = 'removed', removed_at = ?, next_attempt_at = NULL, error_code = NULL,
         error_message = NULL WHERE revocation_id = ? AND role_arn = ?`,
      [at, revocationId, roleArn],
    );
  }

  /** A write or removal that failed: counted, reported, and tried again at `nextAttemptAt`. */
  markFailed(
    revocationId: string,
    roleArn: string,
    error: { code: string; message: string },
    nextAttemptAt: string,
  ): void {
    this.db.run(
      `UPDATE killswitch_roles SET state = CASE WHEN state = 'written' THEN 'written' ELSE 'failed' END,
         attempts = attempts + 1, next_attempt_at = ?, error_code = ?, error_message = ?
       WHERE revocation_id = ? AND role_arn = ? AND state <> 'removed'`,
      [nextAttemptAt, error.code, error.message.slice(0, 1000), revocationId, roleArn],
    );
  }

  /** Revocations whose items are all removed get their done time; returns the ones just finished. */
  finish(at: string): Revocation[] {
    return this.db.transaction(() => {
      const open = this.db
        .all<Rec>(
          `SELECT * FROM killswitch_revocations r WHERE done_at IS NULL AND NOT EXISTS
             (SELECT 1 FROM killswitch_roles i WHERE i.revocation_id = r.id AND i.state <> 'removed')`,
        )
        .map(revocationOf);
      for (const r of open)
        this.db.run("UPDATE killswitch_revocations SET done_at = ? WHERE id = ?", [at, r.id]);
      return open;
    });
  }

  restore(id: string, at: string): void {
    this.db.run("UPDATE killswitch_revocations SET restored_at = ? WHERE id = ? AND restored_at IS NULL", [
      at,
      id,
    ]);
  }

  /** Items per state, for /metrics and the admin view. */
  counts(): Record<ItemState, number> {
    const out: Record<ItemState, number> = { pending: 0, written: 0, failed: 0, removed: 0 };
    for (const r of this.db.all<{ state: string; n: number }>(
      "SELECT state, COUNT(*) AS n FROM killswitch_roles GROUP BY state",
    ))
      out[r.state as ItemState] = Number(r.n);
    return out;
  }
}
