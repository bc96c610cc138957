// `gatehouse doctor [--json] [--role ROLE]`: what is wrong with this desktop's set-up, one line per check,
// each failure with its fix; exit 0 when nothing failed, 1 otherwise.

import { formatReport, runDoctor } from "../../agent/doctor/index.ts";
import { flags, helped } from "../io.ts";

export const USAGE =
  "usage: gatehouse doctor [--json] [--role ROLE]   (--role: credentials for ROLE end to end, each step timed)";

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = flags(argv, { json: { type: "boolean" }, role: { type: "string" } }, USAGE);
  if (values.help) return helped(USAGE);
  if (positionals.length > 0) {
    console.error(`gatehouse: doctor takes no arguments [BAD_ARGUMENT]\n${USAGE}`);
    return 2;
  }
  const report = await runDoctor(process.env, values.role ? { role: values.role } : {});
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.ok ? 0 : 1;
}
