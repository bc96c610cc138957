// Permission requests in the broker's database (SQLite or PostgreSQL): requests, their targets, approvals,
// events and the webhook outbox, with every state change made through the state machine under a guarded
// UPDATE, on rows locked first so that replicas sharing one database take turns.

import { GatehouseError } from "../shared/errors.ts";
import {
  type PermissionRequest,
  type RequestKind,
  type RequestTarget,
  type TargetEvent,
  type TargetState,
  transition,
} from "../shared/requests.ts";
import { type Db, openDb } from "./db/index.ts";
import { addColumnIfMissing, type Migration, migrate } from "./db/migrate.ts";

/** Who the store names in events nobody in particular caused. */
const SYSTEM_ACTOR = "gatehouse";

export interface NewTarget {
  arn: string;
  accountId: string;
  type: "role" | "user";
  name: string;
  policyName: string | null;
  policy: string | null;
  /** managed-policy: the policy ARN attached. */
  policyArn?: string | null;
  /** group-membership: the IAM group joined. */
  groupName?: string | null;
}

export interface NewRequest {
  id: string;
  kind: RequestKind;
  requester: { email: string; groups: string[] };
  justification: string;
  expirySeconds: number | null;
  policy: string | null;
  createdAt: string;
  targets: NewTarget[];
  /** SECURITY 31: why break-glass let it through (it needs an admin approver); null when it is ordinary. */
  breakGlass?: string[] | null;
}

export interface TargetRow extends RequestTarget {
  requestId: string;
  kind: RequestKind;
  requester: string;
  expirySeconds: number | null;
  appliedPolicy: string | null;
}

export interface TargetPatch {
  policy?: string | null;
  expiresAt?: string | null;
  appliedAt?: string | null;
  appliedPolicy?: string | null;
  error?: { code: string; message: string } | null;
  drift?: string | null;
  note?: string | null;
}

export interface ApprovalInput {
  approver: string;
  comment: string | null;
  diff: string | null;
  expiresAt: string | null;
  /** The approver is an admin (what a break-glass request needs before it applies). */
  admin?: boolean;
}

export interface ApproveOptions {
  /** Changes to the target made with this approval (the approver's edit), in the same transaction. */
  patch?: TargetPatch;
  /**
   * The approval carries an edit: every earlier approval of the target (the approver's own included)
   * is superseded, since it approved something else. Without it, a second approval by the same person
   * is ALREADY_APPROVED.
   */
  resetEarlier?: boolean;
}

/** One webhook delivery in the outbox: written with the state change, sent (and retried) afterwards. */
export interface Delivery {
  id: string;
  /** The JSON body; built from a notification, never holding a secret. */
  body: string;
  createdAt: string;
  attempts: number;
  nextAttemptAt: string;
  state: "pending" | "delivered" | "dead";
  lastError: string | null;
  deliveredAt: string | null;
}

export interface Outbox {
  enqueue(d: { id: string; body: string }, now?: Date): void;
  /** Pending deliveries whose next attempt is due. */
  due(now: Date, limit: number): Delivery[];
  /**
   * Take a due delivery for one attempt: counts the attempt and pushes its next attempt `leaseMs` ahead,
   * so a sender that dies mid-send leaves it to be retried, and two senders never send it at once.
   */
  claim(id: string, now: Date, leaseMs: number): Delivery | undefined;
  delivered(id: string, now: Date): void;
  retryAt(id: string, at: Date, error: string): void;
  dead(id: string, error: string): void;
  /** When the earliest pending delivery is next due (null: none pending). */
  nextDue(): Date | null;
  /** Forget delivered and dead deliveries created before `before`. */
  prune(before: Date): void;
  get(id: string): Delivery | undefined;
  list(state?: Delivery["state"]): Delivery[];
}

export interface RequestsStore {
  create(r: NewRequest, actor: string): void;
  get(id: string): PermissionRequest | undefined;
  /** Newest first; `pending`: only requests with a target still pending (however old). */
  list(filter: { requester?: string; pending?: boolean; limit?: number }): PermissionRequest[];
  target(requestId: string, n: number): TargetRow | undefined;
  targetsIn(states: TargetState[]): TargetRow[];
  /** Applied targets whose expiry has passed. */
  due(now: Date): TargetRow[];
  /**
   * Move a target by `event` if it is still in the state it was read in; returns the new state, or
   * throws ILLEGAL_TRANSITION. Only one of two racing callers can win a given move.
   */
  move(
    requestId: string,
    n: number,
    event: TargetEvent,
    actor: string,
    patch?: TargetPatch,
    detail?: Record<string, unknown>,
  ): TargetState;
  patch(requestId: string, n: number, patch: TargetPatch): void;
  /**
   * Record one approval of a pending target (ILLEGAL_TRANSITION if it is no longer pending;
   * ALREADY_APPROVED if this approver's approval already counts); returns the approvals that now count.
   */
  approve(requestId: string, n: number, a: ApprovalInput, opts?: ApproveOptions): number;
  event(
    requestId: string,
    n: number | null,
    actor: string,
    type: string,
    detail?: Record<string, unknown>,
  ): void;
  hasEvent(requestId: string, n: number, type: string): boolean;
  /** Mark a request break-glass (an approver's edit made it so); reasons add to those it had. */
  markBreakGlass(requestId: string, reasons: string[]): void;
  isBreakGlass(requestId: string): boolean;
  /** Approvals of a target by admins that still count. */
  adminApprovals(requestId: string, n: number): number;
  /** The webhook outbox, in the same database file. */
  outbox: Outbox;
  close(): void;
}

type TargetDb = {
  request_id: string;
  n: number;
  arn: string;
  account_id: string;
  type: "role" | "user";
  name: string;
  state: TargetState;
  policy_name: string | null;
  policy: string | null;
  expires_at: string | null;
  applied_at: string | null;
  applied_policy: string | null;
  error: string | null;
  drift: string | null;
  note: string | null;
  policy_arn: string | null;
  group_name: string | null;
  kind: RequestKind;
  requester: string;
  expiry_seconds: number | null;
  approvals: number;
};

const TARGET_SELECT = `SELECT t.*, r.kind, r.requester, r.expiry_seconds,
  (SELECT COUNT(*) FROM approvals a WHERE a.request_id = t.request_id AND a.n = t.n
    AND a.superseded_at IS NULL) AS approvals
  FROM targets t JOIN requests r ON r.id = t.request_id`;

const toTarget = (t: TargetDb): TargetRow => ({
  requestId: t.request_id,
  kind: t.kind,
  requester: t.requester,
  expirySeconds: t.expiry_seconds,
  appliedPolicy: t.applied_policy,
  n: t.n,
  arn: t.arn,
  accountId: t.account_id,
  type: t.type,
  name: t.name,
  state: t.state,
  policyName: t.policy_name,
  policy: t.policy,
  approvals: Number(t.approvals),
  expiresAt: t.expires_at,
  appliedAt: t.applied_at,
  error: t.error ? JSON.parse(t.error) : null,
  drift: t.drift,
  note: t.note,
  policyArn: t.policy_arn,
  groupName: t.group_name,
});

const COLUMNS: Record<keyof TargetPatch, string> = {
  policy: "policy",
  expiresAt: "expires_at",
  appliedAt: "applied_at",
  appliedPolicy: "applied_policy",
  error: "error",
  drift: "drift",
  note: "note",
};

const TABLES = (dialect: "sqlite" | "postgres") => `
  CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, requester TEXT NOT NULL, requester_groups TEXT NOT NULL,
    justification TEXT NOT NULL, expiry_seconds INTEGER, policy TEXT, created_at TEXT NOT NULL,
    break_glass TEXT
  );
  CREATE INDEX IF NOT EXISTS requests_requester ON requests(requester, created_at);
  CREATE TABLE IF NOT EXISTS targets (
    request_id TEXT NOT NULL REFERENCES requests(id), n INTEGER NOT NULL, arn TEXT NOT NULL,
    account_id TEXT NOT NULL, type TEXT NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL,
    policy_name TEXT, policy TEXT, expires_at TEXT, applied_at TEXT, applied_policy TEXT,
    error TEXT, drift TEXT, updated_at TEXT NOT NULL, note TEXT, PRIMARY KEY (request_id, n)
  );
  CREATE INDEX IF NOT EXISTS targets_state ON targets(state, expires_at);
  CREATE TABLE IF NOT EXISTS approvals (
    request_id TEXT NOT NULL, n INTEGER NOT NULL, approver TEXT NOT NULL, time TEXT NOT NULL,
    comment TEXT, diff TEXT, expires_at TEXT, superseded_at TEXT, admin INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (request_id, n, approver)
  );
  CREATE TABLE IF NOT EXISTS request_events (
    ${dialect === "postgres" ? "seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" : "seq INTEGER PRIMARY KEY AUTOINCREMENT"},
    request_id TEXT NOT NULL, n INTEGER, time TEXT NOT NULL, actor TEXT NOT NULL, type TEXT NOT NULL,
    detail TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS request_events_request ON request_events(request_id, seq);
  CREATE TABLE IF NOT EXISTS webhook_outbox (
    id TEXT PRIMARY KEY, body TEXT NOT NULL, created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT NOT NULL, state TEXT NOT NULL,
    last_error TEXT, delivered_at TEXT
  );
  CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox(state, next_attempt_at);
`;

/** The requests' schema, by version. Version 1 is the schema of the release before versioned migrations. */
export const REQUESTS_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "requests, targets, approvals, events, webhook outbox",
    up: (db) => {
      // IF NOT EXISTS: a database from the previous release adopts this version as it is…
      db.exec(TABLES(db.dialect));
      // …with the columns that release's own start added in place to still older files.
      addColumnIfMissing(db, "approvals", "superseded_at", "TEXT");
      addColumnIfMissing(db, "targets", "note", "TEXT");
      addColumnIfMissing(db, "requests", "break_glass", "TEXT");
      addColumnIfMissing(db, "approvals", "admin", "INTEGER NOT NULL DEFAULT 0");
    },
  },
  {
    version: 2,
    name: "targets of managed-policy and group-membership requests",
    up: (db) => {
      db.exec("ALTER TABLE targets ADD COLUMN policy_arn TEXT");
      db.exec("ALTER TABLE targets ADD COLUMN group_name TEXT");
    },
  },
];

/**
 * The requests on a database the caller opened and closes (the broker shares one `Db` between its
 * stores); or, given a file path or URL (tests and tools), on a connection of its own that close() closes.
 */
export function openRequestsStore(database: Db | string, opts: { maxMb?: number } = {}): RequestsStore {
  if (typeof database === "string") {
    const own = openDb(database, opts);
    try {
      return { ...openRequestsStore(own), close: () => own.close() };
    } catch (e) {
      own.close();
      throw e;
    }
  }
  const db = database;
  migrate(db, "requests", REQUESTS_MIGRATIONS);

  const event = (id: string, n: number | null, actor: string, type: string, detail = {}) =>
    void db.run(
      "INSERT INTO request_events (request_id, n, time, actor, type, detail) VALUES (?, ?, ?, ?, ?, ?)",
      [id, n, new Date().toISOString(), actor, type, JSON.stringify(detail)],
    );

  const target = (id: string, n: number) => {
    const row = db.get<TargetDb>(`${TARGET_SELECT} WHERE t.request_id = ? AND t.n = ?`, [id, n]);
    return row ? toTarget(row) : undefined;
  };
  // Lock the target's row before reading what to decide on (PostgreSQL; SQLite's write transaction
  // already excludes every other writer): two approvals or moves racing on two replicas take turns, and
  // the second one reads what the first committed.
  const lockedTarget = (id: string, n: number) => {
    db.get(`SELECT n FROM targets WHERE request_id = ? AND n = ?${db.forUpdate}`, [id, n]);
    return target(id, n);
  };

  const patchSql = (patch: TargetPatch) => {
    const sets: string[] = [];
    const args: (string | null)[] = [];
    for (const [k, col] of Object.entries(COLUMNS) as [keyof TargetPatch, string][]) {
      if (!(k in patch)) continue;
      const v = patch[k];
      sets.push(`${col} = ?`);
      args.push(v === null || v === undefined ? null : typeof v === "string" ? v : JSON.stringify(v));
    }
    return { sets, args };
  };
  const applyPatch = (id: string, n: number, patch: TargetPatch) => {
    const { sets, args } = patchSql(patch);
    if (sets.length)
      db.run(`UPDATE targets SET ${sets.join(", ")} WHERE request_id = ? AND n = ?`, [...args, id, n]);
  };

  const load = (row: Record<string, unknown>): PermissionRequest => {
    const id = row.id as string;
    const targets = db
      .all<TargetDb>(`${TARGET_SELECT} WHERE t.request_id = ? ORDER BY t.n`, [id])
      .map((t) => {
        const {
          requestId: _r,
          kind: _k,
          requester: _q,
          expirySeconds: _e,
          appliedPolicy: _a,
          ...rest
        } = toTarget(t);
        return rest;
      });
    const approvals = db
      .all<{
        n: number;
        approver: string;
        time: string;
        comment: string | null;
        diff: string | null;
        expires_at: string | null;
        superseded_at: string | null;
        admin: number;
      }>("SELECT * FROM approvals WHERE request_id = ? ORDER BY time, n", [id])
      .map((a) => ({
        target: a.n,
        approver: a.approver,
        time: a.time,
        comment: a.comment,
        diff: a.diff,
        expiresAt: a.expires_at,
        supersededAt: a.superseded_at,
        admin: Number(a.admin) === 1,
      }));
    const events = db
      .all<{ n: number | null; time: string; actor: string; type: string; detail: string }>(
        "SELECT * FROM request_events WHERE request_id = ? ORDER BY seq",
        [id],
      )
      .map((e) => ({
        time: e.time,
        actor: e.actor,
        type: e.type,
        target: e.n,
        detail: JSON.parse(e.detail),
      }));
    return {
      id,
      kind: row.kind as RequestKind,
      requester: { email: row.requester as string, groups: JSON.parse(row.requester_groups as string) },
      justification: row.justification as string,
      expirySeconds: row.expiry_seconds as number | null,
      policy: row.policy as string | null,
      createdAt: row.created_at as string,
      breakGlass: row.break_glass !== null,
      breakGlassReasons: row.break_glass ? (JSON.parse(row.break_glass as string) as string[]) : [],
      targets,
      approvals,
      events,
    };
  };

  const create = (r: NewRequest, actor: string) =>
    db.transaction(() => {
      db.run(
        "INSERT INTO requests (id, kind, requester, requester_groups, justification, expiry_seconds, policy, created_at, break_glass) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
          r.id,
          r.kind,
          r.requester.email,
          JSON.stringify(r.requester.groups),
          r.justification,
          r.expirySeconds,
          r.policy,
          r.createdAt,
          r.breakGlass?.length ? JSON.stringify(r.breakGlass) : null,
        ],
      );
      r.targets.forEach((t, n) => {
        db.run(
          "INSERT INTO targets (request_id, n, arn, account_id, type, name, state, policy_name, policy, policy_arn, group_name, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
          [
            r.id,
            n,
            t.arn,
            t.accountId,
            t.type,
            t.name,
            t.policyName,
            t.policy,
            t.policyArn ?? null,
            t.groupName ?? null,
            r.createdAt,
          ],
        );
      });
      event(r.id, null, actor, "created", { targets: r.targets.map((t) => t.arn) });
    });

  const move = (
    id: string,
    n: number,
    ev: TargetEvent,
    actor: string,
    patch: TargetPatch,
    detail: Record<string, unknown>,
  ): TargetState =>
    db.transaction(() => {
      const t = lockedTarget(id, n);
      if (!t) throw new GatehouseError("REQUEST_NOT_FOUND", `no target ${n} in request ${id}`);
      const next = transition(t.state, ev);
      const { sets, args } = patchSql(patch);
      const res = db.run(
        `UPDATE targets SET state = ?, updated_at = ?${sets.map((s) => `, ${s}`).join("")} WHERE request_id = ? AND n = ? AND state = ?`,
        [next, new Date().toISOString(), ...args, id, n, t.state],
      );
      // The state guard: a concurrent move that got here first leaves nothing for this one to update.
      if (res.changes !== 1)
        throw new GatehouseError("ILLEGAL_TRANSITION", `target ${n} of ${id} changed under this ${ev}`);
      event(id, n, actor, ev, { from: t.state, to: next, ...detail });
      return next;
    });

  const countApprovals = (id: string, n: number, adminOnly = false) =>
    Number(
      db.get<{ c: number }>(
        `SELECT COUNT(*) AS c FROM approvals WHERE request_id = ? AND n = ? AND superseded_at IS NULL${adminOnly ? " AND admin = 1" : ""}`,
        [id, n],
      )!.c,
    );

  const approve = (id: string, n: number, a: ApprovalInput, opts: ApproveOptions): number =>
    db.transaction(() => {
      const t = lockedTarget(id, n);
      if (!t) throw new GatehouseError("REQUEST_NOT_FOUND", `no target ${n} in request ${id}`);
      // Checked in the transaction: a concurrent approval may have moved the target meanwhile.
      if (t.state !== "pending")
        throw new GatehouseError("ILLEGAL_TRANSITION", `target ${n} of ${id} is ${t.state}, not pending`);
      const now = new Date().toISOString();
      const counted = db.all<{ approver: string }>(
        "SELECT approver FROM approvals WHERE request_id = ? AND n = ? AND superseded_at IS NULL",
        [id, n],
      );
      const mine = (x: string) => x.toLowerCase() === a.approver.toLowerCase();
      if (!opts.resetEarlier && counted.some((c) => mine(c.approver)))
        throw new GatehouseError("ALREADY_APPROVED", `you have already approved target ${n} of ${id}`);
      if (opts.patch) applyPatch(id, n, opts.patch);
      if (opts.resetEarlier && counted.length) {
        db.run(
          "UPDATE approvals SET superseded_at = ? WHERE request_id = ? AND n = ? AND superseded_at IS NULL",
          [now, id, n],
        );
        event(id, n, a.approver, "approvals-reset", {
          reason: "edited after earlier approvals",
          superseded: counted.map((c) => c.approver),
        });
      }
      // One row per approver and target: a superseded approval of the same person is replaced.
      db.run("DELETE FROM approvals WHERE request_id = ? AND n = ? AND lower(approver) = lower(?)", [
        id,
        n,
        a.approver,
      ]);
      db.run(
        "INSERT INTO approvals (request_id, n, approver, time, comment, diff, expires_at, admin) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [id, n, a.approver, now, a.comment, a.diff, a.expiresAt, a.admin ? 1 : 0],
      );
      event(id, n, a.approver, "approval", { diff: a.diff, expiresAt: a.expiresAt });
      return countApprovals(id, n);
    });

  const toDelivery = (r: {
    id: string;
    body: string;
    created_at: string;
    attempts: number;
    next_attempt_at: string;
    state: Delivery["state"];
    last_error: string | null;
    delivered_at: string | null;
  }): Delivery => ({
    id: r.id,
    body: r.body,
    createdAt: r.created_at,
    attempts: Number(r.attempts),
    nextAttemptAt: r.next_attempt_at,
    state: r.state,
    lastError: r.last_error,
    deliveredAt: r.delivered_at,
  });
  type DeliveryDb = Parameters<typeof toDelivery>[0];
  const outbox: Outbox = {
    enqueue: (d, now = new Date()) =>
      void db.run(
        "INSERT INTO webhook_outbox (id, body, created_at, attempts, next_attempt_at, state) VALUES (?, ?, ?, 0, ?, 'pending') ON CONFLICT (id) DO NOTHING",
        [d.id, d.body, now.toISOString(), now.toISOString()],
      ),
    due: (now, limit) =>
      db
        .all<DeliveryDb>(
          "SELECT * FROM webhook_outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT ?",
          [now.toISOString(), limit],
        )
        .map(toDelivery),
    // One conditional UPDATE: of two senders (on one replica or two) claiming the same delivery, the
    // second finds it no longer due (PostgreSQL re-checks the condition once the first one commits).
    claim: (id, now, leaseMs) => {
      const r = db.get<DeliveryDb>(
        "UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ? AND state = 'pending' AND next_attempt_at <= ? RETURNING *",
        [new Date(now.getTime() + leaseMs).toISOString(), id, now.toISOString()],
      );
      return r ? toDelivery(r) : undefined;
    },
    delivered: (id, now) =>
      void db.run(
        "UPDATE webhook_outbox SET state = 'delivered', delivered_at = ?, last_error = NULL WHERE id = ?",
        [now.toISOString(), id],
      ),
    retryAt: (id, at, error) =>
      void db.run(
        "UPDATE webhook_outbox SET next_attempt_at = ?, last_error = ? WHERE id = ? AND state = 'pending'",
        [at.toISOString(), error, id],
      ),
    dead: (id, error) =>
      void db.run("UPDATE webhook_outbox SET state = 'dead', last_error = ? WHERE id = ?", [error, id]),
    nextDue: () => {
      const r = db.get<{ at: string | null }>(
        "SELECT MIN(next_attempt_at) AS at FROM webhook_outbox WHERE state = 'pending'",
      );
      return r?.at ? new Date(r.at) : null;
    },
    prune: (before) =>
      void db.run("DELETE FROM webhook_outbox WHERE state IN ('delivered', 'dead') AND created_at < ?", [
        before.toISOString(),
      ]),
    get: (id) => {
      const r = db.get<DeliveryDb>("SELECT * FROM webhook_outbox WHERE id = ?", [id]);
      return r ? toDelivery(r) : undefined;
    },
    list: (state) =>
      (state
        ? db.all<DeliveryDb>("SELECT * FROM webhook_outbox WHERE state = ? ORDER BY created_at", [state])
        : db.all<DeliveryDb>("SELECT * FROM webhook_outbox ORDER BY created_at")
      ).map(toDelivery),
  };

  return {
    create: (r, actor) => create(r, actor),
    get: (id) => {
      const row = db.get<Record<string, unknown>>("SELECT * FROM requests WHERE id = ?", [id]);
      return row ? load(row) : undefined;
    },
    list: (f) => {
      const where: string[] = [];
      const args: (string | number)[] = [];
      if (f.requester !== undefined) {
        where.push("requester = ?");
        args.push(f.requester);
      }
      if (f.pending) where.push("id IN (SELECT request_id FROM targets WHERE state = 'pending')");
      const sql = `SELECT * FROM requests ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC LIMIT ?`;
      return db.all<Record<string, unknown>>(sql, [...args, f.limit ?? 500]).map(load);
    },
    target,
    targetsIn: (states) =>
      db
        .all<TargetDb>(
          `${TARGET_SELECT} WHERE t.state IN (${states.map(() => "?").join(",")}) ORDER BY t.updated_at`,
          [...states],
        )
        .map(toTarget),
    due: (now) =>
      db
        .all<TargetDb>(
          `${TARGET_SELECT} WHERE t.state = 'applied' AND t.expires_at IS NOT NULL AND t.expires_at <= ?`,
          [now.toISOString()],
        )
        .map(toTarget),
    move: (id, n, ev, actor, patch = {}, detail = {}) => move(id, n, ev, actor, patch, detail),
    patch: (id, n, patch) => applyPatch(id, n, patch),
    approve: (id, n, a, opts = {}) => approve(id, n, a, opts),
    markBreakGlass: (id, reasons) =>
      db.transaction(() => {
        const row = db.get<{ break_glass: string | null }>(
          `SELECT break_glass FROM requests WHERE id = ?${db.forUpdate}`,
          [id],
        );
        if (!row) return;
        const had = row.break_glass ? (JSON.parse(row.break_glass) as string[]) : [];
        const all = [...new Set([...had, ...reasons])];
        db.run("UPDATE requests SET break_glass = ? WHERE id = ?", [JSON.stringify(all), id]);
        event(id, null, SYSTEM_ACTOR, "break-glass", { reasons });
      }),
    isBreakGlass: (id) =>
      db.get<{ break_glass: string | null }>("SELECT break_glass FROM requests WHERE id = ?", [id])
        ?.break_glass != null,
    adminApprovals: (id, n) => countApprovals(id, n, true),
    event: (id, n, actor, type, detail) => event(id, n, actor, type, detail),
    hasEvent: (id, n, type) =>
      db.get("SELECT 1 AS one FROM request_events WHERE request_id = ? AND n = ? AND type = ? LIMIT 1", [
        id,
        n,
        type,
      ]) !== undefined,
    outbox,
    // The `Db` belongs to whoever opened it (the broker shares one between its stores).
    close: () => {},
  };
}
