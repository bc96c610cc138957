// The broker really started (Fastify, SQLite on disk) against the started emulator: roles by tag,
// credentials and console URLs that work against the emulator, admin routes, audit, metrics, logs.

import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import { type StartedBroker, startTestBroker } from "../support/broker.ts";
import { startDemoEmulator, sts } from "../support/emulator.ts";
import { signTokens, startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

let emulator: Emulator;
let issuer: TestIssuer;
let broker: StartedBroker;

const PEOPLE = {
  alice: { email: "alice@example.com", groups: ["engineers", "data"] },
  bob: { email: "bob@example.com", groups: ["platform-admins", "approvers"] },
  carol: { email: "carol@example.com", groups: [] },
};
type Who = keyof typeof PEOPLE;
let tokens: Record<Who, string>;

async function call(
  who: Who | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const h: Record<string, string> = { ...headers };
  if (who) h.authorization = `Bearer ${tokens[who]}`;
  if (body !== undefined && !h["content-type"]) h["content-type"] = "application/json";
  const res = await fetch(`${broker.url}${path}`, {
    method,
    headers: h,
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text, type: res.headers.get("content-type") ?? "" };
}

beforeAll(async () => {
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  tokens = await signTokens(issuer, PEOPLE);
  broker = await startTestBroker({ issuer: issuer.issuer, awsUrl: emulator.url });
});

afterAll(async () => {
  await broker?.stop();
  await issuer?.close();
  await emulator?.close();
});

describe("roles by tag", () => {
  it("alice sees exactly prod/ReadOnly, staging/DataPipeline (cli-only) and staging/Developer", async () => {
    const r = await call("alice", "GET", "/v1/roles");
    expect(r.status).toBe(200);
    const roles = r.json.roles as {
      ref: string;
      cliOnly: boolean;
      accountId: string;
      arn: string;
      description: string;
    }[];
    expect(roles.map((x) => [x.ref, x.cliOnly])).toEqual([
      ["prod/ReadOnly", false],
      ["staging/DataPipeline", true],
      ["staging/Developer", false],
    ]);
    expect(roles[0]).toMatchObject({
      accountId: "222222222222",
      arn: "arn:aws:iam::222222222222:role/ReadOnly",
      description: "Read-only access to prod",
    });
  });

  it("bob sees prod/Admin; carol sees none", async () => {
    const bob = await call("bob", "GET", "/v1/roles");
    expect((bob.json.roles as { ref: string }[]).map((x) => x.ref)).toEqual(["prod/Admin"]);
    const carol = await call("carol", "GET", "/v1/roles");
    expect(carol.json.roles).toEqual([]);
  });

  it("/v1/me names the person and whether they administer Gatehouse", async () => {
    expect((await call("alice", "GET", "/v1/me")).json).toEqual({
      email: "alice@example.com",
      groups: ["engineers", "data"],
      admin: false,
      approver: false,
      lint: {
        protectedRoleArns: [
          "arn:aws:iam::222222222222:role/GatehouseSpoke",
          "arn:aws:iam::333333333333:role/GatehouseSpoke",
          "arn:aws:iam::111111111111:role/GatehouseCentral",
        ],
        accessTagKeys: expect.arrayContaining(["gatehouse-authorized", "gatehouse-approvers"]),
      },
      requests: { approvalsRequired: 1, allowPermanent: false },
    });
    expect((await call("bob", "GET", "/v1/me")).json).toMatchObject({ admin: true });
  });
});

describe("credentials", () => {
  it("work against the emulator with alice's session name and source identity", async () => {
    const r = await call("alice", "POST", "/v1/credentials", { role: "prod/ReadOnly" });
    expect(r.status).toBe(200);
    const c = r.json as {
      accessKeyId: string;
      secretAccessKey: string;
      sessionToken: string;
      expiration: string;
      durationSeconds: number;
      clamped: string | null;
    };
    expect(c.durationSeconds).toBe(3600);
    const keys = {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
    };
    const me = await sts(emulator, keys).send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe("arn:aws:sts::222222222222:assumed-role/ReadOnly/alice@example.com");
    const session = emulator.world.sessions.get(c.accessKeyId)!;
    expect(session.sourceIdentity).toBe("alice@example.com");
    expect(session.tags).toEqual([{ Key: "gatehouse-user", Value: "alice@example.com" }]);
  });

  it("accept an ARN or account-id/role, and clamp the duration to what chaining allows, saying so", async () => {
    const r = await call("alice", "POST", "/v1/credentials", {
      role: "arn:aws:iam::222222222222:role/ReadOnly",
      durationSeconds: 43200,
    });
    expect(r.status).toBe(200);
    expect(r.json.durationSeconds).toBe(3600);
    expect(r.json.clamped).toMatch(/role chaining/);
    const byId = await call("alice", "POST", "/v1/credentials", { role: "333333333333/DataPipeline" });
    expect(byId.status).toBe(200);
    expect((byId.json.role as { cliOnly: boolean }).cliOnly).toBe(true);
  });

  it("a role outside the person's tags answers exactly like a role that does not exist", async () => {
    const forbidden = await call("alice", "POST", "/v1/credentials", { role: "prod/Admin" });
    const missing = await call("alice", "POST", "/v1/credentials", { role: "prod/NoSuchRole" });
    const untagged = await call("alice", "POST", "/v1/credentials", { role: "prod/Billing" });
    for (const r of [forbidden, missing, untagged]) {
      expect(r.status).toBe(404);
      expect(r.type).toContain("application/problem+json");
      expect(r.json.code).toBe("ROLE_NOT_FOUND");
    }
    const strip = (j: Record<string, unknown>) => ({
      ...j,
      detail: String(j.detail).replace(/"[^"]+"/, "ROLE"),
      instance: null,
    });
    expect(strip(forbidden.json)).toEqual(strip(missing.json));
    expect(strip(untagged.json)).toEqual(strip(missing.json));
  });
});

describe("console", () => {
  it("a console URL opens the emulator's console page for the right role", async () => {
    const r = await call("alice", "POST", "/v1/console", { role: "staging/Developer", region: "eu-west-1" });
    expect(r.status).toBe(200);
    const url = new URL(r.json.url as string);
    expect(url.searchParams.get("Action")).toBe("login");
    expect(url.searchParams.get("Destination")).toBe("https://console.aws.amazon.com/?region=eu-west-1");
    const login = await fetch(url, { redirect: "manual" });
    expect(login.status).toBe(302);
    const page = await fetch(new URL(login.headers.get("location")!, emulator.url));
    const html = await page.text();
    expect(html).toContain('data-account="333333333333"');
    expect(html).toContain('data-role="Developer"');
    expect(html).toContain('data-session="alice@example.com"');
    expect(r.json.sessionDurationSeconds).toBe(3600);
  });

  it("is refused for a cli-only role, and a foreign destination is refused", async () => {
    const cli = await call("alice", "POST", "/v1/console", { role: "staging/DataPipeline" });
    expect(cli.status).toBe(403);
    expect(cli.json.code).toBe("CONSOLE_NOT_ALLOWED");
    const evil = await call("alice", "POST", "/v1/console", {
      role: "prod/ReadOnly",
      destination: "https://evil.example.com/",
    });
    expect(evil.status).toBe(400);
    expect(evil.json.code).toBe("BAD_REQUEST");
  });
});

describe("bad input", () => {
  it("malformed, oversized, wrong-type and prototype-polluting bodies get 4xx problems with codes", async () => {
    const cases: [unknown, Record<string, string>, number, string][] = [
      ["{not json", {}, 400, "BAD_REQUEST"],
      [{ role: 42 }, {}, 400, "BAD_REQUEST"],
      [{ role: "prod/ReadOnly", extra: true }, {}, 400, "BAD_REQUEST"],
      [{ role: "prod/ReadOnly", durationSeconds: 10 }, {}, 400, "BAD_REQUEST"],
      ['{"role":"prod/ReadOnly","__proto__":{"admin":true}}', {}, 400, "BAD_REQUEST"],
      ['{"role":"prod/ReadOnly","constructor":{"prototype":{"admin":true}}}', {}, 400, "BAD_REQUEST"],
      [JSON.stringify({ role: "x".repeat(20_000) }), {}, 413, "PAYLOAD_TOO_LARGE"],
      ["role=prod/ReadOnly", { "content-type": "text/plain" }, 415, "UNSUPPORTED_MEDIA_TYPE"],
      [
        "role=prod/ReadOnly",
        { "content-type": "application/x-www-form-urlencoded" },
        415,
        "UNSUPPORTED_MEDIA_TYPE",
      ],
    ];
    for (const [body, headers, status, code] of cases) {
      const r = await call("alice", "POST", "/v1/credentials", body, headers);
      expect({ status: r.status, code: r.json.code }).toEqual({ status, code });
      expect(r.type).toContain("application/problem+json");
    }
    const unknown = await call("alice", "GET", "/v1/nope");
    expect(unknown).toMatchObject({ status: 404, json: { code: "NOT_FOUND" } });
  });
});

describe("admin routes, audit, metrics and logs", () => {
  it("sync status and runs are for admins only", async () => {
    expect((await call("alice", "GET", "/v1/sync")).json.code).toBe("FORBIDDEN");
    const status = await call("bob", "GET", "/v1/sync");
    expect(status.status).toBe(200);
    expect(
      (status.json.accounts as { accountId: string; state: string }[]).map((a) => [a.accountId, a.state]),
    ).toEqual([
      ["222222222222", "ok"],
      ["333333333333", "ok"],
    ]);
    const run = await call("bob", "POST", "/v1/sync");
    expect(run.status).toBe(200);
  });

  it("the audit log holds issues, console URLs and denials, hash-chained", async () => {
    const r = await call("bob", "GET", "/v1/audit?actor=alice@example.com&limit=1000");
    expect(r.status).toBe(200);
    const entries = r.json.entries as {
      action: string;
      outcome: string;
      target: string;
      detail: Record<string, unknown>;
    }[];
    const actions = new Set(entries.map((e) => `${e.action}:${e.outcome}`));
    for (const a of [
      "signin.seen:ok",
      "credentials.issue:ok",
      "credentials.issue:denied",
      "console.url:ok",
      "console.url:denied",
    ]) {
      expect(actions).toContain(a);
    }
    expect(JSON.stringify(entries)).not.toMatch(/secretAccessKey|sessionToken/);
    expect(broker.store.verifyAudit()).toMatchObject({ ok: true });
    expect((await call("alice", "GET", "/v1/audit")).status).toBe(403);
  });

  it("/healthz, /readyz and /metrics answer", async () => {
    expect((await call(null, "GET", "/healthz")).status).toBe(200);
    expect((await call(null, "GET", "/readyz")).json).toEqual({ status: "ready" });
    const m = await call(null, "GET", "/metrics");
    expect(m.text).toMatch(
      /gatehouse_http_requests_total\{route="\/v1\/credentials",method="POST",status="200"\} \d+/,
    );
    expect(m.text).toMatch(/gatehouse_sts_calls_total\{kind="work",outcome="ok"\} \d+/);
    expect(m.text).toMatch(/gatehouse_sync_duration_seconds_count\{account="222222222222"\} \d+/);
  });

  it("logs are JSON with request ids and never hold a token, key or session token", async () => {
    const r = await call("alice", "POST", "/v1/credentials", { role: "prod/ReadOnly" });
    const c = r.json as { secretAccessKey: string; sessionToken: string };
    const all = broker.logs.join("");
    expect(broker.logs.length).toBeGreaterThan(10);
    expect(JSON.parse(broker.logs[0]!)).toHaveProperty("level");
    expect(all).toContain('"reqId"');
    for (const secret of [
      tokens.alice,
      tokens.bob,
      c.secretAccessKey,
      c.sessionToken,
      "gatehouse-demo-secret",
    ]) {
      expect(all).not.toContain(secret);
    }
  });
});
