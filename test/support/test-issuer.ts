// A token issuer under the test's control (real HTTP discovery + JWKS), to forge the tokens an attacker
// would send: expired, wrong audience, alg none, HS256 with the public key, unknown kid, and so on.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

export interface TestIssuer {
  issuer: string;
  jwks: { keys: JWK[] };
  publicPem: string;
  sign(
    claims: JWTPayload,
    opts?: {
      kid?: string;
      alg?: string;
      expiresIn?: number;
      notBefore?: number;
      /** `iat` in seconds from now (default -5); null leaves the claim out. */
      issuedAt?: number | null;
      key?: CryptoKey;
      /** Extra protected-header parameters (typ, jku, x5u, jwk, ...); they override the defaults. */
      header?: Record<string, unknown>;
    },
  ): Promise<string>;
  rotate(): Promise<string>;
  jwksFetches(): number;
  discoveryFetches(): number;
  /** Make discovery or the JWKS answer 503 (an IdP outage); null ends it. */
  outage(which: "discovery" | "jwks" | null): void;
  close(): Promise<void>;
}

/**
 * `ecKey` also publishes an ES256 key (after the RSA one, so RS256 stays the default); `path` puts the issuer
 * under a path, as real IdPs do (`/realms/acme`, `/oauth2/default`, `/<tenant>/v2.0`).
 */
export async function startTestIssuer(o: { ecKey?: boolean; path?: string } = {}): Promise<TestIssuer> {
  const path = o.path ?? "";
  let keys: { kid: string; privateKey: CryptoKey; jwk: JWK }[] = [];
  let fetches = 0;
  let discoveries = 0;
  let down: "discovery" | "jwks" | null = null;
  const addKey = async (alg = "RS256") => {
    const kid = `k${keys.length + 1}-${Date.now()}`;
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
    const entry = { kid, privateKey, jwk };
    keys = alg === "RS256" ? [entry, ...keys] : [...keys, entry];
    return kid;
  };
  await addKey();
  if (o.ecKey) await addKey("ES256");
  let issuer = "";
  const server: Server = createServer((req, res) => {
    if (req.url === `${path}/.well-known/openid-configuration`) {
      discoveries++;
      if (down === "discovery") return void res.writeHead(503).end();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    } else if (req.url === `${path}/jwks`) {
      fetches++;
      if (down === "jwks") return void res.writeHead(503).end();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  const { createPublicKey } = await import("node:crypto");
  const publicPem = createPublicKey({ key: keys[0]!.jwk as import("node:crypto").JsonWebKey, format: "jwk" })
    .export({ type: "spki", format: "pem" })
    .toString();
  return {
    issuer,
    get jwks() {
      return { keys: keys.map((k) => k.jwk) };
    },
    publicPem,
    async sign(claims, opts = {}) {
      const alg = opts.alg ?? "RS256";
      const key =
        (opts.kid ? keys.find((k) => k.kid === opts.kid) : keys.find((k) => k.jwk.alg === alg)) ?? keys[0]!;
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT(claims).setProtectedHeader({
        alg,
        kid: opts.kid ?? key.kid,
        typ: "at+jwt",
        ...opts.header,
      });
      if (opts.issuedAt !== null) jwt.setIssuedAt(now + (opts.issuedAt ?? -5));
      return jwt
        .setExpirationTime(now + (opts.expiresIn ?? 600))
        .setNotBefore(now + (opts.notBefore ?? -5))
        .sign(opts.key ?? key.privateKey);
    },
    rotate: () => addKey(),
    jwksFetches: () => fetches,
    discoveryFetches: () => discoveries,
    outage: (which) => {
      down = which;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** A broker token (audience gatehouse-broker, subject the key) for each of `people`, with their email and groups. */
export async function signTokens<W extends string>(
  issuer: TestIssuer,
  people: Record<W, { email: string; groups: string[] }>,
): Promise<Record<W, string>> {
  const tokens = {} as Record<W, string>;
  for (const [who, p] of Object.entries(people) as [W, { email: string; groups: string[] }][])
    tokens[who] = await issuer.sign({ sub: who, aud: "gatehouse-broker", iss: issuer.issuer, ...p });
  return tokens;
}
