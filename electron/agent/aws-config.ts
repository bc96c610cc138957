// The managed block of ~/.aws/config: one credential_process profile per role, nothing outside it touched.

import { randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import { GatehouseError } from "../../shared/errors.ts";

export const BEGIN_MARKER = "# >>> gatehouse managed profiles — do not edit inside this block >>>";
export const END_MARKER = "# <<< gatehouse managed profiles <<<";
// Markers are recognised by these prefixes, so rewording the rest of a marker line never orphans a block.
const BEGIN_PREFIX = "# >>> gatehouse managed profiles";
const END_PREFIX = "# <<< gatehouse managed profiles";

export interface ManagedProfile {
  name: string;
  /** What `gatehouse credential-process --role` takes: account-name/role, account-id/role, or an ARN. */
  role: string;
  region?: string;
}

const PROFILE_NAME = /^[A-Za-z0-9_.-]+$/;
// IAM role names and paths, account ids and names without spaces, and ARNs: nothing sh, Python's shlex
// or cmd.exe would split or expand, so the line needs no quoting that one of them would read differently.
const ROLE_REF = /^[A-Za-z0-9_+=,.@:/-]+$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
// The JS SDK's INI parser drops everything after a ";" or "#" that follows whitespace.
const UNSAFE_COMMAND = /[\0\r\n#;]/;
const FORBIDDEN_NAMES = new Set(["__proto__", "constructor", "prototype"]);

/** A profile name from the settings template, with characters outside [A-Za-z0-9_.-] turned into "-". */
export function profileName(
  template: string,
  vars: { account: string; accountId: string; role: string },
): string {
  const filled = template.replace(/\{([^{}]*)\}/g, (token, key: string) => {
    if (key === "account" || key === "accountId" || key === "role") return vars[key];
    throw new GatehouseError(
      "BAD_ARGUMENT",
      `Unknown ${token} in the profile template: use {account}, {accountId} and {role}.`,
    );
  });
  const name = filled.replace(/[^A-Za-z0-9_.-]/gu, "-");
  if (!name || FORBIDDEN_NAMES.has(name))
    throw new GatehouseError(
      "BAD_ARGUMENT",
      `The profile template gives an unusable name: ${JSON.stringify(name)}.`,
    );
  return name;
}

/**
 * Arguments joined into a command line that sh and Python's shlex (POSIX) split back the same way, or
 * double-quoted for cmd.exe on Windows: for `opts.command` when gatehouse lives at a path with spaces.
 */
export function commandLine(argv: string[], platform: NodeJS.Platform = process.platform): string {
  return argv
    .map((arg) => {
      if (platform === "win32") {
        if (/^[A-Za-z0-9_@%+=:,./\\-]+$/.test(arg)) return arg;
        if (arg.includes('"')) throw new GatehouseError("BAD_ARGUMENT", `Cannot quote ${arg} for cmd.exe.`);
        return `"${arg}"`;
      }
      return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
    })
    .join(" ");
}

/** The block, markers included, ending in a newline; "" for no profiles (which removes the block). */
export function renderManagedBlock(profiles: ManagedProfile[], opts: { command: string }): string {
  if (profiles.length === 0) return "";
  const command = opts.command.trim();
  if (!command || UNSAFE_COMMAND.test(command))
    throw new GatehouseError(
      "BAD_ARGUMENT",
      "The gatehouse command for credential_process may not be empty or hold a newline, # or ;.",
    );
  const seen = new Set<string>();
  const sections: string[] = [];
  for (const p of [...profiles].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!PROFILE_NAME.test(p.name) || FORBIDDEN_NAMES.has(p.name))
      throw new GatehouseError("BAD_ARGUMENT", `Invalid profile name ${JSON.stringify(p.name)}.`);
    if (seen.has(p.name))
      throw new GatehouseError(
        "CONFIG_CONFLICT",
        `Two roles would both be profile ${p.name}: change the profile template.`,
      );
    seen.add(p.name);
    if (!ROLE_REF.test(p.role))
      throw new GatehouseError(
        "BAD_ARGUMENT",
        `Role ${JSON.stringify(p.role)} cannot go into credential_process as it is: use account-id/role-name or the ARN.`,
      );
    if (p.region !== undefined && !REGION.test(p.region))
      throw new GatehouseError("BAD_ARGUMENT", `Invalid region ${JSON.stringify(p.region)}.`);
    const lines = [
      `[profile ${p.name}]`,
      `credential_process = ${command} credential-process --role ${p.role}`,
    ];
    if (p.region !== undefined) lines.push(`region = ${p.region}`);
    sections.push(lines.join("\n"));
  }
  return `${BEGIN_MARKER}\n${sections.join("\n\n")}\n${END_MARKER}\n`;
}

/**
 * The config text with every credential_process line inside the managed block running `command` instead
 * of whatever it ran; the text unchanged when there is no block or nothing differs. Pure.
 */
export function retargetManagedBlock(text: string, command: string): string {
  if (!command.trim() || UNSAFE_COMMAND.test(command))
    throw new GatehouseError(
      "BAD_ARGUMENT",
      "The gatehouse command for credential_process may not be empty or hold a newline, # or ;.",
    );
  const { lines, begin, end } = locate(text);
  if (begin === -1) return text;
  for (let i = begin + 1; i < end; i++) {
    const m = /^credential_process = .*? (credential-process --role \S+)(\r?\n?)$/.exec(lines[i]!);
    if (m) lines[i] = `credential_process = ${command.trim()} ${m[1]}${m[2]}`;
  }
  return lines.join("");
}

/** The command the managed block's profiles run, or undefined when there is no block (or it is empty). */
export function managedBlockCommand(text: string): string | undefined {
  const { lines, begin, end } = locate(text);
  for (let i = begin + 1; begin !== -1 && i < end; i++) {
    const m = /^credential_process = (.*?) credential-process --role \S+\r?\n?$/.exec(lines[i]!);
    if (m) return m[1];
  }
  return undefined;
}

/** The profile a section header names, as the SDKs read it (`[default]`, `[profile x]`); null otherwise. */
function sectionProfile(line: string): string | null {
  // Like the JS SDK: an inline comment starts at ";" or "#" after whitespace.
  const text = line.split(/(?:^|\s)[;#]/)[0]!.trim();
  if (!text.startsWith("[") || !text.endsWith("]")) return null;
  const inner = text.slice(1, -1).trim();
  const prefixed = /^profile\s+(["']?)(.+)\1$/.exec(inner);
  if (prefixed) return prefixed[2]!.trim();
  // `[sso-session x]`, `[services x]`: other kinds of section. A bare `[x]` counts: some tools read it.
  return /\s/.test(inner) ? null : inner;
}

interface Located {
  /** Lines with their own line endings, so joining them gives the text back byte for byte. */
  lines: string[];
  begin: number;
  end: number;
}

function locate(text: string): Located {
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const begins: number[] = [];
  const ends: number[] = [];
  lines.forEach((line, i) => {
    const t = line.trim();
    if (t.startsWith(BEGIN_PREFIX)) begins.push(i);
    else if (t.startsWith(END_PREFIX)) ends.push(i);
  });
  if (begins.length === 0 && ends.length === 0) return { lines, begin: -1, end: -1 };
  if (begins.length !== 1 || ends.length !== 1 || begins[0]! > ends[0]!)
    throw new GatehouseError(
      "CONFIG_CONFLICT",
      `The AWS config file has ${begins.length} start and ${ends.length} end markers of the gatehouse block ` +
        "(or they are out of order): fix it by hand, keeping one start line, one end line, or neither.",
    );
  return { lines, begin: begins[0]!, end: ends[0]! };
}

/**
 * The config file with `block` in place of the managed block: replaced where it is, appended after one
 * blank line if there is none, removed when `block` is "". Text outside the block is kept byte for byte,
 * except that the blank line appending added goes again with a block at the end of the file.
 */
export function applyManagedBlock(existing: string, block: string): string {
  const { lines, begin, end } = locate(existing);
  const eol = /\r\n/.test(existing.match(/[^\n]*\n/)?.[0] ?? "") ? "\r\n" : "\n";

  const ours = new Set<string>();
  if (block !== "") {
    const b = locate(block);
    if (b.begin !== 0 || b.end !== b.lines.length - 1)
      throw new GatehouseError("INTERNAL", "The managed block must start and end with its markers.");
    for (const line of b.lines) {
      const name = sectionProfile(line);
      if (name !== null) ours.add(name);
    }
  }
  // Never shadow or duplicate a profile the user wrote: the SDKs would merge or pick one silently.
  const clashes = new Set<string>();
  lines.forEach((line, i) => {
    if (begin !== -1 && i >= begin && i <= end) return;
    const name = sectionProfile(line);
    if (name !== null && ours.has(name)) clashes.add(name);
  });
  if (clashes.size > 0)
    throw new GatehouseError(
      "CONFIG_CONFLICT",
      `The AWS config file already has profile ${[...clashes].join(", ")} outside the gatehouse block: ` +
        "rename or remove it, or change the profile template.",
    );

  const rendered = block.replace(/\r?\n/g, eol);
  if (begin === -1) {
    if (rendered === "") return existing;
    if (existing === "") return rendered;
    return existing + (existing.endsWith("\n") ? "" : eol) + eol + rendered;
  }
  let before = lines.slice(0, begin).join("");
  const after = lines.slice(end + 1).join("");
  if (rendered === "" && after === "" && before.endsWith(eol + eol)) before = before.slice(0, -eol.length);
  return before + rendered + after;
}

/** Where the AWS CLI and SDKs read profiles: $AWS_CONFIG_FILE, else ~/.aws/config. */
export function awsConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.AWS_CONFIG_FILE;
  if (!configured) return join(homedir(), ".aws", "config");
  return configured.startsWith("~/") ? join(homedir(), configured.slice(2)) : configured;
}

/** The file's text, or "" when there is none yet. */
export function readAwsConfig(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw new GatehouseError("INTERNAL", `Cannot read ${path}: ${(e as NodeJS.ErrnoException).code}.`, {
      cause: e,
    });
  }
}

/**
 * Replace the file atomically (temp file + rename in the same directory), keeping its mode; a new file
 * is 0600 in a parent created 0700. A symlinked config (dotfile managers) is written through to its target.
 * Synchronous: the file is small, and callers then cannot interleave two writes of it.
 */
export function writeAwsConfig(path: string, content: string): void {
  let target = path;
  let mode = 0o600;
  try {
    target = realpathSync(path);
    mode = statSync(target).mode & 0o777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw ioError(path, e);
    target = path;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw ioError(dirname(path), err);
    }
  }
  const tmp = join(dirname(target), `.${basename(target)}.gatehouse-${randomBytes(6).toString("hex")}.tmp`);
  try {
    const fd = openSync(tmp, "wx", mode);
    try {
      writeFileSync(fd, content, "utf8");
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // open's mode went through the umask; the file must end up with exactly the old mode.
    chmodSync(tmp, mode);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw ioError(target, e);
  }
}

function ioError(path: string, e: unknown): GatehouseError {
  const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  return new GatehouseError("INTERNAL", `Cannot write ${path}: ${code}.`, { cause: e });
}
