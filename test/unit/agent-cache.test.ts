// The agent's credential cache on a fake clock with a fake broker handing out short-lived credentials: hours
// of callers never get credentials about to expire, one fetch per role at a time, errors are not cached, and
// a failing broker is survived on what is still valid, then reported. Also the agent's use of it when the
// broker is down for longer than its role list is kept.

import { afterEach, describe, expect, it, vi } from "vitest";
import { Agent, type AgentSession } from "../../electron/agent/agent.ts";
import type { BrokerClient } from "../../electron/agent/broker-client.ts";
import { type CachedCredentials, CredentialCache, decide } from "../../electron/agent/cache.ts";
import { settingsSchema } from "../../electron/agent/settings.ts";
import type { Role } from "../../shared/api.ts";
import { GatehouseError } from "../../shared/errors.ts";

const MINUTE = 60_000;
const MIN_VALIDITY = MINUTE;
const START = Date.parse("2030-01-01T00:00:00Z");

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

/** Handles a promise at once (it may settle while the clock moves); the function gives its outcome later. */
function later<T>(p: Promise<T>): () => Promise<T> {
  const kept = p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  return () => kept.then((r) => ("error" in r ? Promise.reject(r.error) : r.value));
}

/**
 * A fake broker on a fake clock: each fetch answers `latencyMs` later (when the test moves the clock past
 * it) with credentials that expire `lifetimeMs` after the fetch began, or fails while `failing` is set.
 */
function fakeBroker(opts: { lifetimeMs: (key: string) => number; latencyMs: () => number }) {
  const broker = {
    now: START,
    failing: false,
    fetches: 0,
    inflight: new Map<string, number>(),
    maxInflight: 0,
    pending: [] as { at: number; settle: () => void }[],
    fetch: (key: string): Promise<CachedCredentials> => {
      const n = ++broker.fetches;
      const started = broker.now;
      const inflight = (broker.inflight.get(key) ?? 0) + 1;
      broker.inflight.set(key, inflight);
      broker.maxInflight = Math.max(broker.maxInflight, inflight);
      return new Promise<CachedCredentials>((resolve, reject) => {
        broker.pending.push({
          at: started + opts.latencyMs(),
          settle: () => {
            broker.inflight.set(key, broker.inflight.get(key)! - 1);
            if (broker.failing) return reject(new Error("broker unreachable"));
            resolve({
              accessKeyId: `ASIA${key}${n}`,
              secretAccessKey: "secret",
              sessionToken: "token",
              expiration: new Date(started + opts.lifetimeMs(key)).toISOString(),
            });
          },
        });
      });
    },
    /** Moves the clock forward, answering each pending fetch at its time. */
    async advance(ms: number) {
      const target = broker.now + ms;
      for (;;) {
        broker.pending.sort((x, y) => x.at - y.at);
        const next = broker.pending[0];
        if (!next || next.at > target) break;
        broker.pending.shift();
        broker.now = Math.max(broker.now, next.at);
        next.settle();
        await flush();
      }
      broker.now = target;
      await flush();
    },
  };
  return broker;
}

describe("decide", () => {
  it("fetches when nothing is cached or too little is left, refreshes in the window, else serves", () => {
    expect(decide(undefined, 0, 10 * MINUTE, MINUTE)).toBe("fetch");
    expect(decide(MINUTE, 0, 10 * MINUTE, MINUTE)).toBe("fetch");
    expect(decide(MINUTE + 1, 0, 10 * MINUTE, MINUTE)).toBe("refresh-in-background");
    expect(decide(10 * MINUTE, 0, 10 * MINUTE, MINUTE)).toBe("refresh-in-background");
    expect(decide(10 * MINUTE + 1, 0, 10 * MINUTE, MINUTE)).toBe("fresh");
    expect(decide(-1, 0, 10 * MINUTE, MINUTE)).toBe("fetch");
  });
});

describe("CredentialCache on a fake clock", () => {
  it("hours of callers: never less than minValidityMs left, one fetch per role at a time, few fetches", async () => {
    const rand = random(20300101);
    // 15-minute credentials (refreshed 10 minutes before expiry) and 5-minute ones, always inside the window.
    const lifetimes: Record<string, number> = { A: 15 * MINUTE, B: 5 * MINUTE };
    const broker = fakeBroker({
      lifetimeMs: (key) => lifetimes[key]!,
      latencyMs: () => Math.floor(rand() * 20_000),
    });
    const cache = new CredentialCache(broker.fetch, {
      refreshWindowMs: 10 * MINUTE,
      minValidityMs: MIN_VALIDITY,
      now: () => broker.now,
    });
    const served: { key: string; left: number; expired: boolean }[] = [];
    const failures: unknown[] = [];
    let asked = 0;
    const ask = (key: string) => {
      asked++;
      cache.get(key).then(
        (c) => {
          const left = Date.parse(c.expiration) - broker.now;
          served.push({ key, left, expired: left <= 0 });
        },
        (e: unknown) => failures.push(e),
      );
    };
    for (let t = 0; t < 6 * 60 * MINUTE; ) {
      const step = Math.floor(rand() * 120_000);
      t += step;
      await broker.advance(step);
      // Bursts of callers, some arriving while a fetch is under way.
      const burst = Math.floor(rand() * 5);
      for (let i = 0; i < burst; i++) ask(rand() < 0.5 ? "A" : "B");
      await flush();
    }
    await broker.advance(MINUTE);
    expect(failures).toEqual([]);
    expect(served.length).toBe(asked);
    expect(asked).toBeGreaterThan(500);
    expect(served.filter((s) => s.left < MIN_VALIDITY)).toEqual([]);
    expect(broker.maxInflight).toBe(1);
    // Refreshes follow expiry, not callers: about one per lifetime minus the window, per role.
    expect(broker.fetches).toBeLessThan(asked / 2);
  });

  it("a failed fetch is not cached: the next caller fetches again", async () => {
    const broker = fakeBroker({ lifetimeMs: () => 15 * MINUTE, latencyMs: () => 0 });
    const cache = new CredentialCache(broker.fetch, { refreshWindowMs: 10 * MINUTE, now: () => broker.now });
    broker.failing = true;
    const first = later(cache.get("A"));
    const second = later(cache.get("A"));
    await broker.advance(0);
    await expect(first()).rejects.toThrow("broker unreachable");
    await expect(second()).rejects.toThrow("broker unreachable");
    expect(broker.fetches).toBe(1);
    expect(cache.list()).toEqual([]);
    broker.failing = false;
    const third = later(cache.get("A"));
    await broker.advance(0);
    expect((await third()).accessKeyId).toBe("ASIAA2");
    expect(broker.fetches).toBe(2);
  });

  it("while the broker fails, valid credentials are served until minValidityMs before expiry, then the error", async () => {
    const broker = fakeBroker({ lifetimeMs: () => 15 * MINUTE, latencyMs: () => 0 });
    const cache = new CredentialCache(broker.fetch, { refreshWindowMs: 10 * MINUTE, now: () => broker.now });
    const got = later(cache.get("A"));
    await broker.advance(0);
    const first = await got();
    const expiresAt = Date.parse(first.expiration);
    broker.failing = true;
    let servedUntil = 0;
    let failedAt: number | undefined;
    while (failedAt === undefined) {
      await broker.advance(10_000);
      const p = later(cache.get("A"));
      await broker.advance(0);
      try {
        const c = await p();
        expect(c.accessKeyId).toBe(first.accessKeyId);
        expect(expiresAt - broker.now).toBeGreaterThan(MIN_VALIDITY);
        servedUntil = broker.now;
      } catch (e) {
        expect((e as Error).message).toBe("broker unreachable");
        failedAt = broker.now;
      }
    }
    // Served through the refresh window (background refreshes failing quietly), refused at one minute left.
    expect(servedUntil).toBe(expiresAt - MIN_VALIDITY - 10_000);
    expect(failedAt).toBe(expiresAt - MIN_VALIDITY);
    expect(broker.fetches).toBeGreaterThan(30);
    expect(broker.maxInflight).toBe(1);
    // And it stays an error (nothing expired is ever served) until the broker is back.
    await broker.advance(2 * MINUTE);
    const late = later(cache.get("A"));
    await broker.advance(0);
    await expect(late()).rejects.toThrow("broker unreachable");
    broker.failing = false;
    const back = later(cache.get("A"));
    await broker.advance(0);
    expect(Date.parse((await back()).expiration) - broker.now).toBe(15 * MINUTE);
  });

  it("clear() keeps a fetch that was under way from filling the cache", async () => {
    const broker = fakeBroker({ lifetimeMs: () => 15 * MINUTE, latencyMs: () => 5000 });
    const cache = new CredentialCache(broker.fetch, { refreshWindowMs: 10 * MINUTE, now: () => broker.now });
    const before = later(cache.get("A"));
    await flush();
    cache.clear();
    const after = later(cache.get("A"));
    await broker.advance(5000);
    const [old, fresh] = await Promise.all([before(), after()]);
    expect(old.accessKeyId).toBe("ASIAA1");
    expect(fresh.accessKeyId).toBe("ASIAA2");
    expect(cache.list()).toEqual([{ key: "A", expiration: fresh.expiration }]);
    expect((await cache.get("A")).accessKeyId).toBe("ASIAA2");
  });
});

describe("Agent with the broker down", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const role: Role = {
    ref: "staging/Developer",
    accountId: "333333333333",
    accountName: "staging",
    roleName: "Developer",
    arn: "arn:aws:iam::333333333333:role/Developer",
    description: null,
    cliOnly: false,
    maxSessionDuration: 3600,
    tags: {},
  };

  it("keeps serving cached credentials after its minute-old role list, and says BROKER_UNREACHABLE for others", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(START);
    let down = false;
    let credentialCalls = 0;
    const unreachable = () => new GatehouseError("BROKER_UNREACHABLE", "the broker cannot be reached");
    const broker = {
      roles: async () => {
        if (down) throw unreachable();
        return [role, { ...role, ref: "prod/ReadOnly", accountId: "222222222222", accountName: "prod" }];
      },
      credentials: async () => {
        credentialCalls++;
        if (down) throw unreachable();
        return {
          accessKeyId: "ASIACACHED",
          secretAccessKey: "secret",
          sessionToken: "token",
          expiration: new Date(Date.now() + 60 * MINUTE).toISOString(),
        };
      },
    } as unknown as BrokerClient;
    const session = {} as AgentSession;
    const agent = new Agent(settingsSchema.parse({}), session, broker);
    expect((await agent.credentials("staging/Developer")).accessKeyId).toBe("ASIACACHED");
    down = true;
    // Past the role list's minute, short of the credentials' refresh window.
    vi.setSystemTime(START + 5 * MINUTE);
    expect((await agent.credentials("staging/Developer")).accessKeyId).toBe("ASIACACHED");
    expect(credentialCalls).toBe(1);
    await expect(agent.credentials("prod/ReadOnly")).rejects.toMatchObject({ code: "BROKER_UNREACHABLE" });
    await expect(agent.credentials("prod/Admin")).rejects.toMatchObject({ code: "BROKER_UNREACHABLE" });
    // Inside the minute before expiry the cache refuses, with the broker's error.
    vi.setSystemTime(START + 59.5 * MINUTE);
    await expect(agent.credentials("staging/Developer")).rejects.toMatchObject({
      code: "BROKER_UNREACHABLE",
    });
  });
});
