// Permission requests over HTTP against the real broker and emulator: approve → applied in IAM at once,
// no self-approval, exactly one apply under concurrent approvals, refusals before IAM, expiry, grants,
// failures and retry, restart between approve and apply, and the webhook.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRequestsStore } from "../../broker/requests-store.ts";
import type { Emulator } from "../../dev/aws/server.ts";
import type { PermissionRequest } from "../../shared/requests.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import {
  asRequest,
  BILLING,
  DEPLOY_BOT,
  EDITED,
  HookReceiver,
  READ_BUCKET,
  type Reply,
  RequestsBroker,
  signPeople,
  type Who,
} from "../support/requests.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

let emulator: Emulator;
let issuer: TestIssuer;
let tokens: Record<Who, string>;
let b: RequestsBroker;
const hook = new HookReceiver();

const roleIn = (account: string, name: string) =>
  emulator.world.accounts.get(account)!.roles.get(name.toLowerCase())!;
const userIn = (account: string, name: string) => emulator.world.accounts.get(account)!.users.get(name)!;
const count = (action: string) => emulator.calls.filter((c) => c.action === action).length;

beforeAll(async () => {
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  await hook.start();
  const extra = `requests:
  approver_groups: [approvers]
  account_approver_groups: { "333333333333": [staging-approvers] }
  webhook_url: ${hook.url}
`;
  tokens = await signPeople(issuer);
  b = new RequestsBroker({ emulator, issuer, tokens, extra });
  await b.start();
});

afterAll(async () => {
  await b?.close();
  await issuer?.close();
  await emulator?.close();
  await hook.close();
});

describe("inline policy on a role", () => {
  let id = "";

  it("alice requests prod/Billing; bob edits and approves; it is in IAM and the broker at once", async () => {
    const r = await b.create("alice", { targets: ["prod/Billing"], policy: READ_BUCKET });
    expect(r.status).toBe(201);
    const req = asRequest(r.json);
    id = req.id;
    expect(req.targets).toMatchObject([{ arn: BILLING, state: "pending", policyName: `gatehouse-${id}-0` }]);

    // dave (approver) sees it in his queue; carol neither sees it nor may approve it.
    const queue = await b.call("dave", "GET", "/v1/requests?role=approver");
    expect((queue.json.requests as PermissionRequest[]).map((x) => x.id)).toContain(id);
    expect((await b.call("carol", "GET", `/v1/requests/${id}`)).status).toBe(404);
    expect((await b.call("carol", "POST", `/v1/requests/${id}/approve`, {})).json.code).toBe(
      "REQUEST_NOT_FOUND",
    );

    const edited = EDITED;
    const a = await b.call("bob", "POST", `/v1/requests/${id}/approve`, {
      policy: edited,
      comment: "add list",
    });
    expect(a.status).toBe(200);
    const done = asRequest(a.json);
    expect(done.targets[0]).toMatchObject({ state: "applied", policy: edited, error: null });
    expect(done.approvals[0]!.diff).toMatch(/\+ .*s3:ListBucket/);
    expect(Date.parse(done.targets[0]!.expiresAt!) - Date.now()).toBeGreaterThan(7.9 * 3600_000);

    expect(JSON.parse(roleIn("222222222222", "Billing").inlinePolicies[`gatehouse-${id}-0`]!)).toEqual(
      JSON.parse(edited),
    );
    expect(Object.keys(b.broker.store.getRole(BILLING)!.inlinePolicies)).toContain(`gatehouse-${id}-0`);
    // The requester sees the state and what the approver changed.
    const mine = await b.call("alice", "GET", "/v1/requests");
    expect(
      (mine.json.requests as PermissionRequest[]).find((x) => x.id === id)!.approvals[0]!.diff,
    ).toBeTruthy();
    expect(b.broker.store.listAudit({ action: "request.apply" }).some((e) => e.target === `${id}/0`)).toBe(
      true,
    );
  });

  it("a second approval of an applied target is an illegal transition", async () => {
    const r = await b.call("dave", "POST", `/v1/requests/${id}/approve`, {});
    expect(r.status).toBe(409);
    expect(r.json.code).toBe("ILLEGAL_TRANSITION");
  });

  it("expiry removes it from IAM, audited; the request shows expired", async () => {
    expect(await b.broker.requests.expireDue(new Date(Date.now() + 9 * 3600_000))).toBeGreaterThanOrEqual(1);
    expect(roleIn("222222222222", "Billing").inlinePolicies[`gatehouse-${id}-0`]).toBeUndefined();
    expect(Object.keys(b.broker.store.getRole(BILLING)!.inlinePolicies)).not.toContain(`gatehouse-${id}-0`);
    const r = await b.call("alice", "GET", `/v1/requests/${id}`);
    expect(asRequest(r.json).targets[0]!.state).toBe("expired");
    expect(b.broker.store.listAudit({ action: "request.expire" }).some((e) => e.target === `${id}/0`)).toBe(
      true,
    );
  });

  it("a policy changed outside Gatehouse is reported at expiry, not deleted", async () => {
    const r = await b.create("alice", { targets: [BILLING], policy: READ_BUCKET });
    const rid = asRequest(r.json).id;
    expect(
      asRequest((await b.call("bob", "POST", `/v1/requests/${rid}/approve`, {})).json).targets[0]!.state,
    ).toBe("applied");
    const name = `gatehouse-${rid}-0`;
    const role = roleIn("222222222222", "Billing");
    const changed = READ_BUCKET.replace("prod-reports", "prod-everything");
    role.inlinePolicies = { ...role.inlinePolicies, [name]: changed };
    await b.broker.requests.expireDue(new Date(Date.now() + 9 * 3600_000));
    expect(roleIn("222222222222", "Billing").inlinePolicies[name]).toBe(changed);
    const t = asRequest((await b.call("alice", "GET", `/v1/requests/${rid}`)).json).targets[0]!;
    expect(t.state).toBe("applied");
    expect(t.drift).toMatch(/changed outside Gatehouse/);
    expect(b.broker.store.listAudit({ action: "request.drift" }).length).toBeGreaterThan(0);
  });
});

describe("approvers", () => {
  it("the requester can never approve their own request (dave is an approver)", async () => {
    const r = await b.create("dave", { targets: ["prod/Billing"], policy: READ_BUCKET });
    expect(r.status).toBe(201);
    const id = asRequest(r.json).id;
    const a = await b.call("dave", "POST", `/v1/requests/${id}/approve`, {});
    expect(a.status).toBe(403);
    expect(a.json.code).toBe("SELF_APPROVAL");
    const me = await b.call("dave", "GET", "/v1/requests?role=approver");
    expect((me.json.requests as PermissionRequest[]).map((x) => x.id)).not.toContain(id);
    // Rejected by bob; then nothing is left to approve.
    const rej = await b.call("bob", "POST", `/v1/requests/${id}/reject`, { reason: "use the reports role" });
    expect(asRequest(rej.json).targets[0]!.state).toBe("rejected");
    expect((await b.call("bob", "POST", `/v1/requests/${id}/approve`, {})).json.code).toBe(
      "ILLEGAL_TRANSITION",
    );
  });

  it("two approvers approving at once cause exactly one PutRolePolicy", async () => {
    const r = await b.create("alice", { targets: ["prod/Billing"], policy: READ_BUCKET });
    const id = asRequest(r.json).id;
    const before = count("PutRolePolicy");
    const [x, y] = await Promise.all([
      b.call("bob", "POST", `/v1/requests/${id}/approve`, {}),
      b.call("dave", "POST", `/v1/requests/${id}/approve`, {}),
    ]);
    expect([x.status, y.status].sort()).toEqual([200, 409]);
    expect(count("PutRolePolicy") - before).toBe(1);
    const t = asRequest((await b.call("alice", "GET", `/v1/requests/${id}`)).json).targets[0]!;
    expect(t.state).toBe("applied");
    // A direct second apply of the same target does nothing either.
    await Promise.all([b.broker.requests.apply(id, 0, "test"), b.broker.requests.apply(id, 0, "test")]);
    expect(count("PutRolePolicy") - before).toBe(1);
  });

  it("the requester may cancel a pending request; others may not", async () => {
    const id = asRequest(
      (await b.create("alice", { targets: ["prod/Billing"], policy: READ_BUCKET })).json,
    ).id;
    expect((await b.call("bob", "POST", `/v1/requests/${id}/cancel`)).status).toBe(403);
    const c = await b.call("alice", "POST", `/v1/requests/${id}/cancel`);
    expect(asRequest(c.json).targets[0]!.state).toBe("cancelled");
  });
});

describe("several targets, per-account and tag approvers", () => {
  it("each target is approved and applied on its own by whoever may approve it", async () => {
    const dev = roleIn("333333333333", "Developer");
    dev.tags = [...dev.tags, { Key: "gatehouse-approvers", Value: "frank@example.com" }];
    await b.broker.syncer.syncRole("333333333333", "Developer");
    const r = await b.create("alice", {
      targets: ["prod/Billing", "staging/DataPipeline", "staging/Developer"],
      policy: READ_BUCKET,
    });
    expect(r.status).toBe(201);
    const id = asRequest(r.json).id;
    const states = (j: Record<string, unknown>) => asRequest(j).targets.map((t) => t.state);

    // erin approves for staging only (per-account group); frank only staging/Developer (its tag).
    expect((await b.call("frank", "GET", "/v1/requests?role=approver")).json.requests).toHaveLength(1);
    expect(states((await b.call("frank", "POST", `/v1/requests/${id}/approve`, {})).json)).toEqual([
      "pending",
      "pending",
      "applied",
    ]);
    expect(states((await b.call("erin", "POST", `/v1/requests/${id}/approve`, {})).json)).toEqual([
      "pending",
      "applied",
      "applied",
    ]);
    expect((await b.call("erin", "POST", `/v1/requests/${id}/approve`, {})).json.code).toBe(
      "ILLEGAL_TRANSITION",
    );
    expect((await b.call("carol", "GET", `/v1/requests/${id}`)).status).toBe(404);
    expect(states((await b.call("bob", "POST", `/v1/requests/${id}/approve`, {})).json)).toEqual([
      "applied",
      "applied",
      "applied",
    ]);
    expect(roleIn("333333333333", "DataPipeline").inlinePolicies[`gatehouse-${id}-1`]).toBeDefined();
    expect(roleIn("333333333333", "Developer").inlinePolicies[`gatehouse-${id}-2`]).toBeDefined();
    await b.broker.requests.expireDue(new Date(Date.now() + 9 * 3600_000));
  });
});

describe("refused before any IAM call", () => {
  it("a policy that changes access tags (iam:TagRole) is refused", async () => {
    const before = emulator.calls.length;
    const r = await b.create("alice", {
      targets: ["prod/Billing"],
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "iam:TagRole", Resource: "*" }],
      }),
    });
    expect(r.status).toBe(422);
    expect(r.json.code).toBe("POLICY_REFUSED");
    expect(emulator.calls.length).toBe(before);
  });

  it("a policy that would push a user past 2,048 characters is refused", async () => {
    const before = emulator.calls.length;
    const resources = Array.from({ length: 54 }, (_, i) => `arn:aws:s3:::prod-artifacts-${i}/*`);
    const big = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: resources }],
    });
    expect(big.length).toBeGreaterThan(1950);
    expect(big.length).toBeLessThan(2048);
    const r = await b.create("alice", { targets: [DEPLOY_BOT], policy: big });
    expect(r.status).toBe(422);
    expect(r.json.detail).toMatch(/2048/);
    expect(emulator.calls.length).toBe(before);
  });

  it("bad expiry and missing justification are 400s", async () => {
    expect(
      (await b.create("alice", { targets: [BILLING], policy: READ_BUCKET, expiry: "PT30M" })).status,
    ).toBe(400);
    expect(
      (await b.create("alice", { targets: [BILLING], policy: READ_BUCKET, expiry: "permanent" })).status,
    ).toBe(400);
    expect(
      (await b.create("alice", { targets: [BILLING], policy: READ_BUCKET, justification: "" })).status,
    ).toBe(400);
  });
});

describe("IAM user target, failure and retry", () => {
  it("applies to deploy-bot after a failed attempt under injected faults and a retry", async () => {
    const id = asRequest((await b.create("alice", { targets: [DEPLOY_BOT], policy: READ_BUCKET })).json).id;
    // Every call answers 503 (the spoke session is cached, so only PutUserPolicy is tried).
    emulator.faults.set({ failureRate: 1 });
    let r: Reply;
    try {
      r = await b.call("bob", "POST", `/v1/requests/${id}/approve`, {});
    } finally {
      emulator.faults.set({});
    }
    const failed = asRequest(r.json).targets[0]!;
    expect(failed.state).toBe("failed");
    expect(failed.error?.code).toBe("AWS_UNAVAILABLE");
    expect(userIn("222222222222", "deploy-bot").inlinePolicies[`gatehouse-${id}-0`]).toBeUndefined();
    const retried = await b.call("alice", "POST", `/v1/requests/${id}/retry`);
    expect(asRequest(retried.json).targets[0]!.state).toBe("applied");
    expect(userIn("222222222222", "deploy-bot").inlinePolicies[`gatehouse-${id}-0`]).toBeDefined();
    expect(Object.keys(b.broker.store.getUser(DEPLOY_BOT)!.inlinePolicies)).toContain(`gatehouse-${id}-0`);
  }, 60_000);
});

describe("role access", () => {
  it("a grant appears in alice's /v1/roles at once and lapses on expiry", async () => {
    const roles = () => b.roles("alice");
    expect(await roles()).not.toContain("prod/Billing");
    const r = await b.billingAccess("alice", 3600);
    expect(r.status).toBe(201);
    const id = asRequest(r.json).id;
    const a = await b.call("dave", "POST", `/v1/requests/${id}/approve`, {});
    expect(asRequest(a.json).targets[0]!.state).toBe("applied");
    expect(await roles()).toContain("prod/Billing");
    const creds = await b.call("alice", "POST", "/v1/credentials", { role: "prod/Billing" });
    expect(creds.status).toBe(200);
    // Within the hour of its expiry the webhook is told once, however often the scheduler looks.
    b.broker.requests.warnExpiring(new Date(Date.now() + 60_000));
    b.broker.requests.warnExpiring(new Date(Date.now() + 60_000));
    await b.broker.webhook.drain();
    expect(hook.of(id, "expiring")).toHaveLength(1);
    await b.broker.requests.expireDue(new Date(Date.now() + 2 * 3600_000));
    expect(await roles()).not.toContain("prod/Billing");
    expect(asRequest((await b.call("alice", "GET", `/v1/requests/${id}`)).json).targets[0]!.state).toBe(
      "expired",
    );
  });
});

describe("restart", () => {
  it("keeps requests and grants, and applies what was approved but not applied", async () => {
    const kept = asRequest(
      (await b.create("alice", { targets: ["prod/Billing"], policy: READ_BUCKET })).json,
    ).id;
    const grant = asRequest((await b.billingAccess("alice", "P1D")).json).id;
    await b.call("bob", "POST", `/v1/requests/${grant}/approve`, {});
    const pendingApply = asRequest(
      (await b.create("alice", { targets: [BILLING], policy: READ_BUCKET })).json,
    ).id;
    const midApply = asRequest(
      (await b.create("alice", { targets: [DEPLOY_BOT], policy: READ_BUCKET })).json,
    ).id;
    await b.stop();
    // Killed between approve and apply: the approval is on disk, the apply never ran.
    const s = openRequestsStore(b.db);
    s.approve(pendingApply, 0, { approver: "bob@example.com", comment: null, diff: null, expiresAt: null });
    s.move(pendingApply, 0, "approve", "bob@example.com");
    // Killed mid-apply: it was claimed (applying) but never finished.
    s.approve(midApply, 0, { approver: "bob@example.com", comment: null, diff: null, expiresAt: null });
    s.move(midApply, 0, "approve", "bob@example.com");
    s.move(midApply, 0, "apply", "bob@example.com");
    s.close();
    await b.start();
    expect(asRequest((await b.call("alice", "GET", `/v1/requests/${kept}`)).json).targets[0]!.state).toBe(
      "pending",
    );
    expect(
      asRequest((await b.call("alice", "GET", `/v1/requests/${pendingApply}`)).json).targets[0]!.state,
    ).toBe("applied");
    expect(roleIn("222222222222", "Billing").inlinePolicies[`gatehouse-${pendingApply}-0`]).toBeDefined();
    const resumed = asRequest((await b.call("alice", "GET", `/v1/requests/${midApply}`)).json);
    expect(resumed.targets[0]!.state).toBe("applied");
    expect(resumed.events.map((e) => e.type)).toContain("resume");
    expect(userIn("222222222222", "deploy-bot").inlinePolicies[`gatehouse-${midApply}-0`]).toBeDefined();
    const roles = await b.roles("alice");
    expect(roles).toContain("prod/Billing");
  });
});

describe("webhook", () => {
  it("was told about new, approved, applied, failed, rejected, expiring and expired requests, without secrets", async () => {
    await b.broker.webhook.drain();
    const hooked = hook.got.map((d) => d.body);
    const events = new Set(hooked.map((h) => h.gatehouse.event));
    for (const e of ["new", "approved", "applied", "failed", "rejected", "expiring", "expired", "drift"])
      expect(events).toContain(e);
    const all = JSON.stringify(hooked);
    for (const t of Object.values(tokens)) expect(all).not.toContain(t.slice(-20));
    expect(all).not.toMatch(/secretAccessKey|sessionToken|gatehouse-demo-secret/);
  });
});
