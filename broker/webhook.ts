// Request notifications to a Slack-compatible webhook ({text, ...}) through an outbox: notify() writes
// the delivery durably (the broker's SQLite file once RequestService attaches it), and a sender posts it
// with exponential back-off, across broker restarts, until it is delivered or, after a bounded number of
// attempts or a bounded age, marked dead (logged and audited). Never blocking a request, and carrying no
// secret (no tokens, no credentials; the policy text stays in Gatehouse; the URL is never logged).

import { randomUUID } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import type { RequestKind } from "../shared/requests.ts";
import { visible } from "../shared/visible-text.ts";
import type { Delivery, Outbox } from "./requests-store.ts";

export type NotifyKind =
  | "new"
  | "approved"
  | "edited"
  | "rejected"
  | "applied"
  | "failed"
  | "expiring"
  | "expired"
  | "drift"
  | "resolved"
  // Not about a request (the tag watch, SECURITY 32): requestId names the change.
  | "tags-changed"
  | "tags-held"
  | "own-role-tagged"
  /** The broker's audit log failed its integrity check (not about one request). */
  | "audit-tampered";

export interface Notification {
  kind: NotifyKind;
  requestId: string;
  requester: string;
  actor: string;
  targets: string[];
  detail?: string;
  /** SECURITY 31: the request can change access and waits for an admin; every message says so. */
  breakGlass?: boolean;
  /**
   * What the request grants, where the targets' ARNs do not say it: the managed policies' ARNs or the
   * groups' names (`what`: "managed policy", "IAM group"), as the audit rows name them.
   */
  granted?: { kind: RequestKind; what: string; names: string[] };
}

export interface WebhookOptions {
  /** Where deliveries wait; in memory unless one is given (or attached). */
  outbox?: Outbox;
  /** Attempts before a delivery is dead (default 10). */
  maxAttempts?: number;
  /** Age after which an undelivered delivery is dead (default 24 h). */
  maxAgeMs?: number;
  /** The first retry's delay; doubled for each further attempt (default 2 s), up to maxBackoffMs (1 h). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Records a dead delivery in the audit log. */
  audit?: (action: string, detail: Record<string, unknown>, ok: boolean) => void;
}

/** Time an attempt may hold a delivery before another sender (or this one after a crash) may retry it. */
const LEASE_MS = 60_000;
const BATCH = 50;
const PRUNE_AFTER_MS = 30 * 86_400_000;

/** An outbox in memory: for tests and for a Webhook used on its own. */
export function memoryOutbox(): Outbox {
  const rows = new Map<string, Delivery>();
  const pending = () => [...rows.values()].filter((d) => d.state === "pending");
  return {
    enqueue: (d, now = new Date()) => {
      if (rows.has(d.id)) return;
      rows.set(d.id, {
        id: d.id,
        body: d.body,
        createdAt: now.toISOString(),
        attempts: 0,
        nextAttemptAt: now.toISOString(),
        state: "pending",
        lastError: null,
        deliveredAt: null,
      });
    },
    due: (now, limit) =>
      pending()
        .filter((d) => Date.parse(d.nextAttemptAt) <= now.getTime())
        .sort((a, b) => a.nextAttemptAt.localeCompare(b.nextAttemptAt))
        .slice(0, limit)
        .map((d) => ({ ...d })),
    claim: (id, now, leaseMs) => {
      const d = rows.get(id);
      if (d?.state !== "pending" || Date.parse(d.nextAttemptAt) > now.getTime()) return undefined;
      d.attempts++;
      d.nextAttemptAt = new Date(now.getTime() + leaseMs).toISOString();
      return { ...d };
    },
    delivered: (id, now) => {
      const d = rows.get(id);
      if (d) Object.assign(d, { state: "delivered", deliveredAt: now.toISOString(), lastError: null });
    },
    retryAt: (id, at, error) => {
      const d = rows.get(id);
      if (d?.state === "pending") Object.assign(d, { nextAttemptAt: at.toISOString(), lastError: error });
    },
    dead: (id, error) => {
      const d = rows.get(id);
      if (d) Object.assign(d, { state: "dead", lastError: error });
    },
    nextDue: () => {
      const at = pending()
        .map((d) => Date.parse(d.nextAttemptAt))
        .sort((a, b) => a - b)[0];
      return at === undefined ? null : new Date(at);
    },
    prune: (before) => {
      for (const [id, d] of rows)
        if (d.state !== "pending" && Date.parse(d.createdAt) < before.getTime()) rows.delete(id);
    },
    get: (id) => {
      const d = rows.get(id);
      return d ? { ...d } : undefined;
    },
    list: (state) => [...rows.values()].filter((d) => !state || d.state === state).map((d) => ({ ...d })),
  };
}

/** How much of a requester's text a notification carries; the rest stays in Gatehouse. */
const DETAIL_MAX = 300;

/**
 * A value nobody at Gatehouse wrote (a justification, a reason, an e-mail, an ARN with a path), as Slack
 * shows it inert: control characters and newlines shown escaped (no forged line), `&`, `<` and `>` as
 * entities (no `<!channel>`, `<@U…>` or `<url|label>`), and the whole in a code span, where Slack,
 * Mattermost and Discord neither link bare URLs or e-mails nor expand `@here` (a backtick inside is
 * replaced, so it cannot close the span early).
 */
export function slackQuote(value: string, max = DETAIL_MAX): string {
  const cut = [...value];
  const short = cut.length > max ? `${cut.slice(0, max).join("")}…` : value;
  const inert = visible(short)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/`/g, "\u02cb");
  return `\`${inert || " "}\``;
}

/** Notifications that are not about a request name what they are about instead. */
const SUBJECT: Partial<Record<NotifyKind, string>> = {
  "tags-changed": "access tags",
  "tags-held": "access tags",
  "own-role-tagged": "own role",
};

/**
 * The JSON body of a notification: what happened and to which ARNs, nothing secret. `text` is for Slack
 * and its look-alikes (every value in it quoted by slackQuote); `gatehouse` carries the same values raw,
 * JSON-escaped, for receivers that read data rather than markup.
 */
export function webhookBody(n: Notification, deliveryId: string): string {
  // Ids and kinds are Gatehouse's own words; anything else in them is quoted like the rest.
  const word = (w: string) => (/^[\w.-]{1,100}$/.test(w) ? w : slackQuote(w, 100));
  const targets = n.targets.map((t) => slackQuote(t, 2048)).join(", ");
  const granted = n.granted?.names.length
    ? ` · ${n.granted.what} ${n.granted.names.map((g) => slackQuote(g, 2048)).join(", ")}`
    : "";
  const detail = n.detail ? ` — ${slackQuote(n.detail)}` : "";
  return JSON.stringify({
    text:
      n.kind === "audit-tampered"
        ? `Gatehouse AUDIT INTEGRITY FAILURE: ${slackQuote(n.detail ?? "", 2048)}`
        : `${n.breakGlass ? "BREAK-GLASS " : ""}Gatehouse ${SUBJECT[n.kind] ?? `request ${word(n.requestId)}`} ${word(n.kind)} by ${slackQuote(n.actor, 320)}: ${targets}${granted}${detail}`,
    gatehouse: {
      event: n.kind,
      requestId: n.requestId,
      requester: n.requester,
      actor: n.actor,
      targets: n.targets,
      ...(n.detail ? { detail: n.detail } : {}),
      ...(n.breakGlass ? { breakGlass: true } : {}),
      // Added after receivers existed: absent for kinds whose targets say what is granted.
      ...(n.granted?.names.length ? { granted: { kind: n.granted.kind, names: n.granted.names } } : {}),
      /** The same for every attempt of one delivery: a receiver can drop a repeat. */
      deliveryId,
    },
  });
}

export class Webhook {
  private readonly inFlight = new Set<Promise<void>>();
  private outbox: Outbox;
  private maxAttempts: number;
  private maxAgeMs: number;
  private backoffMs: number;
  private maxBackoffMs: number;
  private audit: WebhookOptions["audit"];
  private pumping: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private pruned = false;

  constructor(
    private readonly url: string | undefined,
    private readonly log: FastifyBaseLogger,
    opts: WebhookOptions = {},
  ) {
    this.outbox = opts.outbox ?? memoryOutbox();
    this.maxAttempts = opts.maxAttempts ?? 10;
    this.maxAgeMs = opts.maxAgeMs ?? 86_400_000;
    this.backoffMs = opts.backoffMs ?? 2000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 3600_000;
    this.audit = opts.audit;
  }

  /** Give the webhook its durable outbox and retry limits (the broker's request service does, at start-up). */
  attach(opts: WebhookOptions): void {
    if (opts.outbox) this.outbox = opts.outbox;
    if (opts.maxAttempts !== undefined) this.maxAttempts = opts.maxAttempts;
    if (opts.maxAgeMs !== undefined) this.maxAgeMs = opts.maxAgeMs;
    if (opts.backoffMs !== undefined) this.backoffMs = opts.backoffMs;
    if (opts.maxBackoffMs !== undefined) this.maxBackoffMs = opts.maxBackoffMs;
    if (opts.audit) this.audit = opts.audit;
  }

  get deliveries(): Outbox {
    return this.outbox;
  }

  /** Write the delivery to the outbox and send it soon; never throws into the caller's request. */
  notify(n: Notification): void {
    if (!this.url) return;
    const id = randomUUID();
    try {
      this.outbox.enqueue({ id, body: webhookBody(n, id) });
    } catch (e) {
      this.log.error(
        { err: (e as Error).message, requestId: n.requestId, event: n.kind },
        "webhook outbox write failed",
      );
      return;
    }
    this.kick();
  }

  /** (Re)start sending: whatever is due now (also what a stopped broker left) goes out, the rest on time. */
  start(): void {
    this.stopped = false;
    this.kick();
  }

  /** Stop sending (deliveries stay in the outbox for the next start); attempts under way finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.drain();
  }

  /** Wait for attempts under way (shutdown). */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Tests: wait until nothing is pending (delivered or dead), or the time is up. */
  async settle(timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      await this.drain();
      const next = this.outbox.nextDue();
      if (!next || !this.url || Date.now() > end) return;
      await new Promise((r) => setTimeout(r, Math.max(5, Math.min(next.getTime() - Date.now(), 200))));
      this.kick();
    }
  }

  private kick(): void {
    if (!this.url || this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    const p = this.pump()
      .catch((e) => this.log.error({ err: (e as Error).message }, "webhook sender failed"))
      .finally(() => {
        this.inFlight.delete(p);
        this.pumping = undefined;
        this.schedule();
      });
    this.pumping = p;
    this.inFlight.add(p);
  }

  /** Wake up when the earliest pending delivery is due (at most a minute from now). */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped || !this.url) return;
    let next: Date | null;
    try {
      next = this.outbox.nextDue();
    } catch {
      return; // the database is closed: the broker is stopping
    }
    if (!next) return;
    const delay = Math.min(Math.max(next.getTime() - Date.now(), 0), 60_000);
    this.timer = setTimeout(() => this.kick(), delay);
    this.timer.unref();
  }

  private async pump(): Promise<void> {
    if (!this.pruned) {
      this.pruned = true;
      this.outbox.prune(new Date(Date.now() - PRUNE_AFTER_MS));
    }
    do {
      this.again = false;
      const due = this.outbox.due(new Date(), BATCH);
      for (const d of due) {
        if (this.stopped) return;
        if (Date.now() - Date.parse(d.createdAt) >= this.maxAgeMs) {
          this.die(d, d.lastError ?? "too old", "older than webhook_max_age_seconds");
          continue;
        }
        const claimed = this.outbox.claim(d.id, new Date(), LEASE_MS);
        if (claimed) await this.attempt(claimed);
      }
      if (due.length === BATCH) this.again = true;
    } while (this.again && !this.stopped);
  }

  private async attempt(d: Delivery): Promise<void> {
    let error: string;
    try {
      const res = await fetch(this.url!, {
        method: "POST",
        headers: { "content-type": "application/json", "x-gatehouse-delivery": d.id },
        body: d.body,
        signal: AbortSignal.timeout(5000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        this.outbox.delivered(d.id, new Date());
        return;
      }
      error = `HTTP ${res.status}`;
      // 4xx other than 408/429 will not get better by retrying.
      if (res.status < 500 && res.status !== 408 && res.status !== 429)
        return this.die(d, error, "refused by the receiver");
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause;
      error = cause?.code ?? (e as Error).name ?? "error";
    }
    if (d.attempts >= this.maxAttempts) return this.die(d, error, `after ${d.attempts} attempts`);
    const delay = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (d.attempts - 1));
    this.outbox.retryAt(d.id, new Date(Date.now() + delay), error);
  }

  private die(d: Delivery, error: string, why: string): void {
    this.outbox.dead(d.id, error);
    let event: unknown;
    let requestId: unknown;
    try {
      ({ event, requestId } = (
        JSON.parse(d.body) as { gatehouse: { event: string; requestId: string } }
      ).gatehouse);
    } catch {}
    const detail = { delivery: d.id, event, requestId, attempts: d.attempts, error, why };
    this.log.warn(detail, "webhook delivery is dead");
    try {
      this.audit?.("webhook.dead", detail, false);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, "auditing a dead webhook delivery failed");
    }
  }
}
