// What `gatehouse credential-process` says when it cannot give credentials, everything really started: not
// signed in, no access, no agent (and autostart off), an agent that cannot start, the broker down (while a
// cached role keeps being served); and the agent started by the CLI itself when none runs.

import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  agentStatus,
  alive,
  cleanUp,
  gatehouse,
  type Home,
  makeHome,
  type ProcessCredentials,
  type System,
  startAgent,
  startSystem,
  waitFor,
} from "../support/e2e.ts";

let system: System;
/** Signed in, with its agent. */
let home: Home;

beforeAll(async () => {
  system = await startSystem();
  home = makeHome(system, { tokenStore: "file" });
  await startAgent(home);
  expect((await gatehouse(home, "login")).code).toBe(0);
});

afterAll(async () => {
  await cleanUp();
  await system?.close();
});

function withAutostart(h: Home): Home {
  const env = { ...h.env };
  delete env.GATEHOUSE_NO_AUTOSTART;
  return { ...h, env };
}

describe("credential-process errors", () => {
  it("not signed in: the agent it starts says so, and no browser opens", async () => {
    const fresh = makeHome(system, { tokenStore: "file" }, { autostart: true });
    const r = await gatehouse(fresh, "credential-process", "--role", "staging/Developer");
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("not signed in: run `gatehouse login`");
    expect(r.stderr).toContain("[NOT_SIGNED_IN]");
    // The agent was started by the CLI and keeps running.
    expect(await agentStatus(fresh)).toMatchObject({ signedIn: false });
  });

  it("no access: a role the person may not use and one that does not exist read alike", async () => {
    const admin = await gatehouse(home, "credential-process", "--role", "prod/Admin");
    expect(admin.code).not.toBe(0);
    expect(admin.stdout).toBe("");
    expect(admin.stderr).toContain("no access to prod/Admin");
    expect(admin.stderr).toContain("[ROLE_NOT_FOUND]");
    const none = await gatehouse(home, "credential-process", "--role", "prod/NoSuchRole");
    expect(none.stderr.replace("prod/NoSuchRole", "prod/Admin")).toBe(admin.stderr);
  });

  it("GATEHOUSE_NO_AUTOSTART=1 and no agent: AGENT_UNREACHABLE naming `gatehouse agent`, nothing started", async () => {
    const lone = makeHome(system, { tokenStore: "file" });
    const r = await gatehouse(lone, "credential-process", "--role", "staging/Developer");
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("`gatehouse agent`");
    expect(r.stderr).toContain("[AGENT_UNREACHABLE]");
    expect(existsSync(lone.socket)).toBe(false);
  });

  it("an agent that cannot start: its reason and code at once, not after a timeout", async () => {
    const broken = makeHome(system, {}, { autostart: true });
    writeFileSync(join(broken.home, "settings.json"), '{"tokenStore": "floppy"}\n', { mode: 0o600 });
    const started = Date.now();
    const r = await gatehouse(broken, "credential-process", "--role", "staging/Developer");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /the agent could not start: .*settings\.json: tokenStore: .*\[SETTINGS_INVALID\]$/m,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe("autostart and the broker going down", () => {
  let cached: ProcessCredentials;

  it("with no agent running, credential-process starts one and succeeds", async () => {
    const before = await agentStatus(home);
    expect(before).toBeDefined();
    expect((await gatehouse(home, "agent", "stop")).code).toBe(0);
    await waitFor("the agent to stop", () => !alive(before!.pid));
    expect((await gatehouse(home, "agent", "status")).stdout).toContain("not running");

    const auto = withAutostart(home);
    const r = await gatehouse(auto, "credential-process", "--role", "staging/Developer");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    cached = JSON.parse(r.stdout) as ProcessCredentials;
    expect(cached.Version).toBe(1);
    expect(existsSync(home.socket)).toBe(true);
    const status = await gatehouse(home, "agent", "status");
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^gatehouse agent running \(pid \d+\)/);
    expect(status.stdout).not.toContain(`(pid ${before!.pid})`);
  });

  it("broker down: a cached role keeps being served, another one is 'broker unreachable'", async () => {
    await system.stopBroker();
    const again = await gatehouse(home, "credential-process", "--role", "staging/Developer");
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual(cached);

    const r = await gatehouse(home, "credential-process", "--role", "prod/ReadOnly");
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("broker unreachable");
    expect(r.stderr).toContain("[BROKER_UNREACHABLE]");

    const status = await gatehouse(home, "status");
    expect(status.stdout).toContain(`Broker ${system.broker.url}: UNREACHABLE`);
    expect(status.stdout).toMatch(/staging\/Developer: credentials valid for \d+m\d\ds/);
  });

  it("gatehouse agent stop ends the autostarted agent and removes its socket", async () => {
    const { pid } = (await agentStatus(home))!;
    const r = await gatehouse(home, "agent", "stop");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`gatehouse agent stopped (pid ${pid})`);
    // stop returns once the agent has exited.
    expect(alive(pid)).toBe(false);
    expect(existsSync(home.socket)).toBe(false);
  });
});
