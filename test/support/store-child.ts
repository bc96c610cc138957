// Another broker process on the same database, for the tests of what replicas do at once. It opens the
// stores, prints "ready", waits for "go" on stdin so that every process starts together, does one thing
// and prints one JSON line: {"ok":true,"value":…} or {"ok":false,"code":…}.
//   append URL N ACTOR            N audit rows; value: their seqs
//   approve URL REQUEST APPROVER  approve target 0, committing 200 ms later (a replica slow to commit, so
//                                 racing approvals really overlap); value: the approvals that count after it
//   move URL REQUEST ACTOR        move target 0 by "approve"; value: the new state
//   claim URL DELIVERY            claim a webhook delivery; value: its attempts, or null

import { createInterface } from "node:readline";
import { openDb } from "../../broker/db/index.ts";
import { openRequestsStore } from "../../broker/requests-store.ts";
import { openStore } from "../../broker/store.ts";

const [op, url, a, b] = process.argv.slice(2);
const db = openDb(url!);
const store = openStore(db);
const requests = openRequestsStore(db);
console.log("ready");
await new Promise<void>((resolve) => {
  const rl = createInterface({ input: process.stdin });
  rl.once("line", () => {
    rl.close();
    resolve();
  });
});

const run = (): unknown => {
  switch (op) {
    case "append":
      return Array.from(
        { length: Number(a) },
        (_, i) =>
          store.appendAudit({ actor: b!, action: "credentials.issue", outcome: "ok", detail: { i } }).seq,
      );
    case "approve":
      return db.transaction(() => {
        const count = requests.approve(a!, 0, { approver: b!, comment: null, diff: null, expiresAt: null });
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
        return count;
      });
    case "move":
      return requests.move(a!, 0, "approve", b!);
    case "claim":
      return requests.outbox.claim(a!, new Date(), 60_000)?.attempts ?? null;
    default:
      throw new Error(`unknown op ${op}`);
  }
};
try {
  console.log(JSON.stringify({ ok: true, value: run() }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, code: (e as { code?: string }).code ?? String(e) }));
} finally {
  db.close();
}
