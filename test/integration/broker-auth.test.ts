// Attacks on the broker's bearer-token check (SECURITY.md 16-21), each sent over HTTP to a really started
// broker whose IdP is a real discovery + JWKS server: every forgery is a 401 problem, the real token a 200.

import { createHmac, createPublicKey, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import { type StartedBroker, startTestBroker } from "../support/broker.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

const AUDIENCE = "gatehouse-broker";
const ALICE = { sub: "alice", email: "alice@example.com", groups: ["engineers", "data"] };
// The pinned broker: RS256 only, 30 s of skew, the default 30 s JWKS cooldown.
const PINNED = "algorithms: [RS256]\nclock_skew_seconds: 30\njwks_cooldown_seconds: 30";

let emulator: Emulator;
let issuer: TestIssuer;
let broker: StartedBroker;
let attacker: { url: string; hits: string[]; jwks: { keys: JWK[] }; close(): Promise<void> };
let attackerKey: CryptoKey;

const b64u = (v: string | Uint8Array) => Buffer.from(v).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Valid access-token claims for alice from `iss`, with `over` merged in (undefined deletes a claim). */
function claims(over: Record<string, unknown> = {}, iss = issuer.issuer): JWTPayload {
  const c: Record<string, unknown> = { iss, aud: AUDIENCE, ...ALICE, ...over };
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  return c;
}

/** A compact JWS built by hand, so that headers and algorithms no library would emit can be sent. */
function rawJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signature: (signingInput: string) => string = () => "",
): string {
  const t = now();
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify({ iat: t - 5, nbf: t - 5, exp: t + 600, ...payload }))}`;
  return `${input}.${signature(input)}`;
}

const realKid = () => issuer.jwks.keys[0]!.kid!;
const validToken = (target = issuer) => target.sign(claims({}, target.issuer));

async function roles(authorization: string | undefined, target = broker) {
  const res = await fetch(`${target.url}/v1/roles`, {
    headers: authorization === undefined ? {} : { authorization },
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, type: res.headers.get("content-type") ?? "", json, text };
}

/** The attack is a 401 problem with code UNAUTHENTICATED that does not echo the token back. */
async function expectRejected(authorization: string | undefined, target = broker, label = authorization) {
  const r = await roles(authorization, target);
  expect({ label, status: r.status, code: r.json.code }).toEqual({
    label,
    status: 401,
    code: "UNAUTHENTICATED",
  });
  expect(r.type).toContain("application/problem+json");
  const token = authorization?.replace(/^Bearer /, "");
  if (token && token.length > 20) expect(r.text).not.toContain(token);
}

/** The same person with a proper token gets in: the 401s are about the token, not about alice. */
async function expectAccepted(token: string, target = broker) {
  const r = await roles(`Bearer ${token}`, target);
  expect(r.status).toBe(200);
  expect((r.json.roles as { ref: string }[]).map((x) => x.ref)).toEqual([
    "prod/ReadOnly",
    "staging/DataPipeline",
    "staging/Developer",
  ]);
}

async function startAttackerServer(jwks: { keys: JWK[] }) {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? "");
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    jwks,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

beforeAll(async () => {
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer({ ecKey: true });
  broker = await startTestBroker({ issuer: issuer.issuer, awsUrl: emulator.url, oidcExtra: PINNED });
  const pair = await generateKeyPair("RS256", { extractable: true });
  attackerKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), alg: "RS256", use: "sig" };
  attacker = await startAttackerServer({ keys: [{ ...jwk, kid: "attacker" }] });
  // The IdP's own key id is published under the attacker's server too, as a poisoned JWKS would be.
  attacker.jwks.keys.push({ ...jwk, kid: realKid() });
});

afterAll(async () => {
  await broker?.stop();
  await attacker?.close();
  await issuer?.close();
  await emulator?.close();
});

describe("the Authorization header", () => {
  it("missing, empty, another scheme or a bare token is 401", async () => {
    const token = await validToken();
    await expectAccepted(token);
    const [h, p, s] = token.split(".");
    for (const authorization of [
      undefined,
      "",
      "Bearer",
      "Bearer ",
      `Basic ${Buffer.from("alice@example.com:hunter2").toString("base64")}`,
      `Basic ${token}`,
      token,
      `Bearer  ${token}`,
      `Bearer ${token} ${token}`,
      `Bearer ${h}.${p}`,
      `Bearer ${h}.${p}.${s}.${s}`,
      `Bearer ${h}..${s}`,
    ]) {
      await expectRejected(authorization);
    }
  });
});

describe("alg none (SECURITY.md 16)", () => {
  it("none, None and NONE are refused, with and without a signature part", async () => {
    const good = await validToken();
    await expectAccepted(good);
    const realSignature = good.split(".")[2]!;
    for (const alg of ["none", "None", "NONE", "nOnE"]) {
      for (const header of [{ alg }, { alg, typ: "JWT" }, { alg, kid: realKid() }]) {
        for (const signature of ["", "c2lnbmF0dXJl", realSignature]) {
          await expectRejected(`Bearer ${rawJwt(header, claims(), () => signature)}`);
        }
      }
    }
  });
});

describe("HS256 keyed with the IdP's public key (SECURITY.md 17, fast-jwt CVE-2023-48223)", () => {
  it("is refused for the PEM, its whitespace variants, the DER and the JWK's n", async () => {
    await expectAccepted(await validToken());
    const pem = issuer.publicPem;
    const jwk = issuer.jwks.keys[0]!;
    const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    const secrets: (string | Buffer)[] = [
      pem,
      pem.trim(),
      `${pem}\n`,
      pem.replace(/\n/g, "\r\n"),
      pem.replace(/\n/g, ""),
      ` ${pem} `,
      body,
      Buffer.from(body, "base64"),
      createPublicKey(pem).export({ type: "pkcs1", format: "pem" }).toString(),
      jwk.n!,
      Buffer.from(jwk.n!, "base64url"),
      JSON.stringify(jwk),
    ];
    for (const alg of ["HS256", "HS384", "HS512"]) {
      const hash = `sha${alg.slice(2)}`;
      for (const secret of secrets) {
        for (const header of [
          { alg, typ: "JWT" },
          { alg, kid: realKid() },
        ]) {
          const token = rawJwt(header, claims(), (input) =>
            createHmac(hash, secret).update(input).digest("base64url"),
          );
          await expectRejected(`Bearer ${token}`);
        }
      }
    }
  });
});

describe("keys the attacker brings (SECURITY.md 18)", () => {
  it("a token signed with the attacker's key under the IdP's kid is refused", async () => {
    await expectAccepted(await validToken());
    await expectRejected(`Bearer ${await issuer.sign(claims(), { kid: realKid(), key: attackerKey })}`);
    await expectRejected(`Bearer ${await issuer.sign(claims(), { kid: "attacker", key: attackerKey })}`);
  });

  it("jwk, jku and x5u headers are ignored, and the attacker's server is never asked", async () => {
    await expectAccepted(await validToken());
    const publicJwk = attacker.jwks.keys[0]!;
    const headers: Record<string, unknown>[] = [
      { jwk: publicJwk },
      { jwk: publicJwk, kid: "attacker" },
      { jwk: { ...publicJwk, kid: realKid() } },
      { jku: `${attacker.url}/jwks` },
      { jku: `${attacker.url}/jwks`, kid: "attacker" },
      { x5u: `${attacker.url}/cert.pem` },
      { x5u: `${attacker.url}/cert.pem`, kid: "attacker" },
      { jku: `${attacker.url}/jwks`, x5u: `${attacker.url}/cert.pem`, jwk: publicJwk },
    ];
    for (const header of headers) {
      const token = await issuer.sign(claims(), { kid: realKid(), key: attackerKey, header });
      await expectRejected(`Bearer ${token}`);
    }
    await sleep(200);
    expect(attacker.hits).toEqual([]);
  });
});

describe("kid (SECURITY.md 18)", () => {
  it("an unknown, path-like or SQL-ish kid is refused even with the IdP's real signature", async () => {
    await expectAccepted(await validToken());
    for (const kid of [
      randomUUID(),
      "",
      "../../etc/passwd",
      "/dev/null",
      "../../../../../../dev/null",
      "file:///etc/passwd",
      `${issuer.issuer}/jwks`,
      "' OR '1'='1",
      `${realKid()}' OR 1=1 --`,
      "x'; DROP TABLE audit; --",
      `${realKid()}\u0000`,
      ` ${realKid()}`,
      realKid().toUpperCase(),
    ]) {
      // issuer.sign falls back to the IdP's current private key for a kid it does not know.
      await expectRejected(`Bearer ${await issuer.sign(claims(), { kid })}`, broker, `kid ${kid}`);
    }
  });
});

describe("claims (SECURITY.md 19)", () => {
  it("a wrong or missing issuer is refused", async () => {
    await expectAccepted(await validToken());
    for (const iss of [
      "https://evil.example.com",
      `${issuer.issuer}/`,
      issuer.issuer.replace("127.0.0.1", "localhost"),
      undefined,
    ]) {
      await expectRejected(`Bearer ${await issuer.sign(claims({ iss }))}`, broker, `iss ${iss}`);
    }
  });

  it("a missing or wrong audience is refused: an ID token is not an access token, whatever its typ", async () => {
    await expectAccepted(await validToken());
    const idToken = { aud: "gatehouse-desktop", azp: "gatehouse-desktop", nonce: "n-0S6_WzA2Mj" };
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ aud: undefined }, {}],
      [{ aud: "" }, {}],
      [{ aud: [] }, {}],
      [{ aud: "gatehouse-desktop" }, {}],
      [{ aud: ["gatehouse-desktop"] }, {}],
      [{ aud: `${AUDIENCE} ` }, {}],
      [{ aud: AUDIENCE.toUpperCase() }, {}],
      [idToken, { typ: "JWT" }],
      [idToken, { typ: "at+jwt" }],
      [idToken, { typ: undefined }],
    ];
    for (const [over, header] of cases) {
      const token = await issuer.sign(claims(over), { header });
      await expectRejected(`Bearer ${token}`, broker, JSON.stringify({ over, header }));
    }
    // typ is not what separates them (Entra ID and Okta label access tokens "JWT"): aud is.
    await expectAccepted(await issuer.sign(claims(), { header: { typ: "JWT" } }));
  });

  it("exp and nbf outside the configured 30 s skew are refused; inside it they are accepted", async () => {
    for (const [opts, label] of [
      [{ expiresIn: -60 }, "expired a minute ago"],
      [{ expiresIn: -3600 }, "expired an hour ago"],
      [{ notBefore: 120 }, "valid in two minutes"],
      [{ notBefore: 3600 }, "valid in an hour"],
    ] as const) {
      await expectRejected(`Bearer ${await issuer.sign(claims(), opts)}`, broker, label);
    }
    await expectAccepted(await issuer.sign(claims(), { expiresIn: -10 }));
    await expectAccepted(await issuer.sign(claims(), { notBefore: 10 }));
  });

  it("a tampered payload keeps no value from the original signature", async () => {
    const good = await validToken();
    await expectAccepted(good);
    const [h, p, s] = good.split(".");
    const original = JSON.parse(Buffer.from(p!, "base64url").toString());
    for (const change of [
      { groups: ["platform-admins"] },
      { groups: [...ALICE.groups, "platform-admins"] },
      { email: "bob@example.com" },
      { exp: original.exp + 3600 },
      { sub: "bob" },
    ]) {
      const forged = `${h}.${b64u(JSON.stringify({ ...original, ...change }))}.${s}`;
      await expectRejected(`Bearer ${forged}`, broker, JSON.stringify(change));
    }
  });

  it("a token without a groups claim gets no groups, not a 401: only what names its e-mail", async () => {
    const r = await roles(`Bearer ${await issuer.sign(claims({ groups: undefined }))}`);
    expect(r.status).toBe(200);
    expect((r.json.roles as { ref: string }[]).map((x) => x.ref)).toEqual(["staging/Developer"]);
  });

  it("a token without a sub or an e-mail, or with a groups claim that is not a list of strings, is refused", async () => {
    await expectAccepted(await validToken());
    for (const over of [
      { sub: undefined },
      { groups: "engineers" },
      { groups: "engineers data" },
      { groups: [1, 2] },
      { groups: ["engineers", null] },
      { groups: [["engineers"]] },
      { groups: { 0: "engineers", length: 1 } },
      { groups: null },
      { email: undefined },
      { email: "" },
      { email: ["alice@example.com"] },
      { email: "alice" },
      { email: "alice:engineers@example.com" },
      { email: "alice@example.com:engineers" },
      { email: "alice@example.com bob@example.com" },
      { email: "alice@@example.com" },
    ]) {
      await expectRejected(`Bearer ${await issuer.sign(claims(over))}`, broker, JSON.stringify(over));
    }
  });
});

describe("SECURITY 37: iat, lifetime and typ", () => {
  /** Refused with 401 UNAUTHENTICATED, the detail naming the reason's stable code. */
  async function expectRefusedFor(reason: string, token: string, label: string) {
    const r = await roles(`Bearer ${token}`);
    expect({ label, status: r.status, code: r.json.code }).toEqual({
      label,
      status: 401,
      code: "UNAUTHENTICATED",
    });
    expect(String(r.json.detail)).toContain(reason);
  }

  it("an iat beyond the 30 s skew is refused (an hour, two minutes); inside it, accepted", async () => {
    for (const [issuedAt, label] of [
      [3600, "an hour ahead"],
      [120, "two minutes ahead"],
      [10 * 365 * 86_400, "ten years ahead"],
    ] as const) {
      await expectRefusedFor(
        "TOKEN_IAT_IN_FUTURE",
        await issuer.sign(claims(), { issuedAt, expiresIn: issuedAt + 600 }),
        label,
      );
    }
    await expectAccepted(await issuer.sign(claims(), { issuedAt: 10 }));
  });

  it("a lifetime above max_token_lifetime_seconds (default a day) is refused; a day is accepted", async () => {
    for (const [expiresIn, label] of [
      [10 * 365 * 86_400, "exp ten years away"],
      [86_400 + 60, "a day and a minute"],
      [7 * 86_400, "a week"],
    ] as const) {
      await expectRefusedFor("TOKEN_LIFETIME_TOO_LONG", await issuer.sign(claims(), { expiresIn }), label);
    }
    // iat is 5 s ago: exp - iat is exactly a day.
    await expectAccepted(await issuer.sign(claims(), { expiresIn: 86_400 - 5 }));
    // An old iat does not buy a long life either: the lifetime counts from iat.
    await expectRefusedFor(
      "TOKEN_LIFETIME_TOO_LONG",
      await issuer.sign(claims(), { issuedAt: -2 * 86_400, expiresIn: 600 }),
      "issued two days ago, valid ten more minutes",
    );
  });

  it("a typ other than at+jwt or JWT is refused; at+jwt, application/at+jwt, JWT and no typ are accepted", async () => {
    for (const typ of ["dpop+jwt", "logout+jwt", "secevent+jwt", "id_token+jwt", "JOSE", "", "at+jwt ", 1]) {
      await expectRefusedFor(
        "TOKEN_TYPE_REFUSED",
        await issuer.sign(claims(), { header: { typ } }),
        `typ ${JSON.stringify(typ)}`,
      );
    }
    for (const typ of ["at+jwt", "AT+JWT", "application/at+jwt", "JWT", "jwt", undefined])
      await expectAccepted(await issuer.sign(claims(), { header: { typ } }));
  });
});

describe("no shared verification (SECURITY.md 20, fast-jwt GHSA-rp9m-7r4c-75qg)", () => {
  it("a forgery right after, or alongside, the real token is still refused", async () => {
    const good = await validToken();
    const [h, p, s] = good.split(".") as [string, string, string];
    const mid = Math.floor(s.length / 2);
    const flipped = `${s.slice(0, mid)}${s[mid] === "A" ? "B" : "A"}${s.slice(mid + 1)}`;
    const adminPayload = b64u(
      JSON.stringify({ ...JSON.parse(Buffer.from(p, "base64url").toString()), groups: ["platform-admins"] }),
    );
    const forgeries = [
      `${h}.${p}.${flipped}`,
      // Same last 16 characters as the real token: nothing may be keyed on a token's tail.
      `${h}.${p}.${b64u("forged")}${s.slice(-16)}`,
      `${h}.${adminPayload}.${s}`,
      `${h}.${p}.`,
    ];
    for (const forged of forgeries) {
      await expectAccepted(good);
      await expectRejected(`Bearer ${forged}`);
    }
    const all = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        roles(`Bearer ${i % 2 === 0 ? good : forgeries[i % forgeries.length]}`).then((r) => r.status),
      ),
    );
    expect(all).toEqual(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 200 : 401)));
  });
});

describe("JWKS re-fetch (SECURITY.md 18)", () => {
  it("a flood of unknown kids inside the cooldown fetches the JWKS at most once", async () => {
    await expectAccepted(await validToken());
    const before = issuer.jwksFetches();
    const tokens = await Promise.all(
      Array.from({ length: 100 }, () => issuer.sign(claims(), { kid: randomUUID() })),
    );
    const statuses = await Promise.all(tokens.map((t) => roles(`Bearer ${t}`).then((r) => r.status)));
    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(issuer.jwksFetches() - before).toBeLessThanOrEqual(1);
  });

  it("with a 1 s cooldown: unknown kids fetch about once a second, and a rotated key is accepted", async () => {
    const idp = await startTestIssuer();
    const b = await startTestBroker({
      issuer: idp.issuer,
      awsUrl: emulator.url,
      oidcExtra: "jwks_cooldown_seconds: 1",
    });
    try {
      await expectAccepted(await validToken(idp), b);
      const before = idp.jwksFetches();
      const started = Date.now();
      for (let round = 0; round < 10; round++) {
        const tokens = await Promise.all(
          Array.from({ length: 20 }, () => idp.sign(claims({}, idp.issuer), { kid: randomUUID() })),
        );
        const statuses = await Promise.all(tokens.map((t) => roles(`Bearer ${t}`, b).then((r) => r.status)));
        expect(new Set(statuses)).toEqual(new Set([401]));
        await sleep(200);
      }
      const seconds = (Date.now() - started) / 1000;
      expect(idp.jwksFetches() - before).toBeLessThanOrEqual(Math.ceil(seconds) + 1);

      const oldToken = await validToken(idp);
      const newKid = await idp.rotate();
      await sleep(1200);
      const rotated = await validToken(idp);
      expect(JSON.parse(Buffer.from(rotated.split(".")[0]!, "base64url").toString()).kid).toBe(newKid);
      await expectAccepted(rotated, b);
      await expectAccepted(oldToken, b);
    } finally {
      await b.stop();
      await idp.close();
    }
  });
});

describe("IdP outage", () => {
  it("forged tokens sent while the IdP is down are 503 and do not each become a request to it", async () => {
    const idp = await startTestIssuer();
    const b = await startTestBroker({
      issuer: idp.issuer,
      awsUrl: emulator.url,
      oidcExtra: "jwks_cooldown_seconds: 1",
    });
    const asked = () => idp.discoveryFetches() + idp.jwksFetches();
    const flood = async (n: number) => {
      const forged = `Bearer ${rawJwt({ alg: "RS256", kid: randomUUID() }, claims({}, idp.issuer), () => b64u("sig"))}`;
      for (let i = 0; i < n; i++) {
        const r = await roles(forged, b);
        expect({ status: r.status, code: r.json.code }).toEqual({ status: 503, code: "IDP_UNAVAILABLE" });
        expect(r.type).toContain("application/problem+json");
      }
    };
    try {
      // Discovery down before the broker ever saw the IdP.
      idp.outage("discovery");
      let before = asked();
      await flood(30);
      expect(asked() - before).toBe(1);
      idp.outage(null);
      await sleep(1100);
      await expectAccepted(await validToken(idp), b);

      // The JWKS endpoint down later: unknown kids cannot be looked up, known keys still verify.
      await sleep(1100);
      idp.outage("jwks");
      before = asked();
      await flood(30);
      expect(asked() - before).toBe(1);
      await expectAccepted(await validToken(idp), b);
      idp.outage(null);
      await sleep(1100);
      await expectRejected(`Bearer ${await idp.sign(claims({}, idp.issuer), { kid: randomUUID() })}`, b);
    } finally {
      await b.stop();
      await idp.close();
    }
  });
});

describe("algorithm allow-list (SECURITY.md 19)", () => {
  it("with algorithms [RS256], an ES256 token from a key in the JWKS is refused", async () => {
    await expectAccepted(await validToken());
    const es256 = await issuer.sign(claims(), { alg: "ES256" });
    await expectRejected(`Bearer ${es256}`);
    // The same token passes a broker that allows ES256: the pin, not the key, refused it.
    const open = await startTestBroker({ issuer: issuer.issuer, awsUrl: emulator.url });
    try {
      await expectAccepted(es256, open);
    } finally {
      await open.stop();
    }
  });
});

describe("bodies (SECURITY.md 21)", () => {
  async function post(path: string, body: string, contentType: string) {
    const res = await fetch(`${broker.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${await validToken()}`, "content-type": contentType },
      body,
    });
    const json = (await res.json()) as { code?: string };
    return { status: res.status, code: json.code, type: res.headers.get("content-type") ?? "" };
  }

  it("__proto__ and constructor.prototype are 400 on /v1/console too, also nested", async () => {
    for (const body of [
      '{"role":"staging/Developer","__proto__":{"admin":true}}',
      '{"role":"staging/Developer","constructor":{"prototype":{"admin":true}}}',
      '{"role":"staging/Developer","region":{"__proto__":{"admin":true}}}',
    ]) {
      const r = await post("/v1/console", body, "application/json");
      expect({ body, status: r.status, code: r.code }).toEqual({ body, status: 400, code: "BAD_REQUEST" });
      expect(r.type).toContain("application/problem+json");
    }
  });

  it("a body that is not JSON is 415 on the state-changing routes", async () => {
    for (const [path, type] of [
      ["/v1/console", "text/plain"],
      ["/v1/console", "application/xml"],
      ["/v1/credentials", "multipart/form-data; boundary=x"],
      ["/v1/sync", "text/plain"],
    ] as const) {
      const r = await post(path, '{"role":"staging/Developer"}', type);
      expect({ path, type, status: r.status, code: r.code }).toEqual({
        path,
        type,
        status: 415,
        code: "UNSUPPORTED_MEDIA_TYPE",
      });
    }
  });
});
