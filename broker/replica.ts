// One broker among several on one database: its replica id, the leases it takes for work that must run
// once (sync per account, apply, expiry), the change feed that keeps its index and caches in step with
// the others' writes, and the store's reachability for /readyz. With one broker it costs a few queries.

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { Counter, Gauge, type Registry } from "prom-client";
import { ChangeFeed, type ChangeHandler } from "./db/changes.ts";
import { Leases } from "./db/leases.ts";
import type { Db } from "./db/types.ts";

export interface ReplicaOptions {
  id?: string;
  leaseMs: number;
  sweepMs: number;
  feedPollMs: number;
  log: { warn(o: object, m: string): void; info(o: object, m: string): void };
  registry?: Registry;
}

/** host-pid-random: unique per process, and says which machine and process to look at. */
export function defaultReplicaId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, "-")
      .slice(0, 60) || "host";
  return `${host}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

/** The work that must run once across replicas (what requests.ts and sync.ts need of a Replica). */
export interface Coordination {
  readonly id: string;
  readonly leaseMs: number;
  /** Take `key` (free, lapsed or ours); false when another live replica holds it. */
  claim(key: string): boolean;
  release(key: string): void;
  /** Run `work` holding `key`, renewed while it runs; `ran: false` when another replica holds it. */
  hold<T>(key: string, work: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
  /** Tell the other replicas that (topic, key) changed. */
  publish(topic: string, key: string): void;
}

export class Replica implements Coordination {
  readonly id: string;
  readonly leaseMs: number;
  readonly leases: Leases;
  readonly feed: ChangeFeed;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly sweeps: (() => Promise<unknown> | unknown)[] = [];
  private sweeping = false;
  private readonly metrics:
    | { skipped: Counter<"key">; applied: Counter<"topic">; storeUp: Gauge<string>; info: Gauge<"replica"> }
    | undefined;

  constructor(
    readonly db: Db,
    private readonly opts: ReplicaOptions,
  ) {
    this.id = opts.id ?? defaultReplicaId();
    this.leaseMs = opts.leaseMs;
    this.leases = new Leases(db);
    this.feed = new ChangeFeed(db, this.id, {
      pollMs: opts.feedPollMs,
      onError: (e) => opts.log.warn({ err: (e as Error).message, replica: this.id }, "change feed"),
      onGap: () => this.gapHandler?.(),
    });
    if (opts.registry) {
      const registers = [opts.registry];
      this.metrics = {
        skipped: new Counter({
          name: "gatehouse_replica_work_skipped_total",
          help: "Work skipped because another live replica holds its lease, by lease kind",
          labelNames: ["key"] as const,
          registers,
        }),
        applied: new Counter({
          name: "gatehouse_replica_changes_applied_total",
          help: "Changes written by other replicas and applied here, by topic",
          labelNames: ["topic"] as const,
          registers,
        }),
        storeUp: new Gauge({
          name: "gatehouse_store_up",
          help: "1 while the database answers, 0 while it cannot be reached",
          registers,
        }),
        info: new Gauge({
          name: "gatehouse_replica_info",
          help: "This broker's replica id (always 1)",
          labelNames: ["replica"] as const,
          registers,
        }),
      };
      this.metrics.info.set({ replica: this.id }, 1);
      this.metrics.storeUp.set(1);
    }
  }

  private gapHandler: (() => void) | undefined;

  /** What to do when `topic` changed on another replica. */
  on(topic: string, fn: ChangeHandler): this {
    this.feed.on(topic, (key, change) => {
      fn(key, change);
      this.metrics?.applied.inc({ topic });
    });
    return this;
  }

  /** Reload everything (this replica missed changes that were already pruned). */
  onGap(fn: () => void): this {
    this.gapHandler = fn;
    return this;
  }

  /** Work every replica looks for now and then (targets a dead replica left half-applied…). */
  sweep(fn: () => Promise<unknown> | unknown): this {
    this.sweeps.push(fn);
    return this;
  }

  start(): void {
    this.feed.start();
    this.sweepTimer = setInterval(() => void this.runSweeps(), this.opts.sweepMs);
    this.sweepTimer.unref();
    this.opts.log.info({ replica: this.id }, "replica started");
  }

  /** One round of the sweeps (tests call it to not wait for the timer). */
  async runSweeps(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      for (const fn of this.sweeps) {
        try {
          await fn();
        } catch (e) {
          this.opts.log.warn({ err: (e as Error).message, replica: this.id }, "sweep failed");
        }
      }
      try {
        this.leases.prune();
      } catch {
        // The database is away: the next sweep prunes.
      }
    } finally {
      this.sweeping = false;
    }
  }

  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.feed.stop();
  }

  /** Whether the database answers now (readiness); the gauge follows. */
  storeUp(): boolean {
    try {
      this.db.ping();
      this.metrics?.storeUp.set(1);
      return true;
    } catch {
      this.metrics?.storeUp.set(0);
      return false;
    }
  }

  claim(key: string): boolean {
    const got = this.leases.tryClaim(key, this.id, this.leaseMs);
    if (!got) this.metrics?.skipped.inc({ key: key.split(":")[0]! });
    return got;
  }

  release(key: string): void {
    try {
      this.leases.release(key, this.id);
    } catch {
      // Unreachable database: the lease lapses by itself.
    }
  }

  async hold<T>(key: string, work: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    const r = await this.leases.hold(key, this.id, this.leaseMs, () => work());
    if (!r.ran) this.metrics?.skipped.inc({ key: key.split(":")[0]! });
    return r.ran ? r : { ran: false };
  }

  publish(topic: string, key: string): void {
    this.feed.publish(topic, key);
  }
}

/** One broker alone on its database: every lease is its own, nobody needs telling. */
export const SOLO: Coordination = {
  id: "solo",
  leaseMs: 30_000,
  claim: () => true,
  release: () => undefined,
  hold: async (_key, work) => ({ ran: true, value: await work() }),
  publish: () => undefined,
};
