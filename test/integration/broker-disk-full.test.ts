// SECURITY 30, disk full on audit write: a broker whose database is capped (`database_max_mb`, SQLite's
// max_page_count: SQLITE_FULL exactly as on a full disk) hands out credentials while audit rows fit, then
// refuses with 503 AUDIT_UNAVAILABLE and no credentials; after a restart with room, every credential it
// acknowledged has its audit row, the chain verifies, and it serves again.
// test-store: sqlite-only — about SQLite's max_page_count (SQLITE_FULL); database_max_mb is refused for PostgreSQL.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import { type StartedBroker, startTestBroker } from "../support/broker.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { signTokens, startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

let emulator: Emulator;
let issuer: TestIssuer;
let token: string;
const dir = mkdtempSync(join(tmpdir(), "gatehouse-full-"));

beforeAll(async () => {
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  ({ alice: token } = await signTokens(issuer, {
    alice: { email: "alice@example.com", groups: ["engineers"] },
  }));
});

afterAll(async () => {
  await issuer?.close();
  await emulator?.close();
  rmSync(dir, { recursive: true, force: true });
});

const start = (extra = "") => startTestBroker({ issuer: issuer.issuer, awsUrl: emulator.url, dir, extra });

async function post(broker: StartedBroker, path: string) {
  const res = await fetch(`${broker.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ role: "staging/Developer" }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const issuedOk = (b: StartedBroker) =>
  b.store.listAudit({ action: "credentials.issue", limit: 100_000 }).filter((e) => e.outcome === "ok").length;

describe("the audit log's database is full", () => {
  it("refuses with AUDIT_UNAVAILABLE and no credentials; nothing acknowledged is unaudited", async () => {
    let broker = await start();
    expect((await post(broker, "/v1/credentials")).status).toBe(200);
    await broker.stop();

    // Room for the synced roles again and a few pages of audit rows, no more.
    const db = new Database(join(dir, "broker.sqlite"), { readonly: true });
    const pages = db.pragma("page_count", { simple: true }) as number;
    const pageSize = db.pragma("page_size", { simple: true }) as number;
    db.close();
    broker = await start(`database_max_mb: ${((pages + 6) * pageSize) / 1_048_576}\n`);

    let acknowledged = 0;
    let refused: { status: number; json: Record<string, unknown> } | undefined;
    for (let i = 0; i < 5000 && !refused; i++) {
      const r = await post(broker, "/v1/credentials");
      if (r.status === 200) {
        expect(r.json.accessKeyId).toMatch(/^ASIA/);
        acknowledged++;
      } else refused = r;
    }
    expect(acknowledged).toBeGreaterThan(0);
    expect(refused?.status).toBe(503);
    expect(refused?.json.code).toBe("AUDIT_UNAVAILABLE");
    expect(JSON.stringify(refused?.json)).not.toMatch(/ASIA|secretAccessKey|sessionToken/);
    // It stays refused (no credentials, no console URL) while the database is full.
    expect((await post(broker, "/v1/credentials")).json.code).toBe("AUDIT_UNAVAILABLE");
    // A console URL's smaller row may still fit in the last page; once it does not, no URL either.
    let consoleUrl = await post(broker, "/v1/console");
    let consoles = 0;
    for (let i = 0; i < 200 && consoleUrl.status === 200; i++) {
      consoles++;
      consoleUrl = await post(broker, "/v1/console");
    }
    expect(consoleUrl.status).toBe(503);
    expect(consoleUrl.json.code).toBe("AUDIT_UNAVAILABLE");
    expect(consoleUrl.json.url).toBeUndefined();
    expect(broker.store.listAudit({ action: "console.url", limit: 1000 })).toHaveLength(consoles);
    // A permission request cannot be recorded either: a 503 with a code, never a 500.
    const asked = await fetch(`${broker.url}/v1/requests`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        kind: "role-access",
        targets: ["prod/Billing"],
        justification: "month-end close needs the billing console",
        expiry: "PT8H",
      }),
    });
    expect(asked.status).toBe(503);
    expect(["STORE_UNAVAILABLE", "AUDIT_UNAVAILABLE"]).toContain(
      ((await asked.json()) as { code: string }).code,
    );
    expect(broker.store.verifyAudit().ok).toBe(true);
    await broker.stop();

    // With room again: every acknowledged credential has its row, the chain verifies, it serves.
    broker = await start();
    try {
      expect(issuedOk(broker)).toBe(1 + acknowledged);
      expect(broker.store.verifyAudit()).toMatchObject({ ok: true });
      expect((await post(broker, "/v1/credentials")).status).toBe(200);
      expect(issuedOk(broker)).toBe(2 + acknowledged);
    } finally {
      await broker.stop();
    }
  });
});
