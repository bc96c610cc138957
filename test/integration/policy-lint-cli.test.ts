// `gatehouse policy lint` as people run it: the real bin, text and JSON output, exit codes 0/1/2, stdin.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/gatehouse.mjs");
const VALID = join(ROOT, "test/fixtures/policies/valid/06-s3-home-folders.json");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function gatehouse(args: string[], input?: string | Buffer): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

let dir: string;
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

const UNKNOWN_ACTION = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: ["s3:GetObject", "s3:GetObjekt"], Resource: "arn:aws:s3:::b/*" }],
});

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-lint-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("gatehouse policy lint", () => {
  it("a valid policy: exit 0, findings one a line, then the risk and why", async () => {
    const r = await gatehouse(["policy", "lint", VALID]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n").at(-1)).toMatch(
      /^risk: medium \(.*Statement\[2\] allows writes \(s3:PutObject, s3:DeleteObject\).*\)$/,
    );
  });

  it("a policy with errors: exit 1; each line has severity, code, path and message", async () => {
    const r = await gatehouse(["policy", "lint", file("typo.json", UNKNOWN_ACTION)]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      /^error\s+UNKNOWN_ACTION\s+Statement\[0\]\.Action\[1\]\s+s3 has no action "GetObjekt"/,
    );
    expect(lines.at(-1)).toMatch(/^risk: low /);
  });

  it("--json is exactly {valid, risk, findings[{severity, code, message, path}]}", async () => {
    const r = await gatehouse(["policy", "lint", "--json", file("typo2.json", UNKNOWN_ACTION)]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out).sort()).toEqual(["findings", "risk", "valid"]);
    expect(out.valid).toBe(false);
    expect(["low", "medium", "high", "critical"]).toContain(out.risk);
    expect(out.findings.length).toBeGreaterThan(0);
    for (const f of out.findings)
      expect(Object.keys(f).sort()).toEqual(["code", "message", "path", "severity"]);
    expect(out.findings[0]).toMatchObject({
      severity: "error",
      code: "UNKNOWN_ACTION",
      path: "Statement[0].Action[1]",
    });

    const ok = await gatehouse(["policy", "lint", VALID, "--json"]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ valid: true, risk: "medium", findings: [] });
  });

  it("text that is not JSON is a lint error (exit 1), not unreadable input", async () => {
    const r = await gatehouse(["policy", "lint", "--json", file("not.json", "Version: 2012-10-17\n")]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).findings[0]).toMatchObject({ code: "INVALID_JSON", path: "" });
  });

  it("unreadable input exits 2: a missing file, a directory, bytes that are not UTF-8", async () => {
    const missing = await gatehouse(["policy", "lint", join(dir, "nope.json")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*nope\.json: no such file \[BAD_ARGUMENT\]/);
    expect(missing.stdout).toBe("");
    const directory = await gatehouse(["policy", "lint", "--json", dir]);
    expect(directory.code).toBe(2);
    expect(directory.stderr).toContain("it is a directory");
    const binary = await gatehouse([
      "policy",
      "lint",
      file("latin1.json", Buffer.from([0x7b, 0xe9, 0xff, 0x7d])),
    ]);
    expect(binary.code).toBe(2);
    expect(binary.stderr).toContain("not UTF-8");
  });

  it('"-" reads the policy from standard input', async () => {
    const ok = await gatehouse(
      ["policy", "lint", "-", "--json"],
      Buffer.from(JSON.stringify(JSON.parse(UNKNOWN_ACTION))),
    );
    expect(ok.code).toBe(1);
    const valid = await gatehouse(
      ["policy", "lint", "-"],
      JSON.stringify({
        Version: "2012-10-17",
        Statement: { Effect: "Allow", Action: "s3:ListAllMyBuckets", Resource: "*" },
      }),
    );
    expect(valid.code).toBe(0);
    expect(valid.stdout).toMatch(/^risk: low /);
  });

  it("usage errors exit 2; --help exits 0", async () => {
    expect((await gatehouse(["policy"])).code).toBe(2);
    expect((await gatehouse(["policy", "lint"])).code).toBe(2);
    expect((await gatehouse(["policy", "lint", VALID, "--yaml"])).code).toBe(2);
    const help = await gatehouse(["policy", "lint", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: gatehouse policy lint FILE [--json]");
    expect((await gatehouse(["--help"])).stdout).toContain("policy lint FILE [--json]");
  });
});
