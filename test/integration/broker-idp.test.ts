// The whole sign-in path really started: the dev IdP (its login form filled in), the broker checking
// the IdP's JWT access tokens, and the emulator behind it.

import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import * as client from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import { DESKTOP_CLIENT_ID } from "../../dev/idp/config.ts";
import { signInWithForm } from "../../dev/idp/login.ts";
import { type DevIdp, startIdp } from "../../dev/idp/provider.ts";
import { type StartedBroker, startTestBroker } from "../support/broker.ts";
import { startDemoEmulator, sts } from "../support/emulator.ts";

let emulator: Emulator;
let idp: DevIdp;
let broker: StartedBroker;
const access: Record<string, string> = {};

async function get(token: string, path: string) {
  const res = await fetch(`${broker.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
async function post(token: string, path: string, body: unknown) {
  const res = await fetch(`${broker.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
const refs = (r: { json: Record<string, unknown> }) =>
  (r.json.roles as { ref: string; cliOnly: boolean }[]).map((x) => (x.cliOnly ? `${x.ref} (cli)` : x.ref));

beforeAll(async () => {
  emulator = await startDemoEmulator();
  idp = await startIdp({ port: 0 });
  broker = await startTestBroker({ issuer: idp.issuer, awsUrl: emulator.url });
  for (const who of ["alice", "bob", "carol", "dave"]) {
    access[who] = (await signInWithForm(idp.issuer, `${who}@example.com`)).access_token;
  }
});

afterAll(async () => {
  await broker?.stop();
  await idp?.close();
  await emulator?.close();
});

describe("people signed in at the IdP", () => {
  it("see exactly the roles their groups and e-mail are tagged on", async () => {
    expect(refs(await get(access.alice!, "/v1/roles"))).toEqual([
      "prod/ReadOnly",
      "staging/DataPipeline (cli)",
      "staging/Developer",
    ]);
    expect(refs(await get(access.bob!, "/v1/roles"))).toEqual(["prod/Admin"]);
    expect(refs(await get(access.carol!, "/v1/roles"))).toEqual([]);
    expect(refs(await get(access.dave!, "/v1/roles"))).toEqual(["prod/ReadOnly", "staging/Developer"]);
  });

  it("/v1/me carries the IdP's e-mail and groups", async () => {
    expect((await get(access.alice!, "/v1/me")).json).toEqual({
      email: "alice@example.com",
      groups: ["engineers", "data"],
      admin: false,
      approver: false,
      lint: expect.any(Object),
      requests: expect.any(Object),
    });
    expect((await get(access.bob!, "/v1/me")).json).toMatchObject({ admin: true });
  });

  it("get credentials that act as the role with their session name and source identity", async () => {
    const r = await post(access.alice!, "/v1/credentials", { role: "staging/Developer" });
    expect(r.status).toBe(200);
    const c = r.json as { accessKeyId: string; secretAccessKey: string; sessionToken: string };
    const me = await sts(emulator, {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
    }).send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe("arn:aws:sts::333333333333:assumed-role/Developer/alice@example.com");
    expect(emulator.world.sessions.get(c.accessKeyId)?.sourceIdentity).toBe("alice@example.com");
  });

  it("open the emulator's console page for a console role, and are refused one for a cli-only role", async () => {
    const r = await post(access.alice!, "/v1/console", { role: "prod/ReadOnly" });
    expect(r.status).toBe(200);
    const login = await fetch(r.json.url as string, { redirect: "manual" });
    const html = await (await fetch(new URL(login.headers.get("location")!, emulator.url))).text();
    expect(html).toContain('data-role="ReadOnly"');
    expect(html).toContain('data-session="alice@example.com"');
    const cli = await post(access.alice!, "/v1/console", { role: "staging/DataPipeline" });
    expect(cli).toMatchObject({ status: 403, json: { code: "CONSOLE_NOT_ALLOWED" } });
  });

  it("an ID token is not an access token, and a refreshed access token works", async () => {
    const tokens = await signInWithForm(idp.issuer, "dave@example.com");
    const idToken = await get(tokens.id_token!, "/v1/roles");
    expect(idToken).toMatchObject({ status: 401, json: { code: "UNAUTHENTICATED" } });
    const config = await client.discovery(new URL(idp.issuer), DESKTOP_CLIENT_ID, undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    });
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refs(await get(refreshed.access_token, "/v1/roles"))).toEqual([
      "prod/ReadOnly",
      "staging/Developer",
    ]);
  });
});
