// The requests store on a real SQLite file and a real PostgreSQL database (the same tests on both): an
// approver's queue is every request with a pending target, however many newer requests were decided
// since; approvals, moves and outbox claims keep their guards.

import { describe, expect, it } from "vitest";
import { type NewRequest, openRequestsStore } from "../../broker/requests-store.ts";
import { ENGINES, storeEngines } from "../support/store-engines.ts";

const engines = storeEngines();

const request = (id: string, createdAt: string): NewRequest => ({
  id,
  kind: "role-access",
  requester: { email: "alice@example.com", groups: ["engineers"] },
  justification: "month-end close needs the billing console",
  expirySeconds: 3600,
  policy: null,
  createdAt,
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
});

describe.each(ENGINES)("list (%s)", (engine) => {
  it("pending: only requests with a pending target, newest first, the old pending one included", async () => {
    const store = openRequestsStore(await engines.open(engine));
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

describe.each(ENGINES)("decisions (%s)", (engine) => {
  it("approvals count once per person (any case), an edit supersedes them, and a moved target takes no more", async () => {
    const store = openRequestsStore(await engines.open(engine));
    store.create(request("r1", "2026-11-26T08:00:00.000Z"), "alice@example.com");
    const approval = (approver: string, admin = false) => ({
      approver,
      comment: null,
      diff: null,
      expiresAt: null,
      admin,
    });
    expect(store.approve("r1", 0, approval("bob@example.com"))).toBe(1);
    expect(() => store.approve("r1", 0, approval("BOB@example.com"))).toThrow(
      expect.objectContaining({ code: "ALREADY_APPROVED" }),
    );
    expect(store.approve("r1", 0, approval("carol@example.com", true))).toBe(2);
    expect(store.adminApprovals("r1", 0)).toBe(1);
    // An edit with the approval: the earlier ones approved something else.
    expect(
      store.approve("r1", 0, approval("dave@example.com"), {
        resetEarlier: true,
        patch: { note: "narrowed" },
      }),
    ).toBe(1);
    expect(store.adminApprovals("r1", 0)).toBe(0);
    expect(store.target("r1", 0)).toMatchObject({ approvals: 1, note: "narrowed", state: "pending" });
    expect(store.move("r1", 0, "approve", "dave@example.com")).toBe("approved");
    // The second of two racing moves finds the state it read gone.
    expect(() => store.move("r1", 0, "approve", "erin@example.com")).toThrow(
      expect.objectContaining({ code: "ILLEGAL_TRANSITION" }),
    );
    expect(() => store.approve("r1", 0, approval("erin@example.com"))).toThrow(
      expect.objectContaining({ code: "ILLEGAL_TRANSITION" }),
    );
    expect(() => store.move("r1", 7, "approve", "erin@example.com")).toThrow(
      expect.objectContaining({ code: "REQUEST_NOT_FOUND" }),
    );
    const r = store.get("r1")!;
    expect(r.approvals.map((a) => [a.approver, a.supersededAt === null, a.admin])).toEqual([
      ["bob@example.com", false, false],
      ["carol@example.com", false, true],
      ["dave@example.com", true, false],
    ]);
    expect(r.events.map((e) => e.type)).toEqual([
      "created",
      "approval",
      "approval",
      "approvals-reset",
      "approval",
      "approve",
    ]);
    expect(store.hasEvent("r1", 0, "approve")).toBe(true);
    expect(store.hasEvent("r1", 0, "apply")).toBe(false);
    store.markBreakGlass("r1", ["policy grants iam:*"]);
    store.markBreakGlass("r1", ["policy grants iam:*", "no approver group"]);
    expect(store.isBreakGlass("r1")).toBe(true);
    expect(store.get("r1")!.breakGlassReasons).toEqual(["policy grants iam:*", "no approver group"]);
  });

  it("hostile text is stored as text; a create that fails half-way leaves nothing of itself", async () => {
    const store = openRequestsStore(await engines.open(engine));
    const hostile = "'); DROP TABLE requests; -- \\ % _ ? $1 Ω";
    store.create({ ...request("r2", "2026-11-26T08:00:00.000Z"), justification: hostile }, "a");
    expect(store.get("r2")!.justification).toBe(hostile);
    // The same id again: the second create fails in its own transaction (no second event, no targets).
    expect(() => store.create(request("r2", "2026-11-26T09:00:00.000Z"), "mallory@example.com")).toThrow();
    const r = store.get("r2")!;
    expect(r.events).toHaveLength(1);
    expect(r.targets).toHaveLength(1);
    expect(store.list({})).toHaveLength(1);
  });

  it("outbox: one row per id, a due delivery is claimed by one sender only, and pruned once done", async () => {
    const { outbox } = openRequestsStore(await engines.open(engine));
    const t0 = new Date("2026-11-26T08:00:00.000Z");
    outbox.enqueue({ id: "d1", body: '{"a":1}' }, t0);
    outbox.enqueue({ id: "d1", body: '{"a":"again"}' }, t0);
    outbox.enqueue({ id: "d2", body: '{"b":2}' }, new Date(t0.getTime() + 1000));
    expect(outbox.list().map((d) => [d.id, d.body])).toEqual([
      ["d1", '{"a":1}'],
      ["d2", '{"b":2}'],
    ]);
    const now = new Date(t0.getTime() + 5000);
    expect(outbox.due(now, 10).map((d) => d.id)).toEqual(["d1", "d2"]);
    const first = outbox.claim("d1", now, 30_000);
    expect(first).toMatchObject({ id: "d1", attempts: 1, nextAttemptAt: "2026-11-26T08:00:35.000Z" });
    expect(outbox.claim("d1", now, 30_000)).toBeUndefined();
    expect(outbox.due(now, 10).map((d) => d.id)).toEqual(["d2"]);
    outbox.delivered("d1", now);
    outbox.dead("d2", "410 Gone");
    expect(outbox.nextDue()).toBeNull();
    expect(outbox.list("dead")).toMatchObject([{ id: "d2", lastError: "410 Gone" }]);
    outbox.prune(new Date(t0.getTime() + 500));
    expect(outbox.list().map((d) => d.id)).toEqual(["d2"]);
    expect(outbox.get("d1")).toBeUndefined();
  });
});
