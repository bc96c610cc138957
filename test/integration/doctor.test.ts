// `gatehouse doctor` against the really started stack (emulator, dev IdP, broker, an agent child process with
// the token in the real keychain), each check broken for real — the agent stopped, its socket 0644, an agent
// of another version, the broker down, a broker whose Date header is 10 minutes old, credential variables in
// the environment, a profile defined twice, a managed block naming a missing gatehouse — and the line and its
// fix checked. --role goes end to end through the real AWS CLI.

import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { DoctorReport } from "../../electron/agent/doctor/index.ts";
import {
  cleanUp,
  gatehouse,
  type Home,
  makeHome,
  type System,
  startAgent,
  startSystem,
  stopAgent,
} from "../support/e2e.ts";

// Each doctor run starts the AWS CLI (Python) and reaches the keychain: slow on a loaded machine.
vi.setConfig({ testTimeout: 90_000 });

let system: System;
let home: Home;
const servers: Server[] = [];

beforeAll(async () => {
  system = await startSystem();
  // No cliCommand: the agent writes the CLI by absolute path, as it does on a desktop.
  home = makeHome(system, { cliCommand: undefined, tokenStore: "keychain" });
  await startAgent(home);
  expect((await gatehouse(home, "login")).code).toBe(0);
  expect((await gatehouse(home, "config", "generate")).code).toBe(0);
});

afterAll(async () => {
  for (const s of servers) s.close();
  await cleanUp();
  await system?.close();
});

/** The doctor's text and JSON (one after the other: both probe the same keychain). */
async function doctor(env: NodeJS.ProcessEnv = home.env, ...args: string[]) {
  const text = await gatehouse({ ...home, env }, "doctor", ...args);
  const json = await gatehouse({ ...home, env }, "doctor", "--json", ...args);
  expect(json.code).toBe(text.code);
  return { code: text.code, text: text.stdout, report: JSON.parse(json.stdout) as DoctorReport };
}

/** The finding with this id. */
function finding(report: DoctorReport, id: string) {
  const f = report.findings.find((x) => x.id === id);
  if (!f) throw new Error(`no finding ${id} in ${report.findings.map((x) => x.id).join(", ")}`);
  return f;
}

/** The text line of a finding and the fix line under it. */
function lines(text: string, id: string): [string, string | undefined] {
  const all = text.split("\n");
  const i = all.findIndex((l) => new RegExp(`^(ok  |warn|FAIL|skip)  ${id.replace(".", "\\.")}\\s`).test(l));
  expect(i, `a line for ${id} in:\n${text}`).toBeGreaterThanOrEqual(0);
  const next = all[i + 1]?.trim();
  return [all[i]!, next?.startsWith("fix: ") ? next : undefined];
}

describe("a healthy set-up", () => {
  it("every check passes: exit 0, one line each, the broker's missing client-config only a warning", async () => {
    const r = await doctor();
    expect(r.report.findings.filter((f) => f.status === "fail")).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.report.ok).toBe(true);
    for (const id of [
      "settings",
      "agent",
      "agent.socket",
      "agent.version",
      "keychain",
      "keychain.token",
      "broker",
      "clock",
      "idp",
      "aws-cli",
      "aws-config.block",
      "aws-config.duplicates",
      "aws-config.default-keys",
      "environment",
    ])
      expect(finding(r.report, id).status, id).toBe("ok");
    expect(["ok", "warn"]).toContain(finding(r.report, "broker.client-config").status);
    expect(lines(r.text, "agent.version")[0]).toMatch(/version \d+\.\d+\.\d+, the same as this CLI$/);
    expect(lines(r.text, "clock")[0]).toMatch(
      /this clock is (within a second of|\d+ s (ahead of|behind)) the broker's/,
    );
    expect(r.text).toMatch(/^All good/m);
  });

  it("--role: credentials end to end through the agent, the profile and the real AWS CLI, each step timed", async () => {
    const r = await doctor(
      { ...home.env, AWS_ENDPOINT_URL: system.emulator.url },
      "--role",
      "staging/Developer",
    );
    expect(r.code).toBe(0);
    for (const id of ["role.agent", "role.profile", "role.aws"]) {
      expect(finding(r.report, id).status, id).toBe("ok");
      expect(finding(r.report, id).ms).toBeGreaterThanOrEqual(0);
    }
    expect(lines(r.text, "role.aws")[0]).toMatch(
      /aws sts get-caller-identity --profile staging-Developer: arn:aws:sts::333333333333:assumed-role\/Developer\/alice@example\.com \(\d+ ms\)$/,
    );
  });

  it("--role with a role one may not use fails at the agent, with what to do", async () => {
    const r = await doctor(home.env, "--role", "prod/Admin");
    expect(r.code).toBe(1);
    const [line, fix] = lines(r.text, "role.agent");
    expect(line).toMatch(/^FAIL.*no access to prod\/Admin.*\[ROLE_NOT_FOUND\]/);
    expect(fix).toMatch(/gatehouse roles/);
  });
});

describe("each thing broken for real", () => {
  it("credential variables in the environment: a warning each with its fix, and never their values", async () => {
    const r = await doctor({
      ...home.env,
      AWS_ACCESS_KEY_ID: "AKIADOCTORTEST000001",
      AWS_SESSION_TOKEN: "doctor-secret-session-token",
      AWS_PROFILE: "someone",
    });
    for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "AWS_PROFILE"]) {
      const [line, fix] = lines(r.text, `environment.${k}`);
      expect(line).toMatch(new RegExp(`^warn.*${k} is set: `));
      expect(fix).toBe(`fix: unset ${k} (and remove it from your shell's profile) unless you mean it`);
    }
    expect(r.text).not.toContain("AKIADOCTORTEST000001");
    expect(r.text).not.toContain("doctor-secret-session-token");
  });

  it("a profile defined twice (config and credentials files), and static keys in [default]", async () => {
    const credentials = join(home.dir, "credentials");
    writeFileSync(
      credentials,
      "[default]\naws_access_key_id = AKIAOLDKEYS000000001\naws_secret_access_key = x\n\n" +
        "[staging-Developer]\naws_access_key_id = AKIAOLDKEYS000000002\naws_secret_access_key = y\n",
    );
    const r = await doctor({ ...home.env, AWS_SHARED_CREDENTIALS_FILE: credentials });
    expect(r.code).toBe(1);
    const [line, fix] = lines(r.text, "aws-config.duplicates");
    expect(line).toMatch(
      /^FAIL.*a profile is defined twice: \[staging-Developer\] in .*credentials \(line 5\) as well as Gatehouse's profile/,
    );
    expect(fix).toBe("fix: keep one definition of each profile (remove the other, or rename it)");
    const [keys, keysFix] = lines(r.text, "aws-config.default-keys");
    expect(keys).toMatch(/^warn.*\[default\] holds static access keys in .*credentials/);
    expect(keysFix).toMatch(/remove the keys/);
  });

  it("the managed block names a gatehouse that does not exist", async () => {
    const { readFileSync } = await import("node:fs");
    const good = readFileSync(home.awsConfig, "utf8");
    try {
      writeFileSync(
        home.awsConfig,
        good.replace(
          /^credential_process = .*? credential-process/gm,
          "credential_process = /opt/gone/gatehouse credential-process",
        ),
      );
      const r = await doctor();
      expect(r.code).toBe(1);
      const [line, fix] = lines(r.text, "aws-config.block");
      expect(line).toMatch(/^FAIL.*run \/opt\/gone\/gatehouse, which does not exist$/);
      expect(fix).toBe(
        "fix: run `gatehouse config generate` (it writes the gatehouse you run now, by absolute path)",
      );
      // The fix works.
      expect((await gatehouse(home, "config", "generate")).code).toBe(0);
      expect(finding((await doctor()).report, "aws-config.block").status).toBe("ok");
    } finally {
      writeFileSync(home.awsConfig, good);
    }
  });

  it("the agent's socket 0644", async () => {
    chmodSync(home.socket, 0o644);
    try {
      const r = await doctor();
      expect(r.code).toBe(1);
      const [line, fix] = lines(r.text, "agent.socket");
      expect(line).toMatch(
        /^FAIL.*agent\.sock is 0644: other users could ask it for your credentials \(must be 0600\)$/,
      );
      expect(fix).toMatch(/^fix: restart the agent: `gatehouse agent stop`/);
    } finally {
      chmodSync(home.socket, 0o600);
    }
  });

  it("an agent of another version answering on the socket", async () => {
    const other = makeHome(system, { tokenStore: "file" });
    const fake = createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ pid: 1, version: "0.0.9", signedIn: false, email: null }));
    });
    servers.push(fake);
    const old = process.umask(0o177);
    await new Promise<void>((r) => fake.listen(other.socket, r));
    process.umask(old);
    const r = await doctor(other.env);
    const [line, fix] = lines(r.text, "agent.version");
    expect(line).toMatch(/^FAIL.*the agent is version 0\.0\.9, this CLI \d+\.\d+\.\d+$/);
    expect(fix).toMatch(/restart the agent/);
    fake.close();
  });

  it("a broker whose clock (Date header) is 10 minutes behind: the clock fails; no client-config is only a warning", async () => {
    const old = createServer((req, res) => {
      res.setHeader("date", new Date(Date.now() - 10 * 60_000).toUTCString());
      res.setHeader("content-type", "application/json");
      if (req.url === "/healthz") return res.end('{"status":"ok"}');
      res.statusCode = 404;
      res.end('{"code":"NOT_FOUND"}');
    });
    servers.push(old);
    await new Promise<void>((r) => old.listen(0, "127.0.0.1", r));
    const skewed = makeHome(system, {
      brokerUrl: `http://127.0.0.1:${(old.address() as AddressInfo).port}`,
      tokenStore: "file",
    });
    const r = await doctor(skewed.env);
    expect(r.code).toBe(1);
    const [line, fix] = lines(r.text, "clock");
    expect(line).toMatch(
      /^FAIL.*this clock is (59\d|60\d) s ahead of the broker's: AWS refuses requests signed more than 5 minutes off$/,
    );
    expect(fix).toMatch(/^fix: turn on automatic time/);
    const [cc, ccFix] = lines(r.text, "broker.client-config");
    expect(cc).toMatch(/^warn.*too old to publish its IdP settings/);
    expect(ccFix).toMatch(/^fix: /);
  });

  it("the agent stopped", async () => {
    await stopAgent(home);
    const r = await doctor();
    expect(r.code).toBe(1);
    const [line, fix] = lines(r.text, "agent");
    expect(line).toMatch(/^FAIL.*the agent is not running \(no answer on .*agent\.sock\)$/);
    expect(fix).toMatch(
      /^fix: start it: open the Gatehouse app or run `gatehouse agent`.*GATEHOUSE_NO_AUTOSTART=1 is set here/,
    );
    await startAgent(home);
  });

  it("the broker down", async () => {
    await system.stopBroker();
    const r = await doctor();
    expect(r.code).toBe(1);
    const [line, fix] = lines(r.text, "broker");
    expect(line).toMatch(
      /^FAIL.*the broker at http:\/\/127\.0\.0\.1:\d+ cannot be reached \(ECONNREFUSED\)$/,
    );
    expect(fix).toMatch(/^fix: check "brokerUrl" in .*settings\.json/);
    expect(finding(r.report, "clock").status).toBe("skip");
  });
});

it("bad arguments are a usage error", async () => {
  mkdirSync(home.home, { recursive: true });
  const r = await gatehouse(home, "doctor", "extra");
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/\[BAD_ARGUMENT\]/);
});
