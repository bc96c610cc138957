// The command generated profiles run (`credential_process = <this> credential-process …`): always an absolute
// path, so a PATH that changes (a GUI session, cron, an IDE) never breaks them.

import { resolve } from "node:path";
import common from "../cli/agent-common.cjs";
import { commandLine } from "./aws-config.ts";
import type { Settings } from "./settings.ts";

/**
 * In order: the settings' `cliCommand` (the person's choice); GATEHOUSE_CLI (the tray app names the
 * command-line tool it installed, or the one in its resources); the single-file binary this agent runs as;
 * else Node and this checkout's (or npm install's) bin/gatehouse.cjs.
 */
export function cliCommand(
  settings: Pick<Settings, "cliCommand">,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (settings.cliCommand) return settings.cliCommand;
  if (env.GATEHOUSE_CLI) return commandLine([env.GATEHOUSE_CLI]);
  if (common.self.command) return commandLine(common.self.command);
  return commandLine([process.execPath, resolve(import.meta.dirname, "../../bin/gatehouse.cjs")]);
}
