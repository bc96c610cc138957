// Request notifications to a Slack-compatible webhook ({text, ...}); retried, never blocking a request,
// and carrying no secret (no tokens, no credentials; the policy text stays in Gatehouse).

import type { FastifyBaseLogger } from "fastify";

export type NotifyKind =
  | "new"
  | "approved"
  | "rejected"
  | "applied"
  | "failed"
  | "expiring"
  | "expired"
  | "drift";

export interface Notification {
  kind: NotifyKind;
  requestId: string;
  requester: string;
  actor: string;
  targets: string[];
  detail?: string;
}

export class Webhook {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly url: string | undefined,
    private readonly log: FastifyBaseLogger,
    private readonly attempts = 4,
    private readonly backoffMs = 250,
  ) {}

  notify(n: Notification): void {
    if (!this.url) return;
    const p = this.send(n).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async send(n: Notification): Promise<void> {
    const body = JSON.stringify({
      text: `Gatehouse request ${n.requestId} ${n.kind} (${n.actor}): ${n.targets.join(", ")}${n.detail ? ` — ${n.detail}` : ""}`,
      gatehouse: {
        event: n.kind,
        requestId: n.requestId,
        requester: n.requester,
        actor: n.actor,
        targets: n.targets,
      },
    });
    for (let i = 0; i < this.attempts; i++) {
      try {
        const res = await fetch(this.url!, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          signal: AbortSignal.timeout(5000),
        });
        // 4xx other than 429 will not get better by retrying.
        if (res.ok || (res.status < 500 && res.status !== 429)) return;
      } catch {}
      await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** i));
    }
    this.log.warn({ requestId: n.requestId, event: n.kind }, "webhook gave up after retries");
  }

  /** Wait for notifications still being sent (shutdown, tests). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}
