// Checkpoint sink: an HTTPS endpoint that receives each checkpoint as a POST of its JSON and answers a
// GET with every checkpoint it holds (JSON lines or a JSON array). Plain http only to loopback (tests).

import { z } from "zod";
import { GatehouseError } from "../../../shared/errors.ts";
import { type CheckpointSink, parseEntries, type SinkKind } from "./sink.ts";

const LOOPBACK = new Set(["127.0.0.1", "[::1]", "localhost"]);

const endpoint = z.url({ protocol: /^https?$/ }).refine((u) => {
  const url = new URL(u);
  return url.protocol === "https:" || LOOPBACK.has(url.hostname);
}, "a checkpoint endpoint must be https (plain http only on loopback)");

const schema = z.strictObject({
  type: z.literal("https"),
  url: endpoint,
  /** Attempts per checkpoint, the first retry after backoff_ms and each further one twice as late. */
  max_attempts: z.number().int().min(1).max(20).default(5),
  backoff_ms: z.number().int().min(10).max(60_000).default(500),
  timeout_ms: z.number().int().min(100).max(60_000).default(5000),
});

type Config = z.infer<typeof schema>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const httpsSink: SinkKind<typeof schema> = {
  type: "https",
  schema,
  fromLocation: (location) => {
    if (!/^https?:\/\//i.test(location)) return undefined;
    const parsed = schema.safeParse({ type: "https", url: location });
    if (!parsed.success)
      throw new GatehouseError("BAD_ARGUMENT", `${location}: ${parsed.error.issues[0]!.message}`);
    return parsed.data;
  },
  open(config: Config): CheckpointSink {
    // The URL may carry a secret (a path token): logs and errors name only its origin.
    const origin = new URL(config.url).origin;
    return {
      name: `https:${origin}`,
      async write(cp) {
        let error = "";
        for (let attempt = 1; attempt <= config.max_attempts; attempt++) {
          if (attempt > 1) await sleep(config.backoff_ms * 2 ** (attempt - 2));
          try {
            const res = await fetch(config.url, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify(cp),
              signal: AbortSignal.timeout(config.timeout_ms),
            });
            await res.arrayBuffer().catch(() => undefined);
            if (res.ok) return;
            error = `HTTP ${res.status}`;
            // A 4xx other than 408/429 will not get better by retrying.
            if (res.status < 500 && res.status !== 408 && res.status !== 429) break;
          } catch (e) {
            const cause = (e as { cause?: { code?: string } }).cause;
            error = cause?.code ?? (e as Error).name ?? "error";
          }
        }
        throw new GatehouseError(
          "CHECKPOINTS_UNAVAILABLE",
          `the checkpoint endpoint ${origin} did not take checkpoint ${cp.n}: ${error}`,
        );
      },
      async read() {
        let res: Response;
        try {
          res = await fetch(config.url, {
            headers: { accept: "application/x-ndjson, application/json" },
            signal: AbortSignal.timeout(config.timeout_ms),
          });
        } catch (e) {
          const cause = (e as { cause?: { code?: string } }).cause;
          throw new GatehouseError(
            "CHECKPOINTS_UNAVAILABLE",
            `cannot read checkpoints from ${origin}: ${cause?.code ?? (e as Error).name}`,
            { cause: e },
          );
        }
        const text = await res.text();
        if (!res.ok)
          throw new GatehouseError(
            "CHECKPOINTS_UNAVAILABLE",
            `cannot read checkpoints from ${origin}: HTTP ${res.status}`,
          );
        return parseEntries(text);
      },
    };
  },
};
