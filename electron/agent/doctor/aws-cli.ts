// Doctor: the AWS CLI on PATH — its version, and whether it knows `credential_process` (v1 from 1.16.0, every v2).

import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { type Check, type DoctorContext, type Finding, fail, ok, warn } from "./check.ts";

/** The first executable `name` on PATH, or undefined. */
export function which(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const exts = process.platform === "win32" ? (env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";") : [""];
  for (const dir of (env.PATH ?? "").split(delimiter).filter(Boolean))
    for (const ext of exts) {
      const file = join(dir, name + ext);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {}
    }
  return undefined;
}

/** `aws --version` output → [major, minor, patch], or undefined. Pure. */
export function parseAwsCliVersion(text: string): [number, number, number] | undefined {
  const m = /aws-cli\/(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** credential_process came with AWS CLI 1.16.0 (botocore 1.12.0); every v2 has it. Pure. */
export function supportsCredentialProcess([major, minor]: [number, number, number]): boolean {
  return major >= 2 || (major === 1 && minor >= 16);
}

export const awsCliCheck: Check = {
  id: "aws-cli",
  async run(ctx: DoctorContext): Promise<Finding[]> {
    const aws = which("aws", ctx.env);
    if (!aws)
      return [
        warn(
          "aws-cli",
          "no AWS CLI on PATH (the SDKs still use the profiles)",
          "install the AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html",
        ),
      ];
    const text = await new Promise<string>((resolve) => {
      execFile(aws, ["--version"], { env: ctx.env, timeout: 20_000 }, (_e, stdout, stderr) =>
        resolve(`${stdout}${stderr}`),
      );
    });
    const v = parseAwsCliVersion(text);
    if (!v)
      return [
        fail(
          "aws-cli",
          `${aws} --version printed no version: ${text.trim().slice(0, 80)}`,
          "reinstall the AWS CLI v2",
        ),
      ];
    const version = v.join(".");
    return supportsCredentialProcess(v)
      ? [ok("aws-cli", `AWS CLI ${version} (${aws}) supports credential_process`)]
      : [
          fail(
            "aws-cli",
            `AWS CLI ${version} (${aws}) predates credential_process (1.16.0)`,
            "upgrade to the AWS CLI v2",
          ),
        ];
  },
};
