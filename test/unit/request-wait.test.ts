// The wait of `gatehouse request … --wait`, on a fake clock: back-off from 200 ms to 2 s, settled outcomes,
// the deadline, transient errors waited out, and the one line per target that was not applied.

import { describe, expect, it } from "vitest";
import {
  EXIT_APPLIED,
  EXIT_NOT_APPLIED,
  notAppliedLines,
  parseTimeout,
  waitForRequest,
} from "../../electron/cli/request-wait.ts";
import type { PermissionRequest, TargetState } from "../../shared/requests.ts";

const ARN = (n: number) => `arn:aws:iam::222222222222:role/R${n}`;

function request(states: TargetState[], events: PermissionRequest["events"] = []): PermissionRequest {
  return {
    id: "abc",
    kind: "inline-policy",
    requester: { email: "alice@example.com", groups: [] },
    justification: "for the test",
    expirySeconds: 3600,
    policy: "{}",
    createdAt: "2026-01-01T00:00:00.000Z",
    approvals: [],
    events,
    targets: states.map((state, n) => ({
      n,
      arn: ARN(n),
      accountId: "222222222222",
      type: "role",
      name: `R${n}`,
      state,
      policyName: null,
      policy: null,
      approvals: 0,
      expiresAt: null,
      appliedAt: null,
      error: state === "failed" ? { code: "AWS_DENIED", message: "PutRolePolicy was denied" } : null,
      drift: null,
    })),
  };
}

function clock() {
  let t = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

describe("waitForRequest", () => {
  it("backs off from 200 ms to 2 s and ends with 0 once every target is applied", async () => {
    const c = clock();
    let calls = 0;
    const seen: string[] = [];
    const out = await waitForRequest({
      timeoutMs: 60_000,
      ...c,
      get: async () => request(++calls < 10 ? ["pending", "applied"] : ["applied", "applied"]),
      progress: (r) => seen.push(r!.targets.map((t) => t.state).join()),
    });
    expect(out).toMatchObject({ kind: "settled", code: EXIT_APPLIED });
    expect(c.sleeps).toEqual([200, 300, 450, 675, 1013, 1520, 2000, 2000, 2000]);
    expect(seen).toEqual(["pending,applied"]); // progress only when the states change
  });

  it("waits for every target to settle, then 1 when any is not applied", async () => {
    const c = clock();
    const states: TargetState[][] = [
      ["rejected", "pending"],
      ["rejected", "applying"],
      ["rejected", "applied"],
    ];
    let i = 0;
    const out = await waitForRequest({ timeoutMs: 60_000, ...c, get: async () => request(states[i++]!) });
    expect(out).toMatchObject({ kind: "settled", code: EXIT_NOT_APPLIED });
    expect(i).toBe(3);
  });

  it("stops at the deadline with the last request read; sleeps never pass it", async () => {
    const c = clock();
    const out = await waitForRequest({ timeoutMs: 1000, ...c, get: async () => request(["pending"]) });
    expect(out.kind).toBe("timeout");
    expect(c.sleeps.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(out.request?.targets[0]?.state).toBe("pending");
  });

  it("waits out transient errors once the request was seen; other errors end the wait", async () => {
    const c = clock();
    let calls = 0;
    const down = Object.assign(new Error("down"), { code: "BROKER_UNREACHABLE" });
    const flaky = async () => {
      if (++calls < 3) throw down;
      return request(["applied"]);
    };
    const out = await waitForRequest({ timeoutMs: 60_000, ...c, initial: request(["pending"]), get: flaky });
    expect(out).toMatchObject({ kind: "settled", code: EXIT_APPLIED });
    // Never seen: the first failure is the answer (no silent day-long wait on a broken set-up).
    calls = 0;
    await expect(waitForRequest({ timeoutMs: 60_000, ...clock(), get: flaky })).rejects.toBe(down);
    const gone = Object.assign(new Error("no such request"), { code: "REQUEST_NOT_FOUND" });
    await expect(
      waitForRequest({
        timeoutMs: 60_000,
        ...clock(),
        get: async () => {
          throw gone;
        },
      }),
    ).rejects.toBe(gone);
  });
});

describe("notAppliedLines", () => {
  it("names each target that was not applied: who, why and a code", () => {
    const r = request(
      ["applied", "rejected", "failed", "cancelled", "expired"],
      [
        { time: "t", actor: "bob@example.com", type: "reject", target: 1, detail: { reason: "too broad" } },
        { time: "t", actor: "alice@example.com", type: "cancel", target: 3, detail: {} },
      ],
    );
    expect(notAppliedLines(r)).toEqual([
      `gatehouse: request abc: ${ARN(1)} rejected by bob@example.com: too broad [REQUEST_REJECTED]`,
      `gatehouse: request abc: ${ARN(2)} failed: PutRolePolicy was denied [AWS_DENIED]`,
      `gatehouse: request abc: ${ARN(3)} cancelled by alice@example.com [REQUEST_CANCELLED]`,
      `gatehouse: request abc: ${ARN(4)} expired [REQUEST_EXPIRED]`,
    ]);
  });
});

describe("parseTimeout", () => {
  it("takes a whole number and s, m, h or d", () => {
    expect(parseTimeout("30s")).toBe(30);
    expect(parseTimeout("10m")).toBe(600);
    expect(parseTimeout("2h")).toBe(7200);
    expect(parseTimeout("1d")).toBe(86_400);
    for (const bad of ["0s", "soon", "1.5h", "-1m", "10", ""]) expect(parseTimeout(bad)).toBeNull();
  });
});
