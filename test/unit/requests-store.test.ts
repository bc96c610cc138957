// The requests store's listing on a real SQLite file: an approver's queue is every request with a pending
// target, however many newer requests were decided since.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openRequestsStore } from "../../broker/requests-store.ts";

const dir = mkdtempSync(join(tmpdir(), "gatehouse-requests-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("list", () => {
  it("pending: only requests with a pending target, newest first, the old pending one included", () => {
    const store = openRequestsStore(join(dir, "broker.sqlite"));
    const make = (id: string, minute: number) =>
      store.create(
        {
          id,
          kind: "role-access",
          requester: { email: "alice@example.com", groups: ["engineers"] },
          justification: "month-end close needs the billing console",
          expirySeconds: 3600,
          policy: null,
          createdAt: new Date(Date.UTC(2026, 10, 26, 8, minute)).toISOString(),
          targets: [
            {
              arn: "arn:aws:iam::222222222222:role/Billing",
              accountId: "222222222222",
              type: "role",
              name: "Billing",
              policyName: null,
              policy: null,
            },
          ],
        },
        "alice@example.com",
      );
    make("old-pending", 0);
    for (let i = 1; i <= 5; i++) {
      make(`decided-${i}`, i);
      store.move(`decided-${i}`, 0, "reject", "bob@example.com");
    }
    make("new-pending", 9);
    expect(store.list({ limit: 3 }).map((r) => r.id)).toEqual(["new-pending", "decided-5", "decided-4"]);
    expect(store.list({ pending: true, limit: 3 }).map((r) => r.id)).toEqual(["new-pending", "old-pending"]);
    expect(store.list({ requester: "bob@example.com", pending: true })).toEqual([]);
    store.close();
  });
});
