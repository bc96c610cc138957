// Console federation: getSigninToken from temporary credentials, login with a single-use token,
// and a small console page that shows who is signed in.

import { randomBytes, timingSafeEqual } from "node:crypto";
import type { World } from "./model.ts";
import { escapeXml } from "./query.ts";

const TOKEN_TTL_MS = 15 * 60 * 1000;

export interface FederationReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

interface PendingToken {
  account: string;
  roleName: string;
  sessionName: string;
  consoleExpires: number;
  issuedAt: number;
}

interface ConsoleSession {
  account: string;
  accountName: string;
  roleName: string;
  sessionName: string;
  expires: number;
  destination: string;
  issuer?: string;
}

const json = (status: number, body: unknown): FederationReply => ({
  status,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});
const fail = (status: number, code: string, message: string) =>
  json(status, { Error: { Code: code, Message: message } });

export class Federation {
  private tokens = new Map<string, PendingToken>();
  private consoles = new Map<string, ConsoleSession>();

  constructor(private readonly world: World) {}

  handle(query: URLSearchParams, now: number): FederationReply {
    const action = query.get("Action");
    if (action === "getSigninToken") return this.getSigninToken(query, now);
    if (action === "login") return this.login(query, now);
    return fail(400, "InvalidAction", "Action must be getSigninToken or login");
  }

  private getSigninToken(query: URLSearchParams, now: number): FederationReply {
    const raw = query.get("Session");
    if (!raw) return fail(400, "MissingParameter", "The Session parameter is required");
    let creds: { sessionId?: unknown; sessionKey?: unknown; sessionToken?: unknown };
    try {
      creds = JSON.parse(raw);
    } catch {
      return fail(
        400,
        "InvalidParameterValue",
        "Session must be a JSON object with sessionId, sessionKey and sessionToken",
      );
    }
    const { sessionId, sessionKey, sessionToken } = creds ?? {};
    if (typeof sessionId !== "string" || typeof sessionKey !== "string" || typeof sessionToken !== "string") {
      return fail(
        400,
        "InvalidParameterValue",
        "Session must be a JSON object with sessionId, sessionKey and sessionToken",
      );
    }
    const session = this.world.sessions.get(sessionId);
    if (!session || !same(session.secretAccessKey, sessionKey) || !same(session.sessionToken, sessionToken)) {
      return fail(403, "InvalidClientTokenId", "The security token included in the request is invalid");
    }
    if (session.expiration <= now)
      return fail(403, "ExpiredToken", "The security token included in the request is expired");
    let consoleExpires = session.expiration;
    const durationRaw = query.get("SessionDuration");
    if (durationRaw !== null) {
      const duration = /^\d{1,6}$/.test(durationRaw) ? Number(durationRaw) : Number.NaN;
      if (!(duration >= 900 && duration <= 43200)) {
        return fail(400, "InvalidParameterValue", "SessionDuration must be between 900 and 43200 seconds");
      }
      if (session.chained && duration > 3600) {
        return fail(
          400,
          "InvalidParameterValue",
          "SessionDuration cannot exceed 3600 seconds for credentials obtained by role chaining",
        );
      }
      consoleExpires = now + duration * 1000;
    }
    const token = randomBytes(48).toString("base64url");
    this.tokens.set(token, {
      account: session.account,
      roleName: session.roleName,
      sessionName: session.sessionName,
      consoleExpires,
      issuedAt: now,
    });
    this.prune(now);
    return json(200, { SigninToken: token });
  }

  private login(query: URLSearchParams, now: number): FederationReply {
    const token = query.get("SigninToken") ?? "";
    const destination = query.get("Destination") ?? "";
    const pending = this.tokens.get(token);
    // Single use: the token is gone whether or not what follows succeeds.
    this.tokens.delete(token);
    if (!pending || now - pending.issuedAt > TOKEN_TTL_MS) {
      return page(400, "Sign-in failed", "<p>The sign-in token is invalid, used or expired.</p>");
    }
    if (!/^https?:\/\//.test(destination)) {
      return page(400, "Sign-in failed", "<p>Destination must be an http(s) URL.</p>");
    }
    const id = randomBytes(24).toString("base64url");
    const issuer = query.get("Issuer");
    this.consoles.set(id, {
      account: pending.account,
      accountName: this.world.accounts.get(pending.account)?.name ?? pending.account,
      roleName: pending.roleName,
      sessionName: pending.sessionName,
      expires: pending.consoleExpires,
      destination,
      ...(issuer ? { issuer } : {}),
    });
    return { status: 302, headers: { location: `/console/${id}` }, body: "" };
  }

  consolePage(id: string, now: number): FederationReply {
    const c = this.consoles.get(id);
    if (!c) return page(404, "No console session", "<p>This console session does not exist.</p>");
    if (c.expires <= now)
      return page(401, "Session expired", "<p>This console session has expired. Sign in again.</p>");
    const e = escapeXml;
    const body = `<main id="console" data-account="${e(c.account)}" data-role="${e(c.roleName)}" data-session="${e(c.sessionName)}">
<h1>AWS Management Console (emulated)</h1>
<dl>
<dt>Account</dt><dd id="account">${e(c.account)} (${e(c.accountName)})</dd>
<dt>Role</dt><dd id="role">${e(c.roleName)}</dd>
<dt>Session</dt><dd id="session">${e(c.sessionName)}</dd>
<dt>Federated user</dt><dd id="federated-user">${e(c.roleName)}/${e(c.sessionName)} @ ${e(c.account)}</dd>
<dt>Expires</dt><dd id="expires">${new Date(c.expires).toISOString()}</dd>
<dt>Destination</dt><dd id="destination">${e(c.destination)}</dd>
${c.issuer ? `<dt>Issuer</dt><dd id="issuer">${e(c.issuer)}</dd>` : ""}
</dl></main>`;
    return page(200, `${c.roleName} @ ${c.accountName}`, body);
  }

  private prune(now: number): void {
    if (this.tokens.size < 10_000) return;
    for (const [k, v] of this.tokens) if (now - v.issuedAt > TOKEN_TTL_MS) this.tokens.delete(k);
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function page(status: number, title: string, body: string): FederationReply {
  return {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
    },
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>body{font:15px system-ui,sans-serif;margin:2rem;color:#16191f}h1{font-size:1.3rem}dt{font-weight:600;margin-top:.5rem}dd{margin:0}</style>
</head><body>${body}</body></html>`,
  };
}
