// `gatehouse policy lint FILE [--json]`: lint an IAM policy locally, as the editor and the broker do.

import { readFileSync } from "node:fs";
import { type LintResult, lintPolicy } from "../../../shared/policy-lint.ts";
import { visibleJson } from "../../../shared/visible-text.ts";
import { flags, helped, one, print, UsageError } from "../io.ts";

export const USAGE = `usage: gatehouse policy lint FILE [--json]   (FILE "-" reads standard input)
  exit 0: valid; 1: the policy has errors; 2: the file cannot be read`;

export interface LintInput {
  file: string;
  json: boolean;
}

export function validate(positionals: string[], json: boolean | undefined): LintInput {
  if (positionals[0] !== "lint") throw new UsageError(`expected "policy lint FILE"\n${USAGE}`);
  if (positionals.length !== 2)
    throw new UsageError(`name one policy file (or - for standard input)\n${USAGE}`);
  return { file: positionals[1]!, json: json === true };
}

/**
 * The policy's text. Unreadable input (missing, a directory, not UTF-8) is a usage error, exit 2; text
 * that is not JSON is read fine and becomes the lint's INVALID_JSON, exit 1.
 */
export function readPolicy(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file === "-" ? 0 : file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === "ENOENT" ? "no such file" : err.code === "EISDIR" ? "it is a directory" : err.message;
    throw new UsageError(`cannot read ${file === "-" ? "standard input" : file}: ${why}`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`cannot read ${file === "-" ? "standard input" : file}: it is not UTF-8 text`);
  }
}

/** One finding a line (severity, code, path, message), then the risk and why. */
export function formatText(result: LintResult): string {
  const lines = result.findings.map(
    (f) => `${f.severity.padEnd(7)} ${f.code}  ${one(f.path || "(document)")}  ${one(f.message)}`,
  );
  lines.push(`risk: ${result.risk} (${result.reasons.map(one).join("; ")})`);
  return `${lines.join("\n")}\n`;
}

/** The JSON form is a contract for scripts: exactly these three keys. */
export function formatJson(result: LintResult): string {
  const { valid, risk, findings } = result;
  const shown = findings.map(({ severity, code, message, path }) => ({ severity, code, message, path }));
  return `${visibleJson({ valid, risk, findings: shown })}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = flags(argv, { json: { type: "boolean" } }, USAGE);
  if (values.help) return helped(USAGE);
  const input = validate(positionals, values.json);
  const result = await lintPolicy(readPolicy(input.file));
  if (input.json) process.stdout.write(formatJson(result));
  else print(formatText(result));
  return result.valid ? 0 : 1;
}
