// The broker's watch over its own audit log: checks the whole chain against the last signed checkpoint
// at start and on a schedule, signs a checkpoint of the head on a schedule and every N rows (after
// checking the rows since the previous one), writes it to every sink, and makes an integrity failure
// loud: a log line, metrics, an alert (the webhook), /readyz, and — with on_tamper: refuse — 503s.

import type { KeyObject } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import type { SignedCheckpoint } from "../../shared/audit-checkpoint.ts";
import type { AuditConfig } from "../config.ts";
import type { Metrics } from "../metrics.ts";
import type { AuditEntry, Store } from "../store.ts";
import { checkpointDigest, GENESIS, keyIdOf, signCheckpoint } from "./checkpoint.ts";
import { loadKeyPair } from "./keys.ts";
import { type CheckpointSink, openSink } from "./sinks/index.ts";
import { checkCheckpoints, verifyInSlices } from "./verify.ts";

/** Checkpoints kept per sink while it cannot take them (sent in order once it can). */
const MAX_PENDING = 1000;

export interface AuditGuardDeps {
  config: AuditConfig;
  database: string;
  store: Store;
  metrics: Metrics;
  log: FastifyBaseLogger;
  /** Told once, at the first integrity failure (the broker sends it to the webhook). */
  alert(reason: string): void;
}

interface SinkState {
  sink: CheckpointSink;
  pending: SignedCheckpoint[];
}

export class AuditGuard {
  private failure: string | null = null;
  private readonly keys: { privateKey: KeyObject; publicKey: KeyObject; keyId: string } | undefined;
  private readonly sinks: SinkState[] = [];
  /** The last checkpoint: read back from the sinks at start, then the last one signed. */
  private anchor: SignedCheckpoint | null = null;
  private anchored = false;
  private running: Promise<void> | undefined;
  private verifying: Promise<boolean> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private started = false;
  /** Set by stop(): a walk under way gives up instead of holding the shutdown. */
  private stopping = false;

  constructor(private readonly d: AuditGuardDeps) {
    const cps = d.config.checkpoints;
    if (cps) {
      // Refused here, at start: an unsafe or mismatched key stops the broker with its code.
      const { privateKey, publicKey } = loadKeyPair(cps, d.database);
      this.keys = { privateKey, publicKey, keyId: keyIdOf(publicKey) };
      this.sinks = cps.sinks.map((c) => ({ sink: openSink(c), pending: [] }));
    }
  }

  /** What failed, or null while the audit log verifies. */
  get problem(): string | null {
    return this.failure;
  }

  /** Whether state-changing calls are refused (an integrity failure and on_tamper: refuse). */
  get refusing(): boolean {
    return this.failure !== null && this.d.config.on_tamper === "refuse";
  }

  get lastCheckpoint(): SignedCheckpoint | null {
    return this.anchor;
  }

  /** The store tells the guard about every row it appends: every N rows a checkpoint. */
  appended(e: AuditEntry): void {
    const cps = this.d.config.checkpoints;
    if (!cps || this.failure || this.stopped || !this.anchored) return;
    if (e.seq - (this.anchor?.seq ?? 0) >= cps.every_rows) void this.checkpoint();
  }

  /**
   * Check the log against the sinks' checkpoints (before the broker takes requests), then sign the head
   * in the background and keep doing both on timers.
   */
  async start(): Promise<void> {
    this.stopped = false;
    this.stopping = false;
    this.started = true;
    if (this.keys) await this.readAnchor();
    else await this.verify();
    void this.checkpoint();
    const every = (seconds: number, fn: () => unknown) => {
      const t = setInterval(fn, seconds * 1000);
      t.unref();
      this.timers.push(t);
    };
    every(this.d.config.verify_interval_seconds, () => void this.verify());
    const cps = this.d.config.checkpoints;
    if (cps) every(cps.interval_seconds, () => void this.checkpoint());
  }

  /** A last checkpoint (the rows written since the previous one are covered too), then no more. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.running;
    await this.verifying;
    if (this.started) await this.checkpoint();
    this.stopped = true;
  }

  /**
   * The whole chain, from the genesis, against the last checkpoint (or on its own without keys), in
   * slices so that requests keep being served; one run at a time. Never rejects.
   */
  verify(): Promise<boolean> {
    if (!this.verifying)
      this.verifying = this.verifyOnce().finally(() => {
        this.verifying = undefined;
      });
    return this.verifying;
  }

  private async verifyOnce(): Promise<boolean> {
    if (this.failure) {
      this.d.metrics.auditChecks.inc({ outcome: "failed" });
      return false;
    }
    let problems: string[];
    try {
      problems = await verifyInSlices(this.d.store, this.anchor ? [this.anchor] : [], {
        stopped: () => this.stopping,
      });
    } catch (e) {
      // Closed while stopping, or unreadable: not a verdict on the log's integrity.
      this.d.log.warn({ err: (e as Error).message }, "audit integrity check could not run");
      return true;
    }
    if (problems.length) {
      this.fail(problems.join("; "));
      return false;
    }
    this.d.metrics.auditChecks.inc({ outcome: "ok" });
    return true;
  }

  /** Sign the head (if it moved) after checking the rows since the last checkpoint; single-flight. */
  checkpoint(): Promise<void> {
    // Never rejects: callers fire and forget (every N rows, timers), and a crash here would take the
    // broker down for what is at worst a missed checkpoint (logged).
    if (!this.running)
      this.running = this.signAndWrite()
        .catch((e) => this.d.log.error({ err: (e as Error).message }, "audit checkpoint failed"))
        .finally(() => {
          this.running = undefined;
        });
    return this.running;
  }

  /**
   * Read every sink's checkpoints, refuse forged or out-of-chain ones, walk the log against all of
   * them, and take the newest as the anchor. Checkpoints are numbered on only once every sink answered,
   * so that a sink that was down cannot make the broker number a checkpoint twice.
   */
  private async readAnchor(): Promise<void> {
    const keys = this.keys!;
    const all = new Map<number, SignedCheckpoint>();
    let readable = 0;
    for (const s of this.sinks) {
      let entries: unknown[];
      try {
        entries = await s.sink.read();
      } catch (e) {
        this.d.log.error(
          { sink: s.sink.name, err: (e as Error).message },
          "audit checkpoints cannot be read",
        );
        this.d.metrics.auditCheckpoints.inc({ sink: s.sink.name, outcome: "unreadable" });
        continue;
      }
      readable++;
      const { valid, problems, warnings } = checkCheckpoints(entries, keys.publicKey);
      for (const w of warnings) this.d.log.warn({ sink: s.sink.name }, w);
      if (problems.length) return this.fail(`${s.sink.name}: ${problems.join("; ")}`);
      for (const cp of valid) {
        const other = all.get(cp.n);
        // Two genuine checkpoints with one number: the key signed two histories (a second broker?).
        if (other && checkpointDigest(other) !== checkpointDigest(cp))
          return this.fail(`two different checkpoints are numbered #${cp.n} (${other.time}, ${cp.time})`);
        all.set(cp.n, cp);
      }
    }
    let problems: string[];
    try {
      problems = await verifyInSlices(this.d.store, [...all.values()], { stopped: () => this.stopped });
    } catch (e) {
      this.d.log.warn({ err: (e as Error).message }, "audit integrity check could not run");
      return;
    }
    if (problems.length) return this.fail(problems.join("; "));
    this.d.metrics.auditChecks.inc({ outcome: "ok" });
    if (readable < this.sinks.length) return;
    const newest = [...all.values()].sort((a, b) => b.n - a.n)[0] ?? null;
    this.anchor = newest;
    this.anchored = true;
    if (newest) this.d.metrics.auditCheckpointNumber.set(newest.n);
  }

  private async signAndWrite(): Promise<void> {
    if (!this.keys || this.failure || this.stopped) return;
    if (!this.anchored) {
      await this.readAnchor();
      if (!this.anchored || this.failure) return;
    }
    const a = this.anchor;
    let checked: {
      problem: string | null;
      head?: { seq: number; hash: string; time: string | null };
      rows?: number;
    };
    try {
      checked = this.d.store.auditSnapshot((snap) => {
        if (a && a.seq > 0) {
          const row = snap.row(a.seq);
          if (!row)
            return {
              problem: `row ${a.seq}, signed by checkpoint #${a.n}, is gone: the log was truncated or emptied`,
            };
          if (row.hash !== a.hash)
            return {
              problem: `row ${a.seq} is not the row checkpoint #${a.n} signed: the log was rewritten`,
            };
        }
        const chain = snap.walk(a ? { seq: a.seq, hash: a.hash } : { seq: 0, hash: GENESIS });
        if (!chain.ok) return { problem: `the chain is broken at row ${chain.brokenAt}: ${chain.reason}` };
        const rows = snap.count();
        if (rows !== chain.last.seq)
          return {
            problem: `the table holds ${rows} rows but its chain ends at row ${chain.last.seq}: rows were deleted`,
          };
        return { problem: null, head: chain.last, rows };
      });
    } catch (e) {
      this.d.log.warn({ err: (e as Error).message }, "audit checkpoint could not read the log");
      return;
    }
    if (checked.problem) return this.fail(checked.problem);
    const head = checked.head!;
    if (a && head.seq === a.seq) return this.flush();
    const cp = signCheckpoint(
      {
        v: 1,
        n: (a?.n ?? 0) + 1,
        prev: a ? checkpointDigest(a) : GENESIS,
        seq: head.seq,
        hash: head.hash,
        rows: checked.rows!,
        headTime: head.seq === 0 ? null : (head.time ?? a?.headTime ?? null),
        time: new Date().toISOString(),
        keyId: this.keys.keyId,
      },
      this.keys.privateKey,
    );
    this.anchor = cp;
    this.d.metrics.auditCheckpointNumber.set(cp.n);
    for (const s of this.sinks) {
      s.pending.push(cp);
      if (s.pending.length > MAX_PENDING) {
        const dropped = s.pending.shift()!;
        this.d.log.error(
          { sink: s.sink.name, n: dropped.n },
          "audit checkpoint dropped: the sink has not taken one for too long",
        );
        this.d.metrics.auditCheckpoints.inc({ sink: s.sink.name, outcome: "dropped" });
      }
    }
    await this.flush();
  }

  /** Send each sink what it is missing, oldest first; a failure is logged, counted and retried later. */
  private async flush(): Promise<void> {
    await Promise.all(
      this.sinks.map(async (s) => {
        while (s.pending.length) {
          const cp = s.pending[0]!;
          try {
            await s.sink.write(cp);
          } catch (e) {
            this.d.log.error(
              { sink: s.sink.name, n: cp.n, err: (e as Error).message },
              "audit checkpoint not written; kept to retry",
            );
            this.d.metrics.auditCheckpoints.inc({ sink: s.sink.name, outcome: "failed" });
            return;
          }
          s.pending.shift();
          this.d.metrics.auditCheckpoints.inc({ sink: s.sink.name, outcome: "written" });
        }
      }),
    );
  }

  private fail(reason: string): void {
    this.d.metrics.auditChecks.inc({ outcome: "failed" });
    if (this.failure) return;
    this.failure = reason;
    this.d.metrics.auditIntegrity.set(0);
    this.d.log.error(
      { reason, onTamper: this.d.config.on_tamper },
      "AUDIT INTEGRITY FAILURE: the audit log was tampered with; no further checkpoint is signed",
    );
    try {
      this.d.store.appendAudit({
        actor: "gatehouse",
        action: "audit.tampered",
        outcome: "error",
        detail: { reason, onTamper: this.d.config.on_tamper },
      });
    } catch {}
    try {
      this.d.alert(reason);
    } catch (e) {
      this.d.log.error({ err: (e as Error).message }, "audit integrity alert could not be sent");
    }
  }
}
