// The doctor's pure parts: clock skew, AWS CLI versions, profile sections, command splitting, socket modes,
// and the report's lines.

import { describe, expect, it } from "vitest";
import { privacyProblem } from "../../electron/agent/doctor/agent.ts";
import { parseAwsCliVersion, supportsCredentialProcess } from "../../electron/agent/doctor/aws-cli.ts";
import { profileSections, splitCommand } from "../../electron/agent/doctor/aws-files.ts";
import { judgeSkew } from "../../electron/agent/doctor/broker.ts";
import { formatReport } from "../../electron/agent/doctor/index.ts";

describe("judgeSkew", () => {
  it("fails past 5 minutes either way, warns past a minute", () => {
    expect(judgeSkew(200)).toEqual({
      status: "ok",
      message: "this clock is within a second of the broker's",
    });
    expect(judgeSkew(-30_000).status).toBe("ok");
    expect(judgeSkew(90_000)).toEqual({
      status: "warn",
      message: "this clock is 90 s ahead of the broker's",
    });
    expect(judgeSkew(5 * 60_000).status).toBe("warn");
    expect(judgeSkew(-(5 * 60_000 + 1000))).toEqual({
      status: "fail",
      message: "this clock is 301 s behind the broker's: AWS refuses requests signed more than 5 minutes off",
    });
  });
});

describe("AWS CLI versions", () => {
  it("reads v1 and v2 version lines; credential_process from 1.16.0 and in every v2", () => {
    expect(parseAwsCliVersion("aws-cli/1.45.11 Python/3.11.7 Linux/6.1 botocore/1.43.11")).toEqual([
      1, 45, 11,
    ]);
    expect(parseAwsCliVersion("aws-cli/2.17.0 Python/3.11.8 Linux/6.1 exe/x86_64.debian.12")).toEqual([
      2, 17, 0,
    ]);
    expect(parseAwsCliVersion("command not found")).toBeUndefined();
    expect(supportsCredentialProcess([1, 15, 85])).toBe(false);
    expect(supportsCredentialProcess([1, 16, 0])).toBe(true);
    expect(supportsCredentialProcess([2, 0, 0])).toBe(true);
  });
});

describe("profileSections", () => {
  it("names profiles as each file does, marks the managed ones, keeps keys lower-cased and comments out", () => {
    const config =
      "[default]\nregion = eu-west-1\n[profile a] # mine\nAWS_ACCESS_KEY_ID = AKIA\n[sso-session s]\nx = 1\n" +
      "# >>> gatehouse managed profiles — do not edit inside this block >>>\n[profile b]\ncredential_process = g credential-process --role x/y\n# <<< gatehouse managed profiles <<<\n";
    expect(profileSections(config, "config")).toEqual([
      { name: "default", line: 1, keys: { region: "eu-west-1" }, managed: false },
      { name: "a", line: 3, keys: { aws_access_key_id: "AKIA" }, managed: false },
      { name: "b", line: 8, keys: { credential_process: "g credential-process --role x/y" }, managed: true },
    ]);
    expect(profileSections("[default]\n[b]\r\n", "credentials").map((s) => s.name)).toEqual(["default", "b"]);
  });
});

describe("splitCommand", () => {
  it("splits like shlex: quotes keep spaces", () => {
    expect(splitCommand("/usr/bin/node /opt/x/bin/gatehouse.cjs credential-process --role a/b")).toEqual([
      "/usr/bin/node",
      "/opt/x/bin/gatehouse.cjs",
      "credential-process",
      "--role",
      "a/b",
    ]);
    expect(splitCommand(`'/Applications/Gate House.app/cli/gatehouse' credential-process`)).toEqual([
      "/Applications/Gate House.app/cli/gatehouse",
      "credential-process",
    ]);
  });
});

describe("privacyProblem", () => {
  it("wants the mode closed to others and the owner to be you", () => {
    expect(privacyProblem("s", { mode: 0o140600, uid: 1000 }, 0o600, 1000)).toBeUndefined();
    expect(privacyProblem("s", { mode: 0o140644, uid: 1000 }, 0o600, 1000)).toBe(
      "s is 0644: other users could ask it for your credentials (must be 0600)",
    );
    expect(privacyProblem("s", { mode: 0o140600, uid: 0 }, 0o600, 1000)).toBe(
      "s belongs to user 0, not you (1000)",
    );
  });
});

describe("formatReport", () => {
  it("one line per finding, the fix under a warning or failure, and a last line that counts", () => {
    const text = formatReport({
      ok: false,
      findings: [
        { id: "agent", status: "ok", message: "running" },
        { id: "clock", status: "fail", message: "off", fix: "sync it" },
        { id: "role.aws", status: "warn", message: "slow", fix: "wait", ms: 12 },
      ],
    });
    expect(text).toBe(
      "ok    agent     running\n" +
        "FAIL  clock     off\n" +
        "                fix: sync it\n" +
        "warn  role.aws  slow (12 ms)\n" +
        "                fix: wait\n" +
        "1 problem to fix, 1 warning.\n",
    );
  });
});

describe("VERSION", () => {
  it("is package.json's version (what the agent reports and the doctor compares)", async () => {
    const { readFileSync } = await import("node:fs");
    const { VERSION } = await import("../../shared/version.ts");
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    expect(VERSION).toBe(pkg.version);
  });
});
