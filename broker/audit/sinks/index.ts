// The registry of checkpoint sink kinds, chosen by `type` in the config or by the form of a location.

import { z } from "zod";
import { GatehouseError } from "../../../shared/errors.ts";
import { fileSink } from "./file.ts";
import { httpsSink } from "./https.ts";
import type { CheckpointSink } from "./sink.ts";

export type { CheckpointSink } from "./sink.ts";

export const SINK_KINDS = { file: fileSink, https: httpsSink } as const;

export const sinkConfigSchema = z.discriminatedUnion("type", [fileSink.schema, httpsSink.schema]);
export type SinkConfig = z.infer<typeof sinkConfigSchema>;

export function openSink(config: SinkConfig): CheckpointSink {
  // Each kind's open takes its own config; the discriminant picks the kind.
  const kind = SINK_KINDS[config.type] as { open(c: SinkConfig): CheckpointSink };
  return kind.open(config);
}

/** The sink that reads `location` (a file path or an http(s) URL), for `audit verify --checkpoints`. */
export function sinkAt(location: string): CheckpointSink {
  for (const kind of Object.values(SINK_KINDS)) {
    const config = (kind.fromLocation as (l: string) => SinkConfig | undefined)(location);
    if (config) return openSink(config);
  }
  throw new GatehouseError("BAD_ARGUMENT", `--checkpoints ${location}: not a file path or an http(s) URL`);
}
