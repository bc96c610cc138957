// Refused tokens (401s) in the audit per client address, rate-limited (SECURITY 36): the first refusal of an
// address writes a row at once, later ones within the window are counted and written as one row when the
// window has passed, so a flood of bad tokens costs one row per address per minute, never one per request.

import type { AuditInput } from "./store.ts";

export const DENIAL_WINDOW_MS = 60_000;
/** Addresses tracked at once; past it, further addresses share one "*" entry (a spray from many). */
const MAX_ADDRESSES = 10_000;

interface Pending {
  /** When this address's last row was written. */
  lastRow: number;
  /** Refusals since then, not yet in a row. */
  count: number;
  /** The last reason (what was wrong with the token, never the token). */
  reason: string;
  firstAt: number;
}

export class RefusedTokens {
  private readonly byAddress = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly append: (row: AuditInput) => void,
    private readonly windowMs = DENIAL_WINDOW_MS,
    private readonly now = () => Date.now(),
  ) {}

  /** One refused token from `address` for `reason`. */
  record(address: string, reason: string): void {
    const t = this.now();
    const key = this.byAddress.has(address) || this.byAddress.size < MAX_ADDRESSES ? address : "*";
    const p = this.byAddress.get(key);
    if (!p || t - p.lastRow >= this.windowMs) {
      const count = (p?.count ?? 0) + 1;
      this.write(key, { lastRow: t, count, reason, firstAt: p?.count ? p.firstAt : t });
      this.byAddress.set(key, { lastRow: t, count: 0, reason, firstAt: t });
      return;
    }
    if (p.count === 0) p.firstAt = t;
    p.count++;
    p.reason = reason;
  }

  /** Write the counted refusals whose window has passed (`all`: every one, as at shutdown). */
  flush(all = false): void {
    const t = this.now();
    for (const [key, p] of this.byAddress) {
      if (p.count > 0 && (all || t - p.lastRow >= this.windowMs)) {
        this.write(key, p);
        this.byAddress.set(key, { lastRow: t, count: 0, reason: p.reason, firstAt: t });
      } else if (p.count === 0 && t - p.lastRow >= 10 * this.windowMs) this.byAddress.delete(key);
    }
  }

  start(): void {
    this.timer = setInterval(() => this.flush(), Math.min(this.windowMs, 60_000));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.flush(true);
  }

  private write(address: string, p: Pending): void {
    this.append({
      actor: "anonymous",
      action: "auth.denied",
      target: address,
      outcome: "denied",
      detail: {
        code: "UNAUTHENTICATED",
        count: p.count,
        since: new Date(p.firstAt).toISOString(),
        windowSeconds: this.windowMs / 1000,
        reason: p.reason.slice(0, 200),
      },
    });
  }
}
