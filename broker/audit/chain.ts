// Walking the audit hash chain: each row must follow the one before it and hash to what it says, and the
// head kept beside the rows must name the last row. Pure: the store hands it rows from one snapshot.

import { GENESIS } from "./checkpoint.ts";

export interface ChainRow {
  seq: number;
  hash: string;
  prevHash: string;
  time: string;
}

export interface ChainResult {
  ok: boolean;
  /** Rows that verified (from the start point on). */
  count: number;
  brokenAt: number | null;
  reason: string | null;
  /** The last verified row (or the start point). */
  last: { seq: number; hash: string; time: string | null };
}

/**
 * Walk `rows` (ordered by seq, all after `from.seq`) from `from` (the genesis, or a row already known
 * good), recomputing each hash with `hashOf`, then compare the stored head. `seen` gets every good row.
 */
export function walkChain<R extends ChainRow>(
  rows: Iterable<R>,
  /** The stored head; null when `rows` is only a slice of the log (the head is checked with the last). */
  head: { seq: number; hash: string } | null,
  hashOf: (prevHash: string, row: R) => string,
  from: { seq: number; hash: string } = { seq: 0, hash: GENESIS },
  seen?: (row: R) => void,
): ChainResult {
  let prev = from.hash;
  let expectedSeq = from.seq + 1;
  let count = 0;
  let last: ChainResult["last"] = { seq: from.seq, hash: from.hash, time: null };
  const broken = (at: number, reason: string): ChainResult => ({
    ok: false,
    count,
    brokenAt: at,
    reason,
    last,
  });
  for (const e of rows) {
    if (e.seq !== expectedSeq) return broken(expectedSeq, `row ${expectedSeq} is missing`);
    if (e.prevHash !== prev) return broken(e.seq, `row ${e.seq} does not follow row ${e.seq - 1}`);
    if (hashOf(prev, e) !== e.hash) return broken(e.seq, `row ${e.seq} was changed`);
    seen?.(e);
    prev = e.hash;
    last = { seq: e.seq, hash: e.hash, time: e.time };
    expectedSeq++;
    count++;
  }
  if (head && (head.seq !== last.seq || head.hash !== prev))
    return broken(last.seq + 1, `rows after ${last.seq} were deleted (the head names row ${head.seq})`);
  return { ok: true, count, brokenAt: null, reason: null, last };
}
