// Permission requests in SQLite (the broker's database file): requests, their targets, approvals and
// events, with every state change made through the state machine under a guarded UPDATE.

import Database from "better-sqlite3";
import { GatehouseError } from "../shared/errors.ts";
import {
  type PermissionRequest,
  type RequestKind,
  type RequestTarget,
  type TargetEvent,
  type TargetState,
  transition,
} from "../shared/requests.ts";

export interface NewTarget {
  arn: string;
  accountId: string;
  type: "role" | "user";
  name: string;
  policyName: string | null;
  policy: string | null;
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
}

export interface RequestsStore {
  create(r: NewRequest, actor: string): void;
  get(id: string): PermissionRequest | undefined;
  /** Newest first. */
  list(filter: { requester?: string; limit?: number }): PermissionRequest[];
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
  /** Record one approval; returns the number of approvals the target now has. */
  approve(
    requestId: string,
    n: number,
    a: { approver: string; comment: string | null; diff: string | null; expiresAt: string | null },
  ): number;
  event(
    requestId: string,
    n: number | null,
    actor: string,
    type: string,
    detail?: Record<string, unknown>,
  ): void;
  hasEvent(requestId: string, n: number, type: string): boolean;
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
  kind: RequestKind;
  requester: string;
  expiry_seconds: number | null;
  approvals: number;
};

const TARGET_SELECT = `SELECT t.*, r.kind, r.requester, r.expiry_seconds,
  (SELECT COUNT(*) FROM approvals a WHERE a.request_id = t.request_id AND a.n = t.n) AS approvals
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
  approvals: t.approvals,
  expiresAt: t.expires_at,
  appliedAt: t.applied_at,
  error: t.error ? JSON.parse(t.error) : null,
  drift: t.drift,
});

const COLUMNS: Record<keyof TargetPatch, string> = {
  policy: "policy",
  expiresAt: "expires_at",
  appliedAt: "applied_at",
  appliedPolicy: "applied_policy",
  error: "error",
  drift: "drift",
};

export function openRequestsStore(file: string): RequestsStore {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  // The main store holds the same file open; a write of its own waits instead of failing.
  db.pragma("busy_timeout = 5000");
  db.exec(`
    CREATE TABLE IF NOT EXISTS requests (
      id TEXT PRIMARY KEY, kind TEXT NOT NULL, requester TEXT NOT NULL, requester_groups TEXT NOT NULL,
      justification TEXT NOT NULL, expiry_seconds INTEGER, policy TEXT, created_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS requests_requester ON requests(requester, created_at);
    CREATE TABLE IF NOT EXISTS targets (
      request_id TEXT NOT NULL REFERENCES requests(id), n INTEGER NOT NULL, arn TEXT NOT NULL,
      account_id TEXT NOT NULL, type TEXT NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL,
      policy_name TEXT, policy TEXT, expires_at TEXT, applied_at TEXT, applied_policy TEXT,
      error TEXT, drift TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (request_id, n)
    );
    CREATE INDEX IF NOT EXISTS targets_state ON targets(state, expires_at);
    CREATE TABLE IF NOT EXISTS approvals (
      request_id TEXT NOT NULL, n INTEGER NOT NULL, approver TEXT NOT NULL, time TEXT NOT NULL,
      comment TEXT, diff TEXT, expires_at TEXT, PRIMARY KEY (request_id, n, approver)
    );
    CREATE TABLE IF NOT EXISTS request_events (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, n INTEGER, time TEXT NOT NULL,
      actor TEXT NOT NULL, type TEXT NOT NULL, detail TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS request_events_request ON request_events(request_id, seq);
  `);

  const insertEvent = db.prepare(
    "INSERT INTO request_events (request_id, n, time, actor, type, detail) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const event = (id: string, n: number | null, actor: string, type: string, detail = {}) =>
    void insertEvent.run(id, n, new Date().toISOString(), actor, type, JSON.stringify(detail));

  const getTarget = db.prepare(`${TARGET_SELECT} WHERE t.request_id = ? AND t.n = ?`);
  const target = (id: string, n: number) => {
    const row = getTarget.get(id, n) as TargetDb | undefined;
    return row ? toTarget(row) : undefined;
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

  const load = (row: Record<string, unknown>): PermissionRequest => {
    const id = row.id as string;
    const targets = (
      db.prepare(`${TARGET_SELECT} WHERE t.request_id = ? ORDER BY t.n`).all(id) as TargetDb[]
    ).map((t) => {
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
    const approvals = (
      db.prepare("SELECT * FROM approvals WHERE request_id = ? ORDER BY time, n").all(id) as {
        n: number;
        approver: string;
        time: string;
        comment: string | null;
        diff: string | null;
        expires_at: string | null;
      }[]
    ).map((a) => ({
      target: a.n,
      approver: a.approver,
      time: a.time,
      comment: a.comment,
      diff: a.diff,
      expiresAt: a.expires_at,
    }));
    const events = (
      db.prepare("SELECT * FROM request_events WHERE request_id = ? ORDER BY seq").all(id) as {
        n: number | null;
        time: string;
        actor: string;
        type: string;
        detail: string;
      }[]
    ).map((e) => ({ time: e.time, actor: e.actor, type: e.type, target: e.n, detail: JSON.parse(e.detail) }));
    return {
      id,
      kind: row.kind as RequestKind,
      requester: { email: row.requester as string, groups: JSON.parse(row.requester_groups as string) },
      justification: row.justification as string,
      expirySeconds: row.expiry_seconds as number | null,
      policy: row.policy as string | null,
      createdAt: row.created_at as string,
      targets,
      approvals,
      events,
    };
  };

  const create = db.transaction((r: NewRequest, actor: string) => {
    db.prepare(
      "INSERT INTO requests (id, kind, requester, requester_groups, justification, expiry_seconds, policy, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(
      r.id,
      r.kind,
      r.requester.email,
      JSON.stringify(r.requester.groups),
      r.justification,
      r.expirySeconds,
      r.policy,
      r.createdAt,
    );
    const ins = db.prepare(
      "INSERT INTO targets (request_id, n, arn, account_id, type, name, state, policy_name, policy, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
    );
    r.targets.forEach((t, n) => {
      ins.run(r.id, n, t.arn, t.accountId, t.type, t.name, t.policyName, t.policy, r.createdAt);
    });
    event(r.id, null, actor, "created", { targets: r.targets.map((t) => t.arn) });
  });

  const move = db.transaction(
    (
      id: string,
      n: number,
      ev: TargetEvent,
      actor: string,
      patch: TargetPatch,
      detail: Record<string, unknown>,
    ): TargetState => {
      const t = target(id, n);
      if (!t) throw new GatehouseError("REQUEST_NOT_FOUND", `no target ${n} in request ${id}`);
      const next = transition(t.state, ev);
      const { sets, args } = patchSql(patch);
      const res = db
        .prepare(
          `UPDATE targets SET state = ?, updated_at = ?${sets.map((s) => `, ${s}`).join("")} WHERE request_id = ? AND n = ? AND state = ?`,
        )
        .run(next, new Date().toISOString(), ...args, id, n, t.state);
      // The state guard: a concurrent move that got here first leaves nothing for this one to update.
      if (res.changes !== 1)
        throw new GatehouseError("ILLEGAL_TRANSITION", `target ${n} of ${id} changed under this ${ev}`);
      event(id, n, actor, ev, { from: t.state, to: next, ...detail });
      return next;
    },
  );

  const approve = db.transaction(
    (
      id: string,
      n: number,
      a: { approver: string; comment: string | null; diff: string | null; expiresAt: string | null },
    ): number => {
      const r = db
        .prepare(
          "INSERT OR IGNORE INTO approvals (request_id, n, approver, time, comment, diff, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .run(id, n, a.approver, new Date().toISOString(), a.comment, a.diff, a.expiresAt);
      if (r.changes === 1) event(id, n, a.approver, "approval", { diff: a.diff, expiresAt: a.expiresAt });
      return (
        db.prepare("SELECT COUNT(*) AS c FROM approvals WHERE request_id = ? AND n = ?").get(id, n) as {
          c: number;
        }
      ).c;
    },
  );

  return {
    create: (r, actor) => create(r, actor),
    get: (id) => {
      const row = db.prepare("SELECT * FROM requests WHERE id = ?").get(id) as
        | Record<string, unknown>
        | undefined;
      return row ? load(row) : undefined;
    },
    list: (f) => {
      const rows = (
        f.requester
          ? db
              .prepare("SELECT * FROM requests WHERE requester = ? ORDER BY created_at DESC LIMIT ?")
              .all(f.requester, f.limit ?? 500)
          : db.prepare("SELECT * FROM requests ORDER BY created_at DESC LIMIT ?").all(f.limit ?? 500)
      ) as Record<string, unknown>[];
      return rows.map(load);
    },
    target,
    targetsIn: (states) =>
      (
        db
          .prepare(
            `${TARGET_SELECT} WHERE t.state IN (${states.map(() => "?").join(",")}) ORDER BY t.updated_at`,
          )
          .all(...states) as TargetDb[]
      ).map(toTarget),
    due: (now) =>
      (
        db
          .prepare(
            `${TARGET_SELECT} WHERE t.state = 'applied' AND t.expires_at IS NOT NULL AND t.expires_at <= ?`,
          )
          .all(now.toISOString()) as TargetDb[]
      ).map(toTarget),
    move: (id, n, ev, actor, patch = {}, detail = {}) => move(id, n, ev, actor, patch, detail),
    patch: (id, n, patch) => {
      const { sets, args } = patchSql(patch);
      if (sets.length)
        db.prepare(`UPDATE targets SET ${sets.join(", ")} WHERE request_id = ? AND n = ?`).run(
          ...args,
          id,
          n,
        );
    },
    approve: (id, n, a) => approve(id, n, a),
    event: (id, n, actor, type, detail) => event(id, n, actor, type, detail),
    hasEvent: (id, n, type) =>
      db
        .prepare("SELECT 1 FROM request_events WHERE request_id = ? AND n = ? AND type = ? LIMIT 1")
        .get(id, n, type) !== undefined,
    close: () => db.close(),
  };
}
