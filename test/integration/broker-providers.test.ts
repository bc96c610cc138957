// Each IdP's real token shapes, signed by an issuer under the test's control and sent to a really started broker
// per provider preset: the right token gives credentials the emulator accepts; the attacks (ID token of another
// client, the other kind of token, token_use, email_verified, hd, a claim of the wrong type) are 401s.

import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import type { JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import { type StartedBroker, startTestBroker } from "../support/broker.ts";
import { startDemoEmulator, sts } from "../support/emulator.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

const CLIENT = "gatehouse-desktop";
const ALICE_ROLES = ["prod/ReadOnly", "staging/DataPipeline", "staging/Developer"];
/** staging/Developer names alice by e-mail: what she keeps with no groups at all. */
const EMAIL_ONLY = ["staging/Developer"];

interface Shape {
  provider: string;
  /** Where the issuer lives: its provider's traps check the path. */
  path?: string;
  audience: string | null;
  oidc: string;
  /** The token the desktop sends, as this provider shapes it. */
  token(iss: string): { claims: JWTPayload; header?: Record<string, unknown> };
  /** The other kind of token this provider issues to the same person, which must be refused. */
  other(iss: string): { claims: JWTPayload; header?: Record<string, unknown> };
}

const person = { sub: "00u1alice", email: "alice@example.com" };
const groups = ["engineers", "data"];

const SHAPES: Shape[] = [
  {
    provider: "generic",
    audience: "gatehouse-broker",
    oidc: `client_id: ${CLIENT}`,
    token: (iss) => ({ claims: { iss, aud: "gatehouse-broker", client_id: CLIENT, ...person, groups } }),
    other: (iss) => ({
      claims: { iss, aud: CLIENT, ...person, groups, at_hash: "x", nonce: "n" },
      header: { typ: "JWT" },
    }),
  },
  {
    provider: "okta",
    path: "/oauth2/default",
    audience: "api://gatehouse",
    oidc: `provider: okta\nclient_id: ${CLIENT}`,
    token: (iss) => ({
      claims: { iss, aud: "api://gatehouse", cid: CLIENT, scp: ["openid", "groups"], ...person, groups },
      header: { typ: undefined },
    }),
    other: (iss) => ({
      claims: { iss, aud: CLIENT, ...person, groups, at_hash: "x" },
      header: { typ: undefined },
    }),
  },
  {
    provider: "entra",
    path: "/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
    audience: "api://gatehouse",
    oidc: `provider: entra\nclient_id: ${CLIENT}`,
    token: (iss) => ({
      claims: { iss, aud: "api://gatehouse", azp: CLIENT, scp: "access", ver: "2.0", ...person, groups },
      header: { typ: "JWT" },
    }),
    other: (iss) => ({
      claims: { iss, aud: CLIENT, ver: "2.0", ...person, groups, nonce: "n" },
      header: { typ: "JWT" },
    }),
  },
  {
    provider: "google",
    audience: null,
    oidc: `provider: google\nclient_id: ${CLIENT}\nclient_secret: GOCSPX-not-a-secret`,
    token: (iss) => ({
      claims: {
        iss,
        aud: CLIENT,
        azp: CLIENT,
        ...person,
        email_verified: true,
        hd: "example.com",
        at_hash: "h",
      },
      header: { typ: "JWT" },
    }),
    // Google's access tokens are opaque; a JWT access token for some API is what an attacker could hold.
    other: (iss) => ({ claims: { iss, aud: CLIENT, azp: CLIENT, ...person, scope: "openid email" } }),
  },
  {
    provider: "auth0",
    audience: "https://gatehouse.example.com",
    oidc: `provider: auth0\nclient_id: ${CLIENT}`,
    token: (iss) => ({
      claims: {
        iss,
        sub: "auth0|alice",
        aud: ["https://gatehouse.example.com", `${iss}userinfo`],
        azp: CLIENT,
        scope: "openid email offline_access",
        "https://gatehouse.example.com/email": "alice@example.com",
        "https://gatehouse.example.com/groups": groups,
      },
    }),
    other: (iss) => ({
      claims: {
        iss,
        sub: "auth0|alice",
        aud: CLIENT,
        "https://gatehouse.example.com/email": "alice@example.com",
        "https://gatehouse.example.com/groups": groups,
        nonce: "n",
      },
      header: { typ: "JWT" },
    }),
  },
  {
    provider: "keycloak",
    path: "/realms/acme",
    audience: "gatehouse-broker",
    oidc: `provider: keycloak\nclient_id: ${CLIENT}`,
    token: (iss) => ({
      // Keycloak's access tokens carry the nonce too; its typ claim says what they are.
      claims: {
        iss,
        aud: ["gatehouse-broker", "account"],
        azp: CLIENT,
        typ: "Bearer",
        nonce: "n",
        ...person,
        groups,
      },
      header: { typ: "JWT" },
    }),
    other: (iss) => ({
      claims: { iss, aud: CLIENT, azp: CLIENT, typ: "ID", ...person, groups },
      header: { typ: "JWT" },
    }),
  },
  {
    provider: "jumpcloud",
    audience: null,
    oidc: `provider: jumpcloud\nclient_id: ${CLIENT}`,
    token: (iss) => ({
      claims: { iss, aud: [CLIENT], ...person, groups, at_hash: "h" },
      header: { typ: "JWT" },
    }),
    other: (iss) => ({
      claims: { iss, aud: [CLIENT], ...person, groups, scope: "openid" },
      header: { typ: "JWT" },
    }),
  },
  {
    provider: "cognito",
    path: "/eu-west-1_AbC123",
    audience: null,
    oidc: `provider: cognito\nclient_id: ${CLIENT}`,
    token: (iss) => ({
      claims: {
        iss,
        aud: CLIENT,
        token_use: "id",
        ...person,
        email_verified: true,
        "cognito:groups": groups,
      },
      header: { typ: undefined },
    }),
    other: (iss) => ({
      claims: { iss, client_id: CLIENT, token_use: "access", ...person, "cognito:groups": groups },
      header: { typ: undefined },
    }),
  },
  {
    provider: "cognito (access tokens)",
    path: "/eu-west-1_AbC123",
    audience: null,
    oidc: `provider: cognito\nclient_id: ${CLIENT}\ntoken: access_token\nemail_claim: username`,
    token: (iss) => ({
      claims: {
        iss,
        client_id: CLIENT,
        token_use: "access",
        sub: "a1",
        username: "alice@example.com",
        "cognito:groups": groups,
      },
      header: { typ: undefined },
    }),
    other: (iss) => ({
      claims: {
        iss,
        aud: CLIENT,
        token_use: "id",
        sub: "a1",
        username: "alice@example.com",
        "cognito:groups": groups,
      },
      header: { typ: undefined },
    }),
  },
];

let emulator: Emulator;
const issuers = new Map<string, TestIssuer>();
const brokers = new Map<string, StartedBroker>();

async function call(broker: StartedBroker, token: string, path = "/v1/roles", body?: unknown) {
  const res = await fetch(`${broker.url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
const refs = (r: { json: Record<string, unknown> }) =>
  (r.json.roles as { ref: string }[] | undefined)?.map((x) => x.ref);

function sign(
  shape: Shape,
  made: { claims: JWTPayload; header?: Record<string, unknown> },
  over: JWTPayload = {},
) {
  const issuer = issuers.get(shape.path ?? "")!;
  const claims: Record<string, unknown> = { ...made.claims, ...over };
  for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
  return issuer.sign(claims, made.header ? { header: made.header } : {});
}

beforeAll(async () => {
  emulator = await startDemoEmulator();
  for (const path of new Set(SHAPES.map((s) => s.path ?? "")))
    issuers.set(path, await startTestIssuer({ path }));
  for (const shape of SHAPES) {
    const issuer = issuers.get(shape.path ?? "")!;
    brokers.set(
      shape.provider,
      await startTestBroker({
        issuer: issuer.issuer,
        awsUrl: emulator.url,
        audience: shape.audience,
        oidcExtra: shape.oidc,
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  for (const b of brokers.values()) await b.stop();
  for (const i of issuers.values()) await i.close();
  await emulator?.close();
});

describe.each(SHAPES)("$provider", (shape) => {
  const broker = () => brokers.get(shape.provider)!;
  const iss = () => issuers.get(shape.path ?? "")!.issuer;

  it("its token gives alice her roles and credentials the emulator accepts", async () => {
    const token = await sign(shape, shape.token(iss()));
    const hasGroups = shape.provider !== "google";
    expect(refs(await call(broker(), token))).toEqual(hasGroups ? ALICE_ROLES : EMAIL_ONLY);
    const r = await call(broker(), token, "/v1/credentials", { role: "staging/Developer" });
    expect(r.status).toBe(200);
    const c = r.json as { accessKeyId: string; secretAccessKey: string; sessionToken: string };
    const me = await sts(emulator, {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
    }).send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe("arn:aws:sts::333333333333:assumed-role/Developer/alice@example.com");
  });

  it("the other kind of token of the same person is refused", async () => {
    const r = await call(broker(), await sign(shape, shape.other(iss())));
    expect(r).toMatchObject({ status: 401, json: { code: "UNAUTHENTICATED" } });
  });

  it("a token for another client or audience is refused", async () => {
    const made = shape.token(iss());
    const over: JWTPayload =
      "aud" in made.claims && made.claims.aud !== undefined
        ? { aud: "someone-else", azp: undefined }
        : { client_id: "someone-else" };
    expect(await call(broker(), await sign(shape, made, over))).toMatchObject({ status: 401 });
    if (made.claims.azp !== undefined) {
      // Right audience, issued to another client (OIDC azp).
      expect(await call(broker(), await sign(shape, made, { azp: "someone-else" }))).toMatchObject({
        status: shape.audience !== null ? 200 : 401,
      });
    }
  });

  it("email_verified false and a groups claim of the wrong type are refused; no groups claim is e-mail tags only", async () => {
    const made = shape.token(iss());
    expect(await call(broker(), await sign(shape, made, { email_verified: false }))).toMatchObject({
      status: 401,
    });
    expect(await call(broker(), await sign(shape, made, { email_verified: "false" }))).toMatchObject({
      status: 401,
    });
    const groupsKey = Object.keys(made.claims).find((k) => k.endsWith("groups"));
    if (groupsKey) {
      expect(await call(broker(), await sign(shape, made, { [groupsKey]: "engineers" }))).toMatchObject({
        status: 401,
      });
      expect(await call(broker(), await sign(shape, made, { [groupsKey]: [1] }))).toMatchObject({
        status: 401,
      });
      expect(refs(await call(broker(), await sign(shape, made, { [groupsKey]: undefined })))).toEqual(
        EMAIL_ONLY,
      );
    }
  });
});

describe("attacks specific to one provider", () => {
  it("cognito: a token whose token_use is missing or says the other kind is refused", async () => {
    const shape = SHAPES.find((s) => s.provider === "cognito")!;
    const made = shape.token(issuers.get(shape.path!)!.issuer);
    const b = brokers.get("cognito")!;
    expect(await call(b, await sign(shape, made, { token_use: undefined }))).toMatchObject({ status: 401 });
    expect(await call(b, await sign(shape, made, { token_use: "access" }))).toMatchObject({ status: 401 });
    expect(await call(b, await sign(shape, made, { token_use: "refresh" }))).toMatchObject({ status: 401 });
  });

  it("cognito access tokens: an aud, another client_id or token_use id is refused", async () => {
    const shape = SHAPES.find((s) => s.provider === "cognito (access tokens)")!;
    const made = shape.token(issuers.get(shape.path!)!.issuer);
    const b = brokers.get(shape.provider)!;
    expect(await call(b, await sign(shape, made, { aud: CLIENT }))).toMatchObject({ status: 401 });
    expect(await call(b, await sign(shape, made, { client_id: "other" }))).toMatchObject({ status: 401 });
    expect(await call(b, await sign(shape, made, { token_use: "id" }))).toMatchObject({ status: 401 });
  });

  it("ID tokens: several audiences need azp naming this client", async () => {
    const shape = SHAPES.find((s) => s.provider === "jumpcloud")!;
    const made = shape.token(issuers.get("")!.issuer);
    const b = brokers.get("jumpcloud")!;
    expect(await call(b, await sign(shape, made, { aud: [CLIENT, "other"] }))).toMatchObject({ status: 401 });
    expect((await call(b, await sign(shape, made, { aud: [CLIENT, "other"], azp: CLIENT }))).status).toBe(
      200,
    );
    expect(await call(b, await sign(shape, made, { azp: "other" }))).toMatchObject({ status: 401 });
  });

  it("an access token with typ at+jwt is refused where ID tokens are taken, whatever its aud", async () => {
    const shape = SHAPES.find((s) => s.provider === "jumpcloud")!;
    const made = shape.token(issuers.get("")!.issuer);
    const token = await sign(shape, {
      claims: { ...made.claims, at_hash: undefined },
      header: { typ: "at+jwt" },
    });
    expect(await call(brokers.get("jumpcloud")!, token)).toMatchObject({ status: 401 });
  });

  it("google: hd outside oidc.allowed_domains, or a personal account without hd, is refused", async () => {
    const issuer = issuers.get("")!;
    const b = await startTestBroker({
      issuer: issuer.issuer,
      awsUrl: emulator.url,
      audience: null,
      oidcExtra: `provider: google\nclient_id: ${CLIENT}\nclient_secret: s\nallowed_domains: [Example.com]`,
    });
    try {
      const shape = SHAPES.find((s) => s.provider === "google")!;
      const made = shape.token(issuer.issuer);
      expect((await call(b, await sign(shape, made))).status).toBe(200);
      expect(await call(b, await sign(shape, made, { hd: "evil.example" }))).toMatchObject({ status: 401 });
      expect(await call(b, await sign(shape, made, { hd: ["example.com"] }))).toMatchObject({ status: 401 });
      const gmail = await sign(shape, made, { hd: undefined, email: "alice@gmail.com" });
      expect(await call(b, gmail)).toMatchObject({ status: 401 });
    } finally {
      await b.stop();
    }
  });

  it("entra: an overage token (no groups, _claim_names.groups or hasgroups) still signs in with e-mail tags", async () => {
    const shape = SHAPES.find((s) => s.provider === "entra")!;
    const made = shape.token(issuers.get(shape.path!)!.issuer);
    const b = brokers.get("entra")!;
    const overage = await sign(shape, made, {
      groups: undefined,
      _claim_names: { groups: "src1" },
      _claim_sources: { src1: { endpoint: "https://graph.microsoft.com/v1.0/users/x/getMemberObjects" } },
    });
    expect(refs(await call(b, overage))).toEqual(EMAIL_ONLY);
    expect(refs(await call(b, await sign(shape, made, { groups: undefined, hasgroups: true })))).toEqual(
      EMAIL_ONLY,
    );
  });
});
