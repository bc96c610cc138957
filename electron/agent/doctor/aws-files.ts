// Doctor: the AWS config and credentials files — Gatehouse's managed block there and naming a gatehouse that
// exists, no profile defined twice (which the SDKs merge or pick from silently), no static keys in [default].

import { accessSync, constants, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { awsConfigPath } from "../agent.ts";
import { managedBlockCommand } from "../aws-config.ts";
import { which } from "./aws-cli.ts";
import { type Check, type DoctorContext, type Finding, fail, ok, warn } from "./check.ts";

export interface Section {
  /** The profile name (`[default]`, `[profile x]` in config; `[x]` in credentials). */
  name: string;
  line: number;
  keys: Record<string, string>;
  /** Inside Gatehouse's managed block. */
  managed: boolean;
}

/** The profile sections of an AWS config (`kind: "config"`) or credentials file. Pure. */
export function profileSections(text: string, kind: "config" | "credentials"): Section[] {
  const out: Section[] = [];
  let current: Section | undefined;
  let managed = false;
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.trim();
    if (t.startsWith("# >>> gatehouse managed profiles")) managed = true;
    if (t.startsWith("# <<< gatehouse managed profiles")) managed = false;
    const line = raw.split(/(?:^|\s)[;#]/)[0]!.trim();
    const header = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (header) {
      const inner = header[1]!;
      const prefixed = /^profile\s+(["']?)(.+)\1$/.exec(inner);
      const name = kind === "credentials" ? inner : inner === "default" ? "default" : prefixed?.[2]?.trim();
      current = name ? { name, line: i + 1, keys: {}, managed } : undefined;
      if (current) out.push(current);
      return;
    }
    const eq = line.indexOf("=");
    if (current && eq > 0) current.keys[line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim();
  });
  return out;
}

/** The words of a credential_process command as the AWS CLI (shlex, POSIX) splits them. Pure, small. */
export function splitCommand(command: string): string[] {
  const words: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(command); m; m = re.exec(command))
    words.push(m[1] ?? m[2]?.replace(/\\(.)/g, "$1") ?? m[3]!);
  return words;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function credentialsPath(env: NodeJS.ProcessEnv): string {
  return env.AWS_SHARED_CREDENTIALS_FILE || join(homedir(), ".aws", "credentials");
}

export const awsFilesCheck: Check = {
  id: "aws-config",
  async run(ctx: DoctorContext): Promise<Finding[]> {
    const configPath = awsConfigPath(ctx.settings, ctx.env);
    const credsPath = credentialsPath(ctx.env);
    const config = read(configPath) ?? "";
    const creds = read(credsPath) ?? "";
    const out: Finding[] = [];
    const regenerate = "run `gatehouse config generate`";

    // The managed block, and the command its profiles run.
    let command: string | undefined;
    let broken: string | undefined;
    try {
      command = managedBlockCommand(config);
    } catch (e) {
      broken = (e as Error).message;
    }
    if (broken) out.push(fail("aws-config.block", broken, `then ${regenerate}`));
    else if (command === undefined)
      out.push(warn("aws-config.block", `${configPath} has no Gatehouse profiles`, regenerate));
    else {
      const words = splitCommand(command);
      const program = words[0] ?? "";
      const resolved = isAbsolute(program) ? program : which(program, ctx.env);
      // `node /…/bin/gatehouse.cjs`: the script must be there too.
      const missing = [
        ...(resolved && executable(resolved) ? [] : [program]),
        ...words.slice(1).filter((w) => isAbsolute(w) && read(w) === undefined),
      ];
      if (missing.length > 0)
        out.push(
          fail(
            "aws-config.block",
            `the Gatehouse profiles in ${configPath} run ${missing.join(", ")}, which does not exist${isAbsolute(program) ? "" : " on PATH"}`,
            `${regenerate} (it writes the gatehouse you run now, by absolute path)`,
          ),
        );
      else if (!isAbsolute(program))
        out.push(
          warn(
            "aws-config.block",
            `the Gatehouse profiles run \`${program}\` through PATH (${resolved}): a different PATH breaks them`,
            `${regenerate}, which names the gatehouse you run by absolute path`,
          ),
        );
      else out.push(ok("aws-config.block", `the Gatehouse profiles in ${configPath} run ${program}`));
    }

    // A profile twice: inside one file, or in both (the credentials file's keys then win over credential_process).
    const inConfig = profileSections(config, "config");
    const inCreds = profileSections(creds, "credentials");
    const twice: string[] = [];
    const managed = new Set(inConfig.filter((s) => s.managed).map((s) => s.name));
    for (const [list, path] of [
      [inConfig, configPath],
      [inCreds, credsPath],
    ] as const) {
      const seen = new Map<string, number>();
      for (const s of list) {
        if (seen.has(s.name))
          twice.push(`[${s.name}] twice in ${path} (lines ${seen.get(s.name)} and ${s.line})`);
        else seen.set(s.name, s.line);
      }
    }
    for (const s of inCreds)
      if (managed.has(s.name))
        twice.push(
          `[${s.name}] in ${credsPath} (line ${s.line}) as well as Gatehouse's profile in ${configPath}`,
        );
    out.push(
      twice.length > 0
        ? fail(
            "aws-config.duplicates",
            `a profile is defined twice: ${twice.join("; ")}; the AWS tools merge or pick one silently`,
            "keep one definition of each profile (remove the other, or rename it)",
          )
        : ok("aws-config.duplicates", "no profile is defined twice"),
    );

    // Long-lived keys in [default]: every command without --profile uses them, whatever else is set up.
    const withKeys = [
      ...inConfig.filter((s) => s.name === "default" && s.keys.aws_access_key_id).map(() => configPath),
      ...inCreds.filter((s) => s.name === "default" && s.keys.aws_access_key_id).map(() => credsPath),
    ];
    out.push(
      withKeys.length > 0
        ? warn(
            "aws-config.default-keys",
            `[default] holds static access keys in ${withKeys.join(" and ")}: commands without --profile use them`,
            "remove the keys (deactivate them in IAM) and pick a Gatehouse profile with --profile or AWS_PROFILE",
          )
        : ok("aws-config.default-keys", "no static keys in [default]"),
    );
    return out;
  },
};
