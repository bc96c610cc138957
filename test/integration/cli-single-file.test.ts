// The single-file `gatehouse` (a Node SEA, `npm run build:cli`) with no Node.js on PATH and no node_modules
// beside it, against the demo-style stack (emulator, dev IdP, broker): it starts itself as the agent (its
// keychain module beside it, the refresh token in the real Secret Service), signs in, writes profiles that
// name it by absolute path, and is the real AWS CLI's credential_process; every other subcommand runs too.

import { readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AWS_CLI,
  agentStatus,
  cleanUp,
  type Home,
  makeHome,
  ROOT,
  run,
  type System,
  startSystem,
} from "../support/e2e.ts";
import { pathWithoutNode, singleFileCli } from "../support/single-file.ts";

const ALICE_DEVELOPER = "arn:aws:sts::333333333333:assumed-role/Developer/alice@example.com";

let system: System;
let home: Home;
let binary: string;

beforeAll(async () => {
  binary = await singleFileCli();
  system = await startSystem();
  // The profiles' command is the binary, by absolute path; the CLI starts its agent by itself.
  home = makeHome(system, { cliCommand: binary }, { autostart: true });
  home.env.PATH = pathWithoutNode();
  delete home.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
}, 120_000);

afterAll(async () => {
  await cleanUp();
  await system?.close();
});

function gh(...args: string[]) {
  return run(binary, args, home.env);
}

describe("the single-file gatehouse, with no node on PATH", () => {
  it("there really is no node on this PATH", async () => {
    const r = await run("/bin/sh", ["-c", "command -v node"], home.env);
    expect(r.code).not.toBe(0);
  });

  it("--version and --help run", async () => {
    expect((await gh("--version")).stdout.trim()).toMatch(/^gatehouse \d+\.\d+\.\d+$/);
    expect((await gh("--help")).stdout).toContain("credential-process --role ROLE");
  });

  it("credential-process with no agent running starts one (the binary itself) and says why there are no credentials", async () => {
    const r = await gh("credential-process", "--role", "staging/Developer");
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("gatehouse: not signed in: run `gatehouse login` [NOT_SIGNED_IN]\n");
    expect(r.code).toBe(1);
    expect(readlinkSync(`/proc/${(await agentStatus(home))!.pid}/exe`)).toBe(binary);
  });

  it("login uses the binary's agent, which keeps the token in the keychain", async () => {
    const r = await gh("login");
    expect(r.stderr).toContain("opening your browser");
    expect(r.stdout.trim()).toBe("Signed in as alice@example.com (engineers, data)");
    const status = await agentStatus(home);
    expect(status?.signedIn).toBe(true);
    // The agent is this very file, not Node.
    expect(readlinkSync(`/proc/${status!.pid}/exe`)).toBe(binary);
    expect(readFileSync(`/proc/${status!.pid}/cmdline`, "utf8").split("\0")).toEqual([binary, "agent", ""]);
  });

  it("config generate names the binary by absolute path; the real AWS CLI uses it as credential_process", async () => {
    const g = await gh("config", "generate");
    expect(g.code).toBe(0);
    expect(readFileSync(home.awsConfig, "utf8")).toContain(
      `credential_process = ${binary} credential-process --role staging/Developer\n`,
    );
    const r = await run(
      AWS_CLI,
      ["sts", "get-caller-identity", "--profile", "staging-Developer", "--endpoint-url", system.emulator.url],
      home.env,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { Arn: string }).Arn).toBe(ALICE_DEVELOPER);
  });

  it("credential-process prints credential_process JSON, and a coded line for a role one may not use", async () => {
    const ok = await gh("credential-process", "--role", "staging/Developer");
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ Version: 1, AccessKeyId: expect.any(String) });
    const no = await gh("credential-process", "--role", "prod/Admin");
    expect(no.code).toBe(1);
    expect(no.stderr).toMatch(/\[ROLE_NOT_FOUND\]\n$/);
  });

  it("exec runs the real AWS CLI with container credentials and a region", async () => {
    const r = await gh(
      "exec",
      "staging/Developer",
      "--",
      AWS_CLI,
      "sts",
      "get-caller-identity",
      "--endpoint-url",
      system.emulator.url,
    );
    expect(r.stderr).toBe("");
    expect((JSON.parse(r.stdout) as { Arn: string }).Arn).toBe(ALICE_DEVELOPER);
  });

  it("roles, status, export and policy lint (the actions catalogue inside the binary) run", async () => {
    const roles = await gh("roles", "--json");
    expect((JSON.parse(roles.stdout) as { ref: string }[]).map((r) => r.ref)).toContain("staging/Developer");
    expect((await gh("status")).stdout).toContain("Signed in as alice@example.com");
    expect((await gh("export", "staging/Developer")).stdout).toMatch(/^export AWS_SESSION_TOKEN='/m);
    const policy = join(home.dir, "p.json");
    writeFileSync(
      policy,
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObjekt","Resource":"*"}]}',
    );
    const lint = await gh("policy", "lint", policy, "--json");
    expect(lint.code).toBe(1);
    // The same findings as the script's: the catalogue was read from the binary's assets.
    const viaNode = await run(
      process.execPath,
      [join(ROOT, "bin/gatehouse.cjs"), "policy", "lint", policy, "--json"],
      {
        ...home.env,
        PATH: process.env.PATH,
      },
    );
    expect(viaNode.code).toBe(1);
    expect(JSON.parse(lint.stdout)).toEqual(JSON.parse(viaNode.stdout));
    expect(JSON.parse(lint.stdout).findings.length).toBeGreaterThan(0);
  }, 60_000);

  it("agent stop stops the binary's agent", async () => {
    const r = await gh("agent", "stop");
    expect(r.code).toBe(0);
    expect(await agentStatus(home)).toBeUndefined();
  });
});
