// The offboarding kill switch on the AWS side: revokeSessions(email) finds every role the person got
// credentials or a console session for that may still be live, and keeps a Gatehouse-owned deny
// statement for them on each such role until those sessions have expired; restore(email) lets them in
// again. Work is durable (store.ts), retried with back-off, audited, and resumed after a restart.

import { randomUUID } from "node:crypto";
import { DeleteRolePolicyCommand, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { GatehouseError } from "../../shared/errors.ts";
import { personParamSchema } from "../../shared/killswitch.ts";
import { ROLE_INLINE_LIMIT } from "../../shared/policy-lint.ts";
import { type AwsGateway, fromAwsError } from "../aws.ts";
import type { Db } from "../db/index.ts";
import { sessionNameFor } from "../issue.ts";
import type { Store } from "../store.ts";
import { denyBeforeOf, fitDocument, REVOKED_SESSIONS_POLICY, type RevokedStatement } from "./policy.ts";
import { type ItemState, KillSwitchStore, type Revocation, type RoleItem } from "./store.ts";

export { REVOKED_SESSIONS_POLICY } from "./policy.ts";
export type { Revocation, RoleItem } from "./store.ts";

const SYSTEM = "gatehouse";

/** What one role's write did, recorded after the pass: the jobs' rows, then the store's (copy, audit). */
interface Outcome {
  jobs(): void;
  store(): void;
}
/** AWS's longest role session: how far back the audit is read for sessions that may still be live. */
const LONGEST_SESSION_S = 43_200;
/** Issued sessions are kept denied this much past their expiry: clocks of the broker and AWS differ. */
const CLOCK_SKEW_S = 300;
/** The audit actions that hand out a session, and the detail field that holds its length. */
const ISSUING: { action: string; duration: string }[] = [
  { action: "credentials.issue", duration: "durationSeconds" },
  { action: "console.url", duration: "sessionDurationSeconds" },
];
/** How long a replica holds the roles of one pass (SDK retries of a throttled role take ~15 s). */
const CLAIM_MS = 120_000;
/** Roles written at once; the per-account IAM rate caps (sync.requests_per_second) pace the calls. */
const CONCURRENCY = 16;

export interface KillSwitchDeps {
  db: Db;
  store: Pick<Store, "listAudit" | "getRole" | "upsertRole" | "appendAudit" | "transaction">;
  /**
   * Writes the deny policies. Absent in a process that only records the plan (`gatehouse-broker people
   * disable` on the broker's host): the running broker's worker then writes them within `intervalMs`.
   */
  aws?: Pick<AwsGateway, "iam" | "throttle">;
  log: { warn(o: object, msg: string): void; error(o: object, msg: string): void };
  /** Outcome of each policy write or delete, and the items per state, for /metrics. */
  onWrite?(outcome: "ok" | "error"): void;
  onCounts?(counts: Record<ItemState, number>): void;
  /** How often the worker looks for due work (removals, retries); default 5 s. */
  intervalMs?: number;
  now?: () => Date;
}

export interface RevokeResult {
  revocation: Revocation;
  items: RoleItem[];
  /** False when the person already had an unrestored revocation: this call joined it. */
  created: boolean;
}

export class KillSwitch {
  readonly jobs: KillSwitchStore;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private readonly busyRoles = new Set<string>();
  private readonly now: () => Date;
  /** This process, as the owner of its claims on roles. */
  private readonly owner = randomUUID();

  constructor(private readonly d: KillSwitchDeps) {
    this.jobs = new KillSwitchStore(d.db);
    this.now = d.now ?? (() => new Date());
  }

  /** Resume what a stop left half-done, then look for due work on a timer. */
  start(): void {
    this.kick();
    this.timer ??= setInterval(() => this.kick(), this.d.intervalMs ?? 5000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /**
   * Revoke every live AWS session of `email` issued before `revokedAt`: durable at once (the plan is in
   * the database when this returns), the deny policies written in the background (`settled()` waits).
   */
  revokeSessions(email: string, revokedAt: Date, actor: string, reason: string | null = null): RevokeResult {
    const person = email.trim().toLowerCase();
    if (!personParamSchema.safeParse({ email: person }).success)
      throw new GatehouseError("BAD_REQUEST", `"${email.slice(0, 80)}" is not an e-mail address`);
    if (Number.isNaN(revokedAt.getTime())) throw new GatehouseError("BAD_REQUEST", "revokedAt is not a date");
    const existing = this.jobs.unrestored(person);
    if (existing) return { revocation: existing, items: this.jobs.items(existing.id), created: false };
    const revocation: Revocation = {
      id: randomUUID(),
      email: person,
      sourceIdentity: sessionNameFor(person),
      revokedAt: revokedAt.toISOString(),
      denyBefore: denyBeforeOf(revokedAt),
      actor,
      reason,
      restoredAt: null,
      doneAt: null,
    };
    const roles = this.liveSessions(person, revokedAt);
    const items = [...roles].map(([roleArn, until]) => {
      const { accountId, roleName } = roleOf(roleArn, this.d.store.getRole(roleArn)?.name);
      return { roleArn, accountId, roleName, until: until.toISOString(), state: "pending" as ItemState };
    });
    // Nothing live: the revocation is recorded (and audited) as done at once.
    if (items.length === 0) revocation.doneAt = this.now().toISOString();
    this.jobs.insert(revocation, items);
    this.audit(actor, "killswitch.revoke", person, "ok", {
      revocationId: revocation.id,
      reason,
      revokedAt: revocation.revokedAt,
      denyBefore: revocation.denyBefore,
      roles: items.map((i) => ({ arn: i.roleArn, until: i.until })),
    });
    this.kick();
    return { revocation, items: this.jobs.items(revocation.id), created: true };
  }

  /**
   * Let the person in again: new sessions work, old ones stay denied until they expire. Returns once
   * new sessions can no longer fall under the deny (its threshold is the whole second after revocation).
   */
  async restore(email: string, actor: string): Promise<Revocation | undefined> {
    const person = email.trim().toLowerCase();
    const open = this.jobs.unrestored(person);
    if (!open) return undefined;
    this.jobs.restore(open.id, this.now().toISOString());
    this.audit(actor, "killswitch.restore", person, "ok", { revocationId: open.id });
    const wait = Date.parse(open.denyBefore) - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait + 5));
    return this.jobs.revocation(open.id);
  }

  /** The person's revocations with their roles, newest last. */
  status(email?: string): { revocation: Revocation; items: RoleItem[] }[] {
    return this.jobs
      .revocations(email ? { email } : {})
      .map((revocation) => ({ revocation, items: this.jobs.items(revocation.id) }));
  }

  /**
   * The roles `email` got sessions for that may be live at `at`, each with when its last such session
   * ends: the later of the length recorded in the audit and the role's MaxSessionDuration, plus skew.
   */
  private liveSessions(email: string, at: Date): Map<string, Date> {
    const since = new Date(at.getTime() - (LONGEST_SESSION_S + CLOCK_SKEW_S) * 1000).toISOString();
    const out = new Map<string, Date>();
    for (const { action, duration } of ISSUING) {
      let afterSeq = 0;
      for (;;) {
        const rows = this.d.store.listAudit({ action, since, afterSeq, limit: 1000 });
        for (const row of rows) {
          if (row.outcome !== "ok" || !row.target || row.actor.toLowerCase() !== email) continue;
          const recorded = Number(row.detail[duration] ?? 0);
          const roleMax = this.d.store.getRole(row.target)?.maxSessionDuration ?? LONGEST_SESSION_S;
          const seconds = Math.max(Number.isFinite(recorded) ? recorded : 0, roleMax) + CLOCK_SKEW_S;
          const until = new Date(Date.parse(row.time) + seconds * 1000);
          if (until <= at) continue;
          const before = out.get(row.target);
          if (!before || before < until) out.set(row.target, until);
        }
        if (rows.length < 1000) break;
        afterSeq = rows[rows.length - 1]!.seq;
      }
    }
    return out;
  }

  /** Run the worker now (or once more after the current run). */
  kick(): void {
    if (!this.d.aws) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pump()
      .catch((e) => this.d.log.error({ err: (e as Error).message }, "kill switch worker failed"))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Resolves once no work is due at `now` and none is running (tests, the bench, the admin CLI). */
  async settled(timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      await this.running;
      if (this.jobs.dueRoles(this.now().toISOString()).length === 0 && !this.running) return;
      if (Date.now() > end) throw new GatehouseError("AWS_UNAVAILABLE", "kill switch work did not settle");
      this.kick();
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** One pass: every role with due work at `at` (default now), a bounded number at once. */
  async pump(at?: Date): Promise<void> {
    const now = at ?? this.now();
    const candidates = this.jobs.dueRoles(now.toISOString()).filter((r) => !this.busyRoles.has(r.roleArn));
    if (candidates.length === 0) {
      this.d.onCounts?.(this.jobs.counts());
      return;
    }
    // Leases on wall-clock time (not `at`, which tests move ahead): a replica killed mid-pass holds its
    // roles at most CLAIM_MS; a clean stop releases them at the end of its pass.
    const wall = Date.now();
    const held = this.jobs.claim(
      candidates.map((r) => r.roleArn),
      this.owner,
      new Date(wall).toISOString(),
      new Date(wall + CLAIM_MS).toISOString(),
    );
    const due = candidates.filter((r) => held.has(r.roleArn));
    let next = 0;
    const outcomes: Outcome[] = [];
    const worker = async () => {
      while (next < due.length) {
        const role = due[next++]!;
        this.busyRoles.add(role.roleArn);
        try {
          outcomes.push(await this.writeRole(role, now));
        } catch (e) {
          this.d.log.error(
            { err: (e as Error).message, role: role.roleArn },
            "kill switch: role not handled",
          );
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, due.length) }, worker));
      // What the pass did, recorded in two commits (the jobs, then the broker's copy of the roles with
      // the audit rows) instead of three per role: a crash before them only means the same documents are
      // written again at the next start.
      this.jobs.db.transaction(() => {
        for (const o of outcomes) o.jobs();
        this.jobs.release(held, this.owner);
      });
      this.d.store.transaction(() => {
        for (const o of outcomes) o.store();
      });
    } finally {
      for (const r of due) this.busyRoles.delete(r.roleArn);
    }
    if (held.size > 0 && outcomes.length < held.size) this.jobs.release(held, this.owner);
    for (const r of this.jobs.finish(now.toISOString()))
      this.audit(SYSTEM, "killswitch.done", r.email, "ok", { revocationId: r.id });
    this.d.onCounts?.(this.jobs.counts());
  }

  /**
   * Bring one role's policy to what its live items need: one Put (or a Delete when none is left), so
   * that several people revoked on one role cost one IAM call, and a retry rewrites the whole document.
   */
  private async writeRole(
    role: { roleArn: string; accountId: string; roleName: string },
    now: Date,
  ): Promise<Outcome> {
    const items = this.jobs.liveOnRole(role.roleArn);
    const expired = items.filter((i) => Date.parse(i.until) <= now.getTime());
    const keep = items.filter((i) => Date.parse(i.until) > now.getTime());
    const statements: (RevokedStatement & { item: (typeof items)[number] })[] = keep.map((i) => ({
      revocationId: i.revocationId,
      sourceIdentity: i.revocation.sourceIdentity,
      denyBefore: i.revocation.denyBefore,
      item: i,
    }));
    const synced = this.d.store.getRole(role.roleArn);
    const fit = fitDocument(statements, synced?.inlinePolicies ?? {});
    const at = () => this.now().toISOString();
    try {
      const aws = this.d.aws!;
      const iam = aws.iam(role.accountId);
      await aws.throttle(role.accountId);
      try {
        if (fit.document)
          await iam.send(
            new PutRolePolicyCommand({
              RoleName: role.roleName,
              PolicyName: REVOKED_SESSIONS_POLICY,
              PolicyDocument: fit.document,
            }),
          );
        else
          await iam.send(
            new DeleteRolePolicyCommand({ RoleName: role.roleName, PolicyName: REVOKED_SESSIONS_POLICY }),
          );
      } catch (e) {
        // Already gone (deleted by hand, or a previous attempt succeeded before a crash): the goal holds.
        if (!(fit.document === null && /^NoSuchEntity/.test((e as { name?: string }).name ?? ""))) throw e;
      }
    } catch (e) {
      const err = fromAwsError(
        e,
        `${fit.document ? "PutRolePolicy" : "DeleteRolePolicy"} ${REVOKED_SESSIONS_POLICY} on ${role.roleArn}`,
      );
      this.d.onWrite?.("error");
      this.d.log.warn(
        { role: role.roleArn, code: err.code },
        "kill switch: deny policy not written; will retry",
      );
      return {
        jobs: () => {
          for (const i of items) {
            const nextAt = new Date(now.getTime() + backoffMs(i.attempts)).toISOString();
            this.jobs.markFailed(i.revocationId, role.roleArn, err, nextAt);
          }
        },
        store: () =>
          this.audit(SYSTEM, "killswitch.policy.write", role.roleArn, "error", {
            code: err.code,
            message: err.message,
            people: items.map((i) => i.revocation.email),
            attempt: Math.max(0, ...items.map((i) => i.attempts)) + 1,
          }),
      };
    }
    this.d.onWrite?.("ok");
    const stamp = at();
    const newly = fit.included.filter((s) => s.item.state !== "written");
    // What does not fit beside the role's other inline policies is reported and retried: a statement
    // expiring, or an inline policy removed, makes room.
    const full =
      fit.left.length > 0
        ? new GatehouseError(
            "POLICY_REFUSED",
            `${role.roleArn}: no room for ${fit.left.length} more deny statement(s) within IAM's ${ROLE_INLINE_LIMIT} characters of inline policy per role (${fit.budget} left beside its other inline policies)`,
          )
        : undefined;
    if (full) this.d.onWrite?.("error");
    return {
      jobs: () => {
        for (const s of fit.included) this.jobs.markWritten(s.revocationId, role.roleArn, stamp);
        for (const i of expired) this.jobs.markRemoved(i.revocationId, role.roleArn, stamp);
        if (full)
          for (const s of fit.left)
            this.jobs.markFailed(
              s.revocationId,
              role.roleArn,
              full,
              new Date(now.getTime() + backoffMs(s.item.attempts)).toISOString(),
            );
      },
      store: () => {
        if (synced) {
          const inlinePolicies = { ...synced.inlinePolicies };
          if (fit.document) inlinePolicies[REVOKED_SESSIONS_POLICY] = fit.document;
          else delete inlinePolicies[REVOKED_SESSIONS_POLICY];
          this.d.store.upsertRole({ ...synced, inlinePolicies });
        }
        if (newly.length > 0 || fit.document === null || expired.length > 0)
          this.audit(
            SYSTEM,
            fit.document ? "killswitch.policy.put" : "killswitch.policy.delete",
            role.roleArn,
            "ok",
            {
              policyName: REVOKED_SESSIONS_POLICY,
              denied: fit.included.map((s) => s.item.revocation.email),
              added: newly.map((s) => s.item.revocation.email),
              removed: expired.map((i) => i.revocation.email),
            },
          );
        if (full)
          this.audit(SYSTEM, "killswitch.policy.write", role.roleArn, "error", {
            code: full.code,
            message: full.message,
            people: fit.left.map((s) => s.item.revocation.email),
          });
      },
    };
  }

  private audit(
    actor: string,
    action: string,
    target: string,
    outcome: "ok" | "denied" | "error",
    detail: Record<string, unknown>,
  ): void {
    try {
      this.d.store.appendAudit({ actor, action, target, outcome, detail });
    } catch (e) {
      // The job's own rows are the durable record; a failed audit write is logged, the work goes on.
      this.d.log.error({ err: (e as Error).message, action, target }, "kill switch step not audited");
    }
  }
}

/** 1 s, 2 s, 4 s … up to a minute, with jitter so that many roles do not retry in step. */
function backoffMs(attempts: number): number {
  const base = Math.min(60_000, 1000 * 2 ** Math.min(attempts, 6));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

/** Account and role name of a role ARN (the synced name when known; the path is not part of it). */
function roleOf(arn: string, syncedName?: string): { accountId: string; roleName: string } {
  const parts = arn.split(":");
  const resource = parts.slice(5).join(":");
  return { accountId: parts[4] ?? "", roleName: syncedName ?? resource.slice(resource.lastIndexOf("/") + 1) };
}
