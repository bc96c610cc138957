// Checking the audit table against signed checkpoints read from a sink, with the public key only:
// forged or garbled checkpoints, a broken checkpoint chain, and a log that was truncated (head moved),
// re-chained after an edit, or emptied since a checkpoint signed it.

import type { KeyObject } from "node:crypto";
import { type SignedCheckpoint, signedCheckpointSchema } from "../../shared/audit-checkpoint.ts";
import { type AuditSnapshot, auditHash, type Store } from "../store.ts";
import { type ChainResult, walkChain } from "./chain.ts";
import { checkpointDigest, checkpointSignatureValid, GENESIS, keyIdOf } from "./checkpoint.ts";

export interface CheckpointReport {
  ok: boolean;
  /** Rows in the audit table and how many of them verified along the chain. */
  rows: number;
  /** Checkpoints whose signature verified. */
  checkpoints: SignedCheckpoint[];
  /** Integrity failures (any one means the log or the sink was tampered with). */
  problems: string[];
  /** What is worth knowing but proves nothing (a checkpoint the sink never got). */
  warnings: string[];
}

const named = (cp: SignedCheckpoint) => `checkpoint #${cp.n} (${cp.time})`;

/** Parse and check the sink's entries on their own: shape, signature, numbering and chaining. */
export function checkCheckpoints(
  entries: unknown[],
  publicKey: KeyObject,
): { valid: SignedCheckpoint[]; problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const valid: SignedCheckpoint[] = [];
  const keyId = keyIdOf(publicKey);
  for (const [i, entry] of entries.entries()) {
    const parsed = signedCheckpointSchema.safeParse(entry);
    // Not a checkpoint at all (a torn write, noise): it proves nothing either way, so it is only noted;
    // what matters is that nothing unsigned passes for a checkpoint.
    if (!parsed.success) {
      warnings.push(`entry ${i + 1} of the checkpoint sink is not a checkpoint; ignored`);
      continue;
    }
    const cp = parsed.data;
    if (!checkpointSignatureValid(cp, publicKey)) {
      problems.push(
        `${named(cp)} is forged: its signature does not verify with the public key${cp.keyId !== keyId ? ` (it names key ${cp.keyId}, not ${keyId})` : ""}`,
      );
      continue;
    }
    valid.push(cp);
  }
  for (let i = 1; i < valid.length; i++) {
    const [a, b] = [valid[i - 1]!, valid[i]!];
    if (b.n <= a.n) {
      problems.push(`${named(b)} comes after checkpoint #${a.n}: the checkpoints are out of order`);
    } else if (b.n === a.n + 1 && b.prev !== checkpointDigest(a)) {
      problems.push(`${named(b)} does not follow checkpoint #${a.n}: the checkpoint chain is broken`);
    } else if (b.n > a.n + 1) {
      warnings.push(
        `checkpoints #${a.n + 1}..#${b.n - 1} are not in this sink (a failed delivery, or removed)`,
      );
    }
    if (b.n > a.n && b.seq < a.seq)
      problems.push(`${named(b)} signs row ${b.seq}, before checkpoint #${a.n}'s row ${a.seq}`);
  }
  if (valid[0] && valid[0].n === 1 && valid[0].prev !== GENESIS)
    problems.push(`${named(valid[0])} is the first but names a previous checkpoint`);
  return { valid, problems, warnings };
}

/** What the walk of the chain found, for comparing with checkpoints. */
interface Walked {
  chain: ChainResult;
  rows: number;
  /** Hashes of the rows the checkpoints name, as the walk found them. */
  hashes: Map<number, string>;
}

/** The checkpoints (oldest first) against the walked chain: the first one that no longer matches. */
function compare(valid: SignedCheckpoint[], w: Walked): string[] {
  const { chain, rows, hashes } = w;
  const problems: string[] = [];
  if (!chain.ok) problems.push(`the chain is broken at row ${chain.brokenAt}: ${chain.reason}`);
  // The first checkpoint that no longer matches says what happened; later ones only repeat it.
  let lastGood = 0;
  for (const cp of [...valid].sort((a, b) => a.seq - b.seq)) {
    if (cp.seq === 0) continue;
    if (cp.seq > chain.last.seq && chain.ok) {
      problems.push(
        rows === 0
          ? `the audit table is empty, but ${named(cp)} signed ${cp.rows} rows up to row ${cp.seq}: the log was emptied`
          : `the log ends at row ${chain.last.seq}, but ${named(cp)} signed row ${cp.seq}: rows ${chain.last.seq + 1}..${cp.seq} were removed and the head moved back`,
      );
      break;
    }
    const hash = hashes.get(cp.seq);
    if (hash === undefined) break; // beyond a break already reported
    if (hash !== cp.hash) {
      problems.push(
        `row ${cp.seq} is not the row ${named(cp)} signed: rows ${lastGood + 1}..${cp.seq} were rewritten and the chain recomputed`,
      );
      break;
    }
    lastGood = cp.seq;
  }
  return problems;
}

/**
 * Compare one snapshot of the audit table with the sink's entries: the whole chain is walked from the
 * genesis in one read transaction, and each checkpoint's row must still be there with the hash it signed.
 */
export function verifyWithCheckpoints(
  snap: AuditSnapshot,
  entries: unknown[],
  publicKey: KeyObject,
): CheckpointReport {
  const { valid, problems, warnings } = checkCheckpoints(entries, publicKey);
  const wanted = new Set(valid.map((cp) => cp.seq));
  const hashes = new Map<number, string>();
  const chain = snap.walk(undefined, (e) => {
    if (wanted.has(e.seq)) hashes.set(e.seq, e.hash);
  });
  problems.push(...compare(valid, { chain, rows: snap.count(), hashes }));
  return { ok: problems.length === 0, rows: snap.count(), checkpoints: valid, problems, warnings };
}

/**
 * The same walk in slices of `chunk` rows, each its own read transaction, yielding to the event loop in
 * between: the running broker checks a long log without stalling requests. Rows appended meanwhile
 * only extend what the last slice reads; the head is compared in the last slice's transaction.
 */
export async function verifyInSlices(
  store: Store,
  valid: SignedCheckpoint[],
  opts: { chunk?: number; stopped?: () => boolean } = {},
): Promise<string[]> {
  const chunk = opts.chunk ?? 5000;
  const wanted = new Set(valid.map((cp) => cp.seq));
  const hashes = new Map<number, string>();
  let from = { seq: 0, hash: GENESIS };
  for (;;) {
    const step = store.auditSnapshot((snap) => {
      const batch = [...snap.rows(from.seq, chunk)];
      const end = batch.length < chunk;
      const chain = walkChain(batch, end ? snap.head() : null, auditHash, from, (e) => {
        if (wanted.has(e.seq)) hashes.set(e.seq, e.hash);
      });
      return { chain, end, rows: end ? snap.count() : 0 };
    });
    if (!step.chain.ok || step.end) return compare(valid, { chain: step.chain, rows: step.rows, hashes });
    from = { seq: step.chain.last.seq, hash: step.chain.last.hash };
    if (opts.stopped?.()) return [];
    await new Promise((r) => setImmediate(r));
  }
}
