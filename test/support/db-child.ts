// A second process on the same database, for tests of what two brokers do at once (db-contract):
// `migrate` applies a slow migration list; `update` waits for "go" on stdin, then bumps a counter row
// and reports how long it waited. Prints one JSON line.

import { createInterface } from "node:readline";
import { openDb } from "../../broker/db/index.ts";
import { migrate } from "../../broker/db/migrate.ts";

const [op, database] = process.argv.slice(2);
const db = openDb(database!);

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

if (op === "migrate") {
  console.log("ready");
  await new Promise<void>((resolve) =>
    createInterface({ input: process.stdin }).once("line", () => resolve()),
  );
  const applied = migrate(db, "contract", [
    {
      version: 1,
      name: "log",
      up: "CREATE TABLE migration_log (version INTEGER NOT NULL, pid INTEGER NOT NULL)",
    },
    {
      version: 2,
      name: "slow",
      // Slow enough that the other process reaches migrate() while this one is inside it.
      up: (d) => {
        sleepSync(400);
        d.run("INSERT INTO migration_log (version, pid) VALUES (?, ?)", [2, process.pid]);
      },
    },
  ]);
  console.log(JSON.stringify({ applied }));
} else if (op === "update") {
  console.log("ready");
  await new Promise<void>((resolve) =>
    createInterface({ input: process.stdin }).once("line", () => resolve()),
  );
  const started = Date.now();
  const row = db.get<{ n: number }>("UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n");
  console.log(JSON.stringify({ waitedMs: Date.now() - started, n: row?.n }));
}
db.close();
