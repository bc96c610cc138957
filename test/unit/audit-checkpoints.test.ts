// SECURITY 35, the parts on their own: a sink's checkpoints judged (forged, out of order, unchained,
// gaps, noise), the file sink (0600, a torn last line), the slice-by-slice walk agreeing with the
// one-snapshot walk on a real SQLite file, and the https sink's refusal of plain http off loopback.

import { generateKeyPairSync } from "node:crypto";
import { appendFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { checkpointDigest, GENESIS, keyIdOf, signCheckpoint } from "../../broker/audit/checkpoint.ts";
import { fileSink } from "../../broker/audit/sinks/file.ts";
import { sinkAt } from "../../broker/audit/sinks/index.ts";
import { checkCheckpoints, verifyInSlices, verifyWithCheckpoints } from "../../broker/audit/verify.ts";
import { openSqliteStore, type Store } from "../../broker/store.ts";
import type { SignedCheckpoint } from "../../shared/audit-checkpoint.ts";

const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "gatehouse-cpu-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A chain of n checkpoints (seq 10, 20, …), each chained to the one before. */
function chain(n: number, key = privateKey): SignedCheckpoint[] {
  const out: SignedCheckpoint[] = [];
  for (let i = 1; i <= n; i++) {
    const prev = out[i - 2];
    out.push(
      signCheckpoint(
        {
          v: 1,
          n: i,
          prev: prev ? checkpointDigest(prev) : GENESIS,
          seq: i * 10,
          hash: "a".repeat(64),
          rows: i * 10,
          headTime: null,
          time: new Date(Date.UTC(2026, 11, 7, 0, i)).toISOString(),
          keyId: keyIdOf(publicKey),
        },
        key,
      ),
    );
  }
  return out;
}

describe("SECURITY 35: a sink's checkpoints judged on their own", () => {
  it("a genuine chain passes", () => {
    const r = checkCheckpoints(chain(3), publicKey);
    expect(r).toMatchObject({ problems: [], warnings: [] });
    expect(r.valid.map((c) => c.n)).toEqual([1, 2, 3]);
  });

  it("another key's signature, and one changed field, are forged", () => {
    const other = generateKeyPairSync("ed25519").privateKey;
    const [a] = chain(1, other);
    const [b] = chain(1);
    const r = checkCheckpoints([a, { ...b!, rows: 0 }], publicKey);
    expect(r.valid).toEqual([]);
    expect(r.problems).toHaveLength(2);
    for (const p of r.problems) expect(p).toMatch(/^checkpoint #1 \(.+\) is forged/);
  });

  it("out of order and unchained are problems; a gap and noise are only warnings", () => {
    const [c1, c2, c3, c4] = chain(4);
    expect(checkCheckpoints([c2, c1], publicKey).problems[0]).toContain("out of order");
    const x = chain(2);
    // A genuine #2 of another history (same key) after this #1: does not follow it.
    const fork = signCheckpoint({ ...x[1]!, prev: "b".repeat(64) }, privateKey);
    expect(checkCheckpoints([c1, fork], publicKey).problems[0]).toContain("does not follow checkpoint #1");
    const gap = checkCheckpoints([c1, c2, c4, "{torn", 42], publicKey);
    expect(gap.problems).toEqual([]);
    expect(gap.warnings).toEqual([
      "entry 4 of the checkpoint sink is not a checkpoint; ignored",
      "entry 5 of the checkpoint sink is not a checkpoint; ignored",
      "checkpoints #3..#3 are not in this sink (a failed delivery, or removed)",
    ]);
    expect(c3).toBeDefined();
  });
});

describe("SECURITY 35: the file sink", () => {
  it("creates the file 0600, appends one line per checkpoint, and survives a torn last line", async () => {
    const path = join(tempDir(), "cp.jsonl");
    const sink = fileSink.open({ type: "file", path });
    const [c1, c2] = chain(2);
    await sink.write(c1!);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // A write in progress (or torn by a crash): a reader ignores the partial line…
    appendFileSync(path, '{"v":1,"n":');
    expect(await sink.read()).toEqual([c1]);
    // …and the next checkpoint starts on a line of its own.
    await sink.write(c2!);
    const entries = await sink.read();
    expect(entries).toEqual([c1, '{"v":1,"n":', c2]);
    const r = checkCheckpoints(entries, publicKey);
    expect(r.problems).toEqual([]);
    expect(r.valid).toEqual([c1, c2]);
    expect(await fileSink.open({ type: "file", path: join(tempDir(), "none.jsonl") }).read()).toEqual([]);
  });

  it("--checkpoints picks the sink by the location's form; plain http only on loopback", () => {
    expect(sinkAt("/var/log/cp.jsonl").name).toBe("file:/var/log/cp.jsonl");
    expect(sinkAt("https://audit.example.com/cp?token=secret").name).toBe("https:https://audit.example.com");
    expect(sinkAt("http://127.0.0.1:9/cp").name).toBe("https:http://127.0.0.1:9");
    expect(() => sinkAt("http://audit.example.com/cp")).toThrow(/plain http only on loopback/);
  });
});

describe("SECURITY 35: the walk in slices agrees with the walk in one snapshot", () => {
  function storeWith(rows: number): { store: Store; file: string } {
    const file = join(tempDir(), "broker.sqlite");
    const store = openSqliteStore(file);
    for (let i = 0; i < rows; i++)
      store.appendAudit({
        actor: `p${i}@example.com`,
        action: "credentials.issue",
        outcome: "ok",
        detail: { i },
      });
    return { store, file };
  }

  function signedAt(store: Store, seqs: number[]): SignedCheckpoint[] {
    const out: SignedCheckpoint[] = [];
    for (const seq of seqs) {
      const row = store.auditSnapshot((s) => s.row(seq))!;
      const prev = out[out.length - 1];
      out.push(
        signCheckpoint(
          {
            v: 1,
            n: out.length + 1,
            prev: prev ? checkpointDigest(prev) : GENESIS,
            seq,
            hash: row.hash,
            rows: seq,
            headTime: row.time,
            time: new Date().toISOString(),
            keyId: keyIdOf(publicKey),
          },
          privateKey,
        ),
      );
    }
    return out;
  }

  it("intact, truncated with the head moved, and emptied: the same verdicts with slices of 7 rows", async () => {
    const { store, file } = storeWith(40);
    const cps = signedAt(store, [10, 25, 40]);
    const both = async () => ({
      snapshot: store.auditSnapshot((s) => verifyWithCheckpoints(s, cps, publicKey)).problems,
      slices: await verifyInSlices(store, cps, { chunk: 7 }),
    });
    expect(await both()).toEqual({ snapshot: [], slices: [] });
    const db = new Database(file);
    db.prepare("DELETE FROM audit WHERE seq > 30").run();
    const h = db.prepare("SELECT hash FROM audit WHERE seq = 30").get() as { hash: string };
    db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_head'").run(
      JSON.stringify({ seq: 30, hash: h.hash }),
    );
    const truncated = await both();
    expect(truncated.slices).toEqual(truncated.snapshot);
    expect(truncated.slices[0]).toContain("rows 31..40 were removed and the head moved back");
    // A slice boundary exactly at the end of the log (28 = 4 × 7) changes nothing.
    db.prepare("DELETE FROM audit WHERE seq > 28").run();
    const h28 = db.prepare("SELECT hash FROM audit WHERE seq = 28").get() as { hash: string };
    db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_head'").run(
      JSON.stringify({ seq: 28, hash: h28.hash }),
    );
    const at28 = await both();
    expect(at28.slices).toEqual(at28.snapshot);
    expect(at28.slices[0]).toContain("rows 29..40 were removed");
    db.prepare("DELETE FROM audit").run();
    db.prepare("DELETE FROM meta WHERE key = 'audit_head'").run();
    db.close();
    const emptied = await both();
    expect(emptied.slices).toEqual(emptied.snapshot);
    expect(emptied.slices[0]).toContain("the log was emptied");
    store.close();
  });

  it("a plain edit (no recomputation) is a chain break in both", async () => {
    const { store, file } = storeWith(20);
    const cps = signedAt(store, [20]);
    const db = new Database(file);
    db.prepare("UPDATE audit SET actor = 'mallory@example.com' WHERE seq = 12").run();
    db.close();
    const slices = await verifyInSlices(store, cps, { chunk: 5 });
    expect(slices).toEqual(store.auditSnapshot((s) => verifyWithCheckpoints(s, cps, publicKey)).problems);
    expect(slices).toEqual(["the chain is broken at row 12: row 12 was changed"]);
    store.close();
  });
});
