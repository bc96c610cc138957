// SECURITY 38, the broker's half: a real broker started under a umask that would make files 0666 still
// creates its SQLite database, -wal and -shm files 0600 (also after a restart, when SQLite creates the
// WAL again), tightens a database an older version left 0644, refuses a folder every user may write in,
// and `audit export --out` writes 0600 even over an existing 0644 file.

import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import { brokerYaml, type StartedBroker, startTestBroker } from "../support/broker.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { signTokens, startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

const BIN = join(import.meta.dirname, "../../bin/gatehouse-broker.mjs");

let emulator: Emulator;
let issuer: TestIssuer;
const dirs: string[] = [];

const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "gatehouse-files-"));
  dirs.push(d);
  return d;
};
const mode = (f: string) => statSync(f).mode & 0o777;
const dbFiles = (dir: string) =>
  ["broker.sqlite", "broker.sqlite-wal", "broker.sqlite-shm"].map((f) => join(dir, f));

/** Start a broker in `dir` while the process umask is 0 (files would be 0666, folders 0777). */
async function startUnderOpenUmask(dir: string): Promise<StartedBroker> {
  const old = process.umask(0);
  try {
    return await startTestBroker({ issuer: issuer.issuer, awsUrl: emulator.url, dir });
  } finally {
    process.umask(old);
  }
}

/** Something that writes: a sign-in seen and a role list, audited. */
async function use(b: StartedBroker): Promise<void> {
  const { alice } = await signTokens(issuer, {
    alice: { email: "alice@example.com", groups: ["engineers"] },
  });
  const res = await fetch(`${b.url}/v1/roles`, { headers: { authorization: `Bearer ${alice}` } });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
});

afterAll(async () => {
  await issuer?.close();
  await emulator?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("SECURITY 38: the broker's files", () => {
  it("the database, -wal and -shm are 0600 under umask 0, and again after a restart", async () => {
    const dir = join(tempDir(), "state");
    let b = await startUnderOpenUmask(dir);
    try {
      await use(b);
      expect(mode(dir)).toBe(0o700);
      for (const f of dbFiles(dir))
        expect({ f, exists: existsSync(f), mode: mode(f) }).toEqual({ f, exists: true, mode: 0o600 });
    } finally {
      await b.stop();
    }
    b = await startUnderOpenUmask(dir);
    try {
      await use(b);
      for (const f of dbFiles(dir)) expect({ f, mode: mode(f) }).toEqual({ f, mode: 0o600 });
    } finally {
      await b.stop();
    }
  });

  it("a database left 0644 (with its WAL) by an older version is made 0600 at start", async () => {
    const dir = tempDir();
    let b = await startTestBroker({ issuer: issuer.issuer, awsUrl: emulator.url, dir });
    await use(b);
    await b.stop();
    for (const f of dbFiles(dir)) if (existsSync(f)) chmodSync(f, 0o644);
    b = await startTestBroker({ issuer: issuer.issuer, awsUrl: emulator.url, dir });
    try {
      await use(b);
      for (const f of dbFiles(dir)) expect({ f, mode: mode(f) }).toEqual({ f, mode: 0o600 });
    } finally {
      await b.stop();
    }
  });

  it("a folder every user may write in (even sticky, like /tmp) is refused with FILE_UNSAFE", async () => {
    for (const folderMode of [0o777, 0o1777, 0o757]) {
      const dir = tempDir();
      chmodSync(dir, folderMode);
      await expect(
        startTestBroker({ issuer: issuer.issuer, awsUrl: emulator.url, dir }),
      ).rejects.toMatchObject({
        code: "FILE_UNSAFE",
      });
      expect(existsSync(join(dir, "broker.sqlite"))).toBe(false);
    }
  });

  it("audit export --out writes 0600, also over an existing 0644 file", async () => {
    const dir = tempDir();
    const b = await startTestBroker({ issuer: issuer.issuer, awsUrl: emulator.url, dir });
    await use(b);
    await b.stop();
    const config = join(dir, "gatehouse.yaml");
    writeFileSync(
      config,
      brokerYaml({ issuer: issuer.issuer, awsUrl: emulator.url, database: join(dir, "broker.sqlite") }),
    );
    const out = join(tempDir(), "audit.jsonl");
    writeFileSync(out, "old\n", { mode: 0o644 });
    chmodSync(out, 0o644);
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const old = process.umask(0);
      const child = execFile(
        process.execPath,
        [BIN, "audit", "export", "--config", config, "--out", out],
        (e, _o, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stderr }),
      );
      process.umask(old);
      void child;
    });
    expect(r.code, r.stderr).toBe(0);
    expect(mode(out)).toBe(0o600);
  });
});
