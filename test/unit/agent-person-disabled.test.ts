// The desktop side of the kill switch: when the broker answers 401 PERSON_DISABLED, the agent drops its
// cached credentials, its role list and the person's tokens, and shows them signed out — through the real
// BrokerClient over HTTP (a loopback server answering as the broker's error handler does), no Electron.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent, type AgentSession } from "../../electron/agent/agent.ts";
import { BrokerClient } from "../../electron/agent/broker-client.ts";
import { settingsSchema } from "../../electron/agent/settings.ts";
import type { Role } from "../../shared/api.ts";
import { ERRORS } from "../../shared/errors.ts";

const role: Role = {
  ref: "staging/Developer",
  accountId: "333333333333",
  accountName: "staging",
  roleName: "Developer",
  arn: "arn:aws:iam::333333333333:role/Developer",
  description: null,
  cliOnly: false,
  maxSessionDuration: 3600,
  tags: {},
};

/** The person's session: a token while signed in; logout forgets it, as the keychain-backed one does. */
class MemorySession implements AgentSession {
  signedIn = true;
  logouts = 0;
  tokensHandedOut = 0;
  async accessToken() {
    if (!this.signedIn) throw Object.assign(new Error("not signed in"), { code: "NOT_SIGNED_IN" });
    this.tokensHandedOut++;
    return "access-token-of-alice";
  }
  async login() {
    this.signedIn = true;
    return { email: "alice@example.com", groups: ["engineers"] };
  }
  async logout() {
    this.logouts++;
    this.signedIn = false;
  }
  status() {
    return this.signedIn
      ? { signedIn: true, email: "alice@example.com", groups: ["engineers"] }
      : { signedIn: false };
  }
  invalidate() {}
}

async function waitFor(ok: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 5000;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

let server: Server;
let url: string;
let disabled = false;
const calls: string[] = [];

beforeEach(async () => {
  disabled = false;
  calls.length = 0;
  server = createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`);
    const send = (status: number, body: unknown, type = "application/json") => {
      res.writeHead(status, { "content-type": type });
      res.end(JSON.stringify(body));
    };
    if (disabled)
      return send(
        401,
        {
          type: "about:blank",
          title: ERRORS.PERSON_DISABLED.title,
          status: 401,
          detail: "alice@example.com was disabled by bob@example.com: left the company",
          code: "PERSON_DISABLED",
        },
        "application/problem+json",
      );
    if (req.url === "/v1/roles") return send(200, { roles: [role] });
    if (req.url === "/v1/credentials")
      return send(200, {
        role,
        accessKeyId: `ASIA${calls.length}`,
        secretAccessKey: "secret",
        sessionToken: "token",
        // Minutes from now: the refresh window lets the next call after the cached one reach the broker.
        expiration: new Date(Date.now() + 4 * 60_000).toISOString(),
        durationSeconds: 900,
        clamped: null,
      });
    send(404, { type: "about:blank", title: "No such route.", status: 404, detail: "no", code: "NOT_FOUND" });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

describe("401 PERSON_DISABLED", () => {
  it("drops the cached credentials, the role list and the tokens, and shows the person signed out", async () => {
    const session = new MemorySession();
    const broker = new BrokerClient(url, session);
    const agent = new Agent(
      settingsSchema.parse({ brokerUrl: url, refreshWindowSeconds: 300 }),
      session,
      broker,
    );
    const first = await agent.credentials("staging/Developer");
    expect(first.accessKeyId).toMatch(/^ASIA/);
    expect((await agent.status()).cached).toHaveLength(1);

    // Its credentials are inside the refresh window: the call is served from the cache while the
    // refresh behind it hears PERSON_DISABLED and signs the person out.
    disabled = true;
    expect((await agent.credentials("staging/Developer")).accessKeyId).toBe(first.accessKeyId);
    await waitFor(async () => !(await agent.status()).signedIn);
    expect(session.logouts).toBe(1);
    const status = await agent.status();
    expect(status).toMatchObject({ signedIn: false, email: null, roles: null, cached: [] });
    expect(status.signedOutReason).toMatch(/disabled by bob@example.com/);
    // Asked directly, the broker's code reaches the caller.
    await expect(agent.roles(true)).rejects.toMatchObject({ code: "NOT_SIGNED_IN" });

    // Nothing is served from memory any more, and no token is asked for without a new sign-in.
    const before = session.tokensHandedOut;
    await expect(agent.credentials("staging/Developer")).rejects.toMatchObject({ code: "NOT_SIGNED_IN" });
    expect(session.tokensHandedOut).toBe(before);

    // Enabled again and signed in anew: the reason is gone and credentials flow.
    disabled = false;
    await agent.login();
    expect((await agent.status()).signedOutReason).toBeNull();
    expect((await agent.credentials("staging/Developer")).accessKeyId).toMatch(/^ASIA/);
  });

  it("is not retried with a fresh token like UNAUTHENTICATED, and many callers at once sign out once", async () => {
    const session = new MemorySession();
    const broker = new BrokerClient(url, session);
    const agent = new Agent(settingsSchema.parse({ brokerUrl: url }), session, broker);
    disabled = true;
    const results = await Promise.allSettled([
      agent.roles(true),
      agent.roles(true),
      broker.me(),
      broker.roles(),
    ]);
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    expect(calls.filter((c) => c === "GET /v1/roles").length).toBeLessThanOrEqual(2);
    expect(session.logouts).toBe(1);
    expect((await agent.status()).signedIn).toBe(false);
  });
});
