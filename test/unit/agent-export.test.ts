// `gatehouse export` output: each shell's quoting survives hostile values (run through real sh and
// bash for POSIX), profiles are unset so the keys win, and JSON is what credential_process prints.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  EXPORT_FORMATS,
  type ExportFormat,
  formatExport,
  quoteFish,
  quotePowerShell,
  quoteSh,
} from "../../electron/agent/export.ts";

const tmp = mkdtempSync(join(tmpdir(), "gatehouse-export-"));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const EXPIRATION = "2031-05-06T07:08:09.000Z";
const creds = (secretAccessKey: string) => ({
  accessKeyId: "ASIAEXPORTTEST000001",
  secretAccessKey,
  sessionToken: "IQoJb3JpZ2luX2VjEOr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==",
  expiration: EXPIRATION,
});

const PWNED = join(tmp, "pwned");
const HOSTILE = [
  "plain",
  "it's",
  "'",
  "''",
  "a'b'c",
  "$HOME",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion the quoting must keep literal
  "${HOME}",
  "$(touch " + PWNED + ")",
  "`touch " + PWNED + "`",
  "'; touch " + PWNED + "; '",
  '"double" quotes',
  "back\\slash\\",
  "\\'",
  "new\nline",
  "trailing newline\n",
  "tab\there",
  "spaces  and * glob ?",
  "!history !! and #comment",
  "unicode é ü ‘curly’ 🔑",
  "",
];

/** Evaluate the output in a real shell and print one variable back, byte for byte. */
function evalIn(shell: string, script: string, variable: string, env: NodeJS.ProcessEnv = {}): string {
  // --norc: bash sources ~/.bashrc when its stdin is a socket, as Node's pipes are.
  const flags = shell === "bash" ? ["--norc", "-c"] : ["-c"];
  return execFileSync(shell, [...flags, `eval "$(cat)"; printf %s "$${variable}"`], {
    input: script,
    env: { PATH: process.env.PATH, ...env },
    encoding: "utf8",
  });
}

describe("sh", () => {
  it.each(HOSTILE)("the secret %j survives sh -c 'eval \"$(cat)\"'", (secret) => {
    const out = formatExport(creds(secret), "sh", "prod/ReadOnly");
    expect(evalIn("sh", out, "AWS_SECRET_ACCESS_KEY")).toBe(secret);
    expect(evalIn("bash", out, "AWS_SECRET_ACCESS_KEY")).toBe(secret);
    expect(existsSync(PWNED)).toBe(false);
  });

  it("every variable is exported and reaches a child process", () => {
    const out = formatExport(creds("s'$x"), "sh", "prod/ReadOnly");
    const env = execFileSync("sh", ["-c", 'eval "$(cat)"; env'], {
      input: out,
      env: { PATH: process.env.PATH },
      encoding: "utf8",
    });
    expect(env).toContain("AWS_ACCESS_KEY_ID=ASIAEXPORTTEST000001\n");
    expect(env).toContain("AWS_SECRET_ACCESS_KEY=s'$x\n");
    expect(env).toContain(`AWS_SESSION_TOKEN=${creds("").sessionToken}\n`);
    expect(env).toContain(`AWS_CREDENTIAL_EXPIRATION=${EXPIRATION}\n`);
    expect(env).toContain("GATEHOUSE_ROLE=prod/ReadOnly\n");
  });

  it("AWS_PROFILE and AWS_DEFAULT_PROFILE are unset, since the JS SDK would prefer them to the keys", () => {
    const out = formatExport(creds("x"), "sh", "r");
    const env = { AWS_PROFILE: "other", AWS_DEFAULT_PROFILE: "other" };
    expect(evalIn("sh", out, "{AWS_PROFILE-unset}", env)).toBe("unset");
    expect(evalIn("sh", out, "{AWS_DEFAULT_PROFILE-unset}", env)).toBe("unset");
  });

  it("a hostile role reference stays inside its quotes", () => {
    const role = `x'; touch ${PWNED}; echo '`;
    expect(evalIn("sh", formatExport(creds("x"), "sh", role), "GATEHOUSE_ROLE")).toBe(role);
    expect(existsSync(PWNED)).toBe(false);
  });

  it("the exact text", () => {
    expect(formatExport(creds("a'b"), "sh", "prod/ReadOnly")).toBe(
      [
        "unset AWS_PROFILE AWS_DEFAULT_PROFILE",
        "export AWS_ACCESS_KEY_ID='ASIAEXPORTTEST000001'",
        "export AWS_SECRET_ACCESS_KEY='a'\\''b'",
        `export AWS_SESSION_TOKEN='${creds("").sessionToken}'`,
        `export AWS_CREDENTIAL_EXPIRATION='${EXPIRATION}'`,
        "export GATEHOUSE_ROLE='prod/ReadOnly'",
        "",
      ].join("\n"),
    );
  });

  it("quoteSh", () => {
    expect(quoteSh("")).toBe("''");
    expect(quoteSh("it's")).toBe("'it'\\''s'");
  });
});

/** What fish makes of a single-quoted word: only \\ and \' are escapes. */
function unquoteFish(word: string): string {
  expect(word.startsWith("'") && word.endsWith("'")).toBe(true);
  let out = "";
  const inner = word.slice(1, -1);
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c === "\\" && (inner[i + 1] === "\\" || inner[i + 1] === "'")) out += inner[++i];
    else if (c === "'") throw new Error(`unescaped quote in ${word}`);
    else out += c;
  }
  return out;
}

/** What PowerShell makes of a single-quoted string: a doubled quote (any of its four kinds) is one. */
function unquotePowerShell(word: string): string {
  const quotes = "'\u2018\u2019\u201A\u201B";
  expect(quotes.includes(word[0]!) && quotes.includes(word.at(-1)!)).toBe(true);
  let out = "";
  const inner = word.slice(1, -1);
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (quotes.includes(c)) {
      if (!quotes.includes(inner[i + 1] ?? "")) throw new Error(`unescaped quote in ${word}`);
      i++;
    }
    out += c;
  }
  return out;
}

describe("fish", () => {
  it.each(HOSTILE)("the secret %j round-trips through fish quoting", (secret) => {
    const out = formatExport(creds(secret), "fish", "prod/ReadOnly");
    const line = out.split(/\n(?=set )/).find((l) => l.startsWith("set -gx AWS_SECRET_ACCESS_KEY "))!;
    expect(unquoteFish(line.slice("set -gx AWS_SECRET_ACCESS_KEY ".length).replace(/\n$/, ""))).toBe(secret);
  });

  it("the exact text", () => {
    expect(formatExport(creds("a'b\\c"), "fish", "prod/ReadOnly")).toBe(
      [
        "set -e AWS_PROFILE",
        "set -e AWS_DEFAULT_PROFILE",
        "set -gx AWS_ACCESS_KEY_ID 'ASIAEXPORTTEST000001'",
        "set -gx AWS_SECRET_ACCESS_KEY 'a\\'b\\\\c'",
        `set -gx AWS_SESSION_TOKEN '${creds("").sessionToken}'`,
        `set -gx AWS_CREDENTIAL_EXPIRATION '${EXPIRATION}'`,
        "set -gx GATEHOUSE_ROLE 'prod/ReadOnly'",
        "",
      ].join("\n"),
    );
    expect(quoteFish("$HOME (x)")).toBe("'$HOME (x)'");
  });
});

describe("PowerShell", () => {
  it.each(HOSTILE)("the secret %j round-trips through PowerShell quoting", (secret) => {
    const out = formatExport(creds(secret), "powershell", "prod/ReadOnly");
    const start = out.indexOf("$Env:AWS_SECRET_ACCESS_KEY = ") + "$Env:AWS_SECRET_ACCESS_KEY = ".length;
    const end = out.indexOf("\n$Env:AWS_SESSION_TOKEN");
    expect(unquotePowerShell(out.slice(start, end))).toBe(secret);
  });

  it("the exact text; typographic single quotes are doubled too", () => {
    expect(formatExport(creds("a'b‘c’"), "powershell", "prod/ReadOnly")).toBe(
      [
        "Remove-Item Env:AWS_PROFILE -ErrorAction SilentlyContinue",
        "Remove-Item Env:AWS_DEFAULT_PROFILE -ErrorAction SilentlyContinue",
        "$Env:AWS_ACCESS_KEY_ID = 'ASIAEXPORTTEST000001'",
        "$Env:AWS_SECRET_ACCESS_KEY = 'a''b‘‘c’’'",
        `$Env:AWS_SESSION_TOKEN = '${creds("").sessionToken}'`,
        `$Env:AWS_CREDENTIAL_EXPIRATION = '${EXPIRATION}'`,
        "$Env:GATEHOUSE_ROLE = 'prod/ReadOnly'",
        "",
      ].join("\n"),
    );
    expect(quotePowerShell("$x `y`")).toBe("'$x `y`'");
  });
});

describe("json", () => {
  it("is the credential_process object: Version 1, the keys, an ISO 8601 Expiration", () => {
    const out = formatExport(creds("a'b$\"c"), "json", "prod/ReadOnly");
    expect(out.endsWith("\n")).toBe(true);
    expect(JSON.parse(out)).toEqual({
      Version: 1,
      AccessKeyId: "ASIAEXPORTTEST000001",
      SecretAccessKey: "a'b$\"c",
      SessionToken: creds("").sessionToken,
      Expiration: EXPIRATION,
    });
  });

  it("normalises the expiration to ISO 8601 UTC", () => {
    const out = formatExport({ ...creds("x"), expiration: "2031-05-06T09:08:09+02:00" }, "json", "r");
    expect(JSON.parse(out).Expiration).toBe(EXPIRATION);
  });
});

describe("refusals", () => {
  it("a value with NUL, which no shell variable can hold", () => {
    for (const format of ["sh", "fish", "powershell"] as const)
      expect(() => formatExport(creds("a\0b"), format, "r")).toThrow(
        expect.objectContaining({ code: "BAD_ARGUMENT" }),
      );
  });

  it("an expiration that is not a date", () => {
    for (const format of EXPORT_FORMATS)
      expect(() => formatExport({ ...creds("x"), expiration: "soon" }, format, "r")).toThrow(
        expect.objectContaining({ code: "INTERNAL" }),
      );
  });

  it("an unknown format", () => {
    expect(() => formatExport(creds("x"), "cmd" as ExportFormat, "r")).toThrow(
      expect.objectContaining({ code: "BAD_ARGUMENT" }),
    );
  });
});
