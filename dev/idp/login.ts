// Signing in to the dev IdP without a person: a cookie-keeping user agent that fills in the login form,
// and a complete desktop-style login (PKCE S256, state, nonce, code grant). Used by `gatehouse-dev token`
// and by tests of the parts behind the IdP.

import * as client from "openid-client";
import { DESKTOP_CLIENT_ID } from "./config.ts";

/** Where the desktop's loopback redirect points in scripted logins; never fetched, only parsed. */
export const SCRIPT_CALLBACK = "http://127.0.0.1:54321/callback";

/** A cookie-keeping user agent that follows redirects itself and stops at the desktop's loopback callback. */
export class Browser {
  readonly cookies = new Map<string, string>();

  async request(url: URL, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const headers = new Headers();
    if (this.cookies.size) headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    if (init.form) headers.set("content-type", "application/x-www-form-urlencoded");
    const res = await fetch(url, {
      method: init.method ?? "GET",
      headers,
      redirect: "manual",
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair = "", ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expires = attrs.map((a) => /^\s*expires=(.*)$/i.exec(a)?.[1]).find(Boolean);
      if (!value || (expires && Date.parse(expires) <= Date.now())) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** Follows redirects; ends on a page (a non-redirect response) or at the callback, which it does not fetch. */
  async navigate(
    url: URL,
    init: { method?: string; form?: Record<string, string> } = {},
  ): Promise<{ callback: URL } | { page: Response; url: URL }> {
    let current = url;
    let next = init;
    for (let hops = 0; hops < 10; hops++) {
      const res = await this.request(current, next);
      const location = res.headers.get("location");
      if (res.status < 300 || res.status >= 400 || !location) return { page: res, url: current };
      await res.body?.cancel();
      current = new URL(location, current);
      if (current.origin === new URL(SCRIPT_CALLBACK).origin) return { callback: current };
      next = {};
    }
    throw new Error(`too many redirects at ${current}`);
  }
}

export function formAction(html: string, base: URL): URL {
  const action = /<form method="post" action="([^"]+\/login)"/.exec(html)?.[1];
  if (!action) throw new Error(`no login form in:\n${html}`);
  return new URL(action.replace(/&amp;/g, "&"), base);
}

/** Sign `email` in through the login form and return the token response (access, ID and refresh tokens). */
export async function signInWithForm(issuer: string, email: string) {
  const config = await client.discovery(new URL(issuer), DESKTOP_CLIENT_ID, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
  });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: SCRIPT_CALLBACK,
    scope: "openid email profile groups offline_access",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  const browser = new Browser();
  let step = await browser.navigate(url);
  if ("page" in step) {
    step = await browser.navigate(formAction(await step.page.text(), step.url), {
      method: "POST",
      form: { login: email },
    });
  }
  if (!("callback" in step)) {
    throw new Error(`sign-in as ${email} failed: the IdP answered ${step.page.status}`);
  }
  return client.authorizationCodeGrant(config, step.callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
  });
}
