// The single-file `gatehouse` (dist/cli/gatehouse) for tests: built by `npm run build:cli` before the suite
// (test/run.sh), or here when a test file runs on its own and finds none.

import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCli } from "../../build/cli/build.mjs";
import { ROOT } from "./e2e.ts";

export const SINGLE_FILE = join(ROOT, "dist/cli/gatehouse");

export async function singleFileCli(): Promise<string> {
  if (!existsSync(SINGLE_FILE)) await buildCli({ log: () => undefined });
  return SINGLE_FILE;
}

/** A PATH with no `node` (nor anything else) on it: an empty directory of its own. */
export function pathWithoutNode(): string {
  return mkdtempSync(join(tmpdir(), "gatehouse-no-node-"));
}
