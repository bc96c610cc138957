// `gatehouse exec ROLE [--env] -- CMD…`: run CMD with credentials for ROLE, served ECS-style on loopback
// so SDKs refresh by themselves (or, with --env, as environment variables).

import { runExec } from "../../agent/exec.ts";
import { roleRegion } from "../../agent/region.ts";
import { credentialsFor, flags, helped, UsageError } from "../io.ts";

export const USAGE = "usage: gatehouse exec ROLE [--env] -- COMMAND [ARGS…]";

export async function run(argv: string[]): Promise<number> {
  const dash = argv.indexOf("--");
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const command = dash >= 0 ? argv.slice(dash + 1) : [];
  const { values, positionals } = flags(own, { env: { type: "boolean" } }, USAGE);
  if (values.help) return helped(USAGE);
  if (positionals.length !== 1 || command.length === 0)
    throw new UsageError(`name one role and a command after --\n${USAGE}`);
  const role = positionals[0]!;
  // Fail before starting anything when the role cannot be used.
  await credentialsFor(role);
  return runExec({
    role,
    command,
    mode: values.env ? "env" : "server",
    // The caller's environment as it came (the entry points add nothing to process.env), plus the region.
    env: process.env,
    region: roleRegion(role),
    getCredentials: () => credentialsFor(role),
    // A command killed by a signal makes `gatehouse exec` die by the same signal, as a shell expects.
    reraise: true,
  });
}
