// Fault injection for tests of callers: latency, throttling per account and action, and 5xx failures.

import { z } from "zod";
import { AwsError } from "./errors.ts";

export const faultSchema = z.strictObject({
  latencyMs: z.number().int().min(0).max(60_000).default(0),
  /** Probability (0..1) that a call fails with 503 ServiceUnavailable. */
  failureRate: z.number().min(0).max(1).default(0),
  throttles: z
    .array(
      z.strictObject({
        account: z
          .string()
          .regex(/^(\d{12}|\*)$/)
          .default("*"),
        action: z.string().min(1).default("*"),
        /** Probability (0..1) that a matching call is throttled. */
        probability: z.number().min(0).max(1).optional(),
        /** Calls per second allowed before `Throttling` (a token bucket, burst = one second's worth). */
        perSecond: z.number().positive().optional(),
      }),
    )
    .default([]),
  /** Seed for the probabilities' random numbers, so that a test sees the same faults on every run. */
  seed: z.number().int().min(0).max(0xffffffff).optional(),
});
export type FaultConfig = z.infer<typeof faultSchema>;

export class Faults {
  private config: FaultConfig = faultSchema.parse({});
  private buckets = new Map<string, { tokens: number; at: number }>();
  private random: () => number = Math.random;

  get(): FaultConfig {
    return this.config;
  }

  set(input: unknown): FaultConfig {
    this.config = faultSchema.parse(input);
    this.buckets.clear();
    this.random = this.config.seed === undefined ? Math.random : seeded(this.config.seed);
    return this.config;
  }

  /** Throw the injected error for this call, if any. */
  check(account: string, action: string, now: number): void {
    if (this.config.failureRate > 0 && this.random() < this.config.failureRate) {
      throw new AwsError("ServiceUnavailable", 503, "Service is unavailable. Please try again.", "Receiver");
    }
    for (const [i, t] of this.config.throttles.entries()) {
      if (t.account !== "*" && t.account !== account) continue;
      if (t.action !== "*" && t.action !== action) continue;
      if (t.probability !== undefined && this.random() < t.probability) throw throttled();
      if (t.perSecond !== undefined) {
        const key = `${i}/${account}/${action}`;
        const b = this.buckets.get(key) ?? { tokens: t.perSecond, at: now };
        b.tokens = Math.min(t.perSecond, b.tokens + ((now - b.at) / 1000) * t.perSecond);
        b.at = now;
        this.buckets.set(key, b);
        if (b.tokens < 1) throw throttled();
        b.tokens -= 1;
      }
    }
  }
}

/** mulberry32: a small, fast PRNG; enough for reproducible fault draws. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const throttled = () => new AwsError("Throttling", 400, "Rate exceeded");

/** `--throttle ACCOUNT:ACTION:SPEC` where SPEC is a probability (`0.3`) or a rate (`5/s`). */
export function parseThrottleFlag(spec: string): FaultConfig["throttles"][number] {
  const m = /^(\d{12}|\*):([A-Za-z*]+):(?:(0(?:\.\d+)?|1(?:\.0+)?)|(\d+(?:\.\d+)?)\/s)$/.exec(spec);
  if (!m)
    throw new Error(
      `--throttle expects ACCOUNT|*:ACTION|*:PROBABILITY or ACCOUNT|*:ACTION|*:N/s; got "${spec}"`,
    );
  return {
    account: m[1]!,
    action: m[2]!,
    ...(m[3] !== undefined ? { probability: Number(m[3]) } : {}),
    ...(m[4] !== undefined ? { perSecond: Number(m[4]) } : {}),
  };
}
