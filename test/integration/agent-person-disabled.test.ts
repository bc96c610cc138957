// The desktop side of offboarding against the real broker: alice's agent holds credentials from the real
// broker (emulator behind it); an admin disables her through the broker's admin route; the next call her
// agent makes hears 401 PERSON_DISABLED, drops the cached credentials, role list and tokens, and shows her
// signed out with the reason. (test/unit/agent-person-disabled.test.ts covers the client's edge cases.)

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import { Agent, type AgentSession } from "../../electron/agent/agent.ts";
import { BrokerClient } from "../../electron/agent/broker-client.ts";
import { settingsSchema } from "../../electron/agent/settings.ts";
import { type StartedBroker, startTestBroker } from "../support/broker.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { signTokens, startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

let emulator: Emulator;
let issuer: TestIssuer;
let broker: StartedBroker;
let tokens: Record<"alice" | "bob", string>;

/** alice's signed-in session holding a real token of the test issuer; logout forgets it. */
class TokenSession implements AgentSession {
  signedIn = true;
  logouts = 0;
  async accessToken() {
    if (!this.signedIn) throw Object.assign(new Error("not signed in"), { code: "NOT_SIGNED_IN" });
    return tokens.alice;
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

beforeAll(async () => {
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  tokens = await signTokens(issuer, {
    alice: { email: "alice@example.com", groups: ["engineers"] },
    bob: { email: "bob@example.com", groups: ["platform-admins"] },
  });
  broker = await startTestBroker({ issuer: issuer.issuer, awsUrl: emulator.url });
});
afterAll(async () => {
  await broker?.stop();
  await issuer?.close();
  await emulator?.close();
});

const admin = (path: string, body?: unknown) =>
  fetch(`${broker.url}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${tokens.bob}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

describe("a disabled person's desktop", () => {
  it("is signed out at its next call to the broker, its cached credentials and roles dropped, with the reason", async () => {
    const session = new TokenSession();
    const agent = new Agent(
      settingsSchema.parse({ brokerUrl: broker.url }),
      session,
      new BrokerClient(broker.url, session),
    );
    expect((await agent.roles(true)).map((r) => r.ref)).toContain("staging/Developer");
    const creds = await agent.credentials("staging/Developer");
    expect(creds.accessKeyId).toMatch(/^ASIA/);
    expect((await agent.status()).cached).toHaveLength(1);

    const off = await admin("/v1/admin/people/alice@example.com/disable", { reason: "left the company" });
    expect(off.status).toBe(200);

    await expect(agent.roles(true)).rejects.toMatchObject({
      code: expect.stringMatching(/PERSON_DISABLED|NOT_SIGNED_IN/),
    });
    const status = await agent.status();
    expect(status).toMatchObject({ signedIn: false, roles: null, cached: [] });
    expect(status.signedOutReason).toMatch(/disabled/i);
    expect(session.logouts).toBe(1);
    // Nothing is served from memory any more.
    await expect(agent.credentials("staging/Developer")).rejects.toMatchObject({ code: "NOT_SIGNED_IN" });

    // Enabled again and signed in anew: credentials flow.
    expect((await admin("/v1/admin/people/alice@example.com/enable")).status).toBe(200);
    await agent.login();
    expect((await agent.status()).signedOutReason).toBeNull();
    expect((await agent.credentials("staging/Developer")).accessKeyId).toMatch(/^ASIA/);
  });
});
