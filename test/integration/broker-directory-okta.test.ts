// Groups from Okta's Users API through the real broker: an SSWS API token, Link-header paging, group
// names from profile.name; `when: always` because Okta cuts a token's groups claim at about 100.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nextLink } from "../../broker/groups/okta.ts";
import type { Emulator } from "../../dev/aws/server.ts";
import type { DirectoryData, StandIn } from "../../dev/directories/model.ts";
import { startOktaStandIn } from "../../dev/directories/okta.ts";
import type { StartedBroker } from "../support/broker.ts";
import { get, post, roleRefs, startDirectoryBroker, tokenFor } from "../support/directories.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

const API_TOKEN = "00aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789-_";
const many = (n: number) => Array.from({ length: n }, (_, i) => `team-${i}`);
const DATA: DirectoryData = {
  members: {
    "00u1alice": ["Everyone", "engineers"],
    "00u2paged": [...many(449), "platform-admins"],
    "00u3cut": [...many(150), "data"],
    "00u4tricky": [
      "x:platform-admins",
      "platform-admins:x",
      "Platform-Admins",
      "platform-admins-2",
      "platform",
    ],
  },
};

let emulator: Emulator;
let issuer: TestIssuer;
let okta: StandIn;
let broker: StartedBroker;
let dir: string;

const yaml = (url: string, tokenFile: string) => `when: always
okta_api:
  org_url: ${url}
  api_token: { file: ${tokenFile} }`;

/** An Okta access token: `uid` is the user id, `sub` the login; `groups` as Okta's claim gives it. */
const oktaToken = (uid: string, email: string, groups?: string[]) =>
  tokenFor(issuer, { sub: email, uid, email, ...(groups ? { groups } : {}) });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-okta-"));
  writeFileSync(join(dir, "token"), `${API_TOKEN}\n`, { mode: 0o600 });
  writeFileSync(join(dir, "wrong"), "00wrongwrongwrong\n", { mode: 0o600 });
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  okta = await startOktaStandIn({ apiToken: API_TOKEN, data: DATA });
  broker = await startDirectoryBroker({
    issuer,
    awsUrl: emulator.url,
    source: "okta_api",
    directory: yaml(okta.url, join(dir, "token")),
  });
});

afterAll(async () => {
  await broker?.stop();
  await okta?.close();
  await issuer?.close();
  await emulator?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("groups from the Okta Users API", () => {
  it("group names come from profile.name; credentials follow", async () => {
    const token = await oktaToken("00u1alice", "alice@example.com");
    expect(await roleRefs(broker, token)).toEqual(["prod/ReadOnly", "staging/Developer"]);
    expect((await get(broker, "/v1/me", token)).json.groups).toEqual(["Everyone", "engineers"]);
    expect((await post(broker, "/v1/credentials", token, { role: "prod/ReadOnly" })).status).toBe(200);
  });

  it("follows Link rel=next over every page", async () => {
    const pages = okta.calls.pages;
    const token = await oktaToken("00u2paged", "paged@example.com");
    expect(await roleRefs(broker, token)).toEqual(["prod/Admin"]);
    expect(okta.calls.pages - pages).toBe(3); // 450 groups in pages of 200
    expect((await get(broker, "/v1/me", token)).json.admin).toBe(true);
  });

  it("with when: always, a token's cut-short groups claim is replaced by the whole list", async () => {
    const token = await oktaToken("00u3cut", "cut@example.com", many(100));
    expect(await roleRefs(broker, token)).toEqual(["staging/DataPipeline"]);
  });

  it("group names that only look like a tagged group grant nothing", async () => {
    const token = await oktaToken("00u4tricky", "tricky@example.com");
    expect(await roleRefs(broker, token)).toEqual([]);
    expect((await get(broker, "/v1/me", token)).json.admin).toBe(false);
  });

  it("an unknown user and a user id that could change the path are refused", async () => {
    const r = await get(broker, "/v1/roles", await oktaToken("00u9nobody", "nobody@example.com"));
    expect({ status: r.status, code: r.json.code }).toEqual({ status: 403, code: "DIRECTORY_USER_UNKNOWN" });
    const pages = okta.calls.pages;
    for (const uid of ["..", "00u1alice/../00u2paged", "00u1alice?limit=1"]) {
      const h = await get(broker, "/v1/roles", await oktaToken(uid, "alice@example.com"));
      expect({ uid, code: h.json.code }).toEqual({ uid, code: "UNAUTHENTICATED" });
    }
    expect(okta.calls.pages).toBe(pages);
  });

  it("down: no cached answer is 503, never the token's groups instead", async () => {
    okta.outage(true);
    try {
      const r = await get(broker, "/v1/roles", await oktaToken("00u7new", "new@example.com", ["engineers"]));
      expect({ status: r.status, code: r.json.code }).toEqual({ status: 503, code: "IDP_UNAVAILABLE" });
      expect(r.json.detail).toContain("Okta");
    } finally {
      okta.outage(false);
    }
  });
});

describe("the API token", () => {
  it("a wrong token is DIRECTORY_CREDENTIALS_REJECTED; one without group read is DIRECTORY_FORBIDDEN", async () => {
    const noRead = await startOktaStandIn({ apiToken: API_TOKEN, data: DATA, canReadGroups: false });
    const b1 = await startDirectoryBroker({
      issuer,
      awsUrl: emulator.url,
      source: "okta_api",
      directory: yaml(okta.url, join(dir, "wrong")),
    });
    const b2 = await startDirectoryBroker({
      issuer,
      awsUrl: emulator.url,
      source: "okta_api",
      directory: yaml(noRead.url, join(dir, "token")),
    });
    try {
      const t = await oktaToken("00u1alice", "alice@example.com");
      const r1 = await get(b1, "/v1/roles", t);
      expect({ status: r1.status, code: r1.json.code }).toEqual({
        status: 502,
        code: "DIRECTORY_CREDENTIALS_REJECTED",
      });
      expect(r1.json.detail).toContain("E0000011");
      const r2 = await get(b2, "/v1/roles", t);
      expect({ status: r2.status, code: r2.json.code }).toEqual({ status: 502, code: "DIRECTORY_FORBIDDEN" });
      expect(JSON.stringify([r1.json, r2.json, b1.logs, b2.logs])).not.toContain(API_TOKEN);
    } finally {
      await b1.stop();
      await b2.stop();
      await noRead.close();
    }
  });
});

describe("Link header parsing", () => {
  it("finds rel=next among others, quoted or not, and nothing else", () => {
    expect(nextLink('<https://o/a?limit=2>; rel="self", <https://o/a?after=x&limit=2>; rel="next"')).toBe(
      "https://o/a?after=x&limit=2",
    );
    expect(nextLink("<https://o/b>; rel=next")).toBe("https://o/b");
    expect(nextLink('<https://o/a>; rel="self"')).toBeUndefined();
    expect(nextLink('<https://o/a>; rel="nextpage"')).toBeUndefined();
    expect(nextLink(null)).toBeUndefined();
  });
});
