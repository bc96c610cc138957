// Leases between replicas: one holder at a time, takeover after expiry, renew/release only by the holder.

import { describe, expect, it } from "vitest";
import { Leases } from "../../broker/db/leases.ts";
import { ENGINES, storeEngines } from "../support/store-engines.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const engines = storeEngines();

describe.each(ENGINES)("leases on one %s database from two connections", (engine) => {
  async function two(): Promise<[Leases, Leases]> {
    const database = await engines.fresh(engine);
    return [
      new Leases(await engines.open(engine, database)),
      new Leases(await engines.open(engine, database)),
    ];
  }

  it("gives a key to one holder; the other is refused until it expires, then takes over", async () => {
    const [a, b] = await two();
    expect(a.tryClaim("sync:222222222222", "A", 300)).toBe(true);
    expect(b.tryClaim("sync:222222222222", "B", 300)).toBe(false);
    expect(b.holderOf("sync:222222222222")?.holder).toBe("A");
    // A holder claiming again extends its own lease.
    expect(a.tryClaim("sync:222222222222", "A", 300)).toBe(true);
    await sleep(400);
    expect(b.holderOf("sync:222222222222")).toBeUndefined();
    expect(b.tryClaim("sync:222222222222", "B", 10_000)).toBe(true);
    expect(a.holderOf("sync:222222222222")?.holder).toBe("B");
    // The old holder finds it lost: it can neither renew nor release B's lease.
    expect(a.renew("sync:222222222222", "A", 10_000)).toBe(false);
    expect(a.release("sync:222222222222", "A")).toBe(false);
    expect(b.holderOf("sync:222222222222")?.holder).toBe("B");
    expect(b.release("sync:222222222222", "B")).toBe(true);
    expect(a.tryClaim("sync:222222222222", "A", 10_000)).toBe(true);
  });

  it("many claims at once from both connections: exactly one wins", async () => {
    const [a, b] = await two();
    const wins = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        Promise.resolve().then(() => (i % 2 ? a : b).tryClaim("apply:r1/0", `holder-${i}`, 10_000)),
      ),
    );
    expect(wins.filter(Boolean)).toHaveLength(1);
    const winner = wins.indexOf(true);
    expect(a.holderOf("apply:r1/0")?.holder).toBe(`holder-${winner}`);
  });

  it("renew keeps a lease alive past its first TTL", async () => {
    const [a, b] = await two();
    expect(a.tryClaim("k", "A", 1000)).toBe(true);
    for (let i = 0; i < 4; i++) {
      await sleep(300);
      expect(a.renew("k", "A", 1000)).toBe(true);
    }
    expect(b.tryClaim("k", "B", 1000)).toBe(false);
  });

  it("hold() runs work once across replicas, renews while it runs, releases at the end", async () => {
    const [a, b] = await two();
    let running = 0;
    let max = 0;
    const work = async () => {
      running++;
      max = Math.max(max, running);
      await sleep(250);
      running--;
      return "done";
    };
    const [ra, rb] = await Promise.all([a.hold("sync:x", "A", 120, work), b.hold("sync:x", "B", 120, work)]);
    expect(max).toBe(1);
    expect([ra.ran, rb.ran].sort()).toEqual([false, true]);
    const refused = ra.ran ? rb : ra;
    expect(refused).toMatchObject({ ran: false });
    // Renewed past 2× the TTL while running, and released afterwards.
    expect(a.holderOf("sync:x")).toBeUndefined();
  });

  it("lists live leases by prefix; prefix wildcards are literal", async () => {
    const [a] = await two();
    a.tryClaim("sync:1", "A", 10_000);
    a.tryClaim("sync:2", "A", 10_000);
    a.tryClaim("syncX3", "A", 10_000);
    a.tryClaim("apply:r/0", "A", 10_000);
    expect(a.held("sync:").map((l) => l.key)).toEqual(["sync:1", "sync:2"]);
    expect(a.held("sync_")).toEqual([]);
    expect(a.held("%")).toEqual([]);
  });

  it("refuses hostile keys, holders and lifetimes with a stable code", async () => {
    const [a] = await two();
    for (const call of [
      () => a.tryClaim("", "A", 1000),
      () => a.tryClaim("k\nforged", "A", 1000),
      () => a.tryClaim("k", "A\u0000", 1000),
      () => a.tryClaim("k".repeat(201), "A", 1000),
      () => a.tryClaim("k", "A", -1),
      () => a.tryClaim("k", "A", 0.5),
      () => a.tryClaim("k", "A", 365 * 86_400_000),
      () => a.tryClaim("k", "A", Number.NaN),
    ])
      expect(call).toThrow(expect.objectContaining({ code: "BAD_REQUEST" }));
    expect(a.held("")).toEqual([]);
  });

  it("prunes long-expired rows only", async () => {
    const [a] = await two();
    a.tryClaim("old", "A", 1);
    a.tryClaim("live", "A", 60_000);
    await sleep(30);
    expect(a.prune(10)).toBe(1);
    expect(a.holderOf("live")?.holder).toBe("A");
  });
});
