// The agent's session against the real dev IdP (behind a counting proxy, so token requests are counted on the
// wire) with the refresh token in the real Secret Service: sign-in, silent refresh and rotation, one refresh and
// one browser tab for many callers, a reused or revoked refresh token, a failed write mid-rotation, sign-out, and
// no refresh token in any file or log line.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import * as client from "openid-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Browser } from "../../dev/idp/login.ts";
import { DESKTOP_CLIENT_ID, type DevIdp, startIdp } from "../../dev/idp/provider.ts";
import { type AgentPaths, agentPaths } from "../../electron/agent/home.ts";
import { Session } from "../../electron/agent/session.ts";
import { type Settings, settingsSchema } from "../../electron/agent/settings.ts";
import { openTokenStore, type TokenStore } from "../../electron/agent/token-store.ts";
import { GatehouseError } from "../../shared/errors.ts";

interface Proxy {
  url: string;
  /** Requests seen, by kind: "refresh_token", "authorization_code", "revocation", "other". */
  counts: Record<string, number>;
  /** While true, every connection is dropped: the IdP is unreachable. */
  down: boolean;
  point(port: number): void;
  close(): Promise<void>;
}

/** A forwarding proxy in front of the IdP that counts token-endpoint requests by grant type. */
async function startCountingProxy(): Promise<Proxy> {
  let target = 0;
  const proxy: Proxy = {
    url: "",
    counts: {},
    down: false,
    point: (port) => {
      target = port;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
  const bump = (k: string) => {
    proxy.counts[k] = (proxy.counts[k] ?? 0) + 1;
  };
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    if (proxy.down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const body = Buffer.concat(chunks);
    const path = req.url ?? "/";
    if (req.method === "POST" && path === "/token")
      bump(new URLSearchParams(body.toString()).get("grant_type") ?? "other");
    else if (req.method === "POST" && path === "/token/revocation") bump("revocation");
    const up = request(
      { host: "127.0.0.1", port: target, method: req.method, path, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    up.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

/** A store that records every token written and can be made to fail its next write (a crash mid-rotation). */
function recording(inner: TokenStore) {
  const written: string[] = [];
  let failNext = false;
  const store: TokenStore = {
    kind: inner.kind,
    get: () => inner.get(),
    async set(token) {
      if (failNext) {
        failNext = false;
        throw new GatehouseError("NO_KEYCHAIN", "the keychain went away (test)");
      }
      written.push(token);
      await inner.set(token);
    },
    delete: () => inner.delete(),
  };
  return { store, written, failNextSet: () => (failNext = true) };
}

/** The person's browser with the IdP's auto-login: every call is one tab. */
function autoLoginBrowser() {
  const opener = {
    tabs: 0,
    open: (url: string) => {
      opener.tabs++;
      void new Browser().navigate(new URL(url)).catch(() => undefined);
    },
  };
  return opener;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof GatehouseError) return e.code;
    throw e;
  }
  throw new Error("expected a rejection");
}

let idp: DevIdp;
let proxy: Proxy;
let paths: AgentPaths;
let tmp: string;
let settings: Settings;
let config: client.Configuration;
/** Everything written to stdout / stderr while the tests run, to look for tokens in the logs. */
const output: string[] = [];
const restoreOutput: (() => void)[] = [];
/** Every refresh token any store was given during the run. */
const allRefreshTokens = new Set<string>();

beforeAll(async () => {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      output.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restoreOutput.push(() => {
      stream.write = write as typeof stream.write;
    });
  }
  proxy = await startCountingProxy();
  idp = await startIdp({ port: 0, autoLogin: "alice@example.com", issuerUrl: proxy.url });
  proxy.point(idp.port);
  tmp = mkdtempSync(join(tmpdir(), "gatehouse-session-"));
  paths = agentPaths({ GATEHOUSE_HOME: join(tmp, "home") });
  mkdirSync(paths.home, { mode: 0o700 });
  settings = settingsSchema.parse({ issuer: idp.issuer, signInTimeoutSeconds: 10 });
  config = await client.discovery(new URL(idp.issuer), DESKTOP_CLIENT_ID, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
  });
});

afterAll(async () => {
  for (const r of restoreOutput) r();
  await (await openTokenStore(settings, paths)).delete();
  await idp?.close();
  await proxy?.close();
  rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  proxy.counts = {};
  proxy.down = false;
});

/** A session on the real keychain store, with a clock the test can move forward. */
async function newSession() {
  const rec = recording(
    await openTokenStore(settings, paths, { warn: () => expect.fail("no warning expected") }),
  );
  // Every test starts signed out (the keychain entry is shared: same issuer, same client).
  await rec.store.delete();
  const browser = autoLoginBrowser();
  const clock = { skew: 0 };
  const session = new Session({
    settings,
    store: rec.store,
    openBrowser: browser.open,
    now: () => Date.now() + clock.skew,
  });
  const track = () => {
    for (const t of rec.written) allRefreshTokens.add(t);
  };
  return { session, rec, browser, clock, track };
}

async function refreshAtIdp(token: string): Promise<string> {
  try {
    await client.refreshTokenGrant(config, token);
    return "accepted";
  } catch (e) {
    return e instanceof client.ResponseBodyError ? e.error : String(e);
  }
}

describe("Session", () => {
  it("is not signed in with nothing stored, and says so without touching the IdP or the browser", async () => {
    const { session, browser, rec } = await newSession();
    await rec.store.delete();
    expect(await codeOf(session.accessToken())).toBe("NOT_SIGNED_IN");
    expect(session.status()).toEqual({ signedIn: false });
    expect(browser.tabs).toBe(0);
    expect(proxy.counts).toEqual({});
  });

  it("login signs in through one browser tab, stores the refresh token in the keychain and serves from memory", async () => {
    const { session, rec, browser, track } = await newSession();
    const who = await session.login();
    track();
    expect(who).toEqual({ email: "alice@example.com", groups: ["engineers", "data"] });
    expect(browser.tabs).toBe(1);
    expect(proxy.counts).toEqual({ authorization_code: 1 });
    const stored = await rec.store.get();
    expect(stored).toBeTruthy();
    expect(rec.written).toEqual([stored]);

    const status = session.status();
    expect(status).toMatchObject({
      signedIn: true,
      email: "alice@example.com",
      groups: ["engineers", "data"],
    });
    const expiresAt = Date.parse(status.accessTokenExpiresAt!);
    expect(expiresAt - Date.now()).toBeGreaterThan(500_000);

    // Many calls, no network: the access token is in memory.
    const tokens = await Promise.all(Array.from({ length: 5 }, () => session.accessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(decodeJwt(tokens[0]!).email).toBe("alice@example.com");
    expect(proxy.counts).toEqual({ authorization_code: 1 });
  });

  it("refreshes near expiry, rotating the refresh token; a reuse of the old one is refused and ends in a re-login", async () => {
    const { session, rec, clock, browser, track } = await newSession();
    await session.login();
    const first = await session.accessToken();
    const rt1 = (await rec.store.get())!;

    // 30 s left: less than the minute a caller needs.
    clock.skew = decodeJwt(first).exp! * 1000 - Date.now() - 30_000;
    const second = await session.accessToken();
    clock.skew = 0;
    track();
    expect(second).not.toBe(first);
    expect(proxy.counts).toEqual({ authorization_code: 1, refresh_token: 1 });
    const rt2 = (await rec.store.get())!;
    expect(rt2).not.toBe(rt1);
    expect(rec.written.at(-1)).toBe(rt2);
    expect(await session.accessToken()).toBe(second);

    // Someone replays the rotated-out token: the IdP refuses it and (reuse detection) ends the whole grant…
    expect(await refreshAtIdp(rt1)).toBe("invalid_grant");
    // …so the session's next refresh fails: not signed in, the dead token deleted, no browser without asking.
    session.invalidate();
    const tabs = browser.tabs;
    expect(await codeOf(session.accessToken())).toBe("NOT_SIGNED_IN");
    expect(await rec.store.get()).toBeNull();
    expect(session.status().signedIn).toBe(false);
    expect(browser.tabs).toBe(tabs);
    // An interactive caller signs in again.
    const again = await session.accessToken({ interactive: true });
    track();
    expect(decodeJwt(again).email).toBe("alice@example.com");
    expect(browser.tabs).toBe(tabs + 1);
    expect(await rec.store.get()).toBeTruthy();
  });

  it("20 concurrent callers with an expired access token make ONE refresh", async () => {
    const { session, rec, clock, track } = await newSession();
    await session.login();
    const before = await session.accessToken();
    proxy.counts = {};
    const writes = rec.written.length;

    clock.skew = decodeJwt(before).exp! * 1000 - Date.now() + 5_000; // already expired
    const tokens = await Promise.all(Array.from({ length: 20 }, () => session.accessToken()));
    clock.skew = 0;
    track();
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(before);
    expect(proxy.counts).toEqual({ refresh_token: 1 });
    expect(rec.written.length - writes).toBe(1);

    // The same after invalidate() (the broker said 401), interactive callers included: still one refresh, no tab.
    proxy.counts = {};
    session.invalidate();
    const again = await Promise.all(
      Array.from({ length: 20 }, (_, i) => session.accessToken({ interactive: i % 2 === 0 })),
    );
    expect(new Set(again).size).toBe(1);
    expect(proxy.counts).toEqual({ refresh_token: 1 });
  });

  it("with the refresh token revoked, 10 concurrent interactive callers open ONE browser tab and all get its token", async () => {
    const { session, rec, browser, track } = await newSession();
    await session.login();
    const rt = (await rec.store.get())!;
    await client.tokenRevocation(config, rt, { token_type_hint: "refresh_token" });
    session.invalidate();
    proxy.counts = {};
    const tabs = browser.tabs;

    const tokens = await Promise.all(
      Array.from({ length: 10 }, () => session.accessToken({ interactive: true })),
    );
    track();
    expect(browser.tabs - tabs).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(decodeJwt(tokens[0]!).email).toBe("alice@example.com");
    expect(proxy.counts).toEqual({ refresh_token: 1, authorization_code: 1 });
    const fresh = await rec.store.get();
    expect(fresh).toBeTruthy();
    expect(fresh).not.toBe(rt);
  });

  it("concurrent login() calls share one sign-in; a later login ends the grant it replaces", async () => {
    const { session, rec, browser, track } = await newSession();
    const results = await Promise.all([session.login(), session.login(), session.login()]);
    track();
    expect(browser.tabs).toBe(1);
    for (const r of results) expect(r.email).toBe("alice@example.com");
    expect(proxy.counts).toEqual({ authorization_code: 1 });

    const rt1 = (await rec.store.get())!;
    await session.login();
    track();
    expect(browser.tabs).toBe(2);
    const rt2 = await rec.store.get();
    expect(rt2).not.toBe(rt1);
    expect(proxy.counts).toEqual({ authorization_code: 2, revocation: 1 });
    expect(await refreshAtIdp(rt1)).toBe("invalid_grant");
  });

  it("a failed write of the rotated refresh token hands out nothing, and the next call needs a new sign-in", async () => {
    const { session, rec, browser, track } = await newSession();
    await session.login();
    const before = await session.accessToken();
    const rt1 = (await rec.store.get())!;

    // The IdP rotates, then saving the new refresh token fails (the keychain vanished, the agent crashed).
    rec.failNextSet();
    session.invalidate();
    expect(await codeOf(session.accessToken())).toBe("NO_KEYCHAIN");
    // The new access token was not used, and the store still has the old refresh token.
    expect(await rec.store.get()).toBe(rt1);
    expect(session.status().accessTokenExpiresAt).toBeUndefined();

    // The old one was rotated out at the IdP: the next refresh is refused and the person must sign in again.
    expect(await codeOf(session.accessToken())).toBe("NOT_SIGNED_IN");
    expect(await rec.store.get()).toBeNull();
    const tabs = browser.tabs;
    const after = await session.accessToken({ interactive: true });
    track();
    expect(after).not.toBe(before);
    expect(browser.tabs - tabs).toBe(1);
  });

  it("logout revokes the refresh token at the IdP, deletes it and forgets the access token", async () => {
    const { session, rec, browser, track } = await newSession();
    await session.login();
    track();
    const rt = (await rec.store.get())!;
    proxy.counts = {};
    await session.logout();
    expect(proxy.counts).toEqual({ revocation: 1 });
    expect(await rec.store.get()).toBeNull();
    expect(session.status()).toEqual({ signedIn: false });
    expect(await refreshAtIdp(rt)).toBe("invalid_grant");
    const tabs = browser.tabs;
    expect(await codeOf(session.accessToken())).toBe("NOT_SIGNED_IN");
    expect(browser.tabs).toBe(tabs);
  });

  it("logout still signs out locally when the IdP cannot be reached", async () => {
    const { session, rec, track } = await newSession();
    await session.login();
    track();
    proxy.down = true;
    await session.logout();
    expect(await rec.store.get()).toBeNull();
    expect(session.status().signedIn).toBe(false);
    expect(await codeOf(session.accessToken())).toBe("NOT_SIGNED_IN");
  });

  it("an unreachable IdP during refresh is IDP_UNAVAILABLE and keeps the refresh token", async () => {
    const { session, rec, track } = await newSession();
    await session.login();
    track();
    const rt = await rec.store.get();
    session.invalidate();
    proxy.down = true;
    expect(await codeOf(session.accessToken())).toBe("IDP_UNAVAILABLE");
    expect(await rec.store.get()).toBe(rt);
    proxy.down = false;
    expect(decodeJwt(await session.accessToken()).email).toBe("alice@example.com");
  });

  it("with the opt-in file store: the refresh token in a 0600 file, deleted by logout", async () => {
    const home = agentPaths({ GATEHOUSE_HOME: join(tmp, "file-home") });
    const warnings: string[] = [];
    const store = await openTokenStore({ ...settings, tokenStore: "file" }, home, {
      warn: (m) => warnings.push(m),
    });
    expect(warnings).toHaveLength(1);
    const session = new Session({ settings, store, openBrowser: autoLoginBrowser().open });
    await session.login();
    const rt = readFileSync(home.tokenFile, "utf8").trim();
    allRefreshTokens.add(rt);
    expect(rt).toBe(await store.get());
    expect(statSync(home.tokenFile).mode & 0o777).toBe(0o600);
    await session.logout();
    expect(existsSync(home.tokenFile)).toBe(false);
  });

  it("no refresh token ever reached a file under GATEHOUSE_HOME (keychain store), a log line or an error message", async () => {
    expect(allRefreshTokens.size).toBeGreaterThan(5);
    const files = filesUnder(paths.home);
    const logs = output.join("");
    for (const token of allRefreshTokens) {
      for (const f of files) expect(readFileSync(f, "utf8")).not.toContain(token);
      expect(logs).not.toContain(token);
    }
    // Errors shown to people carry no token either.
    const { session, rec } = await newSession();
    await session.login();
    const rt = (await rec.store.get())!;
    await client.tokenRevocation(config, rt);
    session.invalidate();
    try {
      await session.accessToken();
      expect.fail("expected NOT_SIGNED_IN");
    } catch (e) {
      const err = e as GatehouseError;
      expect(err.code).toBe("NOT_SIGNED_IN");
      let text = "";
      for (let c: unknown = err; c instanceof Error; c = c.cause) text += `${c.message}\n${c.stack}\n`;
      expect(text).not.toContain(rt);
    }
  });
});
