// Cancel a person's open requests (pending, approved but not applied, failed): used when they are
// disabled, by the broker and by `gatehouse-broker people disable` alike.

import { GatehouseError } from "../../shared/errors.ts";
import type { RequestsStore } from "../requests-store.ts";

export interface CancelledRequest {
  id: string;
  targets: string[];
}

export function cancelOpenRequestsOf(
  requests: RequestsStore,
  email: string,
  actor: string,
  reason: string,
): CancelledRequest[] {
  const cancelled: CancelledRequest[] = [];
  for (const r of requests.list({ requester: email.toLowerCase(), limit: 10_000 })) {
    const moved: string[] = [];
    for (const t of r.targets.filter((x) => ["pending", "approved", "failed"].includes(x.state))) {
      try {
        requests.move(r.id, t.n, "cancel", actor, {}, { reason });
        moved.push(t.arn);
      } catch (e) {
        // Moved by someone else first (approved → applying): it runs its course and expires on time.
        if (!(e instanceof GatehouseError && e.code === "ILLEGAL_TRANSITION")) throw e;
      }
    }
    if (moved.length) cancelled.push({ id: r.id, targets: moved });
  }
  return cancelled;
}
