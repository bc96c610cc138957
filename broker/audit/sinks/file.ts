// Checkpoint sink: an append-only file (O_APPEND, created 0600, fsync'd after every checkpoint), one JSON
// line per checkpoint. Put it where the database's writer cannot write (another disk, a WORM mount).

import { constants } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { z } from "zod";
import { GatehouseError } from "../../../shared/errors.ts";
import { type CheckpointSink, parseEntries, type SinkKind } from "./sink.ts";

const schema = z.strictObject({ type: z.literal("file"), path: z.string().min(1) });

export const fileSink: SinkKind<typeof schema> = {
  type: "file",
  schema,
  fromLocation: (location) =>
    /^[a-z][a-z0-9+.-]*:\/\//i.test(location) ? undefined : { type: "file", path: location },
  open(config): CheckpointSink {
    const path = config.path;
    return {
      name: `file:${path}`,
      async write(cp) {
        try {
          const fh = await open(path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT, 0o600);
          try {
            // A line a crash tore off must not swallow this checkpoint: start on a line of its own.
            const { size } = await fh.stat();
            let lead = "";
            if (size > 0) {
              const last = Buffer.alloc(1);
              await fh.read(last, 0, 1, size - 1);
              if (last[0] !== 0x0a) lead = "\n";
            }
            await fh.write(`${lead}${JSON.stringify(cp)}\n`);
            await fh.sync();
          } finally {
            await fh.close();
          }
        } catch (e) {
          throw new GatehouseError(
            "CHECKPOINTS_UNAVAILABLE",
            `cannot append to the checkpoint file ${path}: ${(e as Error).message}`,
            { cause: e },
          );
        }
      },
      async read() {
        let text: string;
        try {
          text = await readFile(path, "utf8");
        } catch (e) {
          // No file yet: no checkpoint was ever written there (a first start).
          if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
          throw new GatehouseError(
            "CHECKPOINTS_UNAVAILABLE",
            `cannot read the checkpoint file ${path}: ${(e as Error).message}`,
            { cause: e },
          );
        }
        // A last line without its newline is a checkpoint being written right now (or torn by a crash).
        return parseEntries(text.slice(0, text.lastIndexOf("\n") + 1));
      },
    };
  },
};
