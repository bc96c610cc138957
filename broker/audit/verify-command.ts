// `gatehouse-broker audit verify --checkpoints FILE|URL --public-key FILE`: the audit table checked
// against signed checkpoints read from a sink, with the public key only (no private key, no broker).

import type { Store } from "../store.ts";
import { loadPublicKey } from "./keys.ts";
import { sinkAt } from "./sinks/index.ts";
import { verifyWithCheckpoints } from "./verify.ts";

export interface VerifyInput {
  store: Store;
  checkpoints: string;
  publicKey: string;
}

/** Prints the verdict; 0 when the log and the checkpoints agree, 1 when not. */
export async function runAuditVerify(input: VerifyInput): Promise<number> {
  const publicKey = loadPublicKey(input.publicKey);
  const entries = await sinkAt(input.checkpoints).read();
  const r = input.store.auditSnapshot((snap) => verifyWithCheckpoints(snap, entries, publicKey));
  for (const w of r.warnings) console.error(`warning: ${w}`);
  if (!r.ok) {
    for (const p of r.problems) console.error(`audit log TAMPERED: ${p} [AUDIT_BROKEN]`);
    return 1;
  }
  const last = r.checkpoints[r.checkpoints.length - 1];
  console.log(
    last
      ? `audit log verified: ${r.rows} rows, chain intact, matches ${r.checkpoints.length} signed checkpoints (the last, #${last.n} of ${last.time}, signs row ${last.seq}; ${r.rows - last.seq} rows after it)`
      : `audit log verified: ${r.rows} rows, chain intact; the sink holds no checkpoint yet`,
  );
  return 0;
}
