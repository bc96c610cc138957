// `gatehouse export ROLE [--format sh|fish|powershell|json]`: credentials (and the region, unless the
// shell has one) as shell variables.

import { formatExport } from "../../agent/export.ts";
import { regionVariables, roleRegion } from "../../agent/region.ts";
import { credentialsFor, flags, helped, UsageError } from "../io.ts";

export const USAGE =
  'usage: gatehouse export ROLE [--format sh|fish|powershell|json]   e.g. eval "$(gatehouse export prod/ReadOnly)"';
const FORMATS = ["sh", "fish", "powershell", "json"] as const;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = flags(argv, { format: { type: "string", default: "sh" } }, USAGE);
  if (values.help) return helped(USAGE);
  if (positionals.length !== 1) throw new UsageError(`name one role\n${USAGE}`);
  const format = values.format as (typeof FORMATS)[number];
  if (!FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${FORMATS.join(", ")}\n${USAGE}`);
  const role = positionals[0]!;
  const creds = await credentialsFor(role);
  const region = regionVariables(process.env, roleRegion(role));
  process.stdout.write(formatExport(creds, format, role, region));
  return 0;
}
