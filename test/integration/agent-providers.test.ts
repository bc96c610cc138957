// The whole chain per IdP's token shape: the dev IdP issuing that provider's tokens, a broker with the provider's
// preset, and a desktop that knows only the broker's URL: `gatehouse login --broker URL` learns the IdP from
// /v1/client-config, signs in in the "browser" (opened by the CLI's own GATEHOUSE_BROWSER), sends the token the
// broker takes, and the credentials it gets act as alice in the emulator.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import { type DevIdp, startIdp } from "../../dev/idp/provider.ts";
import { AUTH0_NAMESPACE, GOOGLE_CLIENT_SECRET, type ShapeName } from "../../dev/idp/shapes/index.ts";
import { type StartedBroker, startTestBroker } from "../support/broker.ts";
import { cleanUp, gatehouse, makeHome } from "../support/e2e.ts";
import { startDemoEmulator, sts } from "../support/emulator.ts";

const ALICE_ROLES = ["prod/ReadOnly", "staging/DataPipeline", "staging/Developer"];
/** staging/Developer is tagged with alice's e-mail: what she keeps when no groups come with her token. */
const EMAIL_ONLY = ["staging/Developer"];
const CLIENT = "gatehouse-desktop";

interface Case {
  name: string;
  shape: ShapeName;
  /** The access tokens' audience at the IdP and at the broker; null: the broker takes ID tokens. */
  audience: string | null;
  oidc: string;
  roles: string[];
  token: "access_token" | "id_token";
}

const CASES: Case[] = [
  {
    name: "generic",
    shape: "generic",
    audience: "gatehouse-broker",
    oidc: "",
    roles: ALICE_ROLES,
    token: "access_token",
  },
  {
    name: "auth0 (namespaced claims, audience parameter)",
    shape: "auth0",
    audience: AUTH0_NAMESPACE,
    oidc: "provider: auth0",
    roles: ALICE_ROLES,
    token: "access_token",
  },
  {
    name: "google (opaque access token, ID token with hd, client secret)",
    shape: "google",
    audience: null,
    oidc: `provider: google\nclient_secret: ${GOOGLE_CLIENT_SECRET}\nallowed_domains: [example.com]`,
    roles: EMAIL_ONLY,
    token: "id_token",
  },
  {
    name: "jumpcloud (opaque access token, groups in the ID token)",
    shape: "jumpcloud",
    audience: null,
    oidc: "provider: jumpcloud",
    roles: ALICE_ROLES,
    token: "id_token",
  },
  {
    // The cognito preset wants a user pool issuer URL; the same token shape through generic's keys.
    name: "cognito shape (cognito:groups, token_use)",
    shape: "cognito",
    audience: null,
    oidc: 'token: id_token\ngroups_claim: ["cognito:groups"]\nscopes: [openid, email, profile]',
    roles: ALICE_ROLES,
    token: "id_token",
  },
  {
    name: "entra overage (no groups, _claim_names)",
    shape: "entra-overage",
    audience: "api://gatehouse",
    oidc: "",
    roles: EMAIL_ONLY,
    token: "access_token",
  },
  {
    name: "no groups mapping",
    shape: "no-groups",
    audience: "gatehouse-broker",
    oidc: "",
    roles: EMAIL_ONLY,
    token: "access_token",
  },
];

let emulator: Emulator;
const started: { idp: DevIdp; broker: StartedBroker }[] = [];

beforeAll(async () => {
  emulator = await startDemoEmulator();
});

afterAll(async () => {
  await cleanUp();
  for (const s of started) {
    await s.broker.stop();
    await s.idp.close();
  }
  await emulator?.close();
});

async function stack(c: { shape: ShapeName; audience: string | null; oidc: string }) {
  const idp = await startIdp({
    port: 0,
    autoLogin: "alice@example.com",
    shape: c.shape,
    ...(c.audience ? { audience: c.audience } : {}),
  });
  const broker = await startTestBroker({
    issuer: idp.issuer,
    awsUrl: emulator.url,
    audience: c.audience,
    oidcExtra: `client_id: ${CLIENT}\n${c.oidc}`,
  });
  started.push({ idp, broker });
  return { idp, broker };
}

/** A desktop that has never been configured: nothing in settings.json about the IdP. */
function freshHome(s: { idp: DevIdp; broker: StartedBroker }) {
  return makeHome(s, { issuer: undefined, tokenStore: "file" }, { autostart: true });
}

describe.each(CASES)("$name", (c) => {
  it("login --broker URL alone signs in, and the credentials act as alice", { timeout: 90_000 }, async () => {
    const s = await stack(c);
    const home = freshHome(s);
    const login = await gatehouse(home, "login", "--broker", s.broker.url);
    expect({ code: login.code, stderr: login.stderr }).toMatchObject({ code: 0 });
    // Who the broker says she is (namespaced e-mail claims included), not what the token's plain claims say.
    expect(login.stdout).toContain("Signed in as alice@example.com");

    // What the agent learnt from the broker, remembered for this broker URL.
    const cached = JSON.parse(readFileSync(join(home.home, "client-config.json"), "utf8"));
    expect(cached).toMatchObject({
      brokerUrl: s.broker.url,
      config: { issuer: s.idp.issuer, clientId: CLIENT, token: c.token },
    });

    const roles = await gatehouse(home, "roles", "--json");
    expect(roles.code).toBe(0);
    expect((JSON.parse(roles.stdout) as { ref: string }[]).map((r) => r.ref).sort()).toEqual(c.roles);

    const out = await gatehouse(home, "export", "staging/Developer", "--format", "json");
    expect(out.code).toBe(0);
    const creds = JSON.parse(out.stdout) as Record<string, string>;
    const me = await sts(emulator, {
      accessKeyId: creds.AccessKeyId ?? creds.AWS_ACCESS_KEY_ID!,
      secretAccessKey: creds.SecretAccessKey ?? creds.AWS_SECRET_ACCESS_KEY!,
      sessionToken: creds.SessionToken ?? creds.AWS_SESSION_TOKEN!,
    }).send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe("arn:aws:sts::333333333333:assumed-role/Developer/alice@example.com");
  });
});

describe("refused at the broker", () => {
  it("an IdP that says the e-mail is not verified: the login says the broker refuses it", {
    timeout: 90_000,
  }, async () => {
    const s = await stack({ shape: "unverified", audience: "gatehouse-broker", oidc: "" });
    const home = freshHome(s);
    const login = await gatehouse(home, "login", "--broker", s.broker.url);
    expect(login.code).toBe(1);
    expect(login.stderr).toContain("the broker refuses it");
    expect(login.stderr).toContain("not verified");
    expect(login.stderr).toContain("[SIGNIN_FAILED]");
    const roles = await gatehouse(home, "roles");
    expect(roles.code).not.toBe(0);
  });
});
