// Groups from Microsoft Graph through the real broker: tokens without groups or with Entra's overage
// marker, the Graph stand-in (client credentials, transitiveMemberOf paged by @odata.nextLink), roles
// tagged with group object ids, credentials from the emulator; and the attacks and failures around it.

import { TagRoleCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import { startGraphStandIn } from "../../dev/directories/microsoft-graph.ts";
import type { DirectoryData, StandIn } from "../../dev/directories/model.ts";
import { type StartedBroker, startTestBroker } from "../support/broker.ts";
import { get, post, roleRefs, sleep, startDirectoryBroker, tokenFor } from "../support/directories.ts";
import { startDemoEmulator, sts } from "../support/emulator.ts";
import { spokeIam } from "../support/spoke-iam.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

const TENANT = "8f3c2a10-1b2c-4d5e-8f90-123456789abc";
const CLIENT = "6e1d0c1a-aaaa-4bbb-8ccc-0123456789ab";
const SECRET = "graph-secret-value~0123456789";
const ENGINEERS = "11111111-1111-4111-8111-111111111111";
const ADMINS = "22222222-2222-4222-8222-222222222222";
const COPYCAT = "33333333-3333-4333-8333-333333333333";
const oid = (n: number) => `aaaaaaaa-0000-4000-8000-${String(n).padStart(12, "0")}`;
const gid = (n: number) => `bbbbbbbb-0000-4000-8000-${String(n).padStart(12, "0")}`;
const many = (n: number) => Array.from({ length: n }, (_, i) => gid(i));

const ALICE = oid(1);
const MALLORY = oid(2);
const PAGED = oid(3);
const HUGE = oid(4);
const TOO_MANY = oid(5);
const NESTED = oid(6);

const DATA: DirectoryData = {
  members: {
    [ALICE]: [ENGINEERS],
    // Mallory made a group and named it after the admins' group: its display name must grant nothing.
    [MALLORY]: [COPYCAT],
    [PAGED]: [...many(2500), ENGINEERS],
    [HUGE]: [...many(9999), ENGINEERS],
    [TOO_MANY]: many(10_001),
    [NESTED]: [gid(50_000)],
  },
  parents: { [gid(50_000)]: [ENGINEERS] },
  names: { [ENGINEERS]: "engineers", [ADMINS]: "platform-admins", [COPYCAT]: "platform-admins" },
};

const directoryYaml = (graphUrl: string, extra = "") => `when: no_groups_in_token
cache_seconds: 300
max_entries: 3
max_cached_groups: 12000
max_groups_per_person: 10000
${extra}
microsoft_graph:
  tenant_id: ${TENANT}
  client_id: ${CLIENT}
  client_secret: { env: TEST_GRAPH_SECRET }
  login_url: ${graphUrl}
  graph_url: ${graphUrl}`;

/** An Entra access token for `who` with the overage marker and no groups claim. */
const overage = (who: string, extra: Record<string, unknown> = {}) =>
  tokenFor(issuer, {
    sub: who,
    oid: who,
    email: `${who.slice(-4)}@example.com`,
    _claim_names: { groups: "src1" },
    _claim_sources: {
      src1: { endpoint: `https://graph.windows.net/${TENANT}/users/${who}/getMemberObjects` },
    },
    ...extra,
  });

let emulator: Emulator;
let issuer: TestIssuer;
let graph: StandIn;
let broker: StartedBroker;

beforeAll(async () => {
  process.env.TEST_GRAPH_SECRET = SECRET;
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  graph = await startGraphStandIn({ tenant: TENANT, clientId: CLIENT, clientSecret: SECRET, data: DATA });
  // Tags name group object ids, as they must with Entra.
  const prod = await spokeIam(emulator, "222222222222");
  await prod.send(
    new TagRoleCommand({ RoleName: "ReadOnly", Tags: [{ Key: "gatehouse-authorized", Value: ENGINEERS }] }),
  );
  await prod.send(
    new TagRoleCommand({ RoleName: "Admin", Tags: [{ Key: "gatehouse-authorized", Value: ADMINS }] }),
  );
  broker = await startDirectoryBroker({
    issuer,
    awsUrl: emulator.url,
    source: "microsoft_graph",
    directory: directoryYaml(graph.url),
  });
});

afterAll(async () => {
  await broker?.stop();
  await graph?.close();
  await issuer?.close();
  await emulator?.close();
});

describe("groups from Microsoft Graph", () => {
  it("an overage token gets its groups from Graph; credentials for the role work against the emulator", async () => {
    const token = await overage(ALICE);
    expect(await roleRefs(broker, token)).toEqual(["prod/ReadOnly"]);
    const me = await get(broker, "/v1/me", token);
    expect(me.json.groups).toEqual([ENGINEERS]);
    const creds = await post(broker, "/v1/credentials", token, { role: "prod/ReadOnly" });
    expect(creds.status).toBe(200);
    const who = await sts(emulator, {
      accessKeyId: creds.json.accessKeyId as string,
      secretAccessKey: creds.json.secretAccessKey as string,
      sessionToken: creds.json.sessionToken as string,
    }).send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toMatch(/^arn:aws:sts::222222222222:assumed-role\/ReadOnly\//);
  });

  it("a token with no groups claim at all asks Graph too; one with groups does not", async () => {
    const before = graph.calls.lookups;
    const plain = await tokenFor(issuer, { sub: "n1", oid: NESTED, email: "nested@example.com" });
    // Nested: the person is in a group that is in engineers (transitiveMemberOf).
    expect(await roleRefs(broker, plain)).toEqual(["prod/ReadOnly"]);
    expect(graph.calls.lookups).toBe(before + 1);
    const withGroups = await tokenFor(issuer, {
      sub: "n2",
      oid: oid(99),
      email: "g@example.com",
      groups: [ADMINS],
    });
    expect(await roleRefs(broker, withGroups)).toEqual(["prod/Admin"]);
    expect(graph.calls.lookups).toBe(before + 1);
  });

  it("a group whose display name copies the admins' group grants nothing", async () => {
    const token = await overage(MALLORY);
    expect(await roleRefs(broker, token)).toEqual([]);
    const me = await get(broker, "/v1/me", token);
    expect(me.json).toMatchObject({ groups: [COPYCAT], admin: false });
    const creds = await post(broker, "/v1/credentials", token, { role: "prod/Admin" });
    expect({ status: creds.status, code: creds.json.code }).toEqual({ status: 404, code: "ROLE_NOT_FOUND" });
  });

  it("follows @odata.nextLink over every page, and the answer is cached", async () => {
    const token = await overage(PAGED);
    const pages = graph.calls.pages;
    expect(await roleRefs(broker, token)).toEqual(["prod/ReadOnly"]);
    expect(graph.calls.pages - pages).toBe(3); // 2,501 groups in pages of 999
    expect(((await get(broker, "/v1/me", token)).json.groups as string[]).length).toBe(2501);
    expect(graph.calls.pages - pages).toBe(3);
  });

  it("10,000 groups for one person: every page read, the cache stays within its bounds", async () => {
    const token = await overage(HUGE);
    const pages = graph.calls.pages;
    // engineers is the 10,000th group: only found when all 11 pages are read.
    expect(await roleRefs(broker, token)).toEqual(["prod/ReadOnly"]);
    expect(graph.calls.pages - pages).toBe(11);
    // The sign-in's audit row keeps the first 200 groups and the count, not a 400 KB list.
    const seen = broker.store
      .listAudit({ afterSeq: 0, limit: 1000 })
      .find((e) => e.action === "signin.seen" && e.actor === "0004@example.com");
    expect(seen?.detail).toMatchObject({ groupCount: 10_000 });
    expect((seen?.detail as { groups: string[] } | undefined)?.groups).toHaveLength(200);
    const stats = (broker.groups as unknown as { stats(): { entries: number; groups: number } }).stats();
    expect(stats.entries).toBeLessThanOrEqual(3);
    expect(stats.groups).toBeLessThanOrEqual(12_000);
    // Three more people push the least recently used out; the cache never holds more than its bounds.
    for (const p of [ALICE, MALLORY, PAGED]) await roleRefs(broker, await overage(p));
    const after = (broker.groups as unknown as { stats(): { entries: number; groups: number } }).stats();
    expect(after.entries).toBeLessThanOrEqual(3);
    expect(after.groups).toBeLessThanOrEqual(12_000);
  });

  it("more groups than max_groups_per_person is a clear error, never a list cut short", async () => {
    const r = await get(broker, "/v1/roles", await overage(TOO_MANY));
    expect({ status: r.status, code: r.json.code }).toEqual({
      status: 502,
      code: "DIRECTORY_TOO_MANY_GROUPS",
    });
  });

  it("N parallel requests for a person not yet cached make one Graph lookup", async () => {
    const who = oid(7);
    graph.set({ ...DATA, members: { ...DATA.members, [who]: [ENGINEERS] } });
    graph.latency(300);
    try {
      const tokens = await Promise.all(Array.from({ length: 20 }, () => overage(who)));
      const before = graph.calls.lookups;
      const answers = await Promise.all(tokens.map((t) => roleRefs(broker, t)));
      expect(answers.every((a) => a.join() === "prod/ReadOnly")).toBe(true);
      expect(graph.calls.lookups - before).toBe(1);
    } finally {
      graph.latency(0);
      graph.set(DATA);
    }
  });

  it("a person Graph does not know is refused with a code; a hostile or missing oid never reaches Graph", async () => {
    const unknown = await get(broker, "/v1/roles", await overage(oid(404)));
    expect({ status: unknown.status, code: unknown.json.code }).toEqual({
      status: 403,
      code: "DIRECTORY_USER_UNKNOWN",
    });
    const pages = graph.calls.pages;
    for (const bad of ["../../groups", "a/b", "..", `${ALICE}?$top=1`, 42]) {
      const r = await get(broker, "/v1/roles", await overage(ALICE, { oid: bad }));
      expect({ bad, status: r.status, code: r.json.code }).toEqual({
        bad,
        status: 401,
        code: "UNAUTHENTICATED",
      });
    }
    const none = await get(broker, "/v1/roles", await overage(ALICE, { oid: undefined }));
    expect(none.json.detail).toContain("no usable oid claim");
    expect(graph.calls.pages).toBe(pages);
  });
});

describe("when Graph fails", () => {
  it("an outage serves the last answer up to max_stale_seconds, then 503 IDP_UNAVAILABLE", async () => {
    const b = await startDirectoryBroker({
      issuer,
      awsUrl: emulator.url,
      source: "microsoft_graph",
      directory: directoryYaml(graph.url, "retry_after_seconds: 0").replace(
        "cache_seconds: 300",
        "cache_seconds: 1\nmax_stale_seconds: 3",
      ),
    });
    try {
      const token = await overage(ALICE);
      const t0 = Date.now();
      expect(await roleRefs(b, token)).toEqual(["prod/ReadOnly"]);
      graph.outage(true);
      await sleep(1200);
      // Past cache_seconds, Graph down: the last answer, not an empty list.
      expect(await roleRefs(b, token)).toEqual(["prod/ReadOnly"]);
      const stranger = await get(b, "/v1/roles", await overage(PAGED));
      expect({ status: stranger.status, code: stranger.json.code }).toEqual({
        status: 503,
        code: "IDP_UNAVAILABLE",
      });
      await sleep(Math.max(0, 3200 - (Date.now() - t0)));
      const late = await get(b, "/v1/roles", token);
      expect({ status: late.status, code: late.json.code }).toEqual({ status: 503, code: "IDP_UNAVAILABLE" });
      expect(late.json.detail).toContain("Microsoft Graph");
      graph.outage(false);
      expect(await roleRefs(b, token)).toEqual(["prod/ReadOnly"]);
    } finally {
      graph.outage(false);
      await b.stop();
    }
  });

  it("a wrong client secret is DIRECTORY_CREDENTIALS_REJECTED naming the reason, never the secret", async () => {
    process.env.TEST_GRAPH_SECRET_WRONG = "not-the-secret";
    const b = await startDirectoryBroker({
      issuer,
      awsUrl: emulator.url,
      source: "microsoft_graph",
      directory: directoryYaml(graph.url).replace("TEST_GRAPH_SECRET", "TEST_GRAPH_SECRET_WRONG"),
    });
    try {
      const r = await get(b, "/v1/roles", await overage(ALICE));
      expect({ status: r.status, code: r.json.code }).toEqual({
        status: 502,
        code: "DIRECTORY_CREDENTIALS_REJECTED",
      });
      expect(r.json.detail).toContain("AADSTS7000215");
      // Asked again at once, the broker answers the same failure without calling the token endpoint again.
      const tokenCalls = graph.calls.token;
      const again = await get(b, "/v1/roles", await overage(PAGED));
      expect(again.json.code).toBe("DIRECTORY_CREDENTIALS_REJECTED");
      expect(graph.calls.token).toBe(tokenCalls);
      expect(JSON.stringify(r.json)).not.toContain("not-the-secret");
      expect(b.logs.join("")).not.toContain("not-the-secret");
    } finally {
      await b.stop();
    }
  });

  it("an application without GroupMember.Read.All is told so; a nextLink to another host is not followed", async () => {
    const noConsent = await startGraphStandIn({
      tenant: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      data: DATA,
      consented: false,
    });
    const elsewhere = await startGraphStandIn({
      tenant: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      data: DATA,
      nextLinkOrigin: "http://127.0.0.2:9",
    });
    const b1 = await startDirectoryBroker({
      issuer,
      awsUrl: emulator.url,
      source: "microsoft_graph",
      directory: directoryYaml(noConsent.url),
    });
    const b2 = await startDirectoryBroker({
      issuer,
      awsUrl: emulator.url,
      source: "microsoft_graph",
      directory: directoryYaml(elsewhere.url),
    });
    try {
      const r1 = await get(b1, "/v1/roles", await overage(ALICE));
      expect({ status: r1.status, code: r1.json.code }).toEqual({ status: 502, code: "DIRECTORY_FORBIDDEN" });
      expect(r1.json.detail).toContain("GroupMember.Read.All");
      const r2 = await get(b2, "/v1/roles", await overage(PAGED));
      expect({ status: r2.status, code: r2.json.code }).toEqual({ status: 503, code: "IDP_UNAVAILABLE" });
      expect(r2.json.detail).toContain("refused");
    } finally {
      await b1.stop();
      await b2.stop();
      await noConsent.close();
      await elsewhere.close();
    }
  });

  it("when: overage asks only for marked tokens; getMemberGroups answers every group id, nested ones too", async () => {
    const b = await startDirectoryBroker({
      issuer,
      awsUrl: emulator.url,
      source: "microsoft_graph",
      directory: `${directoryYaml(graph.url).replace("when: no_groups_in_token", "when: overage")}\n  method: get_member_groups`,
    });
    try {
      const lookups = graph.calls.lookups;
      const plain = await tokenFor(issuer, { sub: "n1", oid: NESTED, email: "nested@example.com" });
      expect(await roleRefs(b, plain)).toEqual([]);
      expect(graph.calls.lookups).toBe(lookups);
      const token = await overage(NESTED);
      expect(await roleRefs(b, token)).toEqual(["prod/ReadOnly"]);
      expect(graph.calls.lookups).toBe(lookups + 1);
      expect(((await get(b, "/v1/me", token)).json.groups as string[]).sort()).toEqual(
        [ENGINEERS, gid(50_000)].sort(),
      );
    } finally {
      await b.stop();
    }
  });
  it("a user_claim given as a list of keys names the person by a namespaced claim", async () => {
    const b = await startDirectoryBroker({
      issuer,
      awsUrl: emulator.url,
      source: "microsoft_graph",
      directory: directoryYaml(graph.url, 'user_claim: ["https://gatehouse.example.com/oid"]'),
    });
    try {
      // The claim `oid` names Mallory; only the namespaced claim is read, and it names Alice.
      const token = await overage(MALLORY, { "https://gatehouse.example.com/oid": ALICE });
      expect(await roleRefs(b, token)).toEqual(["prod/ReadOnly"]);
      const none = await get(b, "/v1/roles", await overage(ALICE, { oid: ALICE }));
      expect({ status: none.status, code: none.json.code }).toEqual({ status: 401, code: "UNAUTHENTICATED" });
      expect(none.json.detail).toContain('["https://gatehouse.example.com/oid"]');
    } finally {
      await b.stop();
    }
  });

  it("groups_source: token with an overage token: no groups, no 401, and a warning naming microsoft_graph", async () => {
    const b = await startTestBroker({ issuer: issuer.issuer, awsUrl: emulator.url });
    try {
      const lookups = graph.calls.lookups;
      const token = await overage(ALICE);
      const me = await get(b, "/v1/me", token);
      expect(me.status).toBe(200);
      expect(me.json.groups).toEqual([]);
      expect(await roleRefs(b, token)).toEqual([]);
      expect(graph.calls.lookups).toBe(lookups);
      const warnings = b.logs
        .join("")
        .split("\n")
        .filter((l) => l.includes("Entra overage"));
      // Once per person, not once per request.
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain("groups_source: microsoft_graph");
      expect(JSON.parse(warnings[0]!).level).toBe(40);
      // A token that carries its groups is not an overage: nothing logged for it.
      await get(
        b,
        "/v1/me",
        await tokenFor(issuer, { sub: "g1", email: "g1@example.com", groups: [ENGINEERS] }),
      );
      expect(
        b.logs
          .join("")
          .split("\n")
          .filter((l) => l.includes("Entra overage")),
      ).toHaveLength(1);
    } finally {
      await b.stop();
    }
  });
});
