// The change feed between replicas: what one connection publishes, another hears within its poll, once,
// in order; its own changes are skipped; rolled-back changes never arrive; old rows are pruned.

import { afterEach, describe, expect, it } from "vitest";
import { type Change, ChangeFeed } from "../../broker/db/changes.ts";
import { ENGINES, storeEngines } from "../support/store-engines.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const engines = storeEngines();

describe.each(ENGINES)("change feed on one %s database from two connections", (engine) => {
  const feeds: ChangeFeed[] = [];
  afterEach(() => {
    for (const f of feeds.splice(0)) f.stop();
  });

  async function two(opts: ConstructorParameters<typeof ChangeFeed>[2] = {}) {
    const database = await engines.fresh(engine);
    const dbs = [await engines.open(engine, database), await engines.open(engine, database)];
    const a = new ChangeFeed(dbs[0]!, "A", opts);
    const b = new ChangeFeed(dbs[1]!, "B", opts);
    feeds.push(a, b);
    return { a, b, dbs };
  }

  it("B hears A's change within a poll; A does not hear its own", async () => {
    const { a, b } = await two({ pollMs: 50 });
    const heardA: string[] = [];
    const heardB: Change[] = [];
    a.on("account", (k) => heardA.push(k)).start();
    b.on("account", (_k, c) => heardB.push(c)).start();
    const t0 = Date.now();
    a.publish("account", "222222222222");
    while (heardB.length === 0 && Date.now() - t0 < 5000) await sleep(10);
    expect(heardB).toHaveLength(1);
    expect(heardB[0]).toMatchObject({ topic: "account", key: "222222222222", origin: "A" });
    await sleep(150);
    expect(heardA).toEqual([]);
  });

  it("follows from the head at start: changes from before are not replayed", async () => {
    const { a, b } = await two();
    a.publish("role", "arn:aws:iam::222222222222:role/Old");
    const heard: string[] = [];
    b.on("role", (k) => heard.push(k)).start();
    a.publish("role", "arn:aws:iam::222222222222:role/New");
    expect(b.poll()).toBe(1);
    expect(heard).toEqual(["arn:aws:iam::222222222222:role/New"]);
    expect(b.poll()).toBe(0);
  });

  it("a change published in a transaction that rolls back never arrives", async () => {
    const { a, b, dbs } = await two();
    const heard: string[] = [];
    b.on("grant", (k) => heard.push(k)).start();
    expect(() =>
      dbs[0]!.transaction(() => {
        a.publish("grant", "rq-1/0");
        throw new Error("the write failed");
      }),
    ).toThrow("the write failed");
    dbs[0]!.transaction(() => a.publish("grant", "rq-2/0"));
    b.poll();
    expect(heard).toEqual(["rq-2/0"]);
  });

  it("a key changed many times between polls is reloaded once; topics keep their order", async () => {
    const { a, b } = await two();
    const heard: string[] = [];
    b.on("role", (k) => heard.push(`role ${k}`))
      .on("account", (k) => heard.push(`account ${k}`))
      .start();
    for (let i = 0; i < 5; i++) a.publish("role", "r1");
    a.publish("account", "a1");
    a.publish("role", "r2");
    expect(b.poll()).toBe(3);
    expect(heard).toEqual(["role r1", "account a1", "role r2"]);
  });

  it("a handler that throws does not stop the others", async () => {
    const errors: unknown[] = [];
    const { a, b } = await two({ onError: (e) => errors.push(e) });
    const heard: string[] = [];
    b.on("role", () => {
      throw new Error("boom");
    })
      .on("user", (k) => heard.push(k))
      .start();
    a.publish("role", "r");
    a.publish("user", "u");
    b.poll();
    expect(heard).toEqual(["u"]);
    expect(errors).toHaveLength(1);
  });

  it("prunes rows past the keep window; a follower that missed pruned rows reloads everything", async () => {
    let gaps = 0;
    const { a, b } = await two({ keepMs: 1000, onGap: () => gaps++ });
    b.on("role", () => undefined).start();
    const old = new Date(Date.now() - 10_000);
    a.publish("role", "seen", old);
    b.poll();
    a.publish("role", "missed-1", old);
    a.publish("role", "missed-2", old);
    a.publish("role", "fresh");
    expect(a.prune()).toBe(3);
    b.poll();
    expect(gaps).toBe(1);
  });

  it("refuses a malformed topic", async () => {
    const { a } = await two();
    expect(() => a.publish("Role; DROP", "x")).toThrow(expect.objectContaining({ code: "INTERNAL" }));
  });
});
