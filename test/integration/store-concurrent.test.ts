// Several broker processes on one PostgreSQL database at once (the replicas): their audit rows
// form one unbroken chain, racing approvals and moves of one target take turns, and a webhook delivery
// is claimed by one sender only. Each process is a real child with its own connection.

import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { openRequestsStore } from "../../broker/requests-store.ts";
import { openStore } from "../../broker/store.ts";
import { storeEngines } from "../support/store-engines.ts";

const CHILD = join(import.meta.dirname, "../support/store-child.ts");
const engines = storeEngines();

type Outcome = { ok: true; value: unknown } | { ok: false; code: string };

/** Start every command as its own process, let them all go at once, and collect what each printed. */
async function together(commands: string[][]): Promise<Outcome[]> {
  const children: ChildProcess[] = commands.map((args) =>
    spawn(process.execPath, ["--import", "tsx", CHILD, ...args], { stdio: ["pipe", "pipe", "inherit"] }),
  );
  const lines = children.map((c) => createInterface({ input: c.stdout! })[Symbol.asyncIterator]());
  const next = async (i: number) => {
    const r = await lines[i]!.next();
    if (r.done) throw new Error(`child ${i} (${commands[i]!.join(" ")}) ended early`);
    return r.value;
  };
  await Promise.all(children.map(async (_, i) => expect(await next(i)).toBe("ready")));
  for (const c of children) c.stdin!.end("go\n");
  const out = await Promise.all(children.map(async (_, i) => JSON.parse(await next(i)) as Outcome));
  await Promise.all(
    children.map(
      (c) => new Promise((resolve) => (c.exitCode !== null ? resolve(null) : c.once("exit", resolve))),
    ),
  );
  return out;
}

describe("replicas on one PostgreSQL database", () => {
  it("four processes appending at once: one unbroken chain that verifies, every row once", async () => {
    const url = await engines.fresh("postgres");
    const store = openStore(await engines.open("postgres", url));
    store.appendAudit({ actor: "setup@example.com", action: "start", outcome: "ok" });
    const per = 40;
    const out = await together(
      ["p1", "p2", "p3", "p4"].map((p) => ["append", url, String(per), `${p}@example.com`]),
    );
    const seqs = out.map((o) => {
      expect(o.ok).toBe(true);
      return (o as { value: number[] }).value;
    });
    // Each process saw its own rows in order; together they are every seq after the first exactly once.
    for (const s of seqs) expect(s).toEqual([...s].sort((x, y) => x - y));
    expect(seqs.flat().sort((x, y) => x - y)).toEqual(Array.from({ length: 4 * per }, (_, i) => i + 2));
    expect(store.verifyAudit()).toEqual({ ok: true, count: 4 * per + 1, brokenAt: null, reason: null });
    for (const p of ["p1", "p2", "p3", "p4"])
      expect(store.listAudit({ actor: `${p}@example.com`, limit: 1000 })).toHaveLength(per);
  }, 120_000);

  it("racing approvals count one by one; the same person twice (any case) counts once; one move wins", async () => {
    const url = await engines.fresh("postgres");
    const requests = openRequestsStore(await engines.open("postgres", url));
    const create = (id: string) =>
      requests.create(
        {
          id,
          kind: "role-access",
          requester: { email: "alice@example.com", groups: ["engineers"] },
          justification: "incident",
          expirySeconds: 3600,
          policy: null,
          createdAt: new Date().toISOString(),
          targets: [
            {
              arn: "arn:aws:iam::111111111111:role/Billing",
              accountId: "111111111111",
              type: "role",
              name: "Billing",
              policyName: null,
              policy: null,
            },
          ],
        },
        "alice@example.com",
      );
    create("r1");
    const approvers = ["bob@example.com", "carol@example.com", "dave@example.com", "erin@example.com"];
    const counts = await together(approvers.map((who) => ["approve", url, "r1", who]));
    // Serialized on the target's row: each approval counted the ones committed before it.
    expect(counts.map((o) => (o.ok ? o.value : o.code)).sort()).toEqual([1, 2, 3, 4]);
    expect(requests.target("r1", 0)?.approvals).toBe(4);

    create("r2");
    const same = await together([
      ["approve", url, "r2", "bob@example.com"],
      ["approve", url, "r2", "BOB@example.com"],
    ]);
    expect(same.map((o) => (o.ok ? o.value : o.code)).sort()).toEqual([1, "ALREADY_APPROVED"]);
    expect(requests.target("r2", 0)?.approvals).toBe(1);

    const moves = await together(approvers.map((who) => ["move", url, "r1", who]));
    expect(moves.map((o) => (o.ok ? o.value : o.code)).sort()).toEqual([
      "ILLEGAL_TRANSITION",
      "ILLEGAL_TRANSITION",
      "ILLEGAL_TRANSITION",
      "approved",
    ]);
    expect(requests.get("r1")!.events.filter((e) => e.type === "approve")).toHaveLength(1);
  }, 120_000);

  it("a due webhook delivery claimed by four senders at once is sent by one", async () => {
    const url = await engines.fresh("postgres");
    const { outbox } = openRequestsStore(await engines.open("postgres", url));
    outbox.enqueue({ id: "d1", body: "{}" }, new Date(Date.now() - 1000));
    const claims = await together(Array.from({ length: 4 }, () => ["claim", url, "d1"]));
    expect(claims.map((o) => (o.ok ? o.value : o.code)).sort()).toEqual([1, null, null, null]);
    expect(outbox.get("d1")?.attempts).toBe(1);
  }, 120_000);
});
