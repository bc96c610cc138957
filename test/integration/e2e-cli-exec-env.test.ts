// What `gatehouse exec` and `gatehouse export` hand to a program, with everything really started: the region
// (set when the caller has none, from the role's profile or the settings; kept when the caller has one), and
// exactly the caller's environment plus the documented variables, nothing of Gatehouse's own. The real AWS
// CLI runs under `exec` with no region configured anywhere but Gatehouse's settings.

import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AWS_CLI,
  cleanUp,
  gatehouse,
  type Home,
  makeHome,
  run,
  type System,
  startAgent,
  startSystem,
} from "../support/e2e.ts";

const ALICE_DEVELOPER = "arn:aws:sts::333333333333:assumed-role/Developer/alice@example.com";

let system: System;
let home: Home;
/** The caller's environment: the home's, without anything a test harness adds for its own sake. */
let caller: NodeJS.ProcessEnv;

beforeAll(async () => {
  system = await startSystem();
  home = makeHome(system, { tokenStore: "file", region: "eu-west-2" });
  const { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: _, ...rest } = home.env;
  caller = { ...rest, CALLER_OWN: "kept as it is" };
  await startAgent(home);
  expect((await gatehouse(home, "login")).code).toBe(0);
});

afterAll(async () => {
  await cleanUp();
  await system?.close();
});

/** `gatehouse ARGS…` with this caller environment. */
function gh(env: NodeJS.ProcessEnv, ...args: string[]) {
  return gatehouse({ ...home, env }, ...args);
}

/** `env -0` output as a record. */
function parseEnv(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of stdout.split("\0").filter(Boolean)) {
    const eq = entry.indexOf("=");
    out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

describe("gatehouse exec", () => {
  it("the real AWS CLI works with no region configured: exec sets it from the settings", async () => {
    writeFileSync(home.awsConfig, "");
    const r = await gh(
      caller,
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
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { Arn: string }).Arn).toBe(ALICE_DEVELOPER);
  });

  it("the child's environment is exactly the caller's plus the documented variables", async () => {
    const r = await gh(caller, "exec", "staging/Developer", "--", "/usr/bin/env", "-0");
    expect(r.code).toBe(0);
    const env = parseEnv(r.stdout);
    const {
      AWS_CONTAINER_CREDENTIALS_FULL_URI: uri,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: token,
      ...rest
    } = env;
    expect(uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(token).toMatch(/^\S{40,}$/);
    expect(rest).toEqual({
      ...caller,
      GATEHOUSE_ROLE: "staging/Developer",
      AWS_REGION: "eu-west-2",
      AWS_DEFAULT_REGION: "eu-west-2",
    });
    expect(env).not.toHaveProperty("AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED");
  });

  it("--env: the caller's environment plus the keys, their expiry, the role and the region", async () => {
    const r = await gh(caller, "exec", "staging/Developer", "--env", "--", "/usr/bin/env", "-0");
    expect(r.code).toBe(0);
    const env = parseEnv(r.stdout);
    expect(Object.keys(env).sort()).toEqual(
      [
        ...Object.keys(caller),
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "GATEHOUSE_ROLE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
      ].sort(),
    );
    expect(env.CALLER_OWN).toBe("kept as it is");
  });

  it("a region the caller set is kept, and the other name is not added", async () => {
    for (const [name, value] of [
      ["AWS_REGION", "ap-southeast-2"],
      ["AWS_DEFAULT_REGION", "ca-central-1"],
    ] as const) {
      const r = await gh(
        { ...caller, [name]: value },
        "exec",
        "staging/Developer",
        "--",
        "/usr/bin/env",
        "-0",
      );
      expect(r.code).toBe(0);
      const env = parseEnv(r.stdout);
      expect(env[name]).toBe(value);
      const other = name === "AWS_REGION" ? "AWS_DEFAULT_REGION" : "AWS_REGION";
      expect(env).not.toHaveProperty(other);
    }
  });

  it("the role's profile's region wins over the settings'", async () => {
    writeFileSync(
      home.awsConfig,
      "[profile mine]\ncredential_process = gatehouse credential-process --role staging/Developer\nregion = eu-central-1\n",
    );
    try {
      const r = await gh(caller, "exec", "staging/Developer", "--", "/usr/bin/env", "-0");
      expect(parseEnv(r.stdout)).toMatchObject({
        AWS_REGION: "eu-central-1",
        AWS_DEFAULT_REGION: "eu-central-1",
      });
      // Another role has no profile here: the settings' region.
      const other = await gh(caller, "exec", "prod/ReadOnly", "--", "/usr/bin/env", "-0");
      expect(parseEnv(other.stdout)).toMatchObject({ AWS_REGION: "eu-west-2" });
    } finally {
      writeFileSync(home.awsConfig, "");
    }
  });
});

describe("gatehouse export", () => {
  it("exports the region when the shell has none, and what it prints works in sh with the real AWS CLI", async () => {
    const r = await gh(caller, "export", "staging/Developer");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("export AWS_REGION='eu-west-2'\n");
    expect(r.stdout).toContain("export AWS_DEFAULT_REGION='eu-west-2'\n");
    const sh = await run(
      "/bin/sh",
      [
        "-c",
        `eval "$1"; exec ${AWS_CLI} sts get-caller-identity --endpoint-url ${system.emulator.url}`,
        "sh",
        r.stdout,
      ],
      caller,
    );
    expect(sh.stderr).toBe("");
    expect((JSON.parse(sh.stdout) as { Arn: string }).Arn).toBe(ALICE_DEVELOPER);
  });

  it("leaves the shell's region alone", async () => {
    const r = await gh({ ...caller, AWS_REGION: "us-west-1" }, "export", "staging/Developer");
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/REGION/);
  });
});
