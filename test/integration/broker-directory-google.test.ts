// Groups from Google Workspace through the real broker: Google ID tokens carry no groups, so the broker
// signs a JWT-bearer grant with the service account's key (checked by the stand-in against its public
// key, aud, scope and delegated subject), reads the Admin SDK Directory groups in pages, and tags name
// group e-mail addresses; Cloud Identity's searchTransitiveGroups for nested groups, or a clear 403.

import { generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TagRoleCommand } from "@aws-sdk/client-iam";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import { startGoogleStandIn } from "../../dev/directories/google.ts";
import type { DirectoryData, StandIn } from "../../dev/directories/model.ts";
import type { StartedBroker } from "../support/broker.ts";
import { get, post, roleRefs, startDirectoryBroker, tokenFor } from "../support/directories.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { spokeIam } from "../support/spoke-iam.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

const SA = "gatehouse-groups@acme-prod.iam.gserviceaccount.com";
const KEY_ID = "4f1c0a8e3b2d4c5e6f708192a3b4c5d6e7f80912";
const DIRECTORY_SCOPE = "https://www.googleapis.com/auth/admin.directory.group.readonly";
const CI_SCOPE = "https://www.googleapis.com/auth/cloud-identity.groups.readonly";
const many = (n: number) => Array.from({ length: n }, (_, i) => `team-${i}@example.com`);

const DATA: DirectoryData = {
  members: {
    "alice@example.com": ["engineers@example.com"],
    "paged@example.com": [...many(449), "engineers@example.com"],
    "huge@example.com": [...many(9999), "engineers@example.com"],
    "nested@example.com": ["backend@example.com"],
  },
  parents: { "backend@example.com": ["engineers@example.com"] },
};

function serviceAccountKey() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const json = JSON.stringify({
    type: "service_account",
    project_id: "acme-prod",
    private_key_id: KEY_ID,
    private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    client_email: SA,
    client_id: "104857600000000000001",
    token_uri: "https://oauth2.googleapis.com/token",
  });
  return { json, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

let emulator: Emulator;
let issuer: TestIssuer;
let google: StandIn;
let broker: StartedBroker;
let dir: string;
const key = serviceAccountKey();

const yaml = (
  url: string,
  o: { keyFile?: string; subject?: string; transitive?: boolean } = {},
) => `when: no_groups_in_token
google_directory:
  service_account_key: { file: ${o.keyFile ?? join(dir, "key.json")} }
  subject: ${o.subject ?? "admin@example.com"}
  transitive: ${o.transitive ?? false}
  token_url: ${url}/token
  directory_url: ${url}
  cloud_identity_url: ${url}`;

const googleToken = (email: string) =>
  tokenFor(issuer, { sub: `1${email.length}0042`, email, email_verified: true, hd: "example.com" });

const startGoogle = (o: Partial<Parameters<typeof startGoogleStandIn>[0]> = {}) =>
  startGoogleStandIn({
    serviceAccount: { clientEmail: SA, keyId: KEY_ID, publicKeyPem: key.publicKeyPem },
    delegatedScopes: [DIRECTORY_SCOPE, CI_SCOPE],
    admins: ["admin@example.com"],
    data: DATA,
    ...o,
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-google-"));
  writeFileSync(join(dir, "key.json"), key.json);
  chmodSync(join(dir, "key.json"), 0o600);
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  google = await startGoogle();
  const prod = await spokeIam(emulator, "222222222222");
  await prod.send(
    new TagRoleCommand({
      RoleName: "ReadOnly",
      Tags: [{ Key: "gatehouse-authorized", Value: "engineers@example.com" }],
    }),
  );
  broker = await startDirectoryBroker({
    issuer,
    awsUrl: emulator.url,
    source: "google_directory",
    directory: yaml(google.url),
  });
});

afterAll(async () => {
  await broker?.stop();
  await google?.close();
  await issuer?.close();
  await emulator?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("groups from the Google Admin SDK Directory", () => {
  it("a Google ID token (no groups) gets the person's group e-mails; credentials follow", async () => {
    const token = await googleToken("alice@example.com");
    expect(await roleRefs(broker, token)).toEqual(["prod/ReadOnly", "staging/Developer"]);
    expect((await get(broker, "/v1/me", token)).json.groups).toEqual(["engineers@example.com"]);
    const creds = await post(broker, "/v1/credentials", token, { role: "prod/ReadOnly" });
    expect(creds.status).toBe(200);
    expect(creds.json.accessKeyId).toMatch(/^ASIA/);
  });

  it("pages with nextPageToken; 10,000 groups read in pages of 200; the access token is fetched once", async () => {
    const tokenCalls = google.calls.token;
    let pages = google.calls.pages;
    expect(await roleRefs(broker, await googleToken("paged@example.com"))).toEqual(["prod/ReadOnly"]);
    expect(google.calls.pages - pages).toBe(3);
    pages = google.calls.pages;
    expect(await roleRefs(broker, await googleToken("huge@example.com"))).toEqual(["prod/ReadOnly"]);
    expect(google.calls.pages - pages).toBe(50);
    expect(google.calls.token).toBe(tokenCalls);
  });

  it("a person the directory does not know, and an e-mail that could break a query, are refused", async () => {
    const r = await get(broker, "/v1/roles", await googleToken("nobody@example.com"));
    expect({ status: r.status, code: r.json.code }).toEqual({ status: 403, code: "DIRECTORY_USER_UNKNOWN" });
    const pages = google.calls.pages;
    const hostile = await get(broker, "/v1/roles", await googleToken("x'||'1@example.com"));
    expect({ status: hostile.status, code: hostile.json.code }).toEqual({
      status: 401,
      code: "UNAUTHENTICATED",
    });
    expect(google.calls.pages).toBe(pages);
  });
});

describe("the service account's grant", () => {
  it("a key that is not the service account's is refused by the token endpoint: Invalid JWT Signature", async () => {
    const other = serviceAccountKey();
    writeFileSync(join(dir, "other.json"), other.json);
    const b = await startDirectoryBroker({
      issuer,
      awsUrl: emulator.url,
      source: "google_directory",
      directory: yaml(google.url, { keyFile: join(dir, "other.json") }),
    });
    try {
      const r = await get(b, "/v1/roles", await googleToken("alice@example.com"));
      expect({ status: r.status, code: r.json.code }).toEqual({
        status: 502,
        code: "DIRECTORY_CREDENTIALS_REJECTED",
      });
      expect(r.json.detail).toContain("Invalid JWT Signature");
      expect(JSON.stringify(r.json)).not.toContain("PRIVATE KEY");
    } finally {
      await b.stop();
    }
  });

  it("a subject that is not an admin, and a delegation without the scope, are told apart", async () => {
    const noScope = await startGoogle({ delegatedScopes: [] });
    const b1 = await startDirectoryBroker({
      issuer,
      awsUrl: emulator.url,
      source: "google_directory",
      directory: yaml(google.url, { subject: "intern@example.com" }),
    });
    const b2 = await startDirectoryBroker({
      issuer,
      awsUrl: emulator.url,
      source: "google_directory",
      directory: yaml(noScope.url),
    });
    try {
      const r1 = await get(b1, "/v1/roles", await googleToken("alice@example.com"));
      expect(r1.json.code).toBe("DIRECTORY_CREDENTIALS_REJECTED");
      expect(r1.json.detail).toContain("Invalid email or User ID");
      const r2 = await get(b2, "/v1/roles", await googleToken("alice@example.com"));
      expect(r2.json.code).toBe("DIRECTORY_CREDENTIALS_REJECTED");
      expect(r2.json.detail).toContain("unauthorized_client");
      expect(r2.json.detail).toContain(DIRECTORY_SCOPE);
    } finally {
      await b1.stop();
      await b2.stop();
      await noScope.close();
    }
  });

  it("a missing key file stops the broker at start with CONFIG_INVALID", async () => {
    await expect(
      startDirectoryBroker({
        issuer,
        awsUrl: emulator.url,
        source: "google_directory",
        directory: yaml(google.url, { keyFile: join(dir, "missing.json") }),
      }),
    ).rejects.toMatchObject({ code: "CONFIG_INVALID" });
  });
});

describe("nested groups through Cloud Identity", () => {
  it("without a premium edition searchTransitiveGroups is a 403 that says so", async () => {
    const b = await startDirectoryBroker({
      issuer,
      awsUrl: emulator.url,
      source: "google_directory",
      directory: yaml(google.url, { transitive: true }),
    });
    try {
      const r = await get(b, "/v1/roles", await googleToken("nested@example.com"));
      expect({ status: r.status, code: r.json.code }).toEqual({ status: 502, code: "DIRECTORY_FORBIDDEN" });
      expect(r.json.detail).toContain("Cloud Identity Premium");
      expect(r.json.detail).toContain("transitive: false");
    } finally {
      await b.stop();
    }
  });

  it("with one, a person in a group inside engineers@ gets engineers@'s roles", async () => {
    const premium = await startGoogle({ premium: true });
    const b = await startDirectoryBroker({
      issuer,
      awsUrl: emulator.url,
      source: "google_directory",
      directory: yaml(premium.url, { transitive: true }),
    });
    try {
      const token = await googleToken("nested@example.com");
      expect(await roleRefs(b, token)).toEqual(["prod/ReadOnly"]);
      expect((await get(b, "/v1/me", token)).json.groups).toEqual([
        "backend@example.com",
        "engineers@example.com",
      ]);
    } finally {
      await b.stop();
      await premium.close();
    }
  });
});
