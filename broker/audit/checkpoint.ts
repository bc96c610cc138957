// Signing and checking audit checkpoints (Ed25519 over a canonical JSON form of the payload).

import { createHash, type KeyObject, sign, verify } from "node:crypto";
import type { CheckpointPayload, SignedCheckpoint } from "../../shared/audit-checkpoint.ts";

export const GENESIS = "0".repeat(64);

/** The bytes that are signed: the payload's fields in a fixed order, so no receiver can reorder them. */
export function canonical(p: CheckpointPayload): Buffer {
  return Buffer.from(
    JSON.stringify([p.v, p.n, p.prev, p.seq, p.hash, p.rows, p.headTime, p.time, p.keyId]),
    "utf8",
  );
}

/** What the next checkpoint's `prev` names: the hash of this one's signed bytes. */
export function checkpointDigest(p: CheckpointPayload): string {
  return createHash("sha256").update(canonical(p)).digest("hex");
}

/** The short id of a public key that checkpoints carry (the first 16 hex digits of its DER's SHA-256). */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("hex")
    .slice(0, 16);
}

export function signCheckpoint(p: CheckpointPayload, privateKey: KeyObject): SignedCheckpoint {
  return { ...p, sig: sign(null, canonical(p), privateKey).toString("base64") };
}

/** Whether the signature is the public key's over exactly this payload. */
export function checkpointSignatureValid(cp: SignedCheckpoint, publicKey: KeyObject): boolean {
  const { sig, ...payload } = cp;
  try {
    return verify(null, canonical(payload), publicKey, Buffer.from(sig, "base64"));
  } catch {
    return false;
  }
}
