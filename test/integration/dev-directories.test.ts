// `gatehouse-dev directories` as people run it: a real child process serving Okta's Users API wire format
// (SSWS token, Link paging), stopping on SIGTERM; bad flags exit 2 with a code.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const CLI = resolve(import.meta.dirname, "../../bin/gatehouse-dev.mjs");
const dir = mkdtempSync(join(tmpdir(), "gatehouse-dev-dir-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}, untilReady = false) {
  const child = spawn(process.execPath, [CLI, "directories", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d;
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  const ready = new Promise<string>((done, fail) => {
    if (!untilReady) return done("");
    child.stdout.on("data", () => {
      if (stdout.includes("\n")) done(stdout.split("\n")[0]!);
    });
    child.on("exit", () => fail(new Error(`exited before ready: ${stderr}`)));
  });
  return { child, exited, ready, output: () => ({ stdout, stderr }) };
}

describe("gatehouse-dev directories", () => {
  it("serves Okta's groups API with Link paging and stops on SIGTERM", async () => {
    const data = join(dir, "okta.yaml");
    writeFileSync(data, 'members:\n  "00u1": [Everyone, engineers, data]\n');
    const p = run(["--kind", "okta", "--data", data, "--api-token-env", "T"], { T: "tok-123" }, true);
    const line = await p.ready;
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(line)![1]!;
    const refused = await fetch(`${url}/api/v1/users/00u1/groups`, {
      headers: { authorization: "SSWS nope" },
    });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { errorCode: string }).errorCode).toBe("E0000011");
    const first = await fetch(`${url}/api/v1/users/00u1/groups?limit=2`, {
      headers: { authorization: "SSWS tok-123" },
    });
    expect(((await first.json()) as { profile: { name: string } }[]).map((g) => g.profile.name)).toEqual([
      "Everyone",
      "engineers",
    ]);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get("link") ?? "")![1]!;
    const second = await fetch(next, { headers: { authorization: "SSWS tok-123" } });
    expect(((await second.json()) as { profile: { name: string } }[]).map((g) => g.profile.name)).toEqual([
      "data",
    ]);
    expect(second.headers.get("link")).not.toContain('rel="next"');
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  });

  it.each([[["--kind", "ldap", "--data", "/nonexistent"]], [["--kind", "okta"]], [["--bogus"]]])(
    "exits 2 with [BAD_ARGUMENT] on %j",
    async (args) => {
      const p = run(args);
      expect(await p.exited).toBe(2);
      expect(p.output().stderr).toContain("[BAD_ARGUMENT]");
    },
  );
});
