// What every long-running `gatehouse-dev` tool does around its server: stop cleanly on SIGINT/SIGTERM,
// and end a failed start with one line, a stable code and the exit status people script against.

import { GatehouseError } from "../shared/errors.ts";

/** Run `stop` on the first SIGINT or SIGTERM, say so, and exit 0. */
export function stopOnSignals(tool: string, stop: () => Promise<void>): void {
  const handler = async (signal: string) => {
    await stop();
    console.error(`gatehouse-dev ${tool}: stopped on ${signal}`);
    process.exit(0);
  };
  process.once("SIGINT", () => void handler("SIGINT"));
  process.once("SIGTERM", () => void handler("SIGTERM"));
}

/** A start that failed: bad input exits 2, a busy port 1, anything else is rethrown. */
export function reportStartFailure(tool: string, e: unknown): void {
  if (e instanceof GatehouseError) {
    console.error(`gatehouse-dev ${tool}: ${e.message} [${e.code}]`);
    process.exitCode = 2;
    return;
  }
  if ((e as NodeJS.ErrnoException).code === "EADDRINUSE") {
    console.error(`gatehouse-dev ${tool}: the address is already in use [ADDRESS_IN_USE]`);
    process.exitCode = 1;
    return;
  }
  throw e;
}
