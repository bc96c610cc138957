// SECURITY 32 against the real broker, emulator and a real webhook receiver: Gatehouse's own roles are
// never served whatever their tags say (an incident in the audit, the webhook and /metrics), and access
// tags changed outside Gatehouse are noticed by the next sync (trust, alert, hold; held across a restart
// until an admin accepts).

import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { TagRoleCommand, UntagRoleCommand } from "@aws-sdk/client-iam";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import type { TagChange } from "../../shared/api.ts";
import { PROD, STAGING, spokeRole, workRole } from "../support/aws.ts";
import { brokerYaml } from "../support/broker.ts";
import { metric } from "../support/e2e.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { HookReceiver, RequestsBroker, signPeople, until, type Who } from "../support/requests.ts";
import { spokeIam } from "../support/spoke-iam.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

let issuer: TestIssuer;
let tokens: Record<Who, string>;
/** The receiver of the current test (change ids restart at 1 with each broker's database). */
let hook: HookReceiver;

beforeAll(async () => {
  issuer = await startTestIssuer();
  tokens = await signPeople(issuer);
});

afterAll(async () => {
  await issuer?.close();
});

/** Each test gets its own emulator (tags are changed in it) and a broker in `mode`, synced once. */
const opened: { emulator: Emulator; broker: RequestsBroker; hook: HookReceiver }[] = [];
async function stack(mode?: "trust" | "alert" | "hold") {
  const emulator = await startDemoEmulator();
  hook = new HookReceiver();
  await hook.start();
  const broker = new RequestsBroker({
    emulator,
    issuer,
    tokens,
    extra: `requests:\n  approver_groups: [approvers]\n  webhook_url: ${hook.url}\n  webhook_backoff_ms: 10\n`,
    ...(mode ? { accessExtra: `external_tag_changes: ${mode}` } : {}),
  });
  opened.push({ emulator, broker, hook });
  await broker.start();
  const tag = async (account: string, role: string, key: string, value: string) =>
    (await spokeIam(emulator, account)).send(
      new TagRoleCommand({ RoleName: role, Tags: [{ Key: key, Value: value }] }),
    );
  const untag = async (account: string, role: string, key: string) =>
    (await spokeIam(emulator, account)).send(new UntagRoleCommand({ RoleName: role, TagKeys: [key] }));
  const sync = async () => {
    const r = await broker.call("bob", "POST", "/v1/sync", {});
    expect(r.status).toBe(200);
  };
  const credentials = (who: Who, role: string) => broker.call(who, "POST", "/v1/credentials", { role });
  const changes = async (state?: string): Promise<TagChange[]> => {
    const r = await broker.call("bob", "GET", `/v1/admin/tag-changes${state ? `?state=${state}` : ""}`);
    expect(r.status).toBe(200);
    return r.json.changes as TagChange[];
  };
  const audit = (action: string) => broker.broker.store.listAudit({ action });
  const metrics = async () => (await fetch(`${broker.broker.url}/metrics`)).text();
  return { emulator, broker, tag, untag, sync, credentials, changes, audit, metrics };
}

afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.broker.close();
    await o.emulator.close();
    await o.hook.close();
  }
});

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

/** A problem body without what differs per request (instance, request id). */
const problem = (j: Record<string, unknown>) => ({ status: j.status, code: j.code, title: j.title });

describe("SECURITY 32: Gatehouse's own roles are never anyone's, whatever their tags say", () => {
  it("a spoke role tagged for alice: never in her roles, refused like a missing role, an incident in audit, webhook and /metrics", async () => {
    const s = await stack();
    const spoke = spokeRole(STAGING);
    await s.tag(STAGING, "GatehouseSpoke", "gatehouse-authorized", "alice@example.com");
    await s.tag(PROD, "GatehouseSpoke", "gatehouse-authorized-cli-only", "engineers");
    await s.sync();

    const roles = await s.broker.roles("alice");
    expect(roles).toContain("staging/Developer");
    expect(roles.filter((r) => /GatehouseSpoke|GatehouseCentral/.test(r))).toEqual([]);
    expect(
      s.broker.broker.index.find({ email: "alice@example.com", groups: [] }, { kind: "arn", arn: spoke }),
    ).toBeUndefined();

    // Refused exactly like a role that does not exist, by name and by ARN, for credentials and console.
    const missing = await s.credentials("alice", "staging/NoSuchRole");
    expect(missing.status).toBe(404);
    for (const role of ["staging/GatehouseSpoke", spoke, "prod/GatehouseSpoke"]) {
      const r = await s.credentials("alice", role);
      expect(r.status).toBe(404);
      expect(problem(r.json)).toEqual(problem(missing.json));
      const c = await s.broker.call("alice", "POST", "/v1/console", { role });
      expect(c.status).toBe(404);
      expect(c.json.code).toBe("ROLE_NOT_FOUND");
    }
    // No session of a spoke was ever issued for alice.
    expect(
      [...s.emulator.world.sessions.values()].filter(
        (x) => x.roleName === "GatehouseSpoke" && x.sourceIdentity === "alice@example.com",
      ),
    ).toEqual([]);

    // The incident: one audit row per tagged own role, a webhook message each, and the metrics.
    const rows = s.audit("own_role.tagged");
    expect(rows.map((r) => r.target).sort()).toEqual([spokeRole(PROD), spoke].sort());
    expect(rows.find((r) => r.target === spoke)!.detail).toMatchObject({
      tags: { "gatehouse-authorized": ["alice@example.com"] },
    });
    expect(rows.every((r) => r.outcome === "denied")).toBe(true);
    await until(
      () => hook.got.filter((d) => d.body.gatehouse.event === "own-role-tagged").length >= 2,
      10_000,
      "the incident webhooks",
    );
    const got = hook.got.filter(
      (d) => d.body.gatehouse.event === "own-role-tagged" && d.body.gatehouse.targets?.includes(spoke),
    );
    expect(got.length).toBeGreaterThanOrEqual(1);
    expect(got[0]!.body.text).toMatch(/INCIDENT/);
    let m = await s.metrics();
    expect(metric(m, "gatehouse_own_role_tag_incidents_total", { account: STAGING })).toBe(1);
    expect(metric(m, "gatehouse_own_roles_tagged", { account: STAGING })).toBe(1);
    expect(metric(m, "gatehouse_own_roles_tagged", { account: PROD })).toBe(1);

    // Another sync with the same tags: still excluded, the gauge stays, no second incident.
    await s.sync();
    expect(s.audit("own_role.tagged")).toHaveLength(2);
    m = await s.metrics();
    expect(metric(m, "gatehouse_own_role_tag_incidents_total", { account: STAGING })).toBe(1);
    expect((await s.credentials("alice", "staging/GatehouseSpoke")).status).toBe(404);

    // Tag removed: the gauge goes back to 0.
    await s.untag(STAGING, "GatehouseSpoke", "gatehouse-authorized");
    await s.sync();
    m = await s.metrics();
    expect(metric(m, "gatehouse_own_roles_tagged", { account: STAGING })).toBe(0);
  });

  it("a restart on the same database does not serve a tagged own role either (the index is loaded from the store)", async () => {
    const s = await stack();
    await s.tag(STAGING, "GatehouseSpoke", "gatehouse-authorized", "alice@example.com");
    await s.sync();
    await s.broker.stop();
    await s.broker.start();
    expect(await s.broker.roles("alice")).not.toContain("staging/GatehouseSpoke");
    expect((await s.credentials("alice", "staging/GatehouseSpoke")).status).toBe(404);
  });
});

describe("SECURITY 32: access-tag changes made outside Gatehouse are noticed", () => {
  const readOnly = workRole(PROD, "ReadOnly");

  it("hold: a tag adding carol is not served until an admin accepts it, across a restart", async () => {
    const s = await stack("hold");
    expect(await s.broker.roles("carol")).toEqual([]);
    await s.tag(PROD, "ReadOnly", "gatehouse-authorized", "engineers:carol@example.com");
    await s.sync();

    // Held: carol still has nothing; engineers keep what they had.
    expect(await s.broker.roles("carol")).toEqual([]);
    expect((await s.credentials("carol", "prod/ReadOnly")).status).toBe(404);
    expect(await s.broker.roles("alice")).toContain("prod/ReadOnly");

    const held = await s.changes("held");
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({
      arn: readOnly,
      type: "role",
      name: "ReadOnly",
      before: { "gatehouse-authorized": ["engineers"] },
      after: { "gatehouse-authorized": ["carol@example.com", "engineers"] },
      added: { "gatehouse-authorized": ["carol@example.com"] },
      removed: {},
      mode: "hold",
      state: "held",
      recreated: false,
    });
    const row = s.audit("access_tags.held");
    expect(row).toHaveLength(1);
    expect(row[0]!.detail).toMatchObject({
      before: { "gatehouse-authorized": ["engineers"] },
      after: { "gatehouse-authorized": ["carol@example.com", "engineers"] },
    });
    await until(
      () => hook.got.some((d) => d.body.gatehouse.requestId === `tag-change-${held[0]!.id}`),
      10_000,
      "the held change's webhook",
    );
    expect(
      hook.got.find((d) => d.body.gatehouse.requestId === `tag-change-${held[0]!.id}`)!.body.gatehouse.event,
    ).toBe("tags-held");
    expect(metric(await s.metrics(), "gatehouse_access_tag_changes_held")).toBe(1);

    // Only admins list or accept; carol cannot accept her own access.
    expect((await s.broker.call("alice", "GET", "/v1/admin/tag-changes")).status).toBe(403);
    const self = await s.broker.call("carol", "POST", `/v1/admin/tag-changes/${held[0]!.id}/accept`, {});
    expect(self.status).toBe(403);
    expect(self.json.code).toBe("FORBIDDEN");

    // A sync with nothing new keeps holding; so does a restart (the held state is in the database).
    await s.sync();
    expect(await s.changes("held")).toHaveLength(1);
    await s.broker.stop();
    await s.broker.start();
    expect(await s.broker.roles("carol")).toEqual([]);
    expect((await s.credentials("carol", "prod/ReadOnly")).status).toBe(404);

    // An admin accepts: carol has it at once, audited with who accepted.
    const ok = await s.broker.call("bob", "POST", `/v1/admin/tag-changes/${held[0]!.id}/accept`, {});
    expect(ok.status).toBe(200);
    expect((ok.json.change as TagChange).state).toBe("accepted");
    expect(await s.broker.roles("carol")).toEqual(["prod/ReadOnly"]);
    expect((await s.credentials("carol", "prod/ReadOnly")).status).toBe(200);
    const accepted = s.audit("access_tags.accepted");
    expect(accepted).toHaveLength(1);
    expect(accepted[0]).toMatchObject({ actor: "bob@example.com", target: readOnly });
    expect(await s.changes("held")).toEqual([]);

    // Accepting again, or a change that does not exist, or a hostile id.
    const again = await s.broker.call("bob", "POST", `/v1/admin/tag-changes/${held[0]!.id}/accept`, {});
    expect([again.status, again.json.code]).toEqual([409, "TAG_CHANGE_NOT_HELD"]);
    const none = await s.broker.call("bob", "POST", "/v1/admin/tag-changes/99999/accept", {});
    expect([none.status, none.json.code]).toEqual([404, "TAG_CHANGE_NOT_FOUND"]);
    for (const q of ["state=bogus", "limit=0", "limit=abc", "other=1"]) {
      const r = await s.broker.call("bob", "GET", `/v1/admin/tag-changes?${q}`);
      expect([r.status, r.json.code]).toEqual([400, "BAD_REQUEST"]);
    }
    for (const bad of ["abc", "-1", "1e99", "1%20OR%201"]) {
      const r = await s.broker.call("bob", "POST", `/v1/admin/tag-changes/${bad}/accept`, {});
      expect(r.status).toBe(400);
    }
    // The next sync agrees with what is served: no new change.
    await s.sync();
    expect((await s.changes()).filter((c) => c.state !== "accepted")).toEqual([]);
    expect(await s.broker.roles("carol")).toEqual(["prod/ReadOnly"]);
  });

  it("hold: a removal applies at once (access only shrinks), audited and sent; a change that is undone is withdrawn", async () => {
    const s = await stack("hold");
    expect(await s.broker.roles("alice")).toContain("staging/Developer");
    // staging/Developer: engineers:alice@example.com → engineers (alice keeps it through engineers) and
    // DataPipeline's cli-only data tag removed: alice loses DataPipeline at once.
    await s.untag(STAGING, "DataPipeline", "gatehouse-authorized-cli-only");
    await s.sync();
    expect(await s.broker.roles("alice")).not.toContain("staging/DataPipeline");
    expect(await s.changes("held")).toEqual([]);
    const applied = await s.changes("applied");
    expect(applied).toHaveLength(1);
    expect(applied[0]).toMatchObject({
      arn: workRole(STAGING, "DataPipeline"),
      removed: { "gatehouse-authorized-cli-only": ["data"] },
      added: {},
      state: "applied",
    });
    expect(s.audit("access_tags.changed")).toHaveLength(1);
    await until(
      () => hook.got.some((d) => d.body.gatehouse.requestId === `tag-change-${applied[0]!.id}`),
      10_000,
      "the removal's webhook",
    );

    // An addition undone before anyone accepted it: withdrawn (superseded), nothing held, nothing new.
    await s.tag(PROD, "ReadOnly", "gatehouse-authorized", "engineers:carol@example.com");
    await s.sync();
    const [added] = await s.changes("held");
    await s.tag(PROD, "ReadOnly", "gatehouse-authorized", "engineers");
    await s.sync();
    expect(await s.changes("held")).toEqual([]);
    expect((await s.changes("superseded")).map((c) => c.id)).toEqual([added!.id]);
    expect(s.audit("access_tags.withdrawn")).toHaveLength(1);
    expect(await s.broker.roles("carol")).toEqual([]);
    // A superseded change cannot be accepted: it names tags IAM no longer has.
    const late = await s.broker.call("bob", "POST", `/v1/admin/tag-changes/${added!.id}/accept`, {});
    expect([late.status, late.json.code]).toEqual([409, "TAG_CHANGE_NOT_HELD"]);

    // A mixed change (carol added, engineers removed): the removal applies, the addition waits.
    await s.tag(PROD, "ReadOnly", "gatehouse-authorized", "carol@example.com");
    await s.sync();
    expect(await s.broker.roles("alice")).not.toContain("prod/ReadOnly");
    expect(await s.broker.roles("carol")).toEqual([]);
    const [mixed] = await s.changes("held");
    expect(mixed).toMatchObject({
      added: { "gatehouse-authorized": ["carol@example.com"] },
      removed: { "gatehouse-authorized": ["engineers"] },
    });

    // Putting engineers back is an addition to what is served now (nothing): it waits for an admin too,
    // and replaces the mixed change.
    await s.tag(PROD, "ReadOnly", "gatehouse-authorized", "engineers");
    await s.sync();
    const [back] = await s.changes("held");
    expect(back).toMatchObject({ before: {}, added: { "gatehouse-authorized": ["engineers"] } });
    expect((await s.changes("superseded")).map((c) => c.id)).toContain(mixed!.id);
    expect(await s.broker.roles("alice")).not.toContain("prod/ReadOnly");
    expect((await s.broker.call("bob", "POST", `/v1/admin/tag-changes/${back!.id}/accept`, {})).status).toBe(
      200,
    );
    expect(await s.broker.roles("alice")).toContain("prod/ReadOnly");
    expect(await s.broker.roles("carol")).toEqual([]);
  });

  it("alert (the default): applied at once, audited with before and after, sent to the webhook", async () => {
    const s = await stack();
    await s.tag(PROD, "ReadOnly", "gatehouse-authorized", "engineers:carol@example.com");
    await s.sync();
    expect(await s.broker.roles("carol")).toEqual(["prod/ReadOnly"]);
    const [c] = await s.changes();
    expect(c).toMatchObject({
      mode: "alert",
      state: "applied",
      added: { "gatehouse-authorized": ["carol@example.com"] },
    });
    const rows = s.audit("access_tags.changed");
    expect(rows).toHaveLength(1);
    expect(rows[0]!.detail).toMatchObject({
      before: { "gatehouse-authorized": ["engineers"] },
      after: { "gatehouse-authorized": ["carol@example.com", "engineers"] },
    });
    await until(
      () => hook.got.some((d) => d.body.gatehouse.requestId === `tag-change-${c!.id}`),
      10_000,
      "the change's webhook",
    );
    const d = hook.got.find((x) => x.body.gatehouse.requestId === `tag-change-${c!.id}`)!;
    expect(d.body.gatehouse.event).toBe("tags-changed");
    expect(d.body.text).toContain(readOnly);
    expect(
      metric(await s.metrics(), "gatehouse_access_tag_changes_total", { mode: "alert", state: "applied" }),
    ).toBe(1);
  });

  it("trust: applied and audited, nothing sent to the webhook", async () => {
    const s = await stack("trust");
    await s.tag(PROD, "ReadOnly", "gatehouse-authorized", "engineers:carol@example.com");
    await s.sync();
    expect(await s.broker.roles("carol")).toEqual(["prod/ReadOnly"]);
    const [c] = await s.changes();
    expect(c).toMatchObject({ mode: "trust", state: "applied" });
    expect(s.audit("access_tags.changed")).toHaveLength(1);
    // Something else that is sent (an incident) arrives, and the trusted change never does.
    await s.tag(STAGING, "GatehouseSpoke", "gatehouse-authorized", "carol@example.com");
    await s.sync();
    const incident = s.audit("own_role.tagged")[0]!;
    await until(
      () => hook.got.some((d) => d.body.gatehouse.requestId === `audit-${incident.seq}`),
      10_000,
      "the incident's webhook",
    );
    await s.broker.broker.webhook.settle();
    expect(hook.got.some((d) => d.body.gatehouse.requestId === `tag-change-${c!.id}`)).toBe(false);
  });

  it("gatehouse-broker tags list | accept ID on the broker's database: listed, accepted, audited, served at the next start", async () => {
    const s = await stack("hold");
    await s.tag(PROD, "ReadOnly", "gatehouse-authorized", "engineers:carol@example.com");
    await s.sync();
    const [held] = await s.changes("held");
    await s.broker.stop();
    const file = join(s.broker.dir, "gatehouse.yaml");
    writeFileSync(
      file,
      brokerYaml({
        issuer: issuer.issuer,
        awsUrl: s.emulator.url,
        database: s.broker.db,
        accessExtra: "external_tag_changes: hold",
      }),
    );
    const list = await brokerCli(["tags", "list", "--config", file]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`#${held!.id} held role "${readOnly}"`);
    expect(list.stdout).toContain('"carol@example.com"');
    // Values are printed as JSON strings: nothing below 0x20 but newlines.
    expect(
      [...list.stdout].filter((c) => c !== "\n" && (c < " " || (c >= "\u007f" && c <= "\u009f"))),
    ).toEqual([]);
    const json = JSON.parse((await brokerCli(["tags", "list", "--config", file, "--json"])).stdout);
    expect(json.changes.map((c: TagChange) => c.id)).toEqual([held!.id]);

    for (const bad of [["abc"], ["1.5"]]) {
      const r = await brokerCli(["tags", "accept", ...bad, "--config", file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("[BAD_ARGUMENT]");
    }
    const missing = await brokerCli(["tags", "accept", "999", "--config", file]);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining("[TAG_CHANGE_NOT_FOUND]")]);

    const ok = await brokerCli([
      "tags",
      "accept",
      String(held!.id),
      "--config",
      file,
      "--by",
      "gina@example.com",
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("accepted");
    const again = await brokerCli(["tags", "accept", String(held!.id), "--config", file]);
    expect([again.code, again.stderr]).toEqual([2, expect.stringContaining("[TAG_CHANGE_NOT_HELD]")]);

    await s.broker.start();
    expect(await s.broker.roles("carol")).toEqual(["prod/ReadOnly"]);
    expect(s.audit("access_tags.accepted")[0]).toMatchObject({
      actor: "gina@example.com",
      detail: { via: "gatehouse-broker tags accept" },
    });
    expect((await brokerCli(["tags", "list", "--config", file])).stdout).toMatch(
      /no held access-tag changes/,
    );
    expect(await brokerCli(["tags", "frobnicate", "--config", file])).toMatchObject({ code: 2 });
  }, 180_000);
});
