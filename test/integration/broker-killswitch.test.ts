// The kill switch end to end: the real broker (Fastify, SQLite on disk) against the emulator. alice and
// dave get sessions through the broker; alice's are revoked; her keys get AccessDenied, dave's keep
// working; the deny goes when her sessions have expired; every step is audited. Faults: IAM throttling
// while writing (retried), and a broker stopped before the last deny policy (finished at restart).

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DeleteRolePolicyCommand,
  GetRolePolicyCommand,
  type IAMClient,
  ListRolesCommand,
  PutRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { REVOKED_SESSIONS_POLICY } from "../../broker/killswitch/index.ts";
import type { Emulator } from "../../dev/aws/server.ts";
import { expectAwsError, PROD, STAGING, spokeRole, viaCentral, workRole } from "../support/aws.ts";
import { brokerYaml, type StartedBroker, startTestBroker } from "../support/broker.ts";
import { metric } from "../support/e2e.ts";
import { iam, startDemoEmulator } from "../support/emulator.ts";
import { signTokens, startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

let emulator: Emulator;
let issuer: TestIssuer;
let broker: StartedBroker;

const PEOPLE = {
  alice: { email: "alice@example.com", groups: ["engineers"] },
  dave: { email: "dave@example.com", groups: ["engineers"] },
  bob: { email: "bob@example.com", groups: ["platform-admins"] },
  carol: { email: "carol@example.com", groups: ["engineers"] },
};
type Who = keyof typeof PEOPLE;
let tokens: Record<Who, string>;
const DEVELOPER = workRole(STAGING, "Developer");
const READONLY = workRole(PROD, "ReadOnly");

async function call(who: Who, method: string, path: string, body?: unknown, b: { url: string } = broker) {
  const res = await fetch(`${b.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tokens[who]}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return {
    status: res.status,
    // biome-ignore lint/suspicious/noExplicitAny: response bodies of several shapes, checked by the assertions
    json: (await res.json()) as Record<string, any>,
  };
}

/** IAM as the person, with credentials the broker issued them. */
async function sessionOf(who: Who, role: string, b: { url: string } = broker): Promise<IAMClient> {
  const r = await call(who, "POST", "/v1/credentials", { role }, b);
  expect(r.status).toBe(200);
  const { accessKeyId, secretAccessKey, sessionToken } = r.json;
  return iam(emulator, { accessKeyId, secretAccessKey, sessionToken }, 1);
}

const listRoles = (c: IAMClient) => c.send(new ListRolesCommand({ MaxItems: 1 }));
const denied = (c: IAMClient) => expectAwsError(listRoles(c), "AccessDenied", 403, /explicit deny/);

async function denyPolicy(
  account: string,
  role: string,
): Promise<{ Statement: Record<string, unknown>[] } | null> {
  const spoke = iam(emulator, await viaCentral(emulator, spokeRole(account), "gatehouse-test"), 1);
  try {
    const out = await spoke.send(
      new GetRolePolicyCommand({ RoleName: role, PolicyName: REVOKED_SESSIONS_POLICY }),
    );
    return JSON.parse(decodeURIComponent(out.PolicyDocument!));
  } catch (e) {
    if ((e as Error).name === "NoSuchEntityException") return null;
    throw e;
  } finally {
    spoke.destroy();
  }
}

const auditOf = (b: StartedBroker, prefix: string) =>
  b.store.listAudit({ limit: 10_000 }).filter((e) => e.action.startsWith(prefix));

const ROOT = join(import.meta.dirname, "../..");
/** `gatehouse-broker ARGS` as a real process. */
function brokerCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(
      process.execPath,
      [join(ROOT, "bin/gatehouse-broker.mjs"), ...args],
      { cwd: ROOT, timeout: 30_000 },
      (err, stdout, stderr) => res({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms = 20_000) {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
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
afterEach(() => {
  emulator.faults.set({});
});

describe("revoking one person's live AWS sessions", () => {
  it("alice's keys are denied on every role she had sessions for, dave's keep working; the deny goes when her sessions expire; all audited", async () => {
    const aliceDev = await sessionOf("alice", "staging/Developer");
    const aliceRo = await sessionOf("alice", "prod/ReadOnly");
    const console = await call("alice", "POST", "/v1/console", { role: "prod/ReadOnly" });
    expect(console.status).toBe(200);
    const daveDev = await sessionOf("dave", "staging/Developer");
    for (const c of [aliceDev, aliceRo, daveDev]) await listRoles(c);
    // The broker put her e-mail in SourceIdentity of every session, the console's too: what the deny keys on.
    const hers = [...emulator.world.sessions.values()].filter((x) => x.sessionName === "alice@example.com");
    expect(hers.map((x) => x.roleName).sort()).toEqual(["Developer", "ReadOnly", "ReadOnly"]);
    for (const x of hers) expect(x.sourceIdentity).toBe("alice@example.com");

    const r = await call("bob", "POST", "/v1/admin/people/alice@example.com/revoke-sessions", {
      reason: "left the company (HR-1234)",
    });
    expect(r.status).toBe(201);
    expect(r.json.items.map((i: { roleArn: string }) => i.roleArn).sort()).toEqual(
      [READONLY, DEVELOPER].sort(),
    );
    await broker.killswitch.settled();

    await denied(aliceDev);
    await denied(aliceRo);
    expect((await listRoles(daveDev)).Roles).toHaveLength(1);
    const dev = await denyPolicy(STAGING, "Developer");
    expect(dev?.Statement).toHaveLength(1);
    expect(dev?.Statement[0]).toMatchObject({
      Effect: "Deny",
      Action: "*",
      Resource: "*",
      Condition: { StringEqualsIgnoreCase: { "aws:SourceIdentity": "alice@example.com" } },
    });
    expect(await denyPolicy(PROD, "ReadOnly")).not.toBeNull();
    const status = await call("bob", "GET", "/v1/admin/killswitch?email=alice@example.com");
    expect(status.json.revocations[0].items.map((i: { state: string }) => i.state)).toEqual([
      "written",
      "written",
    ]);
    expect(
      metric(await (await fetch(`${broker.url}/metrics`)).text(), "gatehouse_killswitch_role_items", {
        state: "written",
      }),
    ).toBe(2);

    // A second disable (SCIM deactivate, then DELETE) joins the first one.
    const again = await call("bob", "POST", "/v1/admin/people/ALICE@example.com/revoke-sessions", {
      reason: "deleted",
    });
    expect(again.status).toBe(200);
    expect(again.json.revocation.id).toBe(r.json.revocation.id);

    // Enabled again: new sessions work at once, her old keys stay denied.
    expect(
      (await call("bob", "POST", "/v1/admin/people/alice@example.com/restore-sessions", {})).status,
    ).toBe(200);
    expect((await listRoles(await sessionOf("alice", "staging/Developer"))).Roles).toHaveLength(1);
    await denied(aliceDev);

    // Not before her sessions' end: nothing removed; after it (12 h + skew later) both policies go.
    await broker.killswitch.pump(new Date(Date.now() + 30 * 60_000));
    expect(await denyPolicy(STAGING, "Developer")).not.toBeNull();
    await broker.killswitch.pump(new Date(Date.now() + 13 * 3600_000));
    expect(await denyPolicy(STAGING, "Developer")).toBeNull();
    expect(await denyPolicy(PROD, "ReadOnly")).toBeNull();
    await listRoles(aliceDev); // the deny is gone (in AWS her session would have expired by now)
    expect(broker.store.getRole(DEVELOPER)?.inlinePolicies[REVOKED_SESSIONS_POLICY]).toBeUndefined();

    const steps = auditOf(broker, "killswitch.").map((e) => [e.action, e.target, e.outcome]);
    expect(steps).toEqual(
      [
        ["killswitch.revoke", "alice@example.com", "ok"],
        ...[
          ["killswitch.policy.put", DEVELOPER, "ok"],
          ["killswitch.policy.put", READONLY, "ok"],
        ].sort(),
        ["killswitch.restore", "alice@example.com", "ok"],
        ...[
          ["killswitch.policy.delete", DEVELOPER, "ok"],
          ["killswitch.policy.delete", READONLY, "ok"],
        ].sort(),
        ["killswitch.done", "alice@example.com", "ok"],
      ].map((x) => x),
    );
    const revoke = auditOf(broker, "killswitch.revoke")[0]!;
    expect(revoke.actor).toBe("bob@example.com");
    expect(revoke.detail.reason).toBe("left the company (HR-1234)");
  });

  it("only admins may revoke; hostile e-mails and bodies are refused with a stable code", async () => {
    const r = await call("dave", "POST", "/v1/admin/people/alice@example.com/revoke-sessions", {
      reason: "x",
    });
    expect(r.status).toBe(403);
    expect(r.json.code).toBe("FORBIDDEN");
    expect(auditOf(broker, "admin.denied").at(-1)?.actor).toBe("dave@example.com");
    for (const email of [
      "not-an-email",
      "a@b:c",
      "alice@example.com x",
      "../../etc@x/y",
      "a@b",
      '"a"@example.com',
    ]) {
      const bad = await call("bob", "POST", `/v1/admin/people/${encodeURIComponent(email)}/revoke-sessions`, {
        reason: "x",
      });
      expect([bad.status, bad.json.code]).toEqual([400, "BAD_REQUEST"]);
    }
    const noReason = await call("bob", "POST", "/v1/admin/people/dave@example.com/revoke-sessions", {});
    expect([noReason.status, noReason.json.code]).toEqual([400, "BAD_REQUEST"]);
    const extra = await call("bob", "POST", "/v1/admin/people/dave@example.com/revoke-sessions", {
      reason: "x",
      roles: ["*"],
    });
    expect(extra.status).toBe(400);
    const lift = await call("bob", "POST", "/v1/admin/people/nobody@example.com/restore-sessions", {});
    expect([lift.status, lift.json.code]).toEqual([404, "REVOCATION_NOT_FOUND"]);
    expect(broker.killswitch.status("dave@example.com")).toEqual([]);
    expect(() =>
      broker.killswitch.revokeSessions(`${"x".repeat(300)}@example.com`, new Date(), "bob"),
    ).toThrow(expect.objectContaining({ code: "BAD_REQUEST" }));
    expect(broker.killswitch.status().map((r) => r.revocation.email)).toEqual(["alice@example.com"]);
  });

  it("IAM throttling while writing: the role is reported (status, audit, metrics) and retried until written", async () => {
    const daveDev = await sessionOf("dave", "staging/Developer");
    const daveRo = await sessionOf("dave", "prod/ReadOnly");
    emulator.faults.set({ throttles: [{ account: STAGING, action: "PutRolePolicy", probability: 1 }] });
    broker.killswitch.revokeSessions("dave@example.com", new Date(), "bob@example.com", "compromised laptop");
    await waitFor(
      "the staging write to fail",
      () => broker.killswitch.status("dave@example.com")[0]!.items.some((i) => i.state === "failed"),
      60_000,
    );
    await waitFor("prod written", () =>
      broker.killswitch
        .status("dave@example.com")[0]!
        .items.some((i) => i.roleArn === READONLY && i.state === "written"),
    );
    const items = broker.killswitch.status("dave@example.com")[0]!.items;
    const byRole = Object.fromEntries(items.map((i) => [i.roleArn, i]));
    expect(byRole[READONLY]?.state).toBe("written");
    expect(byRole[DEVELOPER]).toMatchObject({ state: "failed", errorCode: "AWS_UNAVAILABLE" });
    expect(byRole[DEVELOPER]?.errorMessage).toMatch(/Throttling/);
    await denied(daveRo);
    await listRoles(daveDev); // not denied yet: reported, not hidden
    const failed = auditOf(broker, "killswitch.policy.write").filter((e) => e.target === DEVELOPER);
    expect(failed.at(-1)).toMatchObject({
      outcome: "error",
      detail: { code: "AWS_UNAVAILABLE", people: ["dave@example.com"] },
    });
    const text = await (await fetch(`${broker.url}/metrics`)).text();
    expect(metric(text, "gatehouse_killswitch_policy_writes_total", { outcome: "error" })).toBeGreaterThan(0);
    expect(metric(text, "gatehouse_killswitch_role_items", { state: "failed" })).toBe(1);

    // The throttling ends: the next attempt (after its back-off) writes the policy.
    emulator.faults.set({});
    await waitFor("the retry", () =>
      broker.killswitch.status("dave@example.com")[0]!.items.every((i) => i.state === "written"),
    );
    await denied(daveDev);
    expect(
      broker.killswitch.status("dave@example.com")[0]!.items.find((i) => i.roleArn === DEVELOPER)!.attempts,
    ).toBeGreaterThan(0);
    await broker.killswitch.restore("dave@example.com", "bob@example.com");
    await broker.killswitch.pump(new Date(Date.now() + 13 * 3600_000));
  }, 120_000);

  it("a per-second IAM cap: the SDK's own retries get every write through in the first pass", async () => {
    const s = await sessionOf("dave", "staging/Developer");
    await sessionOf("dave", "prod/ReadOnly");
    emulator.faults.set({ throttles: [{ action: "PutRolePolicy", perSecond: 1 }] });
    const { revocation } = broker.killswitch.revokeSessions(
      "dave@example.com",
      new Date(),
      "bob@example.com",
    );
    await broker.killswitch.settled();
    expect(
      broker.killswitch
        .status("dave@example.com")
        .at(-1)!
        .items.map((i) => i.state),
    ).toEqual(["written", "written"]);
    expect(revocation.email).toBe("dave@example.com");
    await denied(s);
    await broker.killswitch.restore("dave@example.com", "bob@example.com");
    await broker.killswitch.pump(new Date(Date.now() + 13 * 3600_000));
  });
});

describe("offboarding: disabling a person cuts their live sessions", () => {
  it("an admin's disable refuses carol's token and denies her keys at once; enabling lets a new session work", async () => {
    const before = await sessionOf("carol", "staging/Developer");
    await listRoles(before);
    const off = await call("bob", "POST", "/v1/admin/people/carol@example.com/disable", {
      reason: "laptop stolen (INC-77)",
    });
    expect(off.status).toBe(200);
    // Her token, still unexpired, is refused; the kill switch planned a deny for the role she used.
    const refused = await call("carol", "POST", "/v1/credentials", { role: "staging/Developer" });
    expect(refused.status).toBe(401);
    expect(refused.json.code).toBe("PERSON_DISABLED");
    await broker.killswitch.settled();
    const [mine] = broker.killswitch.status("carol@example.com");
    expect(mine?.revocation.reason).toBe("laptop stolen (INC-77)");
    expect(mine?.items.map((i) => [i.roleArn, i.state])).toEqual([[DEVELOPER, "written"]]);
    await denied(before);
    const plan = auditOf(broker, "killswitch.revoke").find((e) => e.target === "carol@example.com");
    expect(plan?.actor).toBe("gatehouse");
    expect(auditOf(broker, "person.disable").some((e) => e.target === "carol@example.com")).toBe(true);

    const on = await call("bob", "POST", "/v1/admin/people/carol@example.com/enable");
    expect(on.status).toBe(200);
    await waitFor("the revocation lifted", () =>
      broker.killswitch.status("carol@example.com").every((x) => x.revocation.restoredAt !== null),
    );
    await waitFor("a new session passing the deny", async () => {
      const fresh = await sessionOf("carol", "staging/Developer");
      try {
        await listRoles(fresh);
        return true;
      } catch {
        return false;
      } finally {
        fresh.destroy();
      }
    });
    // The old keys stay denied until they expire; past that, the deny goes (and leaves the role as it was
    // for the tests below).
    await denied(before);
    await broker.killswitch.pump(new Date(Date.now() + 13 * 3600_000));
    expect(await denyPolicy(STAGING, "Developer")).toBeNull();
  });
});

describe("IAM's inline-policy size limit", () => {
  it("a role too full for the deny statement is reported POLICY_REFUSED and retried, never skipped", async () => {
    const dev = await sessionOf("dave", "staging/Developer");
    const spoke = iam(emulator, await viaCentral(emulator, spokeRole(STAGING), "gatehouse-test"), 1);
    // An inline policy of 10,100 characters leaves too little room beside it for one statement.
    const filler = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${"b".repeat(10_000)}/*` },
      ],
    });
    await spoke.send(
      new PutRolePolicyCommand({ RoleName: "Developer", PolicyName: "big", PolicyDocument: filler }),
    );
    try {
      await broker.syncer.syncRole(STAGING, "Developer");
      broker.killswitch.revokeSessions("dave@example.com", new Date(), "bob@example.com", "incident");
      await broker.killswitch.settled();
      const item = broker.killswitch
        .status("dave@example.com")
        .at(-1)!
        .items.find((i) => i.roleArn === DEVELOPER)!;
      expect(item).toMatchObject({ state: "failed", errorCode: "POLICY_REFUSED", attempts: 1 });
      expect(item.errorMessage).toMatch(/10240 characters/);
      expect(item.nextAttemptAt).not.toBeNull();
      expect(auditOf(broker, "killswitch.policy.write").at(-1)).toMatchObject({
        target: DEVELOPER,
        outcome: "error",
        detail: { code: "POLICY_REFUSED", people: ["dave@example.com"] },
      });
      expect(await denyPolicy(STAGING, "Developer")).toBeNull();

      // Room made (the big policy removed): the next attempt writes it.
      await spoke.send(new DeleteRolePolicyCommand({ RoleName: "Developer", PolicyName: "big" }));
      await broker.syncer.syncRole(STAGING, "Developer");
      await broker.killswitch.pump(new Date(Date.now() + 61_000));
      expect(
        broker.killswitch
          .status("dave@example.com")
          .at(-1)!
          .items.find((i) => i.roleArn === DEVELOPER)!.state,
      ).toBe("written");
      await denied(dev);
    } finally {
      await spoke
        .send(new DeleteRolePolicyCommand({ RoleName: "Developer", PolicyName: "big" }))
        .catch(() => {});
      spoke.destroy();
      await broker.killswitch.restore("dave@example.com", "bob@example.com");
      await broker.killswitch.pump(new Date(Date.now() + 13 * 3600_000));
    }
  }, 60_000);
});

describe("a broker stopped before the last deny policy", () => {
  it("finishes the revocation at its next start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-killswitch-"));
    try {
      let b = await startTestBroker({ issuer: issuer.issuer, awsUrl: emulator.url, dir });
      const carol = { email: "carol@example.com", groups: ["engineers"] };
      tokens = { ...tokens, ...(await signTokens(issuer, { carol })) } as typeof tokens;
      const dev = await sessionOf("carol" as Who, "staging/Developer", b);
      const ro = await sessionOf("carol" as Who, "prod/ReadOnly", b);
      // prod's IAM refuses every write, so the stop comes after staging's policy and before prod's.
      emulator.faults.set({ throttles: [{ account: PROD, action: "PutRolePolicy", probability: 1 }] });
      b.killswitch.revokeSessions("carol@example.com", new Date(), "bob@example.com", "incident");
      await waitFor(
        "staging written, prod not",
        () => {
          const items = b.killswitch.status("carol@example.com")[0]?.items ?? [];
          return items.some((i) => i.state === "written") && items.some((i) => i.state === "failed");
        },
        60_000,
      );
      // The database this broker used (a file, or a PostgreSQL database in the PostgreSQL pass).
      const database = b.database;
      await b.stop();
      emulator.faults.set({});
      await listRoles(ro); // still works: prod's deny was never written

      // The operator's view while the broker is down: the failed role, why, and exit 1.
      const config = join(dir, "gatehouse.yaml");
      writeFileSync(config, brokerYaml({ issuer: issuer.issuer, awsUrl: emulator.url, database }));
      const down = await brokerCli([
        "killswitch",
        "status",
        "--config",
        config,
        "--email",
        "carol@example.com",
      ]);
      expect(down.code).toBe(1);
      expect(down.stdout).toContain('"carol@example.com" revoked');
      expect(down.stdout).toMatch(/failed +arn:aws:iam::222222222222:role\/ReadOnly .*AWS_UNAVAILABLE/);
      expect(down.stdout).toMatch(/written +arn:aws:iam::333333333333:role\/Developer/);

      b = await startTestBroker({ issuer: issuer.issuer, awsUrl: emulator.url, dir });
      try {
        await waitFor("prod written after the restart", () =>
          b.killswitch.status("carol@example.com")[0]!.items.every((i) => i.state === "written"),
        );
        await denied(ro);
        await denied(dev);
        const up = await brokerCli([
          "killswitch",
          "status",
          "--config",
          join(dir, "gatehouse.yaml"),
          "--json",
        ]);
        expect(up.code).toBe(0);
        const carol = JSON.parse(up.stdout).revocations.find(
          (r: { revocation: { email: string } }) => r.revocation.email === "carol@example.com",
        );
        expect(carol.items.map((i: { state: string }) => i.state)).toEqual(["written", "written"]);
        expect(auditOf(b, "killswitch.policy.put").map((e) => e.target)).toContain(READONLY);
        await b.killswitch.restore("carol@example.com", "bob@example.com");
        await b.killswitch.pump(new Date(Date.now() + 13 * 3600_000));
      } finally {
        await b.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
