// A signed checkpoint of the broker's audit chain: what the broker writes to its sinks and what
// `gatehouse-broker audit verify --checkpoints` and a receiving service read back.

import { z } from "zod";

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, "a SHA-256 hash is 64 lower-case hex digits");

/** What is signed: the chain head at one moment, numbered and chained to the checkpoint before it. */
export const checkpointPayloadSchema = z.strictObject({
  v: z.literal(1),
  /** 1, 2, 3…: a checkpoint removed from the middle of a sink shows as a gap. */
  n: z.number().int().min(1),
  /** SHA-256 of the previous checkpoint's signed payload (64 zeros for the first). */
  prev: hex64,
  /** The audit chain's head: its last row's seq and hash; 0 and 64 zeros for an empty log. */
  seq: z.number().int().min(0),
  hash: hex64,
  /** Rows in the audit table when signed (equal to seq for an intact chain; an emptied table shows 0). */
  rows: z.number().int().min(0),
  /** When the head row was written, and when the checkpoint was signed (ISO 8601). */
  headTime: z.string().nullable(),
  time: z.string(),
  /** SHA-256 (hex, first 16 digits) of the signing public key's DER: which key to check it with. */
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
});

export const signedCheckpointSchema = checkpointPayloadSchema.extend({
  /** Ed25519 signature (base64) of the canonical payload. */
  sig: z.string().min(1).max(200),
});

export type CheckpointPayload = z.infer<typeof checkpointPayloadSchema>;
export type SignedCheckpoint = z.infer<typeof signedCheckpointSchema>;
