// End to end, everything really started (emulator, dev IdP with auto-login, broker, and `gatehouse agent` as a
// child process with the refresh token in the real keychain): `gatehouse login`, status, roles, config
// generate, then alice's staging Developer identity through the AWS CLI with the generated profile, through
// `gatehouse exec` (container credentials and --env), and through the AWS SDK for JavaScript (fromProcess with
// the generated config, fromHttp / fromContainerMetadata / the default chain inside `gatehouse exec`).

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AsyncEntry } from "@napi-rs/keyring";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AWS_CLI,
  cleanUp,
  GATEHOUSE,
  gatehouse,
  type Home,
  makeHome,
  ROOT,
  run,
  type System,
  startAgent,
  startSystem,
} from "../support/e2e.ts";

const ALICE_DEVELOPER = "arn:aws:sts::333333333333:assumed-role/Developer/alice@example.com";
const ALICE_ROLES = ["prod/ReadOnly", "staging/DataPipeline", "staging/Developer"];
const SDK_CALLER = join(ROOT, "test/support/sdk-caller.mjs");
const OWN_PROFILE =
  "# my own settings\n[default]\nregion = eu-west-1\n\n[profile mine]\nregion = eu-west-2\n";

let system: System;
let home: Home;
let keychainEntry: AsyncEntry;

beforeAll(async () => {
  system = await startSystem();
  home = makeHome(system, { tokenStore: "keychain" });
  keychainEntry = new AsyncEntry("gatehouse", `${system.idp.issuer}#gatehouse-desktop`, {
    linux: { store: "secret-service" },
  });
  await startAgent(home);
});

afterAll(async () => {
  await cleanUp();
  await keychainEntry?.deleteCredential().catch(() => undefined);
  await system?.close();
});

function arnOf(stdout: string): string {
  return (JSON.parse(stdout) as { Arn: string }).Arn;
}

describe("sign-in and the commands around it", () => {
  it("gatehouse login opens the browser, and the person is signed in; the refresh token is in the keychain", async () => {
    const r = await gatehouse(home, "login");
    expect(r.stderr).toContain("opening your browser");
    expect(r.stdout.trim()).toBe("Signed in as alice@example.com (engineers, data)");
    expect(r.code).toBe(0);
    expect(await keychainEntry.getPassword()).toBeTruthy();
  });

  it("gatehouse status says who is signed in and where the broker is", async () => {
    const r = await gatehouse(home, "status");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Signed in as alice@example.com (engineers, data)");
    expect(r.stdout).toContain(`Broker ${system.broker.url}:`);
    const json = await gatehouse(home, "status", "--json");
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      signedIn: true,
      email: "alice@example.com",
      groups: ["engineers", "data"],
      brokerUrl: system.broker.url,
    });
  });

  it("gatehouse roles lists alice's roles, as text and as JSON, filtered", async () => {
    const text = await gatehouse(home, "roles");
    expect(text.code).toBe(0);
    const refs = text.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(/\s+/)[0]);
    expect(refs).toEqual(ALICE_ROLES);
    expect(text.stdout).toMatch(
      /^staging\/Developer\s+333333333333\s+console\s+Developer access to staging$/m,
    );
    expect(text.stdout).toMatch(/^staging\/DataPipeline\s+333333333333\s+cli-only\s/m);

    const json = await gatehouse(home, "roles", "--json");
    expect(json.code).toBe(0);
    const roles = JSON.parse(json.stdout) as { ref: string; arn: string; accountId: string }[];
    expect(roles.map((r) => r.ref)).toEqual(ALICE_ROLES);
    expect(roles.find((r) => r.ref === "staging/Developer")).toMatchObject({
      arn: "arn:aws:iam::333333333333:role/Developer",
      accountId: "333333333333",
    });

    const filtered = await gatehouse(home, "roles", "--json", "staging");
    expect((JSON.parse(filtered.stdout) as { ref: string }[]).map((r) => r.ref)).toEqual([
      "staging/DataPipeline",
      "staging/Developer",
    ]);
    const none = await gatehouse(home, "roles", "admin");
    expect(none.code).toBe(0);
    expect(none.stdout.trim()).toBe('No role matches "admin".');
  });

  it("gatehouse request targets finds roles and users a request may name, as text and JSON", async () => {
    const text = await gatehouse(home, "request", "targets", "staging", "dev");
    expect(text.code).toBe(0);
    expect(text.stdout).toBe("staging/Developer  role (yours)  arn:aws:iam::333333333333:role/Developer\n");
    const json = await gatehouse(home, "request", "targets", "deploy", "--json");
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({
        arn: "arn:aws:iam::222222222222:user/deploy-bot",
        type: "user",
        mine: false,
      }),
    ]);
    const all = JSON.parse((await gatehouse(home, "request", "targets", "--json", "--limit", "3")).stdout);
    expect(all).toHaveLength(3);
    expect((await gatehouse(home, "request", "targets", "nothing-like-this")).stdout).toBe(
      "No role or IAM user matches.\n",
    );
    expect((await gatehouse(home, "request", "targets", "--limit", "0")).code).toBe(2);
  });

  it("gatehouse config generate --dry-run shows the profiles and leaves the file unchanged", async () => {
    writeFileSync(home.awsConfig, OWN_PROFILE);
    const r = await gatehouse(home, "config", "generate", "--dry-run");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`would change ${home.awsConfig}`);
    expect(r.stdout).toContain("[profile staging-Developer]");
    expect(r.stdout).toContain("[profile mine]");
    expect(readFileSync(home.awsConfig, "utf8")).toBe(OWN_PROFILE);
  });

  it("gatehouse config generate writes one profile per role and keeps what is outside its block", async () => {
    const r = await gatehouse(home, "config", "generate");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`Wrote 3 profiles in ${home.awsConfig}`);
    const config = readFileSync(home.awsConfig, "utf8");
    expect(config.startsWith(OWN_PROFILE)).toBe(true);
    for (const ref of ALICE_ROLES) {
      const [account, role] = ref.split("/");
      expect(config).toContain(
        `[profile ${account}-${role}]\ncredential_process = node ${GATEHOUSE} credential-process --role ${ref}\nregion = us-east-1\n`,
      );
    }
    const again = await gatehouse(home, "config", "generate");
    expect(again.stdout.trim()).toBe(`Unchanged: 3 profiles in ${home.awsConfig}`);
    expect(readFileSync(home.awsConfig, "utf8")).toBe(config);
  });
});

describe("alice's staging Developer identity, every way", () => {
  it("the AWS CLI with the generated profile (credential_process)", async () => {
    const r = await run(
      AWS_CLI,
      ["sts", "get-caller-identity", "--profile", "staging-Developer", "--endpoint-url", system.emulator.url],
      home.env,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(arnOf(r.stdout)).toBe(ALICE_DEVELOPER);
  });

  it("gatehouse exec: the AWS CLI with container credentials", async () => {
    const r = await gatehouse(
      home,
      "exec",
      "staging/Developer",
      "--",
      AWS_CLI,
      "sts",
      "get-caller-identity",
      "--endpoint-url",
      system.emulator.url,
      "--region",
      "us-east-1",
    );
    expect(r.code).toBe(0);
    expect(arnOf(r.stdout)).toBe(ALICE_DEVELOPER);

    // What the command was given: the container variables, no keys.
    const env = await gatehouse(home, "exec", "staging/Developer", "--", "/usr/bin/env");
    expect(env.code).toBe(0);
    expect(env.stdout).toMatch(/^AWS_CONTAINER_CREDENTIALS_FULL_URI=http:\/\/127\.0\.0\.1:\d+\//m);
    expect(env.stdout).toMatch(/^AWS_CONTAINER_AUTHORIZATION_TOKEN=\S{40,}$/m);
    expect(env.stdout).not.toMatch(/^AWS_ACCESS_KEY_ID=/m);
  });

  it("gatehouse exec --env: the AWS CLI with keys in its environment", async () => {
    const r = await gatehouse(
      home,
      "exec",
      "staging/Developer",
      "--env",
      "--",
      AWS_CLI,
      "sts",
      "get-caller-identity",
      "--endpoint-url",
      system.emulator.url,
      "--region",
      "us-east-1",
    );
    expect(r.code).toBe(0);
    expect(arnOf(r.stdout)).toBe(ALICE_DEVELOPER);
  });

  it("the JS SDK: fromProcess with the generated profile", async () => {
    const r = await run(
      process.execPath,
      [SDK_CALLER, "process", system.emulator.url, "staging-Developer"],
      home.env,
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe(ALICE_DEVELOPER);
  });

  it.each(["http", "container", "chain"])(
    "the JS SDK inside gatehouse exec: %s provider on the container variables",
    async (mode) => {
      const r = await gatehouse(
        home,
        "exec",
        "staging/Developer",
        "--",
        process.execPath,
        SDK_CALLER,
        mode,
        system.emulator.url,
      );
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(ALICE_DEVELOPER);
    },
  );
});
