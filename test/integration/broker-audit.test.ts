// The audit log end to end: rows appended by real API calls, `gatehouse-broker audit verify` and
// `audit export` as real child processes on the real SQLite file, tampering done with better-sqlite3
// directly, and an acknowledged row surviving SIGKILL of a broker process (SECURITY.md item 30).
// test-store: sqlite-only — tampers with the file through better-sqlite3 and copies it with VACUUM INTO (SQLite itself); the PostgreSQL audit chain is covered by the store's engine tests.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditRow, auditHash } from "../../broker/store.ts";
import type { Emulator } from "../../dev/aws/server.ts";
import { brokerYaml, type StartedBroker, startTestBroker } from "../support/broker.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/gatehouse-broker.mjs");

const PEOPLE = {
  alice: { email: "alice@example.com", groups: ["engineers", "data"] },
  bob: { email: "bob@example.com", groups: ["platform-admins", "approvers"] },
  carol: { email: "carol@example.com", groups: [] },
};
type Who = keyof typeof PEOPLE;

let emulator: Emulator;
let issuer: TestIssuer;
const tokens: Partial<Record<Who, string>> = {};
const dirs: string[] = [];

const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "gatehouse-audit-"));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  for (const [who, p] of Object.entries(PEOPLE)) {
    tokens[who as Who] = await issuer.sign({ sub: who, aud: "gatehouse-broker", iss: issuer.issuer, ...p });
  }
});

afterAll(async () => {
  await issuer?.close();
  await emulator?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function call(url: string, who: Who, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tokens[who]}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Run `gatehouse-broker ARGS` to completion. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A config file in its own temp dir whose database is `database`. */
function configFor(database: string): string {
  const file = join(tempDir(), "gatehouse.yaml");
  writeFileSync(file, brokerYaml({ issuer: issuer.issuer, awsUrl: emulator.url, database }));
  return file;
}

function readRows(file: string): AuditRow[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT * FROM audit ORDER BY seq").all() as AuditRow[];
  } finally {
    db.close();
  }
}

describe("audit verify and export on a broker's database", () => {
  let broker: StartedBroker;
  let database: string;
  let config: string;
  let rowsAfterCalls: AuditRow[];

  beforeAll(async () => {
    broker = await startTestBroker({ issuer: issuer.issuer, awsUrl: emulator.url });
    database = broker.config.database;
    config = configFor(database);
    // Real API calls, each appending audit rows: sign-ins, issues, denials, a console URL, admin reads.
    expect((await call(broker.url, "alice", "GET", "/v1/me")).status).toBe(200);
    expect(
      (await call(broker.url, "alice", "POST", "/v1/credentials", { role: "prod/ReadOnly" })).status,
    ).toBe(200);
    expect((await call(broker.url, "alice", "POST", "/v1/credentials", { role: "prod/Admin" })).status).toBe(
      404,
    );
    expect(
      (await call(broker.url, "alice", "POST", "/v1/console", { role: "staging/Developer" })).status,
    ).toBe(200);
    expect((await call(broker.url, "carol", "GET", "/v1/sync")).status).toBe(403);
    expect((await call(broker.url, "bob", "GET", "/v1/audit")).status).toBe(200);
    expect((await call(broker.url, "bob", "POST", "/v1/credentials", { role: "prod/Admin" })).status).toBe(
      200,
    );
    rowsAfterCalls = readRows(database);
  });

  afterAll(async () => {
    await broker?.stop();
  });

  /** A consistent copy of the live database (VACUUM INTO), with its own config file. */
  function copy(): { file: string; config: string } {
    const file = join(tempDir(), "copy.sqlite");
    const db = new Database(database, { readonly: true });
    try {
      db.exec(`VACUUM INTO '${file.replaceAll("'", "''")}'`);
    } finally {
      db.close();
    }
    return { file, config: configFor(file) };
  }

  function tamper(file: string, sql: string, ...args: unknown[]): void {
    const db = new Database(file);
    try {
      const r = db.prepare(sql).run(...args);
      expect(r.changes).toBe(1);
    } finally {
      db.close();
    }
  }

  it("the API calls appended their rows, hash-chained", () => {
    const actions = rowsAfterCalls.map((r) => `${r.actor} ${r.action}:${r.outcome}`);
    expect(actions).toEqual([
      "alice@example.com signin.seen:ok",
      "alice@example.com credentials.issue:ok",
      "alice@example.com credentials.issue:denied",
      "alice@example.com console.url:ok",
      "carol@example.com signin.seen:ok",
      "carol@example.com admin.denied:denied",
      "bob@example.com signin.seen:ok",
      "bob@example.com audit.read:ok",
      "bob@example.com credentials.issue:ok",
    ]);
    expect(rowsAfterCalls.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const [i, r] of rowsAfterCalls.entries()) {
      expect(r.prev_hash).toBe(i === 0 ? "0".repeat(64) : rowsAfterCalls[i - 1]!.hash);
    }
    expect(JSON.stringify(rowsAfterCalls)).not.toMatch(/secretAccessKey|sessionToken|eyJ/);
  });

  it("`audit verify` prints verified and exits 0, also while the broker is running", async () => {
    const r = await cli(["audit", "verify", "--config", config]);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toContain(`audit log verified: ${rowsAfterCalls.length} rows, chain intact`);
  });

  it("an edited row's detail: exit 1, naming the row", async () => {
    const c = copy();
    tamper(c.file, "UPDATE audit SET detail = ? WHERE seq = 3", JSON.stringify({ code: "NOTHING_HAPPENED" }));
    const r = await cli(["audit", "verify", "--config", c.config]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("audit log BROKEN at row 3: row 3 was changed [AUDIT_BROKEN]");
    expect(r.stdout).not.toContain("verified");
  });

  it("an edited actor with the row's hash recomputed still breaks the chain at the next row", async () => {
    const c = copy();
    const row = rowsAfterCalls[1]!;
    const forged = { ...row, actor: "mallory@example.com", detail: JSON.parse(row.detail) };
    const hash = auditHash(row.prev_hash, forged);
    tamper(c.file, "UPDATE audit SET actor = ?, hash = ? WHERE seq = 2", forged.actor, hash);
    const r = await cli(["audit", "verify", "--config", c.config]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("BROKEN at row 3: row 3 does not follow row 2");
  });

  it("a deleted middle row: exit 1, naming the missing row", async () => {
    const c = copy();
    tamper(c.file, "DELETE FROM audit WHERE seq = 5");
    const r = await cli(["audit", "verify", "--config", c.config]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("BROKEN at row 5: row 5 is missing [AUDIT_BROKEN]");
  });

  it("a deleted newest row: exit 1", async () => {
    const c = copy();
    const last = rowsAfterCalls.length;
    tamper(c.file, "DELETE FROM audit WHERE seq = ?", last);
    const r = await cli(["audit", "verify", "--config", c.config]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`BROKEN at row ${last}: rows after ${last - 1} were deleted`);
    expect(r.stderr).toContain("[AUDIT_BROKEN]");
  });

  it("`audit export --out F` writes JSON lines equal to the rows; --after skips the first ones", async () => {
    const c = copy();
    const rows = readRows(c.file);
    const out = join(tempDir(), "audit.jsonl");
    const r = await cli(["audit", "export", "--config", c.config, "--out", out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`exported ${rows.length} audit rows`);
    const text = readFileSync(out, "utf8");
    expect(text.endsWith("\n")).toBe(true);
    const lines = text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual(
      rows.map((row) => ({
        seq: row.seq,
        time: row.time,
        actor: row.actor,
        action: row.action,
        target: row.target,
        outcome: row.outcome,
        detail: JSON.parse(row.detail),
        prevHash: row.prev_hash,
        hash: row.hash,
      })),
    );
    const after = await cli(["audit", "export", "--config", c.config, "--after", "6"]);
    expect(after.code).toBe(0);
    const seqs = after.stdout
      .trimEnd()
      .split("\n")
      .map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(seqs).toEqual(rows.filter((row) => row.seq > 6).map((row) => row.seq));
    const bad = await cli(["audit", "export", "--config", c.config, "--after", "-1"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("[BAD_ARGUMENT]");
  });

  // Last in this block: it adds a long history to the live database.
  it("`audit verify` does not report a break while the broker keeps appending rows", async () => {
    // A long history, so that walking the chain takes a while: 50,000 rows chained on from the head.
    const db = new Database(database);
    const head = db.prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").get() as {
      seq: number;
      hash: string;
    };
    const insert = db.prepare(
      "INSERT INTO audit (seq, time, actor, action, target, outcome, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    const HISTORY = 50_000;
    db.transaction(() => {
      let prev = head.hash;
      for (let seq = head.seq + 1; seq <= head.seq + HISTORY; seq++) {
        const e = {
          seq,
          time: new Date().toISOString(),
          actor: "history@example.com",
          action: "credentials.issue",
          target: "arn:aws:iam::222222222222:role/ReadOnly",
          outcome: "ok",
          detail: { n: seq },
        };
        const hash = auditHash(prev, e);
        insert.run(seq, e.time, e.actor, e.action, e.target, e.outcome, JSON.stringify(e.detail), prev, hash);
        prev = hash;
      }
      db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_head', ?)").run(
        JSON.stringify({ seq: head.seq + HISTORY, hash: prev }),
      );
    })();
    db.close();

    // Verify in a child process while real API calls (admin audit reads) keep appending rows.
    let done = false;
    const verify = cli(["audit", "verify", "--config", config]).finally(() => {
      done = true;
    });
    let appended = 0;
    while (!done) {
      expect((await call(broker.url, "bob", "GET", "/v1/audit?limit=1")).status).toBe(200);
      appended++;
    }
    const r = await verify;
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const verified = Number(/verified: (\d+) rows/.exec(r.stdout)?.[1]);
    const total = readRows(database).length;
    expect(appended).toBeGreaterThan(10);
    // It checked a snapshot taken while rows were still being appended.
    expect(verified).toBeGreaterThanOrEqual(head.seq + HISTORY);
    expect(verified).toBeLessThan(total);
    expect(broker.store.verifyAudit()).toMatchObject({ ok: true, count: total });
  }, 60_000);
});

describe("a broker process killed with SIGKILL", () => {
  let child: ChildProcess | undefined;

  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });

  /** Start `gatehouse-broker --config FILE` and wait for its URL and its first sync. */
  async function startBrokerProcess(config: string): Promise<{ proc: ChildProcess; url: string }> {
    const proc = spawn(process.execPath, [BIN, "--config", config], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    proc.stdout!.resume();
    let stderr = "";
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`broker did not start:\n${stderr}`)), 20_000);
      proc.stderr!.on("data", (d: Buffer) => {
        stderr += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      proc.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`broker exited with ${code}:\n${stderr}`));
      });
    });
    for (const until = Date.now() + 20_000; ; ) {
      const r = await fetch(`${url}/readyz`);
      if (r.status === 200) break;
      if (Date.now() > until) throw new Error("broker never became ready");
      await new Promise((r) => setTimeout(r, 50));
    }
    return { proc, url };
  }

  it("loses no acknowledged audit row", async () => {
    const dir = tempDir();
    const database = join(dir, "broker.sqlite");
    const config = configFor(database);
    const { proc, url } = await startBrokerProcess(config);

    // Several credential issues at once, every one acknowledged with 200, then SIGKILL at once.
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call(url, i % 2 ? "alice" : "bob", "POST", "/v1/credentials", {
          role: i % 2 ? "prod/ReadOnly" : "prod/Admin",
        }),
      ),
    );
    const exited = new Promise<NodeJS.Signals | null>((r) => proc.once("exit", (_c, signal) => r(signal)));
    proc.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    for (const r of responses) expect(r.status).toBe(200);
    const keys = responses.map((r) => r.json.accessKeyId as string);

    // The process died without closing the database: the write-ahead log is still beside it.
    expect(existsSync(`${database}-wal`)).toBe(true);
    const rows = readRows(database).filter((r) => r.action === "credentials.issue");
    const logged = rows.map((r) => (JSON.parse(r.detail) as { accessKeyId?: string }).accessKeyId);
    for (const k of keys) expect(logged).toContain(k);
    expect(rows.find((r) => r.actor === "alice@example.com")).toMatchObject({
      target: "arn:aws:iam::222222222222:role/ReadOnly",
      outcome: "ok",
    });

    // And the chain the killed process left verifies.
    const verify = await cli(["audit", "verify", "--config", config]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain("chain intact");
  }, 60_000);
});

describe("a bad config on the command line", () => {
  it("`gatehouse-broker --config bad.yaml` exits 2 with [CONFIG_INVALID] and the line", async () => {
    const file = join(tempDir(), "bad.yaml");
    const good = brokerYaml({ issuer: issuer.issuer, awsUrl: emulator.url, database: "broker.sqlite" });
    const bad = good.replace(
      "  spoke_role_name: GatehouseSpoke\n",
      "  spoke_role_name: GatehouseSpoke\n  spoke_role_name: Other\n",
    );
    expect(bad).not.toBe(good);
    writeFileSync(file, bad);
    const line = bad.split("\n").indexOf("  spoke_role_name: Other") + 1;
    const r = await cli(["--config", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:${line}: aws.spoke_role_name: duplicate key`);
    expect(r.stderr).toContain("[CONFIG_INVALID]");
    // The audit commands read the same config and refuse it the same way.
    const verify = await cli(["audit", "verify", "--config", file]);
    expect(verify.code).toBe(2);
    expect(verify.stderr).toContain(`${file}:${line}:`);
  });

  it("`audit verify` on a database that does not exist fails, and creates nothing", async () => {
    const dir = tempDir();
    const database = join(dir, "gone", "broker.sqlite");
    const config = configFor(database);
    for (const sub of ["verify", "export"]) {
      const r = await cli(["audit", sub, "--config", config]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`no broker database at ${database}`);
      expect(r.stdout).not.toContain("verified");
    }
    expect(existsSync(join(dir, "gone"))).toBe(false);
  });

  it("a missing config file and a missing --config also exit 2", async () => {
    const missing = await cli(["--config", join(tempDir(), "nope.yaml")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("[CONFIG_INVALID]");
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("--config FILE is required");
  });
});
