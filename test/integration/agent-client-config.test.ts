// The desktop needs only the broker's URL: GET /v1/client-config (no token) publishes the sign-in settings, the
// agent takes them on first run and when the broker URL changes (pinned settings win, an unreachable broker is an
// error, never another IdP), `gatehouse login` opens the browser from its own environment, and in ID-token mode
// the session refreshes and sends the new ID token.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import { Browser } from "../../dev/idp/login.ts";
import { type DevIdp, startIdp } from "../../dev/idp/provider.ts";
import { GOOGLE_CLIENT_SECRET } from "../../dev/idp/shapes/index.ts";
import { withClientConfig } from "../../electron/agent/client-config.ts";
import { agentPaths } from "../../electron/agent/home.ts";
import { Session } from "../../electron/agent/session.ts";
import { loadSettings, pinnedKeys } from "../../electron/agent/settings.ts";
import { headless, validate } from "../../electron/cli/commands/login.ts";
import { GatehouseError } from "../../shared/errors.ts";
import { type StartedBroker, startTestBroker } from "../support/broker.ts";
import { agentStatus, cleanUp, gatehouse, type Home, makeHome, startAgent } from "../support/e2e.ts";
import { startDemoEmulator } from "../support/emulator.ts";

const CLIENT = "gatehouse-desktop";
let emulator: Emulator;
let googleIdp: DevIdp;
let google: StartedBroker;
let genericIdp: DevIdp;
let generic: StartedBroker;
/** A broker from before client-config: no oidc.client_id. */
let unpublished: StartedBroker;

beforeAll(async () => {
  emulator = await startDemoEmulator();
  googleIdp = await startIdp({ port: 0, autoLogin: "alice@example.com", shape: "google" });
  google = await startTestBroker({
    issuer: googleIdp.issuer,
    awsUrl: emulator.url,
    audience: null,
    oidcExtra: `provider: google\nclient_id: ${CLIENT}\nclient_secret: ${GOOGLE_CLIENT_SECRET}`,
  });
  genericIdp = await startIdp({ port: 0, autoLogin: "alice@example.com" });
  generic = await startTestBroker({
    issuer: genericIdp.issuer,
    awsUrl: emulator.url,
    oidcExtra: `client_id: ${CLIENT}\nscopes: [openid, email, profile, groups, offline_access]`,
  });
  unpublished = await startTestBroker({ issuer: genericIdp.issuer, awsUrl: emulator.url });
}, 60_000);

afterAll(async () => {
  await cleanUp();
  for (const b of [google, generic, unpublished]) await b?.stop();
  await googleIdp?.close();
  await genericIdp?.close();
  await emulator?.close();
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof GatehouseError) return e.code;
    throw e;
  }
  throw new Error("expected a rejection");
}

describe("GET /v1/client-config", () => {
  it("needs no token and publishes what a Google desktop needs, secret included", async () => {
    const res = await fetch(`${google.url}/v1/client-config`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      issuer: googleIdp.issuer,
      clientId: CLIENT,
      clientSecret: GOOGLE_CLIENT_SECRET,
      scopes: ["openid", "email", "profile"],
      authorizationParams: { access_type: "offline", prompt: "consent" },
      token: "id_token",
    });
  });

  it("a broker without oidc.client_id says it publishes nothing, with a stable code", async () => {
    const res = await fetch(`${unpublished.url}/v1/client-config`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(await res.json()).toMatchObject({ code: "CLIENT_CONFIG_UNAVAILABLE" });
  });
});

describe("the agent's sign-in settings", () => {
  function home(settings: Record<string, unknown>): Home {
    return makeHome(
      { broker: generic, idp: genericIdp },
      { issuer: undefined, tokenStore: "file", ...settings },
    );
  }
  const resolve = (h: Home) => {
    const paths = agentPaths(h.env);
    return withClientConfig(paths, loadSettings(paths), pinnedKeys(paths));
  };

  it("come from the broker on first run, then from the cache while the broker URL stays", async () => {
    const h = home({ brokerUrl: google.url });
    expect(await resolve(h)).toMatchObject({
      brokerUrl: google.url,
      issuer: googleIdp.issuer,
      clientId: CLIENT,
      clientSecret: GOOGLE_CLIENT_SECRET,
      scopes: "openid email profile",
      token: "id_token",
    });
    // The cache answers for this URL: a broker that is down meanwhile does not matter.
    const cache = join(h.home, "client-config.json");
    const cached = JSON.parse(readFileSync(cache, "utf8"));
    writeFileSync(cache, JSON.stringify({ ...cached, config: { ...cached.config, clientId: "from-cache" } }));
    expect((await resolve(h)).clientId).toBe("from-cache");
  });

  it("are asked again when the broker URL changes", async () => {
    const h = home({ brokerUrl: google.url });
    await resolve(h);
    const settingsFile = join(h.home, "settings.json");
    const raw = JSON.parse(readFileSync(settingsFile, "utf8"));
    writeFileSync(settingsFile, JSON.stringify({ ...raw, brokerUrl: generic.url }));
    expect(await resolve(h)).toMatchObject({ issuer: genericIdp.issuer, token: "access_token" });
  });

  it("pinned in settings.json win over the broker's", async () => {
    const h = home({ brokerUrl: google.url, scopes: "openid email", clientId: "managed-client" });
    expect(await resolve(h)).toMatchObject({
      issuer: googleIdp.issuer,
      clientId: "managed-client",
      scopes: "openid email",
      token: "id_token",
    });
  });

  it("an unreachable broker, or a URL that is not a broker, is BROKER_UNREACHABLE, not a sign-in elsewhere", async () => {
    expect(await codeOf(resolve(home({ brokerUrl: "http://127.0.0.1:9" })))).toBe("BROKER_UNREACHABLE");
    expect(await codeOf(resolve(home({ brokerUrl: genericIdp.issuer })))).toBe("BROKER_UNREACHABLE");
  });
});

describe("gatehouse login", () => {
  it("opens the browser with the CLI's own GATEHOUSE_BROWSER, not the agent's", {
    timeout: 60_000,
  }, async () => {
    const h = makeHome({ broker: generic, idp: genericIdp }, { issuer: undefined, tokenStore: "file" });
    // The agent was started elsewhere, where no browser can be opened.
    await startAgent(h, { ...h.env, GATEHOUSE_BROWSER: "/bin/false" });
    const r = await gatehouse(h, "login");
    expect(r.stdout.trim()).toBe("Signed in as alice@example.com (engineers, data)");
    expect(r.code).toBe(0);
  });

  it("--broker with a URL that is not a broker changes nothing", async () => {
    const h = makeHome({ broker: generic, idp: genericIdp }, { issuer: undefined, tokenStore: "file" });
    const before = readFileSync(join(h.home, "settings.json"), "utf8");
    const r = await gatehouse(h, "login", "--broker", "http://127.0.0.1:9");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("[BROKER_UNREACHABLE]");
    expect(readFileSync(join(h.home, "settings.json"), "utf8")).toBe(before);
    expect(await agentStatus(h)).toBeUndefined();
    const bad = await gatehouse(h, "login", "--broker", "http://broker.example.com");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--broker must be an https URL");
  });

  it("prints the URL in an SSH session without a display; opens it with a display or GATEHOUSE_BROWSER", () => {
    expect(headless({ SSH_CONNECTION: "10.0.0.2 5022 10.0.0.1 22" }, "linux")).toBe(true);
    expect(headless({ SSH_TTY: "/dev/pts/3" }, "darwin")).toBe(true);
    expect(headless({ SSH_CONNECTION: "x", DISPLAY: "localhost:10.0" }, "linux")).toBe(false);
    expect(headless({ SSH_CONNECTION: "x", GATEHOUSE_BROWSER: "w3m" }, "linux")).toBe(false);
    expect(headless({ DISPLAY: ":0" }, "linux")).toBe(false);
    expect(validate({}, { SSH_CONNECTION: "x" }).print).toBe(true);
    expect(validate({ "no-browser": true }, { DISPLAY: ":0" }).print).toBe(true);
    expect(validate({ broker: "https://gatehouse.example.com/" }, {}).broker).toBe(
      "https://gatehouse.example.com",
    );
  });
});

describe("ID-token mode (Google)", () => {
  it("sends the ID token, refreshes before it lapses and sends the new ID token the refresh returns", {
    timeout: 60_000,
  }, async () => {
    const h = makeHome({ broker: google, idp: googleIdp }, { issuer: undefined, tokenStore: "file" });
    const paths = agentPaths(h.env);
    const settings = await withClientConfig(paths, loadSettings(paths), pinnedKeys(paths));
    let stored: string | null = null;
    const store = {
      kind: "file" as const,
      get: async () => stored,
      set: async (t: string) => {
        stored = t;
      },
      delete: async () => {
        stored = null;
      },
    };
    let skew = 0;
    const session = new Session({
      settings,
      store,
      openBrowser: (url) => void new Browser().navigate(new URL(url)).catch(() => undefined),
      now: () => Date.now() + skew,
    });
    expect(await session.login()).toMatchObject({ email: "alice@example.com" });
    const first = await session.accessToken();
    expect(decodeJwt(first)).toMatchObject({ aud: CLIENT, hd: "example.com" });
    const roles = async (token: string) =>
      (await fetch(`${google.url}/v1/roles`, { headers: { authorization: `Bearer ${token}` } })).status;
    expect(await roles(first)).toBe(200);
    // Less than a minute left on the ID token: the next call refreshes and gets a new one (a second later, so
    // that its iat, and so the token, differ).
    await new Promise((r) => setTimeout(r, 1100));
    skew = decodeJwt(first).exp! * 1000 - Date.now() - 30_000;
    const second = await session.accessToken();
    expect(second).not.toBe(first);
    expect(decodeJwt(second).iat).toBeGreaterThan(decodeJwt(first).iat!);
    expect(await roles(second)).toBe(200);
  });
});

describe("the tray's first screen (DesktopCore.setBroker)", () => {
  it("takes a broker URL, restarts the agent on that broker's IdP and signs in there", {
    timeout: 60_000,
  }, async () => {
    const { DesktopCore } = await import("../../electron/main/desktop-core.ts");
    // A desktop set up for the generic broker, switched to the Google one by its URL alone.
    const h = makeHome({ broker: generic, idp: genericIdp }, { issuer: undefined, tokenStore: "file" });
    const opened: string[] = [];
    const core = await DesktopCore.start(h.env, { open: async (url) => void opened.push(url) });
    try {
      core.setSignInOpener((url) => void new Browser().navigate(new URL(url)).catch(() => undefined));
      expect(core.service.agent.settings.issuer).toBe(genericIdp.issuer);
      expect(await codeOf(core.setBroker("http://127.0.0.1:9"))).toBe("BROKER_UNREACHABLE");
      expect(core.service.agent.settings.brokerUrl).toBe(generic.url);

      expect(await core.setBroker(`${google.url}/`)).toEqual({ brokerUrl: google.url });
      expect(core.service.agent.settings).toMatchObject({
        brokerUrl: google.url,
        issuer: googleIdp.issuer,
        token: "id_token",
      });
      expect(JSON.parse(readFileSync(join(h.home, "settings.json"), "utf8"))).not.toHaveProperty("issuer");
      expect(await core.signIn()).toEqual({ email: "alice@example.com", groups: [] });
      expect((await core.status()).brokerUrl).toBe(google.url);
    } finally {
      await core.service.stop();
    }
  });
});
