// SECURITY 36: refused tokens audited per client address, at most one row a minute each, none lost.

import { describe, expect, it } from "vitest";
import { RefusedTokens } from "../../broker/denials.ts";
import type { AuditInput } from "../../broker/store.ts";

function recorder() {
  const rows: AuditInput[] = [];
  let now = Date.parse("2026-12-07T00:00:00Z");
  const r = new RefusedTokens(
    (row) => rows.push(row),
    60_000,
    () => now,
  );
  return { rows, r, advance: (ms: number) => (now += ms) };
}
const counts = (rows: AuditInput[]) => rows.map((x) => [x.target, x.detail?.count]);

describe("SECURITY 36: refused tokens per address, rate-limited", () => {
  it("the first refusal is a row at once; the rest of the minute is one row with its count", () => {
    const { rows, r, advance } = recorder();
    for (let i = 0; i < 100; i++) r.record("10.0.0.1", "access token rejected: ERR_JWS_INVALID");
    expect(counts(rows)).toEqual([["10.0.0.1", 1]]);
    advance(30_000);
    r.flush();
    expect(rows).toHaveLength(1);
    advance(30_000);
    r.flush();
    expect(counts(rows)).toEqual([
      ["10.0.0.1", 1],
      ["10.0.0.1", 99],
    ]);
    expect(rows[1]).toMatchObject({ actor: "anonymous", action: "auth.denied", outcome: "denied" });
  });

  it("addresses are counted apart; a refusal after a quiet minute writes at once with what was pending", () => {
    const { rows, r, advance } = recorder();
    r.record("10.0.0.1", "a");
    r.record("10.0.0.2", "b");
    r.record("10.0.0.1", "a");
    advance(61_000);
    r.record("10.0.0.1", "c");
    expect(counts(rows)).toEqual([
      ["10.0.0.1", 1],
      ["10.0.0.2", 1],
      ["10.0.0.1", 2],
    ]);
    expect(rows[2]!.detail?.reason).toBe("c");
  });

  it("stop writes whatever is still counted, so nothing is lost at shutdown", () => {
    const { rows, r } = recorder();
    for (let i = 0; i < 5; i++) r.record("10.0.0.3", "x");
    r.stop();
    expect(counts(rows)).toEqual([
      ["10.0.0.3", 1],
      ["10.0.0.3", 4],
    ]);
  });

  it("a spray from more addresses than it tracks shares one entry instead of growing without bound", () => {
    const { rows, r } = recorder();
    for (let i = 0; i < 10_050; i++) r.record(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, "x");
    expect(rows).toHaveLength(10_001);
    expect(rows.at(-1)!.target).toBe("*");
    r.stop();
    expect(rows.at(-1)).toMatchObject({ target: "*", detail: { count: 49 } });
  });
});
