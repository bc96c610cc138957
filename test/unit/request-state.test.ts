// The request state machine: every legal transition, every illegal one refused, and expiry parsing.

import { describe, expect, it } from "vitest";
import { GatehouseError } from "../../shared/errors.ts";
import {
  createRequestSchema,
  expirySeconds,
  TARGET_EVENTS,
  TARGET_STATES,
  type TargetEvent,
  type TargetState,
  transition,
} from "../../shared/requests.ts";

const LEGAL: [TargetState, TargetEvent, TargetState][] = [
  ["pending", "approve", "approved"],
  ["pending", "reject", "rejected"],
  ["pending", "cancel", "cancelled"],
  ["approved", "apply", "applying"],
  ["approved", "cancel", "cancelled"],
  ["applying", "applied", "applied"],
  ["applying", "fail", "failed"],
  ["applying", "resume", "approved"],
  ["applied", "expire", "expired"],
  ["failed", "retry", "approved"],
  ["failed", "cancel", "cancelled"],
];

describe("transition", () => {
  it.each(LEGAL)("%s --%s--> %s", (from, event, to) => {
    expect(transition(from, event)).toBe(to);
  });

  const legal = new Set(LEGAL.map(([f, e]) => `${f}/${e}`));
  const illegal = TARGET_STATES.flatMap((s) =>
    TARGET_EVENTS.filter((e) => !legal.has(`${s}/${e}`)).map((e) => [s, e] as const),
  );

  it("covers every other pair as illegal", () => {
    expect(illegal.length + LEGAL.length).toBe(TARGET_STATES.length * TARGET_EVENTS.length);
  });

  it.each(illegal)("%s --%s--> refused with ILLEGAL_TRANSITION", (from, event) => {
    let err: unknown;
    try {
      transition(from, event);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatehouseError);
    expect((err as GatehouseError).code).toBe("ILLEGAL_TRANSITION");
  });

  it("terminal states accept nothing", () => {
    for (const s of ["expired", "rejected", "cancelled"] as const)
      for (const e of TARGET_EVENTS) expect(() => transition(s, e)).toThrow(GatehouseError);
  });
});

describe("expirySeconds", () => {
  it("reads ISO durations and seconds within 1 hour to 90 days", () => {
    expect(expirySeconds("PT1H", false)).toBe(3600);
    expect(expirySeconds("P7D", false)).toBe(7 * 86_400);
    expect(expirySeconds("P1DT12H", false)).toBe(86_400 + 43_200);
    expect(expirySeconds("P90D", false)).toBe(90 * 86_400);
    expect(expirySeconds(7200, false)).toBe(7200);
  });
  it("refuses too short, too long, malformed, and permanent unless allowed", () => {
    for (const bad of ["PT59M", "P91D", "1h", "P", "PT", 3599, 90 * 86_400 + 1, 1.5])
      expect(() => expirySeconds(bad, false)).toThrow(/expiry|ISO/);
    expect(() => expirySeconds("permanent", false)).toThrow(/permanent/);
    expect(expirySeconds("permanent", true)).toBeNull();
  });
});

describe("createRequestSchema", () => {
  const base = {
    kind: "inline-policy",
    targets: ["arn:aws:iam::222222222222:role/Billing"],
    policy: "{}",
    justification: "need to read billing reports",
    expiry: "PT8H",
  };
  it("accepts a well-formed request", () => {
    expect(createRequestSchema.safeParse(base).success).toBe(true);
  });
  it("requires a justification of 10-2000 characters", () => {
    expect(createRequestSchema.safeParse({ ...base, justification: "short" }).success).toBe(false);
    expect(createRequestSchema.safeParse({ ...base, justification: "x".repeat(2001) }).success).toBe(false);
    const { justification: _j, ...none } = base;
    expect(createRequestSchema.safeParse(none).success).toBe(false);
  });
  it("needs a policy for inline-policy and none for role-access; no duplicate targets", () => {
    const { policy: _p, ...noPolicy } = base;
    expect(createRequestSchema.safeParse(noPolicy).success).toBe(false);
    expect(createRequestSchema.safeParse({ ...base, kind: "role-access" }).success).toBe(false);
    expect(createRequestSchema.safeParse({ ...noPolicy, kind: "role-access" }).success).toBe(true);
    expect(
      createRequestSchema.safeParse({ ...base, targets: [base.targets[0], base.targets[0]] }).success,
    ).toBe(false);
  });
});
