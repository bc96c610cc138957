// Attacks on the agent's local endpoint and on the sign-in it keeps, against a real `gatehouse agent` with the
// refresh token in the real keychain: socket and directory permissions (also tightening a home that was
// 0755), one agent per home, a stale socket cleaned, browser-looking requests refused, the refresh token in
// no file, log or command output, and `gatehouse logout` revoking it at the IdP and deleting it.

import { type ChildProcess, execFileSync } from "node:child_process";
import { existsSync, lstatSync, readFileSync, statSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { AsyncEntry } from "@napi-rs/keyring";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AWS_CLI,
  agentLog,
  agentStatus,
  alive,
  cleanUp,
  filesUnder,
  gatehouse,
  type Home,
  makeHome,
  outputs,
  run,
  type System,
  startAgent,
  startSystem,
  waitFor,
} from "../support/e2e.ts";

let system: System;
let home: Home;
let agent: ChildProcess;
let keychainEntry: AsyncEntry;
/** Every refresh token seen in the keychain during the run (it rotates on each refresh). */
const refreshTokens = new Set<string>();

async function readRefreshToken(): Promise<string | undefined> {
  const token = (await keychainEntry.getPassword()) ?? undefined;
  if (token) refreshTokens.add(token);
  return token;
}

beforeAll(async () => {
  system = await startSystem();
  // The home exists already, open to everyone to read: the agent must tighten it.
  home = makeHome(system, { tokenStore: "keychain" }, { homeMode: 0o755 });
  keychainEntry = new AsyncEntry("gatehouse", `${system.idp.issuer}#gatehouse-desktop`, {
    linux: { store: "secret-service" },
  });
  agent = await startAgent(home);
  const login = await gatehouse(home, "login");
  expect(login.code, login.stderr).toBe(0);
  expect(await readRefreshToken()).toBeTruthy();
});

afterAll(async () => {
  await cleanUp();
  await keychainEntry?.deleteCredential().catch(() => undefined);
  await system?.close();
});

/** One request to the agent's socket with headers of our choosing. */
function socketRequest(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: home.socket, path, method: "GET", headers }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the local endpoint", () => {
  it("the socket is 0600 inside a 0700 home, which was 0755 before the agent started", () => {
    const socket = lstatSync(home.socket);
    expect(socket.isSocket()).toBe(true);
    expect((socket.mode & 0o777).toString(8)).toBe("600");
    expect(execFileSync("ls", ["-l", home.socket], { encoding: "utf8" })).toMatch(/^srw------- /);
    expect((statSync(home.home).mode & 0o777).toString(8)).toBe("700");
  });

  it("nothing in the home is readable or writable by group or others", async () => {
    // Exercise the agent first, so everything it writes is there.
    expect((await gatehouse(home, "credential-process", "--role", "staging/Developer")).code).toBe(0);
    const files = filesUnder(home.home);
    expect(files.map((f) => f.slice(home.home.length + 1)).sort()).toEqual(
      ["agent.log", "agent.sock", "client-config.json", "settings.json", "signed-in"].sort(),
    );
    for (const f of [home.home, ...files])
      expect({ f, mode: lstatSync(f).mode & 0o077 }).toEqual({ f, mode: 0 });
  });

  it("a second agent refuses to start while one runs (AGENT_RUNNING), and the first keeps answering", async () => {
    const second = await gatehouse(home, "agent");
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain("[AGENT_RUNNING]");
    expect((await agentStatus(home))?.pid).toBe(agent.pid);
  });

  it("requests that look like a browser's are refused with 403 FORBIDDEN_ORIGIN", async () => {
    expect((await socketRequest("/v1/status")).status).toBe(200);
    const browserLike: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: "null" },
      { referer: "https://evil.example/page" },
      { "sec-fetch-site": "cross-site" },
    ];
    for (const headers of browserLike) {
      const r = await socketRequest("/v1/status", headers);
      expect({ headers, status: r.status, code: r.body.code }).toEqual({
        headers,
        status: 403,
        code: "FORBIDDEN_ORIGIN",
      });
    }
  });

  it("a stale socket (agent killed with SIGKILL) is cleaned and a new agent starts, still signed in", async () => {
    const old = agent.pid!;
    agent.kill("SIGKILL");
    await waitFor("the agent to die", () => !alive(old));
    expect(existsSync(home.socket)).toBe(true);
    expect(await agentStatus(home)).toBeUndefined();
    agent = await startAgent(home);
    expect(agent.pid).not.toBe(old);
    expect(lstatSync(home.socket).mode & 0o777).toBe(0o600);
    const status = await gatehouse(home, "status");
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("Signed in as alice@example.com");
  });
});

describe("the refresh token", () => {
  it("is in the keychain only: no file, log, AWS config or command output holds it", async () => {
    // Commands that touch the sign-in in every way, their output kept with every other command's.
    for (const args of [
      ["status", "--json"],
      ["roles", "--json"],
      ["config", "generate"],
      ["export", "staging/Developer", "--format", "json"],
      ["credential-process", "--role", "prod/ReadOnly"],
    ]) {
      expect((await gatehouse(home, ...args)).code).toBe(0);
    }
    const aws = await run(
      AWS_CLI,
      ["sts", "get-caller-identity", "--profile", "staging-Developer", "--endpoint-url", system.emulator.url],
      home.env,
    );
    expect(aws.code).toBe(0);
    await readRefreshToken();

    expect(existsSync(join(home.home, "refresh-token"))).toBe(false);
    const places: Record<string, string> = {
      "agent.log": agentLog(home),
      "AWS config": readFileSync(home.awsConfig, "utf8"),
      "command output": outputs.join("\n"),
    };
    for (const f of filesUnder(home.dir)) {
      if (!lstatSync(f).isSocket()) places[f] = readFileSync(f, "latin1");
    }
    expect(places["agent.log"]).toContain("listening on");
    expect(outputs.length).toBeGreaterThan(10);
    for (const token of refreshTokens) {
      expect(token.length).toBeGreaterThan(20);
      for (const [where, text] of Object.entries(places))
        expect({ where, leaks: text.includes(token) }).toEqual({ where, leaks: false });
    }
  });

  it("gatehouse logout revokes it at the IdP and deletes it", async () => {
    const token = await readRefreshToken();
    expect(token).toBeTruthy();
    const r = await gatehouse(home, "logout");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Signed out");
    expect(await keychainEntry.getPassword()).toBeFalsy();
    expect(existsSync(join(home.home, "signed-in"))).toBe(false);

    // The old refresh token no longer works at the IdP's token endpoint.
    const discovery = (await (
      await fetch(`${system.idp.issuer}/.well-known/openid-configuration`)
    ).json()) as {
      token_endpoint: string;
    };
    const refused = await fetch(discovery.token_endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: token!,
        client_id: "gatehouse-desktop",
      }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toBe("invalid_grant");

    const status = await gatehouse(home, "status");
    expect(status.code).toBe(3);
    expect(status.stdout).toContain("Not signed in");
    const cp = await gatehouse(home, "credential-process", "--role", "staging/Developer");
    expect(cp.code).not.toBe(0);
    expect(cp.stderr).toContain("[NOT_SIGNED_IN]");
  });
});
