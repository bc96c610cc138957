// `gatehouse-broker doctor --config FILE [--json] [--profile ADMIN] [--admin-role NAME]`: exit 0 when
// every link holds, 1 when something is broken, 2 when doctor could not run (the caller maps errors).

import type { BrokerConfig } from "../config.ts";
import { formatFinding, runDoctor } from "../onboarding/doctor.ts";

export interface DoctorInput {
  config: BrokerConfig;
  json: boolean;
  profile?: string | undefined;
  adminRole: string;
}

export async function doctorCommand(
  input: DoctorInput,
  out: (line: string) => void = console.log,
): Promise<number> {
  const report = await runDoctor(input.config, {
    ...(input.profile ? { admin: { profile: input.profile, roleName: input.adminRole } } : {}),
  });
  if (input.json) out(JSON.stringify(report, null, 2));
  else {
    for (const f of report.findings) out(formatFinding(f));
    const errors = report.findings.filter((f) => f.status === "error").length;
    const warnings = report.findings.filter((f) => f.status === "warn").length;
    out(errors === 0 ? `all links hold (${warnings} warnings)` : `${errors} broken, ${warnings} warnings`);
  }
  return report.ok ? 0 : 1;
}
