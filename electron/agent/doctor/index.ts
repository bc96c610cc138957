// `gatehouse doctor`: the checks in the order people fix things, run one after another, and their report —
// one line per finding (a failure's fix under it) or JSON. Exit 0 when nothing failed, 1 otherwise.

import { VERSION } from "../../../shared/version.ts";
import { agentPaths } from "../home.ts";
import { loadSettings, type Settings, settingsSchema } from "../settings.ts";
import { agentCheck } from "./agent.ts";
import { awsCliCheck } from "./aws-cli.ts";
import { awsFilesCheck } from "./aws-files.ts";
import { brokerCheck, idpCheck } from "./broker.ts";
import { type Check, type DoctorContext, type Finding, fail, ok } from "./check.ts";
import { environmentCheck } from "./environment.ts";
import { keychainCheck } from "./keychain.ts";
import { roleCheck } from "./role.ts";

/** Every check, in the order they are run and shown; a new check is a module added here. */
export const CHECKS: readonly Check[] = [
  agentCheck,
  keychainCheck,
  brokerCheck,
  idpCheck,
  awsCliCheck,
  awsFilesCheck,
  environmentCheck,
  roleCheck,
];

export interface DoctorReport {
  ok: boolean;
  findings: Finding[];
}

export async function runDoctor(
  env: NodeJS.ProcessEnv,
  opts: { role?: string; checks?: readonly Check[] } = {},
): Promise<DoctorReport> {
  const paths = agentPaths(env);
  let settings: Settings;
  const findings: Finding[] = [];
  try {
    settings = loadSettings(paths);
    findings.push(ok("settings", `${paths.settings} is valid`));
  } catch (e) {
    settings = settingsSchema.parse({});
    findings.push(
      fail("settings", (e as Error).message, `fix ${paths.settings} (or delete it for the defaults)`),
    );
  }
  const ctx: DoctorContext = {
    env,
    paths,
    settings,
    version: VERSION,
    memo: new Map(),
    ...(opts.role ? { role: opts.role } : {}),
  };
  for (const check of opts.checks ?? CHECKS) {
    try {
      findings.push(...(await check.run(ctx)));
    } catch (e) {
      // A check that breaks is a finding too, not the end of the report.
      findings.push(
        fail(
          check.id,
          `the check itself failed: ${(e as Error).message}`,
          "report this to Gatehouse's maintainers",
        ),
      );
    }
  }
  return { ok: !findings.some((f) => f.status === "fail"), findings };
}

const MARK = { ok: "ok  ", warn: "warn", fail: "FAIL", skip: "skip" } as const;

/** The report as lines: `ok   agent: running …`, a failure's or warning's fix indented under it. */
export function formatReport(r: DoctorReport): string {
  const width = Math.max(...r.findings.map((f) => f.id.length));
  const lines: string[] = [];
  for (const f of r.findings) {
    const ms = f.ms !== undefined ? ` (${f.ms} ms)` : "";
    lines.push(`${MARK[f.status]}  ${f.id.padEnd(width)}  ${f.message}${ms}`);
    if (f.fix) lines.push(`      ${" ".repeat(width)}  fix: ${f.fix}`);
  }
  const failed = r.findings.filter((f) => f.status === "fail").length;
  const warned = r.findings.filter((f) => f.status === "warn").length;
  lines.push(
    failed === 0
      ? `All good${warned ? ` (${warned} warning${warned === 1 ? "" : "s"})` : ""}.`
      : `${failed} problem${failed === 1 ? "" : "s"} to fix${warned ? `, ${warned} warning${warned === 1 ? "" : "s"}` : ""}.`,
  );
  return `${lines.join("\n")}\n`;
}
