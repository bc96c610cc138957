// Many `gatehouse credential-process` processes at once, everything really started: 50 for a cold role make
// one broker credentials call and one AssumeRole; with short credentials always inside the refresh window,
// sequential and parallel callers never get expired or nearly expired credentials while the agent refreshes
// in the background, one broker call per role at a time.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StartedBroker, startTestBroker } from "../support/broker.ts";
import {
  agentLog,
  agentStatus,
  alive,
  brokerCredentialCalls,
  cleanUp,
  gatehouse,
  type Home,
  makeHome,
  metric,
  type ProcessCredentials,
  type Result,
  type System,
  sessionsOf,
  startAgent,
  startSystem,
  stopAgent,
  waitFor,
} from "../support/e2e.ts";

let system: System;

beforeAll(async () => {
  system = await startSystem();
});

afterAll(async () => {
  await cleanUp();
  await system?.close();
});

function credentialsOf(r: Result): ProcessCredentials {
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const c = JSON.parse(r.stdout) as ProcessCredentials;
  expect(c).toEqual({
    Version: 1,
    AccessKeyId: expect.stringMatching(/^ASIA[A-Z0-9]{16}$/),
    SecretAccessKey: expect.any(String),
    SessionToken: expect.any(String),
    Expiration: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
  });
  return c;
}

describe("50 parallel credential-process calls for a cold role", () => {
  let home: Home;

  beforeAll(async () => {
    home = makeHome(system, { tokenStore: "file" });
    await startAgent(home);
    expect((await gatehouse(home, "login")).code).toBe(0);
  });

  it("make one broker credentials call and one AssumeRole, and all print the same credentials", async () => {
    const metrics = async () => {
      const text = await system.broker.metrics.registry.metrics();
      return {
        credentials: await brokerCredentialCalls(system),
        roles: metric(text, "gatehouse_http_requests_total", { route: "/v1/roles", method: "GET" }),
        work: metric(text, "gatehouse_sts_calls_total", { kind: "work" }),
      };
    };
    const before = await metrics();
    const mark = system.emulator.calls.at(-1)?.seq ?? 0;
    const developerSessions = sessionsOf(system, "Developer");

    const results = await Promise.all(
      Array.from({ length: 50 }, () => gatehouse(home, "credential-process", "--role", "staging/Developer")),
    );

    const creds = results.map(credentialsOf);
    expect(new Set(results.map((r) => r.stdout)).size).toBe(1);
    expect(Date.parse(creds[0]!.Expiration)).toBeGreaterThan(Date.now() + 10 * 60_000);

    const after = await metrics();
    expect(after.credentials - before.credentials).toBe(1);
    expect(after.work - before.work).toBe(1);
    // The role list was cold too: one call for it, however many waited.
    expect(after.roles - before.roles).toBe(1);
    const assumeRoles = system.emulator.calls.filter((c) => c.seq > mark && c.action === "AssumeRole");
    expect(assumeRoles).toHaveLength(1);
    expect(assumeRoles[0]).toMatchObject({ status: 200, error: null });
    expect(sessionsOf(system, "Developer") - developerSessions).toBe(1);
  });
});

/** A pass-through in front of the broker that counts credentials calls per role in flight at once. */
async function startCountingProxy(target: string) {
  const inflight = new Map<string, number>();
  const counts = { calls: 0, maxInflight: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      const credentials = req.method === "POST" && req.url === "/v1/credentials";
      const role = credentials ? String((JSON.parse(body.toString("utf8")) as { role: string }).role) : "";
      if (credentials) {
        counts.calls++;
        inflight.set(role, (inflight.get(role) ?? 0) + 1);
        counts.maxInflight = Math.max(counts.maxInflight, inflight.get(role)!);
      }
      try {
        const headers = new Headers();
        for (const [k, v] of Object.entries(req.headers))
          if (typeof v === "string" && k !== "host" && k !== "connection") headers.set(k, v);
        const upstream = await fetch(new URL(req.url ?? "/", target), {
          method: req.method ?? "GET",
          headers,
          ...(body.length ? { body } : {}),
        });
        const text = Buffer.from(await upstream.arrayBuffer());
        res.writeHead(upstream.status, {
          "content-type": upstream.headers.get("content-type") ?? "application/json",
        });
        res.end(text);
      } catch {
        res.writeHead(502).end();
      } finally {
        if (credentials) inflight.set(role, inflight.get(role)! - 1);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    inflight: () => [...inflight.values()].reduce((a, b) => a + b, 0),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

describe("short credentials, always inside the refresh window", () => {
  let broker: StartedBroker;
  let proxy: Awaited<ReturnType<typeof startCountingProxy>>;
  let home: Home;

  beforeAll(async () => {
    // A second broker on the same emulator and IdP, issuing 15-minute credentials (the STS minimum).
    broker = await startTestBroker({
      issuer: system.idp.issuer,
      awsUrl: system.emulator.url,
      extra: "credentials:\n  default_duration_seconds: 900\n",
    });
    proxy = await startCountingProxy(broker.url);
    // Refresh when less than 50 minutes remain: every call finds 15-minute credentials inside the window.
    home = makeHome(system, { tokenStore: "file", brokerUrl: proxy.url, refreshWindowSeconds: 3000 });
    await startAgent(home);
    expect((await gatehouse(home, "login")).code).toBe(0);
  });

  afterAll(async () => {
    // The agent first, then whatever background refresh it left under way, then the broker: a request still
    // running at the broker when it closes would keep its keep-alive connection (and the close) waiting.
    if (home) await stopAgent(home);
    if (proxy) await waitFor("the last refresh to end", () => proxy.inflight() === 0);
    await proxy?.close();
    await broker?.stop();
  });

  it("30 sequential and 30 parallel callers get valid credentials; refreshes run in the background, one at a time", async () => {
    const check = (r: Result) => {
      const c = credentialsOf(r);
      const left = Date.parse(c.Expiration) - Date.now();
      expect(left).toBeGreaterThanOrEqual(60_000);
      expect(left).toBeLessThanOrEqual(900_000);
      return c;
    };
    const keys = new Set<string>();
    for (let i = 0; i < 30; i++) {
      keys.add(check(await gatehouse(home, "credential-process", "--role", "staging/Developer")).AccessKeyId);
    }
    const parallel = await Promise.all(
      Array.from({ length: 30 }, () => gatehouse(home, "credential-process", "--role", "staging/Developer")),
    );
    for (const r of parallel) keys.add(check(r).AccessKeyId);

    // Background refreshes happened (callers were handed newer credentials as they landed)…
    expect(proxy.counts.calls).toBeGreaterThan(1);
    expect(keys.size).toBeGreaterThan(1);
    // …but never two at once for the role, and never one per caller.
    expect(proxy.counts.maxInflight).toBe(1);
    expect(proxy.counts.calls).toBeLessThan(60);
  });
});

describe("starting the agent from many CLIs at once", () => {
  it("8 parallel commands with no agent running start exactly one agent; `agent stop` returns once it has exited", async () => {
    const home = makeHome(system, {}, { autostart: true });
    const results = await Promise.all(Array.from({ length: 8 }, () => gatehouse(home, "roles")));
    for (const r of results) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("[NOT_SIGNED_IN]");
    }
    const log = agentLog(home);
    expect(log.match(/gatehouse agent listening on/g)).toHaveLength(1);
    expect(log).not.toContain("AGENT_RUNNING");
    const { pid } = (await agentStatus(home))!;
    const stop = await gatehouse(home, "agent", "stop");
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain(`stopped (pid ${pid})`);
    expect(alive(pid)).toBe(false);
    expect((await gatehouse(home, "agent", "stop")).stdout).toContain("not running");
  });
});
