// The agent's browser sign-in (RFC 8252) against the real dev IdP: a scripted browser goes through auto-login or
// the login form to the loopback listener; wrong or missing state, other paths and methods, replays, timeouts,
// cancellation, the IdP's own error, what address the listener binds, and what the browser may be sent to.

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Browser, formAction } from "../../dev/idp/login.ts";
import { BROKER_AUDIENCE, DESKTOP_CLIENT_ID, type DevIdp, startIdp } from "../../dev/idp/provider.ts";
import { defaultBrowserOpener, signIn } from "../../electron/agent/signin.ts";
import { GatehouseError } from "../../shared/errors.ts";

const SCOPES = "openid email profile groups offline_access";

/** Resolves with the GatehouseError code a promise rejects with. */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof GatehouseError) return e.code;
    throw e;
  }
  throw new Error("expected a rejection");
}

/** Whether a TCP connection to host:port is accepted. */
function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

interface Landing {
  status: number;
  url: URL;
  headers: Headers;
  html: string;
}

/**
 * The person's browser: follows the authorization URL through the IdP and on to the loopback callback, as a real
 * browser would, and records the page it lands on. `before` runs first with the redirect URI (to play attacker).
 */
function scriptedBrowser(
  opts: { email?: string; abort?: boolean; before?: (redirectUri: URL) => Promise<void> } = {},
) {
  const opened: string[] = [];
  let resolveLanding!: (l: Landing) => void;
  const landing = new Promise<Landing>((r) => {
    resolveLanding = r;
  });
  const open = async (url: string) => {
    opened.push(url);
    const auth = new URL(url);
    if (opts.before) await opts.before(new URL(auth.searchParams.get("redirect_uri")!));
    const browser = new Browser();
    let step = await browser.navigate(auth);
    if ("page" in step && step.url.pathname.startsWith("/interaction/")) {
      const html = await step.page.text();
      const action = formAction(html, step.url);
      if (opts.abort) action.pathname = action.pathname.replace(/\/login$/, "/abort");
      step = await browser.navigate(action, { method: "POST", form: { login: opts.email ?? "" } });
    }
    if (!("page" in step)) throw new Error("the browser stopped at the script callback");
    resolveLanding({
      status: step.page.status,
      url: step.url,
      headers: step.page.headers,
      html: await step.page.text(),
    });
  };
  return { open, opened, landing };
}

describe("sign-in with auto-login (alice)", () => {
  let idp: DevIdp;
  beforeAll(async () => {
    idp = await startIdp({ port: 0, autoLogin: "alice@example.com" });
  });
  afterAll(() => idp.close());

  it("signs in through the browser and the loopback callback, and answers a self-contained page", async () => {
    const b = scriptedBrowser();
    const tokens = await signIn({
      issuer: idp.issuer,
      clientId: DESKTOP_CLIENT_ID,
      scopes: SCOPES,
      openBrowser: b.open,
      timeoutMs: 10_000,
    });
    const claims = decodeJwt(tokens.access_token);
    expect(claims.email).toBe("alice@example.com");
    expect(claims.aud).toBe(BROKER_AUDIENCE);
    expect(claims.groups).toEqual(["engineers", "data"]);
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.claims()?.email).toBe("alice@example.com");

    // The browser was sent to the issuer's own authorization endpoint, with PKCE S256, state and nonce.
    expect(b.opened).toHaveLength(1);
    const auth = new URL(b.opened[0]!);
    const discovery = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json();
    expect(`${auth.origin}${auth.pathname}`).toBe(discovery.authorization_endpoint);
    expect(auth.searchParams.get("code_challenge_method")).toBe("S256");
    expect(auth.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(auth.searchParams.get("state")).toBeTruthy();
    expect(auth.searchParams.get("nonce")).toBeTruthy();
    const redirect = new URL(auth.searchParams.get("redirect_uri")!);
    expect(redirect.protocol).toBe("http:");
    expect(redirect.hostname).toBe("127.0.0.1");
    expect(redirect.pathname).toBe("/callback");
    expect(Number(redirect.port)).toBeGreaterThan(0);

    const page = await b.landing;
    expect(page.status).toBe(200);
    expect(page.url.origin).toBe(redirect.origin);
    expect(page.html).toContain("Signed in — you can close this tab");
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    // Nothing on the page loads or links anywhere.
    expect(page.html).not.toMatch(/\b(src|href|action)=|<script|<link|<img|url\(/i);

    // The first valid callback closed the listener: replaying it finds nothing to connect to.
    await expect(fetch(page.url)).rejects.toThrow();
    expect(await canConnect("127.0.0.1", Number(redirect.port))).toBe(false);
  });

  it("listens on 127.0.0.1 only: not on ::1, not on the machine's other addresses", async () => {
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((i) => i && !i.internal)
      .map((i) => i!.address);
    let checked = false;
    const b = scriptedBrowser({
      before: async (redirect) => {
        const port = Number(redirect.port);
        expect(await canConnect("127.0.0.1", port)).toBe(true);
        expect(await canConnect("::1", port)).toBe(false);
        for (const address of others) expect(await canConnect(address, port)).toBe(false);
        checked = true;
      },
    });
    await signIn({
      issuer: idp.issuer,
      clientId: DESKTOP_CLIENT_ID,
      scopes: SCOPES,
      openBrowser: b.open,
      timeoutMs: 10_000,
    });
    expect(checked).toBe(true);
  });

  it("refuses callbacks with a wrong or missing state (400) and other paths or methods, and keeps waiting", async () => {
    const seen: Record<string, number> = {};
    const b = scriptedBrowser({
      before: async (redirect) => {
        const at = (path: string, init?: RequestInit) => fetch(new URL(path, redirect), init);
        const probe = async (name: string, path: string, init?: RequestInit) => {
          const res = await at(path, init);
          seen[name] = res.status;
          const html = await res.text();
          expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
          return html;
        };
        await probe("wrong state", "/callback?code=forged&state=not-the-state");
        await probe("no state", "/callback?code=forged");
        // An attacker cannot end the sign-in with an error either, without the state.
        await probe("error, wrong state", "/callback?error=access_denied&state=nope");
        await probe("error, no state", "/callback?error=access_denied");
        await probe("other path", "/cb?code=forged&state=x");
        await probe("root", "/");
        await probe("POST", "/callback?code=forged&state=x", { method: "POST" });
        const html = await probe("XSS in state", "/callback?state=<script>alert(1)</script>");
        expect(html).not.toContain("<script>");
      },
    });
    const tokens = await signIn({
      issuer: idp.issuer,
      clientId: DESKTOP_CLIENT_ID,
      scopes: SCOPES,
      openBrowser: b.open,
      timeoutMs: 10_000,
    });
    expect(decodeJwt(tokens.access_token).email).toBe("alice@example.com");
    expect(seen).toEqual({
      "wrong state": 400,
      "no state": 400,
      "error, wrong state": 400,
      "error, no state": 400,
      "other path": 404,
      root: 404,
      POST: 405,
      "XSS in state": 400,
    });
    expect((await b.landing).status).toBe(200);
  });

  it("refuses a callback whose Host is not 127.0.0.1:PORT (DNS rebinding)", async () => {
    let status = 0;
    const b = scriptedBrowser({
      before: async (redirect) => {
        // fetch will not forge Host; a raw request does what a rebinding page's browser would.
        status = await new Promise<number>((resolve, reject) => {
          const s = connect({ host: "127.0.0.1", port: Number(redirect.port) }, () => {
            s.write(
              `GET /callback?state=x HTTP/1.1\r\nHost: evil.example:${redirect.port}\r\nConnection: close\r\n\r\n`,
            );
          });
          let data = "";
          s.on("data", (d) => {
            data += d;
          });
          s.on("end", () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1])));
          s.on("error", reject);
        });
      },
    });
    await signIn({
      issuer: idp.issuer,
      clientId: DESKTOP_CLIENT_ID,
      scopes: SCOPES,
      openBrowser: b.open,
      timeoutMs: 10_000,
    });
    expect(status).toBe(400);
  });

  it("times out with SIGNIN_TIMEOUT when nobody finishes, and closes the listener", async () => {
    let redirect: URL | undefined;
    const started = Date.now();
    const code = await codeOf(
      signIn({
        issuer: idp.issuer,
        clientId: DESKTOP_CLIENT_ID,
        scopes: SCOPES,
        openBrowser: (url) => {
          redirect = new URL(new URL(url).searchParams.get("redirect_uri")!);
        },
        timeoutMs: 400,
      }),
    );
    expect(code).toBe("SIGNIN_TIMEOUT");
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await canConnect("127.0.0.1", Number(redirect!.port))).toBe(false);
  });

  it("is cancelled by its abort signal (SIGNIN_FAILED), before or during the wait", async () => {
    const ac = new AbortController();
    const p = signIn({
      issuer: idp.issuer,
      clientId: DESKTOP_CLIENT_ID,
      scopes: SCOPES,
      openBrowser: () => {
        setTimeout(() => ac.abort(), 50);
      },
      timeoutMs: 10_000,
      signal: ac.signal,
    });
    await expect(p).rejects.toMatchObject({
      code: "SIGNIN_FAILED",
      message: expect.stringMatching(/cancelled/),
    });
    let opened = false;
    await expect(
      signIn({
        issuer: idp.issuer,
        clientId: DESKTOP_CLIENT_ID,
        scopes: SCOPES,
        openBrowser: () => {
          opened = true;
        },
        timeoutMs: 10_000,
        signal: AbortSignal.abort(),
      }),
    ).rejects.toMatchObject({ code: "SIGNIN_FAILED" });
    expect(opened).toBe(false);
  });

  it("fails with SIGNIN_FAILED when the browser cannot be opened", async () => {
    const code = await codeOf(
      signIn({
        issuer: idp.issuer,
        clientId: DESKTOP_CLIENT_ID,
        scopes: SCOPES,
        openBrowser: () => {
          throw new Error("no display");
        },
        timeoutMs: 10_000,
      }),
    );
    expect(code).toBe("SIGNIN_FAILED");
  });
});

describe("sign-in through the IdP's login form", () => {
  let idp: DevIdp;
  beforeAll(async () => {
    idp = await startIdp({ port: 0 });
  });
  afterAll(() => idp.close());

  it("signs bob in after he fills in the form", async () => {
    const b = scriptedBrowser({ email: "bob@example.com" });
    const tokens = await signIn({
      issuer: idp.issuer,
      clientId: DESKTOP_CLIENT_ID,
      scopes: SCOPES,
      openBrowser: b.open,
      timeoutMs: 10_000,
    });
    expect(decodeJwt(tokens.access_token).email).toBe("bob@example.com");
    expect((await b.landing).status).toBe(200);
  });

  it("ends with SIGNIN_FAILED when the person cancels at the IdP (error= with the right state)", async () => {
    const b = scriptedBrowser({ abort: true });
    const p = signIn({
      issuer: idp.issuer,
      clientId: DESKTOP_CLIENT_ID,
      scopes: SCOPES,
      openBrowser: b.open,
      timeoutMs: 10_000,
    });
    await expect(p).rejects.toMatchObject({
      code: "SIGNIN_FAILED",
      message: expect.stringMatching(/access_denied/),
    });
    const page = await b.landing;
    expect(page.status).toBe(400);
    expect(page.url.searchParams.get("error")).toBe("access_denied");
  });
});

describe("what the browser may be sent to", () => {
  let impostor: Server;
  let impostorUrl: string;
  beforeAll(async () => {
    // A server whose discovery document claims to be another issuer and points the browser elsewhere.
    impostor = createServer((req, res) => {
      if (req.url === "/.well-known/openid-configuration") {
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({
            issuer: "https://idp.example.com",
            authorization_endpoint: "https://phish.example.net/auth",
            token_endpoint: "https://phish.example.net/token",
            response_types_supported: ["code"],
          }),
        );
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => impostor.listen(0, "127.0.0.1", r));
    const { port } = impostor.address() as { port: number };
    impostorUrl = `http://127.0.0.1:${port}`;
  });
  afterAll(() => new Promise<void>((r) => impostor.close(() => r())));

  it("never opens the browser for an issuer whose discovery names another issuer", async () => {
    let opened = false;
    const p = signIn({
      issuer: impostorUrl,
      clientId: DESKTOP_CLIENT_ID,
      scopes: SCOPES,
      openBrowser: () => {
        opened = true;
      },
      timeoutMs: 2_000,
    });
    await expect(p).rejects.toBeInstanceOf(GatehouseError);
    expect(opened).toBe(false);
  });

  it("refuses a plain-http issuer that is not on this machine, and an unreachable IdP is IDP_UNAVAILABLE", async () => {
    const open = () => {
      throw new Error("must not open");
    };
    expect(
      await codeOf(
        signIn({
          issuer: "http://idp.example.com",
          clientId: "x",
          scopes: SCOPES,
          openBrowser: open,
          timeoutMs: 1000,
        }),
      ),
    ).toBe("SETTINGS_INVALID");
    // A port nothing listens on: take one and free it.
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const { port } = s.address() as { port: number };
    await new Promise<void>((r) => s.close(() => r()));
    expect(
      await codeOf(
        signIn({
          issuer: `http://127.0.0.1:${port}`,
          clientId: "x",
          scopes: SCOPES,
          openBrowser: open,
          timeoutMs: 1000,
        }),
      ),
    ).toBe("IDP_UNAVAILABLE");
  });
});

describe("defaultBrowserOpener", () => {
  it("runs $GATEHOUSE_BROWSER without a shell, the URL as its last argument, verbatim", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-opener-"));
    const out = join(dir, "args.json");
    const script = join(dir, "record.mjs");
    writeFileSync(
      script,
      `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(out)}, JSON.stringify(process.argv.slice(2)));\n`,
    );
    const url = `https://idp.example.com/auth?a=1&b=$(touch ${join(dir, "pwned")});c='x'|d`;
    await defaultBrowserOpener({ GATEHOUSE_BROWSER: `${process.execPath} ${script} --new-window` })(url);
    for (let i = 0; i < 100; i++) {
      try {
        const args = JSON.parse(readFileSync(out, "utf8"));
        expect(args).toEqual(["--new-window", new URL(url).href]);
        break;
      } catch (e) {
        if (i === 99) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(() => readFileSync(join(dir, "pwned"))).toThrow();
  });

  it("opens only http(s) URLs, and reports an opener that cannot run", async () => {
    await expect(
      defaultBrowserOpener({ GATEHOUSE_BROWSER: "true" })("file:///etc/passwd"),
    ).rejects.toMatchObject({
      code: "BAD_ARGUMENT",
    });
    await expect(
      defaultBrowserOpener({ GATEHOUSE_BROWSER: "/nonexistent/browser" })("https://idp.example.com/auth"),
    ).rejects.toMatchObject({ code: "SIGNIN_FAILED" });
  });
});
