// More permission requests over HTTP against the real broker and emulator: two approvals required (one
// approver never counts twice; an edit resets earlier approvals), webhook deliveries that survive a broker
// restart and die after their attempts, expiry catch-up after downtime, settling drift (delete or keep),
// and every transition of the state machine walked at least once with the events it records.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRequestsStore } from "../../broker/requests-store.ts";
import type { Emulator } from "../../dev/aws/server.ts";
import { type PermissionRequest, type TargetState, TRANSITIONS } from "../../shared/requests.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import {
  asRequest,
  BILLING,
  DEPLOY_BOT,
  EDITED,
  HookReceiver,
  READ_BUCKET,
  RequestsBroker,
  signPeople,
  until,
  type Who,
} from "../support/requests.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

let emulator: Emulator;
let issuer: TestIssuer;
let tokens: Record<Who, string>;
const hook = new HookReceiver();

const roleIn = (account: string, name: string) =>
  emulator.world.accounts.get(account)!.roles.get(name.toLowerCase())!;
const userIn = (account: string, name: string) => emulator.world.accounts.get(account)!.users.get(name)!;
const count = (action: string) => emulator.calls.filter((c) => c.action === action).length;
const LATER = () => new Date(Date.now() + 9 * 3600_000);

/** A broker (not started yet) on the shared emulator, issuer and people, with this configuration. */
const brokerWith = (extra: string) => new RequestsBroker({ emulator, issuer, tokens, extra });

beforeAll(async () => {
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  tokens = await signPeople(issuer);
  await hook.start();
});

afterAll(async () => {
  await issuer?.close();
  await emulator?.close();
  await hook.close();
});

describe("two approvals required", () => {
  let b: RequestsBroker;
  beforeAll(async () => {
    b = brokerWith(`requests:
  approver_groups: [approvers]
  approvals_required: 2
  webhook_url: ${hook.url}
`);
    await b.start();
  });
  afterAll(async () => {
    await b?.close();
  });

  it("the first approval leaves it pending with nothing in IAM; the same approver again does not count; a second approver applies it", async () => {
    const id = await b.createId("alice", { targets: ["prod/Billing"] });
    const name = `gatehouse-${id}-0`;
    const puts = count("PutRolePolicy");

    const first = await b.call("bob", "POST", `/v1/requests/${id}/approve`, { comment: "fine by me" });
    expect(first.status).toBe(200);
    expect(asRequest(first.json).targets[0]).toMatchObject({ state: "pending", approvals: 1 });
    expect(roleIn("222222222222", "Billing").inlinePolicies[name]).toBeUndefined();
    expect(count("PutRolePolicy")).toBe(puts);

    const again = await b.call("bob", "POST", `/v1/requests/${id}/approve`, {});
    expect(again.status).toBe(409);
    expect(again.json.code).toBe("ALREADY_APPROVED");
    expect((await b.get("alice", id)).targets[0]).toMatchObject({ state: "pending", approvals: 1 });
    // bob's queue no longer shows it (he has done his part); dave's still does.
    const queue = async (who: Who) =>
      ((await b.call(who, "GET", "/v1/requests?role=approver")).json.requests as PermissionRequest[]).map(
        (r) => r.id,
      );
    expect(await queue("bob")).not.toContain(id);
    expect(await queue("dave")).toContain(id);
    expect(
      b.broker.store
        .listAudit({ action: "request.approve" })
        .some((e) => e.target === id && e.outcome === "denied" && e.detail.code === "ALREADY_APPROVED"),
    ).toBe(true);

    const second = await b.call("dave", "POST", `/v1/requests/${id}/approve`, {});
    expect(second.status).toBe(200);
    const done = asRequest(second.json);
    expect(done.targets[0]).toMatchObject({ state: "applied", approvals: 2 });
    expect(done.approvals.map((a) => a.approver).sort()).toEqual(["bob@example.com", "dave@example.com"]);
    expect(roleIn("222222222222", "Billing").inlinePolicies[name]).toBeDefined();
    expect(count("PutRolePolicy")).toBe(puts + 1);
    expect(done.events.filter((e) => e.type === "approval")).toHaveLength(2);
    await b.broker.requests.expireDue(LATER());
  });

  it("an edit by the second approver resets the first approval: the edited policy needs a second approval of its own", async () => {
    const id = await b.createId("alice", { targets: ["prod/Billing"] });
    const name = `gatehouse-${id}-0`;
    await b.call("bob", "POST", `/v1/requests/${id}/approve`, {});

    const edit = await b.call("dave", "POST", `/v1/requests/${id}/approve`, { policy: EDITED });
    expect(edit.status).toBe(200);
    const r = asRequest(edit.json);
    // bob approved READ_BUCKET, not dave's edit: only dave's approval counts now.
    expect(r.targets[0]).toMatchObject({ state: "pending", approvals: 1, policy: EDITED });
    expect(roleIn("222222222222", "Billing").inlinePolicies[name]).toBeUndefined();
    const bobs = r.approvals.find((a) => a.approver === "bob@example.com")!;
    expect(bobs.supersededAt).toBeTruthy();
    expect(r.approvals.find((a) => a.approver === "dave@example.com")!.diff).toMatch(/\+ .*s3:ListBucket/);
    expect(r.events.find((e) => e.type === "approvals-reset")).toMatchObject({
      actor: "dave@example.com",
      detail: { superseded: ["bob@example.com"] },
    });
    // The editor cannot approve their own edit a second time; bob's fresh approval applies it.
    expect((await b.call("dave", "POST", `/v1/requests/${id}/approve`, {})).json.code).toBe(
      "ALREADY_APPROVED",
    );
    const queue = (await b.call("bob", "GET", "/v1/requests?role=approver")).json
      .requests as PermissionRequest[];
    expect(queue.map((x) => x.id)).toContain(id);
    const done = asRequest((await b.call("bob", "POST", `/v1/requests/${id}/approve`, {})).json);
    expect(done.targets[0]).toMatchObject({ state: "applied", approvals: 2, policy: EDITED });
    expect(JSON.parse(roleIn("222222222222", "Billing").inlinePolicies[name]!)).toEqual(JSON.parse(EDITED));
    await b.broker.webhook.settle();
    expect(hook.of(id, "edited")).toHaveLength(1);
    await b.broker.requests.expireDue(LATER());
  });

  it("the second approver changing only the expiry also resets the first approval", async () => {
    const id = await b.createId("alice", { targets: ["prod/Billing"] });
    await b.call("bob", "POST", `/v1/requests/${id}/approve`, {});
    const at = new Date(Date.now() + 2 * 3600_000).toISOString();
    const r = asRequest((await b.call("dave", "POST", `/v1/requests/${id}/approve`, { expiresAt: at })).json);
    expect(r.targets[0]).toMatchObject({ state: "pending", approvals: 1, expiresAt: at });
    const done = asRequest((await b.call("bob", "POST", `/v1/requests/${id}/approve`, {})).json);
    expect(done.targets[0]).toMatchObject({ state: "applied", expiresAt: at });
    await b.broker.requests.expireDue(LATER());
  });
});

describe("one approval", () => {
  let b: RequestsBroker;
  beforeAll(async () => {
    b = brokerWith(`requests:
  approver_groups: [approvers]
  account_approver_groups: { "333333333333": [staging-approvers] }
  webhook_url: ${hook.url}
  webhook_backoff_ms: 500
  webhook_max_attempts: 3
  expiry_check_seconds: 3600
`);
    await b.start();
  });
  afterAll(async () => {
    await b?.close();
  });

  const moves = (r: PermissionRequest, n = 0) =>
    r.events
      .filter((e) => e.target === n && typeof e.detail.from === "string")
      .map((e) => `${e.detail.from}-${e.type}->${e.detail.to}`);
  const seen = new Set<string>();
  const record = (r: PermissionRequest) => {
    for (const t of r.targets) for (const m of moves(r, t.n)) seen.add(m);
  };

  describe("every state transition over the HTTP API", () => {
    it("pending → approved → applying → applied → expired", async () => {
      const id = await b.createId("alice", { targets: ["prod/Billing"] });
      expect((await b.get("alice", id)).targets[0]!.state).toBe("pending");
      const a = await b.call("bob", "POST", `/v1/requests/${id}/approve`, {});
      expect(asRequest(a.json).targets[0]!.state).toBe("applied");
      await b.broker.requests.expireDue(LATER());
      const r = await b.get("alice", id);
      expect(r.targets[0]!.state).toBe("expired");
      expect(r.events.map((e) => e.type)).toEqual([
        "created",
        "approval",
        "approve",
        "apply",
        "applied",
        "expire",
      ]);
      expect(moves(r)).toEqual([
        "pending-approve->approved",
        "approved-apply->applying",
        "applying-applied->applied",
        "applied-expire->expired",
      ]);
      expect(r.events.find((e) => e.type === "created")!.actor).toBe("alice@example.com");
      expect(r.events.find((e) => e.type === "approve")!.actor).toBe("bob@example.com");
      expect(r.events.find((e) => e.type === "expire")!.actor).toBe("gatehouse");
      record(r);
    });

    it("pending → rejected, with the reason", async () => {
      const id = await b.createId("alice", { targets: ["prod/Billing"] });
      const r = asRequest(
        (await b.call("dave", "POST", `/v1/requests/${id}/reject`, { reason: "use the reports role" })).json,
      );
      expect(moves(r)).toEqual(["pending-reject->rejected"]);
      expect(r.events.at(-1)).toMatchObject({
        actor: "dave@example.com",
        detail: { reason: "use the reports role" },
      });
      record(r);
    });

    it("pending → cancelled by the requester", async () => {
      const id = await b.createId("alice", { targets: ["prod/Billing"] });
      const r = asRequest((await b.call("alice", "POST", `/v1/requests/${id}/cancel`)).json);
      expect(moves(r)).toEqual(["pending-cancel->cancelled"]);
      record(r);
    });

    it("approved → cancelled (an approved target the broker has not claimed for applying yet)", async () => {
      // Approved-not-yet-applying lasts only between the approval and the apply's claim (or until the
      // recovery at start); it is made here through a second connection to the broker's database.
      const id = await b.createId("alice", { targets: ["prod/Billing"] });
      const s = openRequestsStore(b.db);
      s.approve(id, 0, { approver: "bob@example.com", comment: null, diff: null, expiresAt: null });
      s.move(id, 0, "approve", "bob@example.com");
      s.close();
      const puts = count("PutRolePolicy");
      const r = asRequest((await b.call("alice", "POST", `/v1/requests/${id}/cancel`)).json);
      expect(r.targets[0]!.state).toBe("cancelled");
      expect(moves(r)).toEqual(["pending-approve->approved", "approved-cancel->cancelled"]);
      expect(count("PutRolePolicy")).toBe(puts);
      record(r);
    });

    it("applying → failed → approved (retry) → applying → applied", async () => {
      const id = await b.createId("alice", { targets: [DEPLOY_BOT] });
      emulator.faults.set({ failureRate: 1 });
      let failed: PermissionRequest;
      try {
        failed = asRequest((await b.call("bob", "POST", `/v1/requests/${id}/approve`, {})).json);
      } finally {
        emulator.faults.set({});
      }
      expect(failed.targets[0]).toMatchObject({ state: "failed", error: { code: "AWS_UNAVAILABLE" } });
      const r = asRequest((await b.call("alice", "POST", `/v1/requests/${id}/retry`)).json);
      expect(r.targets[0]).toMatchObject({ state: "applied", error: null });
      expect(moves(r)).toEqual([
        "pending-approve->approved",
        "approved-apply->applying",
        "applying-fail->failed",
        "failed-retry->approved",
        "approved-apply->applying",
        "applying-applied->applied",
      ]);
      expect(userIn("222222222222", "deploy-bot").inlinePolicies[`gatehouse-${id}-0`]).toBeDefined();
      record(r);
      await b.broker.requests.expireDue(LATER());
    }, 60_000);

    it("failed → cancelled", async () => {
      const id = await b.createId("alice", { targets: [DEPLOY_BOT] });
      emulator.faults.set({ failureRate: 1 });
      try {
        await b.call("bob", "POST", `/v1/requests/${id}/approve`, {});
      } finally {
        emulator.faults.set({});
      }
      const r = asRequest((await b.call("alice", "POST", `/v1/requests/${id}/cancel`)).json);
      expect(r.targets[0]!.state).toBe("cancelled");
      expect(moves(r).slice(-2)).toEqual(["applying-fail->failed", "failed-cancel->cancelled"]);
      expect(userIn("222222222222", "deploy-bot").inlinePolicies[`gatehouse-${id}-0`]).toBeUndefined();
      record(r);
    }, 60_000);

    it("applying → approved (resume after a restart mid-apply) → applied", async () => {
      const id = await b.createId("alice", { targets: ["prod/Billing"] });
      await b.stop();
      const s = openRequestsStore(b.db);
      s.approve(id, 0, { approver: "bob@example.com", comment: null, diff: null, expiresAt: null });
      s.move(id, 0, "approve", "bob@example.com");
      s.move(id, 0, "apply", "bob@example.com");
      s.close();
      await b.start();
      const r = await b.get("alice", id);
      expect(r.targets[0]!.state).toBe("applied");
      expect(moves(r)).toEqual([
        "pending-approve->approved",
        "approved-apply->applying",
        "applying-resume->approved",
        "approved-apply->applying",
        "applying-applied->applied",
      ]);
      expect(r.events.find((e) => e.type === "resume")).toMatchObject({
        actor: "gatehouse",
        detail: { reason: "broker restarted mid-apply" },
      });
      expect(roleIn("222222222222", "Billing").inlinePolicies[`gatehouse-${id}-0`]).toBeDefined();
      record(r);
      await b.broker.requests.expireDue(LATER());
    });

    it("walked every legal transition of the state machine", () => {
      const all = Object.entries(TRANSITIONS).flatMap(([from, evs]) =>
        Object.entries(evs).map(([ev, to]) => `${from}-${ev}->${to as TargetState}`),
      );
      expect([...seen].sort()).toEqual(all.sort());
    });
  });

  describe("webhook outbox", () => {
    it("a delivery that failed (500) before a restart is delivered exactly once after it", async () => {
      let failed = 0;
      hook.answer = (body) => (body.text.includes("outbox restart check") && failed++ === 0 ? 500 : 200);
      try {
        const id = await b.createId("alice", {
          targets: ["prod/Billing"],
          justification: "outbox restart check: the first attempt fails",
        });
        await until(() => hook.of(id, "new").length === 1, 5000, "the first attempt");
        expect(hook.of(id, "new")[0]!.status).toBe(500);
        await b.stop();
        // The delivery is on disk, waiting for its retry.
        const s = openRequestsStore(b.db);
        const waiting = s.outbox.list("pending");
        expect(waiting.map((d) => JSON.parse(d.body).gatehouse.requestId)).toContain(id);
        expect(waiting.find((d) => JSON.parse(d.body).gatehouse.requestId === id)).toMatchObject({
          attempts: 1,
          lastError: "HTTP 500",
        });
        s.close();
        expect(hook.of(id, "new")).toHaveLength(1);

        await b.start();
        await until(() => hook.of(id, "new").length === 2, 10_000, "the retry after the restart");
        // Nothing more arrives: delivered once.
        await new Promise((r) => setTimeout(r, 1500));
        const got = hook.of(id, "new");
        expect(got.map((d) => d.status)).toEqual([500, 200]);
        expect(new Set(got.map((d) => d.id)).size).toBe(1);
        expect(got[0]!.id).toBe(got[0]!.body.gatehouse.deliveryId);
        expect(b.broker.webhook.deliveries.get(got[0]!.id!)).toMatchObject({
          state: "delivered",
          attempts: 2,
        });
        await b.call("alice", "POST", `/v1/requests/${id}/cancel`);
      } finally {
        hook.answer = () => 200;
      }
    });

    it("a delivery that keeps failing is dead after webhook_max_attempts, logged and audited", async () => {
      hook.answer = (body) => (body.text.includes("outbox dead check") ? 500 : 200);
      try {
        const id = await b.createId("alice", {
          targets: ["prod/Billing"],
          justification: "outbox dead check: every attempt fails",
        });
        await b.broker.webhook.settle(15_000);
        expect(hook.of(id, "new").map((d) => d.status)).toEqual([500, 500, 500]);
        const [attempt1, attempt2, attempt3] = hook.of(id, "new").map((d) => d.time);
        // Exponential back-off: 500 ms, then 1 s.
        expect(attempt2! - attempt1!).toBeGreaterThanOrEqual(450);
        expect(attempt3! - attempt2!).toBeGreaterThanOrEqual(950);
        const dead = b.broker.webhook.deliveries
          .list("dead")
          .find((d) => JSON.parse(d.body).gatehouse.requestId === id);
        expect(dead).toMatchObject({ attempts: 3, lastError: "HTTP 500" });
        expect(
          b.broker.store
            .listAudit({ action: "webhook.dead" })
            .some((e) => e.detail.requestId === id && e.outcome === "error"),
        ).toBe(true);
        expect(b.broker.logs.join("")).toMatch(/webhook delivery is dead/);
        await b.call("alice", "POST", `/v1/requests/${id}/cancel`);
      } finally {
        hook.answer = () => 200;
      }
    }, 30_000);

    it("never carries tokens, credentials or policy text", () => {
      const all = JSON.stringify(hook.got.map((d) => d.body));
      expect(hook.got.length).toBeGreaterThan(10);
      for (const t of Object.values(tokens)) expect(all).not.toContain(t.slice(-20));
      expect(all).not.toMatch(/secretAccessKey|sessionToken|gatehouse-demo-secret|s3:GetObject/);
    });
  });

  describe("expiry catch-up after downtime", () => {
    it("a policy and a grant whose expiry passed while the broker was stopped are removed at start, audited", async () => {
      const pol = await b.createId("alice", { targets: ["prod/Billing"] });
      expect(
        asRequest((await b.call("bob", "POST", `/v1/requests/${pol}/approve`, {})).json).targets[0]!.state,
      ).toBe("applied");
      const grant = asRequest((await b.billingAccess("alice", "PT2H")).json).id;
      expect(
        asRequest((await b.call("dave", "POST", `/v1/requests/${grant}/approve`, {})).json).targets[0]!.state,
      ).toBe("applied");
      expect(await b.roles("alice")).toContain("prod/Billing");
      const name = `gatehouse-${pol}-0`;
      expect(roleIn("222222222222", "Billing").inlinePolicies[name]).toBeDefined();

      await b.stop();
      // While it was down, both expiries passed (two hours ago).
      const s = openRequestsStore(b.db);
      const past = new Date(Date.now() - 7200_000).toISOString();
      s.patch(pol, 0, { expiresAt: past });
      s.patch(grant, 0, { expiresAt: past });
      s.close();
      const ticks = count("DeleteRolePolicy");

      // expiry_check_seconds is an hour: this is the start's catch-up, not a scheduler tick.
      await b.start();
      expect(roleIn("222222222222", "Billing").inlinePolicies[name]).toBeUndefined();
      expect(count("DeleteRolePolicy")).toBe(ticks + 1);
      expect(Object.keys(b.broker.store.getRole(BILLING)!.inlinePolicies)).not.toContain(name);
      for (const id of [pol, grant]) {
        const r = await b.get("alice", id);
        expect(r.targets[0]!.state).toBe("expired");
        const ev = r.events.find((e) => e.type === "expire")!;
        expect(ev.actor).toBe("gatehouse");
        expect(ev.detail.lateSeconds as number).toBeGreaterThanOrEqual(7200);
        const audit = b.broker.store
          .listAudit({ action: "request.expire" })
          .find((e) => e.target === `${id}/0`);
        expect(audit).toMatchObject({ actor: "gatehouse", outcome: "ok" });
        expect(audit!.detail.lateSeconds as number).toBeGreaterThanOrEqual(7200);
      }
      expect(await b.roles("alice")).not.toContain("prod/Billing");
      expect((await b.call("alice", "POST", "/v1/credentials", { role: "prod/Billing" })).status).not.toBe(
        200,
      );
    });
  });

  describe("drift", () => {
    const drifted = async () => {
      const id = await b.createId("alice", { targets: ["prod/Billing"] });
      await b.call("bob", "POST", `/v1/requests/${id}/approve`, {});
      const name = `gatehouse-${id}-0`;
      const role = roleIn("222222222222", "Billing");
      const changed = READ_BUCKET.replace("prod-reports", "prod-everything");
      role.inlinePolicies = { ...role.inlinePolicies, [name]: changed };
      await b.broker.requests.expireDue(LATER());
      const t = (await b.get("alice", id)).targets[0]!;
      expect(t.state).toBe("applied");
      expect(t.drift).toMatch(/changed outside Gatehouse/);
      return { id, name, changed };
    };
    const resolve = (who: Who, id: string, body: unknown, n = 0) =>
      b.call(who, "POST", `/v1/requests/${id}/targets/${n}/resolve`, body);

    it("only an approver of the target or an admin may resolve it, not the requester", async () => {
      const { id, name, changed } = await drifted();
      expect((await resolve("alice", id, { action: "delete" })).json.code).toBe("FORBIDDEN");
      expect((await resolve("carol", id, { action: "delete" })).json.code).toBe("REQUEST_NOT_FOUND");
      expect((await resolve("erin", id, { action: "delete" })).json.code).toBe("REQUEST_NOT_FOUND");
      expect((await resolve("dave", id, { action: "nuke" })).status).toBe(400);
      expect((await resolve("dave", id, { action: "delete" }, 7)).json.code).toBe("REQUEST_NOT_FOUND");
      expect(roleIn("222222222222", "Billing").inlinePolicies[name]).toBe(changed);
      expect(
        b.broker.store
          .listAudit({ action: "request.resolve" })
          .some((e) => e.target === `${id}/0` && e.outcome === "denied" && e.detail.code === "FORBIDDEN"),
      ).toBe(true);
      await resolve("dave", id, { action: "delete" });
    });

    it('"delete" removes the changed policy from IAM and marks the target expired, audited', async () => {
      const { id, name } = await drifted();
      const r = await resolve("dave", id, { action: "delete", comment: "nobody asked for prod-everything" });
      expect(r.status).toBe(200);
      const t = asRequest(r.json).targets[0]!;
      expect(t.state).toBe("expired");
      expect(t.note).toMatch(/deleted/);
      expect(roleIn("222222222222", "Billing").inlinePolicies[name]).toBeUndefined();
      expect(Object.keys(b.broker.store.getRole(BILLING)!.inlinePolicies)).not.toContain(name);
      expect(asRequest(r.json).events.at(-1)).toMatchObject({
        type: "expire",
        actor: "dave@example.com",
        detail: { from: "applied", to: "expired", resolution: "delete" },
      });
      expect(
        b.broker.store
          .listAudit({ action: "request.resolve" })
          .find((e) => e.target === `${id}/0` && e.outcome === "ok"),
      ).toMatchObject({ actor: "dave@example.com", detail: { action: "delete", arn: BILLING } });
      // Settled once: a second resolution is an illegal transition.
      expect((await resolve("bob", id, { action: "keep" })).json.code).toBe("ILLEGAL_TRANSITION");
    });

    it('"keep" (by an admin who is no approver) leaves it in IAM, expired, no longer managed by Gatehouse', async () => {
      const { id, name, changed } = await drifted();
      const r = await resolve("gina", id, { action: "keep" });
      expect(r.status).toBe(200);
      const t = asRequest(r.json).targets[0]!;
      expect(t.state).toBe("expired");
      expect(t.note).toMatch(/kept in IAM.*no longer manages it/);
      expect(roleIn("222222222222", "Billing").inlinePolicies[name]).toBe(changed);
      expect(
        b.broker.store.listAudit({ action: "request.resolve" }).find((e) => e.target === `${id}/0`),
      ).toMatchObject({ actor: "gina@example.com", outcome: "ok", detail: { action: "keep" } });
      // The scheduler leaves it alone from now on.
      const deletes = count("DeleteRolePolicy");
      await b.broker.requests.expireDue(LATER());
      expect(count("DeleteRolePolicy")).toBe(deletes);
      await b.broker.webhook.settle();
      expect(hook.of(id, "resolved")).toHaveLength(1);
      // Tidy the emulator for whoever comes next.
      const role = roleIn("222222222222", "Billing");
      const { [name]: _gone, ...rest } = role.inlinePolicies;
      role.inlinePolicies = rest;
    });

    it("a target without drift is not resolvable", async () => {
      const id = await b.createId("alice", { targets: ["prod/Billing"] });
      expect((await resolve("bob", id, { action: "delete" })).json.code).toBe("ILLEGAL_TRANSITION");
      await b.call("bob", "POST", `/v1/requests/${id}/approve`, {});
      expect((await resolve("bob", id, { action: "keep" })).json.code).toBe("ILLEGAL_TRANSITION");
      await b.broker.requests.expireDue(LATER());
    });
  });
});

describe("the re-read after an apply", () => {
  let b: RequestsBroker;
  beforeAll(async () => {
    b = brokerWith("requests:\n  approver_groups: [approvers]\n");
    await b.start();
  });
  afterAll(async () => {
    await b?.close();
  });

  it("approve answers after one PutRolePolicy; the broker's copy has the policy at once and the re-read follows", async () => {
    const id = await b.createId("alice", { targets: [BILLING] });
    const name = `gatehouse-${id}-0`;
    // Changed outside Gatehouse since the last sync: only a re-read of the role can know it.
    roleIn("222222222222", "Billing").inlinePolicies.Outside = READ_BUCKET;
    const before = emulator.calls.length;
    const approved = asRequest((await b.call("bob", "POST", `/v1/requests/${id}/approve`, {})).json);
    expect(approved.targets[0]!.state).toBe("applied");
    expect(b.broker.store.getRole(BILLING)!.inlinePolicies[name]).toBe(READ_BUCKET);
    await until(
      () => b.broker.store.getRole(BILLING)!.inlinePolicies.Outside !== undefined,
      10_000,
      "re-read",
    );
    const after = emulator.calls.slice(before).map((c) => c.action);
    expect(after).toContain("PutRolePolicy");
    expect(after).toContain("GetRole");
    expect(b.broker.store.getRole(BILLING)!.inlinePolicies[name]).toBe(READ_BUCKET);
    delete roleIn("222222222222", "Billing").inlinePolicies.Outside;
  });
});
