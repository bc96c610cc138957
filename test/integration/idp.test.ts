// The development OpenID Provider (`gatehouse-dev idp`), really started: discovery, authorization code + PKCE
// through the HTML login form (driven with fetch, as a browser would) and through --auto-login, the broker's JWT
// access tokens, rotating refresh tokens, redirect URI and PKCE refusals, key rotation, and the command itself.

import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { createRemoteJWKSet, decodeProtectedHeader, type JWTPayload, jwtVerify } from "jose";
import * as client from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Browser, formAction } from "../../dev/idp/login.ts";
import { BROKER_AUDIENCE, DESKTOP_CLIENT_ID, type DevIdp, startIdp } from "../../dev/idp/provider.ts";
import { DEMO_USERS } from "../../dev/idp/users.ts";

const CALLBACK = "http://127.0.0.1:54321/callback";
const SCOPE = "openid email profile groups offline_access";
const CLI = resolve(import.meta.dirname, "../../bin/gatehouse-dev.mjs");
const sub = (email: string) => DEMO_USERS.find((u) => u.email === email)!.sub;

async function configFor(idp: DevIdp): Promise<client.Configuration> {
  return client.discovery(new URL(idp.issuer), DESKTOP_CLIENT_ID, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
  });
}

interface Login {
  tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  accessClaims: JWTPayload;
}

/** A full sign-in as the desktop does it: PKCE S256, state and nonce, the form when one is shown, the code grant. */
async function signIn(
  idp: DevIdp,
  config: client.Configuration,
  opts: { email?: string; browser?: Browser; expectForm?: boolean } = {},
): Promise<Login> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  const browser = opts.browser ?? new Browser();
  let step = await browser.navigate(url);
  if ("page" in step) {
    expect(opts.expectForm ?? true).toBe(true);
    expect(step.page.status).toBe(200);
    const html = await step.page.text();
    step = await browser.navigate(formAction(html, step.url), {
      method: "POST",
      form: { login: opts.email ?? "" },
    });
  } else {
    expect(opts.expectForm ?? false).toBe(false);
  }
  if (!("callback" in step))
    throw new Error(`sign-in ended on a page: ${step.page.status} ${await step.page.text()}`);
  expect(step.callback.searchParams.get("error")).toBeNull();
  const tokens = await client.authorizationCodeGrant(config, step.callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
  });
  const { payload } = await jwtVerify(tokens.access_token, jwksOf(idp), {
    issuer: idp.issuer,
    audience: BROKER_AUDIENCE,
    algorithms: ["RS256", "ES256"],
    typ: "at+jwt",
  });
  return { tokens, accessClaims: payload };
}

const jwksCache = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
/** The broker's view: the discovery's jwks_uri, re-fetched at once when an unknown kid shows up. */
function jwksOf(idp: DevIdp) {
  let set = jwksCache.get(idp.issuer);
  if (!set) {
    set = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`), { cooldownDuration: 0 });
    jwksCache.set(idp.issuer, set);
  }
  return set;
}

/** The first response of an authorization request with these parameters (PKCE S256 unless overridden). */
async function authorize(
  config: client.Configuration,
  params: Record<string, string>,
  browser = new Browser(),
) {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: SCOPE,
    state: client.randomState(),
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    ...params,
  });
  for (const [k, v] of Object.entries(params)) if (v === "") url.searchParams.delete(k);
  return browser.request(url);
}

async function expectGrantError(p: Promise<unknown>, error: string) {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(client.ResponseBodyError);
  expect((e as client.ResponseBodyError).error).toBe(error);
}

let idp: DevIdp;
let config: client.Configuration;

beforeAll(async () => {
  idp = await startIdp({ port: 0 });
  config = await configFor(idp);
});

afterAll(async () => {
  await idp?.close();
});

describe("discovery", () => {
  it("advertises the issuer, S256 only, the scopes and the endpoints", async () => {
    const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc["issuer"]).toBe(idp.issuer);
    expect(idp.issuer).toBe(`http://127.0.0.1:${idp.port}`);
    expect(doc["code_challenge_methods_supported"]).toEqual(["S256"]);
    expect(doc["response_types_supported"]).toEqual(["code"]);
    expect(doc["grant_types_supported"]).toEqual(
      expect.arrayContaining(["authorization_code", "refresh_token"]),
    );
    expect(doc["scopes_supported"]).toEqual(expect.arrayContaining(SCOPE.split(" ")));
    expect(doc["claims_supported"]).toEqual(expect.arrayContaining(["email", "groups"]));
    expect(doc["jwks_uri"]).toBe(`${idp.issuer}/jwks`);
    expect(config.serverMetadata().issuer).toBe(idp.issuer);
  });

  it("publishes only public signing keys, RS256 and ES256, each with a kid", async () => {
    const { keys } = (await (await fetch(`${idp.issuer}/jwks`)).json()) as {
      keys: Record<string, unknown>[];
    };
    expect(keys.map((k) => k["alg"]).sort()).toEqual(["ES256", "RS256"]);
    for (const k of keys) {
      expect(k["kid"]).toEqual(expect.any(String));
      expect(k["use"]).toBe("sig");
      for (const secret of ["d", "p", "q", "dp", "dq", "qi"]) expect(k).not.toHaveProperty(secret);
    }
  });
});

describe("sign-in through the login form", () => {
  let alice: Login;
  beforeAll(async () => {
    alice = await signIn(idp, config, { email: "alice@example.com" });
  });

  it("shows a small self-contained form: Email, login, Sign in, no external resources", async () => {
    const browser = new Browser();
    const res = await authorize(config, {}, browser);
    const step = await browser.navigate(new URL(res.headers.get("location")!, idp.issuer));
    if (!("page" in step)) throw new Error("expected the login form");
    expect(step.page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(step.page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(step.page.headers.get("cache-control")).toBe("no-store");
    const html = await step.page.text();
    expect(html).toMatch(/<label for="login">Email<\/label>/);
    expect(html).toMatch(/<input id="login" name="login" type="email"/);
    expect(html).toMatch(/<button type="submit">Sign in<\/button>/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script/i);
  });

  it("issues a JWT access token for the broker with email and groups", async () => {
    const { tokens, accessClaims } = alice;
    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ alg: "RS256", typ: "at+jwt" });
    expect(accessClaims).toMatchObject({
      iss: idp.issuer,
      aud: BROKER_AUDIENCE,
      sub: sub("alice@example.com"),
      client_id: DESKTOP_CLIENT_ID,
      email: "alice@example.com",
      groups: ["engineers", "data"],
    });
    expect(accessClaims.exp! - accessClaims.iat!).toBe(600);
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
    expect(tokens.expires_in).toBeGreaterThan(0);
  });

  it("puts email and groups in the ID token", () => {
    const claims = alice.tokens.claims()!;
    expect(claims).toMatchObject({
      iss: idp.issuer,
      aud: DESKTOP_CLIENT_ID,
      sub: sub("alice@example.com"),
      email: "alice@example.com",
      email_verified: true,
      groups: ["engineers", "data"],
    });
  });

  it("refreshes with rotation; reusing a spent refresh token fails and revokes the rotated one", async () => {
    const first = alice.tokens.refresh_token!;
    expect(first).toEqual(expect.any(String));
    const refreshed = await client.refreshTokenGrant(config, first);
    const second = refreshed.refresh_token!;
    expect(second).toEqual(expect.any(String));
    expect(second).not.toBe(first);
    const { payload } = await jwtVerify(refreshed.access_token, jwksOf(idp), {
      issuer: idp.issuer,
      audience: BROKER_AUDIENCE,
      algorithms: ["RS256"],
    });
    expect(payload).toMatchObject({ email: "alice@example.com", groups: ["engineers", "data"] });
    expect(refreshed.claims()).toMatchObject({
      sub: sub("alice@example.com"),
      groups: ["engineers", "data"],
    });

    await expectGrantError(client.refreshTokenGrant(config, first), "invalid_grant");
    // Reuse of a spent token means it leaked: the whole grant is revoked (RFC 9700 §4.14.2).
    await expectGrantError(client.refreshTokenGrant(config, second), "invalid_grant");
  });

  it("gives carol an empty groups list", async () => {
    const carol = await signIn(idp, config, { email: "carol@example.com" });
    expect(carol.accessClaims).toMatchObject({ email: "carol@example.com", groups: [] });
    expect(carol.tokens.claims()).toMatchObject({ email: "carol@example.com", groups: [] });
  });

  it("shows the form again with an error for an unknown e-mail, then accepts a demo user", async () => {
    const browser = new Browser();
    const res = await authorize(config, {}, browser);
    const first = await browser.navigate(new URL(res.headers.get("location")!, idp.issuer));
    if (!("page" in first)) throw new Error("expected the login form");
    const action = formAction(await first.page.text(), first.url);
    const again = await browser.navigate(action, { method: "POST", form: { login: "mallory@example.com" } });
    if (!("page" in again)) throw new Error("an unknown user must not be signed in");
    expect(again.page.status).toBe(422);
    const html = await again.page.text();
    expect(html).toContain("There is no demo user &quot;mallory@example.com&quot;.");
    expect(html).toMatch(/role="alert"/);
    expect(html).toMatch(/name="login"[^>]*value="mallory@example.com"/);
    const ok = await browser.navigate(formAction(html, again.url), {
      method: "POST",
      form: { login: "dave@example.com" },
    });
    expect("callback" in ok && ok.callback.searchParams.get("code")).toBeTruthy();
  });

  it("escapes what was typed", async () => {
    const browser = new Browser();
    const res = await authorize(config, {}, browser);
    const first = await browser.navigate(new URL(res.headers.get("location")!, idp.issuer));
    if (!("page" in first)) throw new Error("expected the login form");
    const typed = `"><script>alert(1)</script>`;
    const again = await browser.navigate(formAction(await first.page.text(), first.url), {
      method: "POST",
      form: { login: typed },
    });
    if (!("page" in again)) throw new Error("expected the form again");
    const html = await again.page.text();
    expect(html).not.toContain("<script>");
    expect(html).toContain("&quot;&gt;&lt;script&gt;");
  });

  it("signs in again without the form while the IdP session lasts (no consent screen)", async () => {
    const browser = new Browser();
    await signIn(idp, config, { email: "bob@example.com", browser });
    // Straight back to the callback: no interaction, no consent step.
    const direct = await authorize(config, {}, browser);
    expect(direct.status).toBe(303);
    expect(direct.headers.get("location")).toMatch(/^http:\/\/127\.0\.0\.1:54321\/callback\?code=/);
    const again = await signIn(idp, config, { browser, expectForm: false });
    expect(again.accessClaims).toMatchObject({
      email: "bob@example.com",
      groups: ["platform-admins", "approvers"],
    });
  });

  it("answers Cancel with access_denied at the callback", async () => {
    const browser = new Browser();
    const res = await authorize(config, {}, browser);
    const first = await browser.navigate(new URL(res.headers.get("location")!, idp.issuer));
    if (!("page" in first)) throw new Error("expected the login form");
    const abort = new URL(formAction(await first.page.text(), first.url).href.replace(/\/login$/, "/abort"));
    const end = await browser.navigate(abort, { method: "POST", form: {} });
    if (!("callback" in end)) throw new Error("expected a redirect to the callback");
    expect(end.callback.searchParams.get("error")).toBe("access_denied");
  });
});

describe("what the desktop client may ask for", () => {
  it.each([
    ["another loopback port", "http://127.0.0.1:1/callback"],
    ["the highest port", "http://127.0.0.1:65535/callback"],
    ["no port", "http://127.0.0.1/callback"],
  ])("accepts the loopback callback on %s", async (_what, redirect) => {
    const res = await authorize(config, { redirect_uri: redirect });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toMatch(/^\/interaction\//);
  });

  it.each([
    ["localhost", "http://localhost:54321/callback"],
    ["another path", "http://127.0.0.1:54321/other"],
    ["a longer path", "http://127.0.0.1:54321/callback/more"],
    ["IPv6 loopback", "http://[::1]:54321/callback"],
    ["https", "https://127.0.0.1:54321/callback"],
    ["another host", "http://evil.example:54321/callback"],
    ["a look-alike host", "http://127.0.0.1.evil.example/callback"],
    ["a query", "http://127.0.0.1:54321/callback?x=1"],
  ])("refuses a redirect to %s without redirecting", async (_what, redirect) => {
    const res = await authorize(config, { redirect_uri: redirect });
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    expect(await res.text()).toContain(
      "redirect_uri did not match any of the client&#39;s registered redirect_uris",
    );
  });

  it.each([
    ["plain", { code_challenge: "a".repeat(43), code_challenge_method: "plain" }, /code_challenge_method/],
    ["a missing code_challenge", { code_challenge: "", code_challenge_method: "" }, /PKCE/],
  ])("refuses PKCE %s", async (_what, params, description) => {
    const res = await authorize(config, params);
    expect(res.status).toBe(303);
    const callback = new URL(res.headers.get("location")!);
    expect(callback.origin + callback.pathname).toBe(CALLBACK);
    expect(callback.searchParams.get("error")).toBe("invalid_request");
    expect(callback.searchParams.get("error_description")).toMatch(description);
  });

  it("refuses an unknown resource indicator", async () => {
    const res = await authorize(config, { resource: "https://elsewhere.example/" });
    const callback = new URL(res.headers.get("location")!);
    expect(callback.searchParams.get("error")).toBe("invalid_target");
  });

  it("refuses a wrong code_verifier at the token endpoint", async () => {
    const browser = new Browser();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: SCOPE,
      state,
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: "S256",
    });
    const first = await browser.navigate(url);
    if (!("page" in first)) throw new Error("expected the login form");
    const end = await browser.navigate(formAction(await first.page.text(), first.url), {
      method: "POST",
      form: { login: "alice@example.com" },
    });
    if (!("callback" in end)) throw new Error("expected the callback");
    await expectGrantError(
      client.authorizationCodeGrant(config, end.callback, {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: state,
      }),
      "invalid_grant",
    );
  });
});

describe("--auto-login", () => {
  let auto: DevIdp;
  let autoConfig: client.Configuration;
  beforeAll(async () => {
    auto = await startIdp({ port: 0, autoLogin: "bob@example.com" });
    autoConfig = await configFor(auto);
  });
  afterAll(async () => {
    await auto?.close();
  });

  it("signs every authorization request in as the user, without the form", async () => {
    const bob = await signIn(auto, autoConfig, { expectForm: false });
    expect(bob.accessClaims).toMatchObject({
      iss: auto.issuer,
      aud: BROKER_AUDIENCE,
      sub: sub("bob@example.com"),
      email: "bob@example.com",
      groups: ["platform-admins", "approvers"],
    });
    expect(bob.tokens.claims()).toMatchObject({ groups: ["platform-admins", "approvers"] });
    expect(bob.tokens.refresh_token).toEqual(expect.any(String));
  });

  it("also answers prompt=login without the form", async () => {
    const browser = new Browser();
    await signIn(auto, autoConfig, { browser, expectForm: false });
    const res = await browser.request(
      client.buildAuthorizationUrl(autoConfig, {
        redirect_uri: CALLBACK,
        scope: SCOPE,
        prompt: "login",
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: "S256",
      }),
    );
    const end = await browser.navigate(new URL(res.headers.get("location")!, auto.issuer));
    expect("callback" in end && end.callback.searchParams.get("code")).toBeTruthy();
  });

  it("is refused unless bound to loopback", async () => {
    await expect(
      startIdp({ port: 0, host: "0.0.0.0", autoLogin: "alice@example.com" }),
    ).rejects.toMatchObject({
      code: "BAD_ARGUMENT",
    });
    await expect(startIdp({ port: 0, autoLogin: "mallory@example.com" })).rejects.toMatchObject({
      code: "BAD_ARGUMENT",
    });
  });
});

describe("key rotation", () => {
  let rotating: DevIdp;
  let rotatingConfig: client.Configuration;
  beforeAll(async () => {
    rotating = await startIdp({ port: 0 });
    rotatingConfig = await configFor(rotating);
  });
  afterAll(async () => {
    await rotating?.close();
  });

  it("signs new tokens with a new kid that the broker's cached JWKS finds by re-fetching", async () => {
    const before = await signIn(rotating, rotatingConfig, { email: "dave@example.com" });
    const oldKid = decodeProtectedHeader(before.tokens.access_token).kid;
    await rotating.rotateKeys();

    const { keys } = (await (await fetch(`${rotating.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(keys).toHaveLength(3);
    const newKid = keys[0]!.kid;
    expect(newKid).not.toBe(oldKid);
    expect(keys.map((k) => k.kid)).toContain(oldKid);

    // A refresh token from before the rotation still works; its access token carries the new kid.
    const refreshed = await client.refreshTokenGrant(rotatingConfig, before.tokens.refresh_token!);
    expect(decodeProtectedHeader(refreshed.access_token).kid).toBe(newKid);
    expect(decodeProtectedHeader(refreshed.id_token!).kid).toBe(newKid);
    // jwksOf(rotating) cached the JWKS with only the old keys during signIn.
    const { payload } = await jwtVerify(refreshed.access_token, jwksOf(rotating), {
      issuer: rotating.issuer,
      audience: BROKER_AUDIENCE,
      algorithms: ["RS256"],
    });
    expect(payload).toMatchObject({ email: "dave@example.com", groups: ["engineers", "approvers"] });
    // Tokens signed before the rotation still verify.
    await expect(
      jwtVerify(before.tokens.access_token, jwksOf(rotating), {
        issuer: rotating.issuer,
        audience: BROKER_AUDIENCE,
      }),
    ).resolves.toBeTruthy();
    // And a full new sign-in works after the rotation.
    const after = await signIn(rotating, rotatingConfig, { email: "alice@example.com" });
    expect(decodeProtectedHeader(after.tokens.access_token).kid).toBe(newKid);
  });
});

describe("gatehouse-dev idp", () => {
  function run(args: string[], untilReady = false) {
    const child = spawn(process.execPath, [CLI, "idp", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
    const ready = new Promise<string>((done, fail) => {
      if (!untilReady) return done("");
      child.stdout.on("data", () => {
        if (stdout.includes("\n")) done(stdout.split("\n")[0]!);
      });
      child.on("exit", () => fail(new Error(`exited before ready: ${stderr}`)));
    });
    return { child, exited, ready, output: () => ({ stdout, stderr }) };
  }

  it("exits 2 with a code when --auto-login is asked for on a non-loopback address", async () => {
    const p = run(["--auto-login", "alice@example.com", "--host", "0.0.0.0"]);
    expect(await p.exited).toBe(2);
    expect(p.output().stderr).toMatch(
      /--auto-login is only allowed when bound to a loopback address.*\[BAD_ARGUMENT\]/,
    );
    expect(p.output().stdout).toBe("");
  });

  it.each([
    [["--port", "http"]],
    [["--bogus"]],
    [["--auto-login", "mallory@example.com"]],
    [["--access-token-ttl", "0"]],
    [["--issuer", "ftp://idp.example"]],
  ])("exits 2 with [BAD_ARGUMENT] on %j", async (args) => {
    const p = run(args);
    expect(await p.exited).toBe(2);
    expect(p.output().stderr).toMatch(/^gatehouse-dev idp: .*\[BAD_ARGUMENT\]$/m);
  });

  it("prints one line with the issuer when ready, serves, and stops cleanly on SIGTERM", async () => {
    const p = run(["--port", "0", "--auto-login", "alice@example.com"], true);
    try {
      const line = await p.ready;
      const issuer = /^gatehouse-dev idp issuer (http:\/\/127\.0\.0\.1:\d+) /.exec(line)?.[1];
      expect(issuer, line).toBeDefined();
      expect(line).toContain("auto-login alice@example.com");
      const doc = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as {
        issuer: string;
      };
      expect(doc.issuer).toBe(issuer);
    } finally {
      p.child.kill("SIGTERM");
    }
    expect(await p.exited).toBe(0);
    expect(p.output().stdout.trim().split("\n")).toHaveLength(1);
    expect(p.output().stderr).toContain("gatehouse-dev idp: stopped on SIGTERM");
  });
});
