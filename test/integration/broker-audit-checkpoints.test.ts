// SECURITY 35: an audit that survives a database writer. A real broker on a real SQLite file signs
// checkpoints of its chain head into a real file and a real HTTP receiver on loopback; the database is
// then tampered with as its writer could (truncated with the head moved, an edit with the chain
// recomputed with the store's own hash, emptied) and `gatehouse-broker audit verify --checkpoints`
// finds each with the public key and the sink only; a forged checkpoint is refused; a broker started on
// a tampered database says so (readyz, metric, webhook, log) and refuses changes; the key is checked.
// test-store: sqlite-only — copies and tampers with the SQLite file directly, and checks key files against the database's folder, which a postgres:// URL has not.

import { execFile, execFileSync, spawn } from "node:child_process";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkpointDigest, keyIdOf, signCheckpoint } from "../../broker/audit/checkpoint.ts";
import { type AuditRow, auditHash } from "../../broker/store.ts";
import type { Emulator } from "../../dev/aws/server.ts";
import type { SignedCheckpoint } from "../../shared/audit-checkpoint.ts";
import { brokerYaml, type StartedBroker, startTestBroker } from "../support/broker.ts";
import { CheckpointReceiver } from "../support/checkpoint-receiver.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { HookReceiver, until } from "../support/requests.ts";
import { signTokens, startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/gatehouse-broker.mjs");
const PEOPLE = {
  alice: { email: "alice@example.com", groups: ["engineers", "data"] },
  bob: { email: "bob@example.com", groups: ["platform-admins", "approvers"] },
};
type Who = keyof typeof PEOPLE;

let emulator: Emulator;
let issuer: TestIssuer;
let tokens: Record<Who, string>;
const dirs: string[] = [];
const tempDir = (mode = 0o700) => {
  const d = mkdtempSync(join(tmpdir(), "gatehouse-cp-"));
  chmodSync(d, mode);
  dirs.push(d);
  return d;
};

interface Keys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  privateFile: string;
  publicFile: string;
  privatePem: string;
}

/** An Ed25519 pair in its own private folder (0700; the private key 0600). */
function makeKeys(dir = tempDir()): Keys {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  const privateFile = join(dir, "audit-key.pem");
  const publicFile = join(dir, "audit-key.pub.pem");
  writeFileSync(privateFile, privatePem, { mode: 0o600 });
  writeFileSync(publicFile, publicKey.export({ type: "spki", format: "pem" }) as string);
  return { privateKey, publicKey, privateFile, publicFile, privatePem };
}

/** The `audit:` block of a broker config. */
function auditYaml(o: {
  key: string;
  publicFile: string;
  file?: string;
  url?: string;
  everyRows?: number;
  intervalSeconds?: number;
  verifySeconds?: number;
  onTamper?: "refuse" | "serve";
  webhook?: string;
}): string {
  const sinks = [
    ...(o.file ? [`      - { type: file, path: ${o.file} }`] : []),
    ...(o.url
      ? [`      - { type: https, url: "${o.url}", max_attempts: 2, backoff_ms: 10, timeout_ms: 2000 }`]
      : []),
  ];
  return `audit:
  checkpoints:
    ${o.key}
    public_key_file: ${o.publicFile}
    interval_seconds: ${o.intervalSeconds ?? 3600}
    every_rows: ${o.everyRows ?? 4}
    sinks:
${sinks.join("\n")}
  verify_interval_seconds: ${o.verifySeconds ?? 3600}
  on_tamper: ${o.onTamper ?? "refuse"}
${o.webhook ? `requests:\n  webhook_url: ${o.webhook}\n  webhook_backoff_ms: 10\n` : ""}`;
}

async function call(url: string, who: Who, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tokens[who]}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text };
}

/** `gatehouse-broker ARGS`, with no audit key anywhere in its environment. */
function cli(
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, ...extraEnv };
  delete env.GATEHOUSE_TEST_AUDIT_KEY;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** A config naming only the database (no audit section, no key): what an auditor runs verify with. */
function verifierConfig(database: string): string {
  const file = join(tempDir(), "gatehouse.yaml");
  writeFileSync(file, brokerYaml({ issuer: issuer.issuer, awsUrl: emulator.url, database }));
  return file;
}

/** A copy of a database in a folder of its own (`dir/broker.sqlite`, where a test broker would open it). */
function copyDb(file: string): { dir: string; file: string } {
  const dir = tempDir();
  const to = join(dir, "broker.sqlite");
  const db = new Database(file, { readonly: true });
  try {
    db.exec(`VACUUM INTO '${to.replaceAll("'", "''")}'`);
  } finally {
    db.close();
  }
  return { dir, file: to };
}

function withDb<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

const rowsOf = (file: string) =>
  withDb(file, (db) => db.prepare("SELECT * FROM audit ORDER BY seq").all() as AuditRow[]);

const setHead = (db: Database.Database, seq: number, hash: string) =>
  db
    .prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_head', ?)")
    .run(JSON.stringify({ seq, hash }));

/** Delete every row after `keep` and move the head back to it: the plain chain check still passes. */
function truncate(file: string, keep: number): void {
  withDb(file, (db) => {
    db.prepare("DELETE FROM audit WHERE seq > ?").run(keep);
    const last = db.prepare("SELECT hash FROM audit WHERE seq = ?").get(keep) as { hash: string };
    setHead(db, keep, last.hash);
  });
}

/** Change row `seq`'s actor and recompute every hash from there on (the store's own auditHash). */
function rewrite(file: string, seq: number, actor: string): void {
  withDb(file, (db) => {
    const rows = db.prepare("SELECT * FROM audit WHERE seq >= ? ORDER BY seq").all(seq) as AuditRow[];
    const update = db.prepare("UPDATE audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?");
    let prev = rows[0]!.prev_hash;
    db.transaction(() => {
      for (const r of rows) {
        const e = { ...r, actor: r.seq === seq ? actor : r.actor, detail: JSON.parse(r.detail) };
        const hash = auditHash(prev, e);
        update.run(e.actor, prev, hash, r.seq);
        prev = hash;
      }
      setHead(db, rows[rows.length - 1]!.seq, prev);
    })();
  });
}

/** Delete every row and the head: an empty log, which the plain chain check calls intact. */
function empty(file: string): void {
  withDb(file, (db) => {
    db.prepare("DELETE FROM audit").run();
    db.prepare("DELETE FROM meta WHERE key = 'audit_head'").run();
  });
}

const readSink = (file: string) =>
  readFileSync(file, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as SignedCheckpoint);

async function metric(url: string, name: string): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(name))
    .join("\n");
}

beforeAll(async () => {
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  tokens = await signTokens(issuer, PEOPLE);
});

afterAll(async () => {
  await issuer?.close();
  await emulator?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("SECURITY 35: tampering found with only the public key and the checkpoint sink", () => {
  const receiver = new CheckpointReceiver();
  let keys: Keys;
  let sinkFile: string;
  let database: string;
  let rows: AuditRow[];

  beforeAll(async () => {
    await receiver.start();
    keys = makeKeys();
    sinkFile = join(tempDir(), "checkpoints.jsonl");
    const broker = await startTestBroker({
      issuer: issuer.issuer,
      awsUrl: emulator.url,
      extra: auditYaml({
        key: `private_key_file: ${keys.privateFile}`,
        publicFile: keys.publicFile,
        file: sinkFile,
        url: receiver.url,
        everyRows: 4,
      }),
      dir: tempDir(),
    });
    database = broker.config.database;
    for (let i = 0; i < 5; i++) {
      expect(
        (await call(broker.url, "alice", "POST", "/v1/credentials", { role: "prod/ReadOnly" })).status,
      ).toBe(200);
      expect((await call(broker.url, "bob", "GET", "/v1/audit?limit=1")).status).toBe(200);
    }
    await broker.stop(); // a last checkpoint covers the newest rows
    rows = rowsOf(database);
  });

  afterAll(() => receiver.close());

  it("the broker signed checkpoints every 4 rows and at its stop, the same into the file and the receiver", () => {
    expect(rows.length).toBe(12);
    const file = readSink(sinkFile);
    expect(file.length).toBeGreaterThanOrEqual(3);
    expect(file.map((c) => c.n)).toEqual(file.map((_, i) => i + 1));
    for (const [i, c] of file.entries()) {
      expect(c.prev).toBe(i === 0 ? "0".repeat(64) : checkpointDigest(file[i - 1]!));
      expect(c.keyId).toBe(keyIdOf(keys.publicKey));
    }
    const last = file[file.length - 1]!;
    expect(last).toMatchObject({ seq: 12, rows: 12, hash: rows[11]!.hash, headTime: rows[11]!.time });
    expect(receiver.held).toEqual(file);
    // The file sink is private, and the key is in neither the database nor the sink.
    expect(readFileSync(database).includes(keys.privatePem.split("\n")[1]!)).toBe(false);
  });

  it("an intact log verifies against the file and against the URL", async () => {
    const config = verifierConfig(database);
    for (const at of [sinkFile, receiver.url]) {
      const r = await cli([
        "audit",
        "verify",
        "--config",
        config,
        "--checkpoints",
        at,
        "--public-key",
        keys.publicFile,
      ]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/audit log verified: 12 rows, chain intact, matches \d+ signed checkpoints/);
    }
  });

  it("truncation with the head moved back: the plain check says intact, the checkpoints do not", async () => {
    const c = copyDb(database);
    truncate(c.file, 9);
    const config = verifierConfig(c.file);
    const plain = await cli(["audit", "verify", "--config", config]);
    expect(plain.code).toBe(0); // what the attack pass found: "intact"
    for (const at of [sinkFile, receiver.url]) {
      const r = await cli([
        "audit",
        "verify",
        "--config",
        config,
        "--checkpoints",
        at,
        "--public-key",
        keys.publicFile,
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("the log ends at row 9, but checkpoint #");
      expect(r.stderr).toContain("rows 10..12 were removed and the head moved back [AUDIT_BROKEN]");
      expect(r.stdout).not.toContain("verified");
    }
  });

  it("an edit with the chain recomputed with the store's hash: found, and placed between two checkpoints", async () => {
    const c = copyDb(database);
    rewrite(c.file, 6, "mallory@example.com");
    expect(rowsOf(c.file)[5]!.actor).toBe("mallory@example.com");
    const config = verifierConfig(c.file);
    expect((await cli(["audit", "verify", "--config", config])).code).toBe(0);
    const r = await cli([
      "audit",
      "verify",
      "--config",
      config,
      "--checkpoints",
      sinkFile,
      "--public-key",
      keys.publicFile,
    ]);
    expect(r.code).toBe(1);
    // Checkpoints signed rows 4 (still good) and 8 (rewritten): the edit lies in rows 5..8.
    const cps = readSink(sinkFile);
    const before = cps.filter((cp) => cp.seq < 6).pop()!;
    const after = cps.find((cp) => cp.seq >= 6)!;
    expect(r.stderr).toContain(
      `row ${after.seq} is not the row checkpoint #${after.n} (${after.time}) signed: rows ${before.seq + 1}..${after.seq} were rewritten and the chain recomputed`,
    );
  });

  it("an emptied table: found", async () => {
    const c = copyDb(database);
    empty(c.file);
    const config = verifierConfig(c.file);
    const plain = await cli(["audit", "verify", "--config", config]);
    expect(plain.stdout).toContain("audit log verified: 0 rows, chain intact");
    const r = await cli([
      "audit",
      "verify",
      "--config",
      config,
      "--checkpoints",
      receiver.url,
      "--public-key",
      keys.publicFile,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /the audit table is empty, but checkpoint #\d+ \([^)]+\) signed \d+ rows up to row \d+: the log was emptied/,
    );
  });

  it("a forged checkpoint (another key) that blesses a truncated log is refused", async () => {
    const c = copyDb(database);
    truncate(c.file, 9);
    const genuine = readSink(sinkFile);
    const last = genuine[genuine.length - 1]!;
    const truncatedRows = rowsOf(c.file);
    const mallory = generateKeyPairSync("ed25519");
    // Mallory appends a "newer" checkpoint of the truncated head, chained correctly, even naming our key id.
    const forged = signCheckpoint(
      {
        v: 1,
        n: last.n + 1,
        prev: checkpointDigest(last),
        seq: 9,
        hash: truncatedRows[8]!.hash,
        rows: 9,
        headTime: truncatedRows[8]!.time,
        time: new Date().toISOString(),
        keyId: keyIdOf(keys.publicKey),
      },
      mallory.privateKey,
    );
    const forgedSink = join(tempDir(), "forged.jsonl");
    // Also her rewrite of the whole sink: only her checkpoint, signed with her key.
    writeFileSync(forgedSink, `${readFileSync(sinkFile, "utf8")}${JSON.stringify(forged)}\n`);
    const config = verifierConfig(c.file);
    const r = await cli([
      "audit",
      "verify",
      "--config",
      config,
      "--checkpoints",
      forgedSink,
      "--public-key",
      keys.publicFile,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `checkpoint #${forged.n} (${forged.time}) is forged: its signature does not verify`,
    );
    const alone = join(tempDir(), "alone.jsonl");
    writeFileSync(alone, `${JSON.stringify({ ...forged, n: 1, prev: "0".repeat(64) })}\n`);
    const r2 = await cli([
      "audit",
      "verify",
      "--config",
      config,
      "--checkpoints",
      alone,
      "--public-key",
      keys.publicFile,
    ]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain("is forged");
    // A genuine checkpoint with one field changed (its row moved back) is forged too.
    const edited = join(tempDir(), "edited.jsonl");
    writeFileSync(edited, `${JSON.stringify({ ...last, seq: 9, rows: 9, hash: truncatedRows[8]!.hash })}\n`);
    const r3 = await cli([
      "audit",
      "verify",
      "--config",
      config,
      "--checkpoints",
      edited,
      "--public-key",
      keys.publicFile,
    ]);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toContain(`checkpoint #${last.n} (${last.time}) is forged`);
  });

  it("--checkpoints without --public-key, a bad URL and a missing sink are clear errors", async () => {
    const config = verifierConfig(database);
    const alone = await cli(["audit", "verify", "--config", config, "--checkpoints", sinkFile]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain("--checkpoints and --public-key go together [BAD_ARGUMENT]");
    const plainHttp = await cli([
      "audit",
      "verify",
      "--config",
      config,
      "--checkpoints",
      "http://example.com/cp",
      "--public-key",
      keys.publicFile,
    ]);
    expect(plainHttp.code).toBe(2);
    expect(plainHttp.stderr).toContain("plain http only on loopback");
    const down = await cli([
      "audit",
      "verify",
      "--config",
      config,
      "--checkpoints",
      "http://127.0.0.1:9/cp",
      "--public-key",
      keys.publicFile,
    ]);
    expect(down.code).toBe(2);
    expect(down.stderr).toContain("[CHECKPOINTS_UNAVAILABLE]");
    const notKey = await cli([
      "audit",
      "verify",
      "--config",
      config,
      "--checkpoints",
      sinkFile,
      "--public-key",
      sinkFile,
    ]);
    expect(notKey.code).toBe(2);
    expect(notKey.stderr).toContain("[AUDIT_KEY_INVALID]");
  });

  describe("a broker started on a tampered database", () => {
    const hook = new HookReceiver();
    let broker: StartedBroker;
    let sinkCopy: string;

    beforeAll(async () => {
      await hook.start();
      const c = copyDb(database);
      truncate(c.file, 9);
      sinkCopy = join(tempDir(), "checkpoints.jsonl");
      copyFileSync(sinkFile, sinkCopy);
      broker = await startTestBroker({
        issuer: issuer.issuer,
        awsUrl: emulator.url,
        dir: c.dir,
        extra: auditYaml({
          key: `private_key_file: ${keys.privateFile}`,
          publicFile: keys.publicFile,
          file: sinkCopy,
          webhook: hook.url,
        }),
      });
    });

    afterAll(async () => {
      await broker?.stop();
      await hook.close();
    });

    it("reports it: /readyz 503 with the detail, the metric, the webhook message and a log line", async () => {
      const ready = await fetch(`${broker.url}/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { status: string; detail: string };
      expect(body.status).toBe("audit-tampered");
      expect(body.detail).toContain("rows 10..12 were removed and the head moved back");
      expect(await metric(broker.url, "gatehouse_audit_integrity ")).toBe("gatehouse_audit_integrity 0");
      expect(await metric(broker.url, "gatehouse_audit_verifications_total")).toContain('outcome="failed"');
      await until(() => hook.got.some((d) => d.body.gatehouse.event === "audit-tampered"), 10_000, "webhook");
      const msg = hook.got.find((d) => d.body.gatehouse.event === "audit-tampered")!;
      expect(msg.body.text).toContain("Gatehouse AUDIT INTEGRITY FAILURE: ");
      expect(msg.body.text).toContain("rows 10..12 were removed");
      const log = broker.logs.map((l) => JSON.parse(l) as { msg: string; reason?: string; level: number });
      const line = log.find((l) => l.msg.startsWith("AUDIT INTEGRITY FAILURE"))!;
      expect(line.level).toBe(50);
      expect(line.reason).toContain("rows 10..12 were removed");
      // The failure is itself in the audit, and no checkpoint blessed the truncated log.
      expect(rowsOf(broker.config.database).some((r) => r.action === "audit.tampered")).toBe(true);
      expect(readSink(sinkCopy)).toEqual(readSink(sinkFile));
    });

    it("on_tamper: refuse (the default): credentials and every change answer 503 AUDIT_TAMPERED; reads go on", async () => {
      const cred = await call(broker.url, "alice", "POST", "/v1/credentials", { role: "prod/ReadOnly" });
      expect(cred.status).toBe(503);
      expect(cred.json.code).toBe("AUDIT_TAMPERED");
      expect(cred.text).not.toContain("secretAccessKey");
      const console = await call(broker.url, "alice", "POST", "/v1/console", { role: "prod/ReadOnly" });
      expect(console.json.code).toBe("AUDIT_TAMPERED");
      expect((await call(broker.url, "alice", "GET", "/v1/roles")).status).toBe(200);
      expect((await call(broker.url, "bob", "GET", "/v1/audit?limit=5")).status).toBe(200);
      // No new checkpoint is signed while the log is suspect, however many rows follow.
      await broker.audit.checkpoint();
      expect(readSink(sinkCopy)).toEqual(readSink(sinkFile));
    });
  });

  it("on_tamper: serve keeps issuing credentials but still reports the failure", async () => {
    const c = copyDb(database);
    empty(c.file);
    const sinkCopy = join(tempDir(), "checkpoints.jsonl");
    copyFileSync(sinkFile, sinkCopy);
    const broker = await startTestBroker({
      issuer: issuer.issuer,
      awsUrl: emulator.url,
      dir: c.dir,
      extra: auditYaml({
        key: `private_key_file: ${keys.privateFile}`,
        publicFile: keys.publicFile,
        file: sinkCopy,
        onTamper: "serve",
      }),
    });
    try {
      const ready = await fetch(`${broker.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { detail: string }).detail).toContain("the log was emptied");
      expect(
        (await call(broker.url, "alice", "POST", "/v1/credentials", { role: "prod/ReadOnly" })).status,
      ).toBe(200);
      expect(await metric(broker.url, "gatehouse_audit_integrity ")).toBe("gatehouse_audit_integrity 0");
    } finally {
      await broker.stop();
    }
  });
});

describe("SECURITY 35: the running broker", () => {
  it("signs a checkpoint on its interval when rows were added, none when nothing changed", async () => {
    const keys = makeKeys();
    const sink = join(tempDir(), "checkpoints.jsonl");
    const broker = await startTestBroker({
      issuer: issuer.issuer,
      awsUrl: emulator.url,
      dir: tempDir(),
      extra: auditYaml({
        key: `private_key_file: ${keys.privateFile}`,
        publicFile: keys.publicFile,
        file: sink,
        everyRows: 1000,
        intervalSeconds: 1,
      }),
    });
    try {
      await until(() => existsSync(sink), 10_000, "the first checkpoint");
      expect(
        (await call(broker.url, "alice", "POST", "/v1/credentials", { role: "prod/ReadOnly" })).status,
      ).toBe(200);
      const rows = rowsOf(broker.config.database).length;
      await until(() => readSink(sink).some((c) => c.seq === rows), 15_000, "the interval's checkpoint");
      const n = readSink(sink).length;
      // Nothing new: the next intervals sign nothing.
      await new Promise((r) => setTimeout(r, 2500));
      expect(readSink(sink).length).toBe(n);
      expect(statSync(sink).mode & 0o777).toBe(0o600);
    } finally {
      await broker.stop();
    }
  });

  it("finds a truncation on its verification schedule", async () => {
    const keys = makeKeys();
    const sink = join(tempDir(), "checkpoints.jsonl");
    const broker = await startTestBroker({
      issuer: issuer.issuer,
      awsUrl: emulator.url,
      dir: tempDir(),
      extra: auditYaml({
        key: `private_key_file: ${keys.privateFile}`,
        publicFile: keys.publicFile,
        file: sink,
        everyRows: 1000,
        verifySeconds: 1,
      }),
    });
    try {
      for (let i = 0; i < 4; i++)
        expect(
          (await call(broker.url, "alice", "POST", "/v1/credentials", { role: "prod/ReadOnly" })).status,
        ).toBe(200);
      await broker.audit.checkpoint();
      const signed = broker.audit.lastCheckpoint!;
      expect(signed.seq).toBe(rowsOf(broker.config.database).length);
      expect((await fetch(`${broker.url}/readyz`)).status).toBe(200);
      truncate(broker.config.database, signed.seq - 2);
      await until(() => broker.audit.problem !== null, 15_000, "the scheduled check");
      const ready = await fetch(`${broker.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { detail: string }).detail).toContain(
        "were removed and the head moved back",
      );
    } finally {
      await broker.stop();
    }
  });

  it("a failing HTTP sink is logged and counted, and gets the checkpoints it missed, in order, once it answers", async () => {
    const keys = makeKeys();
    const receiver = new CheckpointReceiver();
    await receiver.start();
    receiver.answer = () => 500;
    const broker = await startTestBroker({
      issuer: issuer.issuer,
      awsUrl: emulator.url,
      dir: tempDir(),
      extra: auditYaml({
        key: `private_key_env: GATEHOUSE_TEST_AUDIT_KEY`,
        publicFile: keys.publicFile,
        url: receiver.url,
        everyRows: 1000,
      }),
    }).catch((e) => e as Error);
    // The key comes from the environment: unset, the broker refuses to start.
    expect((broker as { code?: string }).code).toBe("AUDIT_KEY_INVALID");
    process.env.GATEHOUSE_TEST_AUDIT_KEY = keys.privatePem;
    const b = await startTestBroker({
      issuer: issuer.issuer,
      awsUrl: emulator.url,
      dir: tempDir(),
      extra: auditYaml({
        key: `private_key_env: GATEHOUSE_TEST_AUDIT_KEY`,
        publicFile: keys.publicFile,
        url: receiver.url,
        everyRows: 1000,
      }),
    });
    try {
      await b.audit.checkpoint();
      expect((await call(b.url, "alice", "POST", "/v1/credentials", { role: "prod/ReadOnly" })).status).toBe(
        200,
      );
      await b.audit.checkpoint();
      expect(receiver.held).toEqual([]);
      expect(receiver.posts).toBeGreaterThanOrEqual(2);
      const name = `https:${new URL(receiver.url).origin}`;
      expect(await metric(b.url, "gatehouse_audit_checkpoints_total")).toContain(
        `gatehouse_audit_checkpoints_total{sink="${name}",outcome="failed"}`,
      );
      expect(b.logs.some((l) => l.includes("audit checkpoint not written; kept to retry"))).toBe(true);
      receiver.answer = () => 201;
      expect((await call(b.url, "alice", "POST", "/v1/credentials", { role: "prod/ReadOnly" })).status).toBe(
        200,
      );
      await b.audit.checkpoint();
      const held = receiver.held as SignedCheckpoint[];
      expect(held.map((c) => c.n)).toEqual(held.map((_, i) => i + 1));
      expect(held.length).toBeGreaterThanOrEqual(2);
      const config = verifierConfig(b.config.database);
      await b.stop();
      const r = await cli([
        "audit",
        "verify",
        "--config",
        config,
        "--checkpoints",
        receiver.url,
        "--public-key",
        keys.publicFile,
      ]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    } finally {
      delete process.env.GATEHOUSE_TEST_AUDIT_KEY;
      await b.stop().catch(() => undefined);
      await receiver.close();
    }
  });
});

describe("SECURITY 35: the signing key's location and permissions", () => {
  /** Start a broker with this key; its error, or `{code: "STARTED"}` when it started (then stopped). */
  async function startWith(o: {
    dir: string;
    keyFile: string;
    publicFile: string;
  }): Promise<{ code?: string; message: string }> {
    let b: StartedBroker;
    try {
      b = await startTestBroker({
        issuer: issuer.issuer,
        awsUrl: emulator.url,
        dir: o.dir,
        extra: auditYaml({
          key: `private_key_file: ${o.keyFile}`,
          publicFile: o.publicFile,
          file: join(tempDir(), "checkpoints.jsonl"),
        }),
      });
    } catch (e) {
      return e as { code?: string; message: string };
    }
    await b.stop();
    return { code: "STARTED", message: "the broker started" };
  }

  it("a key file in the database's folder is refused with AUDIT_KEY_UNSAFE", async () => {
    const dir = tempDir();
    const keys = makeKeys(dir);
    const e = await startWith({ dir, keyFile: keys.privateFile, publicFile: keys.publicFile });
    expect(e.code).toBe("AUDIT_KEY_UNSAFE");
    expect(e.message).toContain("lies in the database's folder");
    // Also below it, and through a path that only resolves into it.
    mkdirSync(join(dir, "keys"), { mode: 0o700 });
    const below = join(dir, "keys", "k.pem");
    copyFileSync(keys.privateFile, below);
    chmodSync(below, 0o600);
    expect((await startWith({ dir, keyFile: below, publicFile: keys.publicFile })).code).toBe(
      "AUDIT_KEY_UNSAFE",
    );
    expect(
      (
        await startWith({
          dir,
          keyFile: join(dir, "keys", "..", "audit-key.pem"),
          publicFile: keys.publicFile,
        })
      ).code,
    ).toBe("AUDIT_KEY_UNSAFE");
  });

  it("a key file readable by group or others is refused with AUDIT_KEY_UNSAFE; 0600 starts", async () => {
    const keys = makeKeys();
    for (const mode of [0o644, 0o640, 0o604]) {
      chmodSync(keys.privateFile, mode);
      const e = await startWith({ dir: tempDir(), keyFile: keys.privateFile, publicFile: keys.publicFile });
      expect(e.code).toBe("AUDIT_KEY_UNSAFE");
      expect(e.message).toContain(`has mode ${mode.toString(8)}`);
    }
    chmodSync(keys.privateFile, 0o600);
    expect(
      (await startWith({ dir: tempDir(), keyFile: keys.privateFile, publicFile: keys.publicFile })).message,
    ).toBe("the broker started");
  });

  it("a public key that is not the private key's half, and a non-Ed25519 key, are AUDIT_KEY_INVALID", async () => {
    const keys = makeKeys();
    const other = makeKeys();
    const e = await startWith({ dir: tempDir(), keyFile: keys.privateFile, publicFile: other.publicFile });
    expect(e.code).toBe("AUDIT_KEY_INVALID");
    expect(e.message).toContain("is not the public half");
    const rsaFile = join(tempDir(), "rsa.pem");
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeFileSync(rsaFile, rsa.privateKey.export({ type: "pkcs8", format: "pem" }) as string, {
      mode: 0o600,
    });
    const e2 = await startWith({ dir: tempDir(), keyFile: rsaFile, publicFile: keys.publicFile });
    expect(e2.code).toBe("AUDIT_KEY_INVALID");
    expect(e2.message).toContain("use Ed25519");
  });

  it("`gatehouse-broker --config` with a world-readable key exits 2 with [AUDIT_KEY_UNSAFE]", async () => {
    const keys = makeKeys();
    chmodSync(keys.privateFile, 0o644);
    const dir = tempDir();
    const file = join(dir, "gatehouse.yaml");
    writeFileSync(
      file,
      brokerYaml({
        issuer: issuer.issuer,
        awsUrl: emulator.url,
        database: join(dir, "db", "broker.sqlite"),
        extra: auditYaml({
          key: `private_key_file: ${keys.privateFile}`,
          publicFile: keys.publicFile,
          file: join(tempDir(), "cp.jsonl"),
        }),
      }),
    );
    const r = await cli(["--config", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("[AUDIT_KEY_UNSAFE]");
    expect(r.stderr).not.toContain("PRIVATE KEY");
  });

  it("the config refuses a checkpoint file in the database's folder, plain http off loopback, and two key sources", async () => {
    const { parseConfig } = await import("../../broker/config.ts");
    const keys = makeKeys();
    const dir = tempDir();
    const yaml = (extra: string) =>
      brokerYaml({
        issuer: issuer.issuer,
        awsUrl: emulator.url,
        database: join(dir, "broker.sqlite"),
        extra,
      });
    const err = (text: string) => {
      try {
        parseConfig(text, join(dir, "gatehouse.yaml"));
      } catch (e) {
        return e as { code: string; message: string };
      }
      throw new Error("parsed");
    };
    const inDb = err(
      yaml(
        auditYaml({
          key: `private_key_file: ${keys.privateFile}`,
          publicFile: keys.publicFile,
          file: join(dir, "cp.jsonl"),
        }),
      ),
    );
    expect(inDb.code).toBe("CONFIG_INVALID");
    expect(inDb.message).toContain(
      "audit.checkpoints.sinks.0.path: a checkpoint file must lie outside the database's folder",
    );
    const http = err(
      yaml(
        auditYaml({
          key: `private_key_file: ${keys.privateFile}`,
          publicFile: keys.publicFile,
          url: "http://audit.example.com/cp",
        }),
      ),
    );
    expect(http.message).toContain("plain http only on loopback");
    const both = err(
      yaml(
        auditYaml({
          key: `private_key_file: ${keys.privateFile}\n    private_key_env: GATEHOUSE_AUDIT_KEY`,
          publicFile: keys.publicFile,
          file: join(tempDir(), "cp.jsonl"),
        }),
      ),
    );
    expect(both.message).toContain("give exactly one of private_key_env or private_key_file");
  });
});

describe("SECURITY 35: over real HTTPS", () => {
  it("a broker process writes checkpoints to an HTTPS receiver it trusts; audit verify reads them back over HTTPS", async () => {
    const dir = tempDir();
    const [tlsKey, tlsCert] = [join(dir, "tls-key.pem"), join(dir, "tls-cert.pem")];
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        tlsKey,
        "-out",
        tlsCert,
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    const receiver = new CheckpointReceiver();
    await receiver.start({ key: readFileSync(tlsKey), cert: readFileSync(tlsCert) });
    const keys = makeKeys();
    const config = join(dir, "gatehouse.yaml");
    const database = join(dir, "db", "broker.sqlite");
    writeFileSync(
      config,
      brokerYaml({
        issuer: issuer.issuer,
        awsUrl: emulator.url,
        database,
        extra: auditYaml({
          key: `private_key_file: ${keys.privateFile}`,
          publicFile: keys.publicFile,
          url: receiver.url,
          everyRows: 2,
        }),
      }),
    );
    const trust = { NODE_EXTRA_CA_CERTS: tlsCert };
    const proc = spawn(process.execPath, [BIN, "--config", config], {
      cwd: ROOT,
      env: { ...process.env, ...trust },
      stdio: ["ignore", "ignore", "pipe"],
    });
    try {
      let stderr = "";
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`broker did not start:\n${stderr}`)), 30_000);
        proc.stderr!.on("data", (d: Buffer) => {
          stderr += d.toString();
          const m = /listening on (http:\/\/\S+)/.exec(stderr);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      // Roles are served once the first sync is done (before it, a role is not known: 404).
      for (const end = Date.now() + 30_000; (await fetch(`${url}/readyz`)).status !== 200; ) {
        if (Date.now() > end) throw new Error("the broker was not ready within 30 s");
        await new Promise((r) => setTimeout(r, 50));
      }
      for (let i = 0; i < 3; i++) {
        const r = await call(url, "alice", "POST", "/v1/credentials", { role: "prod/ReadOnly" });
        expect(r.status).toBe(200);
      }
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
      const held = receiver.held as SignedCheckpoint[];
      expect(held.length).toBeGreaterThanOrEqual(2);
      expect(held[held.length - 1]!.seq).toBe(rowsOf(database).length);
      const verify = [
        "audit",
        "verify",
        "--config",
        verifierConfig(database),
        "--checkpoints",
        receiver.url,
        "--public-key",
        keys.publicFile,
      ];
      const ok = await cli(verify, trust);
      expect(ok.stderr).toBe("");
      expect(ok.code).toBe(0);
      // An endpoint whose certificate is not trusted is not read.
      const untrusted = await cli(verify);
      expect(untrusted.code).toBe(2);
      expect(untrusted.stderr).toContain("[CHECKPOINTS_UNAVAILABLE]");
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await receiver.close();
    }
  }, 90_000);
});
