// The one small interface every audit checkpoint sink implements, and what a sink kind's module exports.

import type { z } from "zod";
import type { SignedCheckpoint } from "../../../shared/audit-checkpoint.ts";

export interface CheckpointSink {
  /** For logs and metrics: the kind and where (never a secret). */
  readonly name: string;
  /** Store one checkpoint durably; resolves once the sink has it, throws (a GatehouseError) if not. */
  write(cp: SignedCheckpoint): Promise<void>;
  /** Every entry the sink holds, oldest first, unparsed (a verifier must judge each one). */
  read(): Promise<unknown[]>;
}

export interface SinkKind<S extends z.ZodType<{ type: string }>> {
  type: string;
  /** The sink's config block under `audit.checkpoints.sinks` (strict, with `type`). */
  schema: S;
  open(config: z.infer<S>): CheckpointSink;
  /** The config that reads `location` (a path or URL given to `audit verify --checkpoints`), if it is this kind's. */
  fromLocation(location: string): z.infer<S> | undefined;
}

/** Parse JSON lines (or one JSON array) into entries; a line that is not JSON is kept as its text. */
export function parseEntries(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    try {
      const all = JSON.parse(trimmed) as unknown;
      if (Array.isArray(all)) return all;
    } catch {}
  }
  return trimmed
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l) as unknown;
      } catch {
        return l;
      }
    });
}
