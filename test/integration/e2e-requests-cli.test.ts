// End to end, everything really started (emulator, dev IdP with its login form, broker, an agent per person as a
// child process): alice asks with `gatehouse request policy` for an inline policy on prod's Billing role, bob
// finds it with `request list --approver` and approves it, and it is in IAM; alice cannot approve her own; a
// policy with lint errors never leaves alice's machine. `request create --wait` blocks alice's CLI while bob
// approves (exit 0) or rejects (exit 1, the reason on stderr) from his; `--timeout` ends a wait with 124.
// Each agent's "browser" fills the IdP's login form with its person's e-mail (GATEHOUSE_TEST_LOGIN), so two
// people sign in to the one issuer the broker trusts.

import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PermissionRequest } from "../../shared/requests.ts";
import {
  cleanUp,
  formLoginHome,
  GATEHOUSE,
  gatehouse,
  type Home,
  run,
  type System,
  sleep,
  startAgent,
  startSystem,
} from "../support/e2e.ts";

const SCRIPT = "/usr/bin/script";
const BILLING = "arn:aws:iam::222222222222:role/Billing";
const READ_BUCKET = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::prod-reports/*" }],
});
const NO_RESOURCE = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "s3:GetObject" }],
});

let system: System | undefined;
let alice: Home;
let bob: Home;
let goodFile: string;
let badFile: string;
let requestId: string;

/** alice's `request policy` or `request create` of `file` for Billing, with this justification and expiry. */
function askForPolicy(
  verb: "policy" | "create",
  file: string,
  justification: string,
  expires: string,
  ...extra: string[]
) {
  return gatehouse(
    alice,
    "request",
    verb,
    "--target",
    BILLING,
    "--policy",
    file,
    "--justification",
    justification,
    "--expires",
    expires,
    ...extra,
  );
}

/** The Billing role of prod in the emulator's IAM. */
const billingRole = () => system!.emulator.world.accounts.get("222222222222")!.roles.get("billing")!;

beforeAll(async () => {
  system = await startSystem({ brokerExtra: "requests:\n  approver_groups: [approvers]\n", formLogin: true });
  alice = formLoginHome(system, "alice@example.com");
  bob = formLoginHome(system, "bob@example.com");
  goodFile = join(alice.dir, "read-bucket.json");
  badFile = join(alice.dir, "no-resource.json");
  writeFileSync(goodFile, READ_BUCKET);
  writeFileSync(badFile, NO_RESOURCE);
  await Promise.all([startAgent(alice), startAgent(bob)]);
  const [a, b] = await Promise.all([gatehouse(alice, "login"), gatehouse(bob, "login")]);
  expect(a.stdout).toContain("Signed in as alice@example.com");
  expect(b.stdout).toContain("Signed in as bob@example.com");
}, 45_000);

afterAll(async () => {
  await cleanUp();
  await system?.close();
});

describe("gatehouse request", () => {
  it("alice asks for an inline policy on Billing; the id and each target's state are printed", async () => {
    const r = await askForPolicy("policy", goodFile, "quarterly report needs the bucket", "8h");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const m = /^Request ([0-9a-f]+) \(inline-policy\)$/m.exec(r.stdout);
    expect(m).not.toBeNull();
    requestId = m![1]!;
    expect(r.stdout).toContain(`${BILLING}  pending`);
  });

  it("alice cannot approve her own request: SELF_APPROVAL, exit 1", async () => {
    const r = await gatehouse(alice, "request", "approve", requestId);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/\[SELF_APPROVAL\]$/m);
  });

  it("bob finds it with list --approver (text and JSON) and approves it; it is in IAM", async () => {
    const list = await gatehouse(bob, "request", "list", "--approver");
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(requestId);
    expect(list.stdout).toContain("alice@example.com");
    const json = await gatehouse(bob, "request", "list", "--approver", "--json");
    expect(json.code).toBe(0);
    const listed = JSON.parse(json.stdout) as PermissionRequest[];
    expect(listed.map((x) => x.id)).toContain(requestId);

    const ok = await gatehouse(bob, "request", "approve", requestId);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`${BILLING}  applied`);
    const role = billingRole();
    expect(JSON.parse(role.inlinePolicies[`gatehouse-${requestId}-0`]!)).toEqual(JSON.parse(READ_BUCKET));
  });

  it("alice's request show says applied and names bob's approval; --json parses", async () => {
    const text = await gatehouse(alice, "request", "show", requestId);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${BILLING}  applied`);
    expect(text.stdout).toContain("bob@example.com approved");
    const json = await gatehouse(alice, "request", "show", requestId, "--json");
    expect(json.code).toBe(0);
    const r = JSON.parse(json.stdout) as PermissionRequest;
    expect(r.id).toBe(requestId);
    expect(r.targets[0]!.state).toBe("applied");
    expect(r.approvals[0]!.approver).toBe("bob@example.com");
  });

  it("a policy with lint errors is refused locally (exit 1), and nothing reaches the broker", async () => {
    const before = (await gatehouse(alice, "request", "list", "--json")).stdout;
    const r = await askForPolicy("policy", badFile, "quarterly report needs the bucket", "7d");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("MISSING_RESOURCE");
    expect(r.stderr).toMatch(/\[POLICY_REFUSED\]$/m);
    expect(r.stdout).toBe("");
    const after = (await gatehouse(alice, "request", "list", "--json")).stdout;
    expect((JSON.parse(after) as unknown[]).length).toBe((JSON.parse(before) as unknown[]).length);
  });

  it("bob approves with an edited policy and a shorter expiry; alice's show has the diff", async () => {
    const edited = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::prod-reports/q3/*" }],
    });
    const editedFile = join(bob.dir, "edited.json");
    writeFileSync(editedFile, edited);
    const created = await askForPolicy(
      "policy",
      goodFile,
      "quarterly report needs the bucket",
      "7d",
      "--json",
    );
    expect(created.code).toBe(0);
    const id = (JSON.parse(created.stdout) as PermissionRequest).id;
    const ok = await gatehouse(bob, "request", "approve", id, "--policy", editedFile, "--expires", "1d");
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const role = billingRole();
    expect(JSON.parse(role.inlinePolicies[`gatehouse-${id}-0`]!)).toEqual(JSON.parse(edited));
    const show = await gatehouse(alice, "request", "show", id);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain("The approver changed the policy:");
    expect(show.stdout).toContain("prod-reports/q3/*");
  });

  it("alice asks for access to a role and cancels it; bob rejects another", async () => {
    const ask = (...extra: string[]) =>
      gatehouse(
        alice,
        "request",
        "access",
        "--role",
        "prod/Billing",
        "--justification",
        "month-end close support",
        "--expires",
        "1h",
        ...extra,
      );
    const first = await ask("--json");
    expect(first.code).toBe(0);
    const a = JSON.parse(first.stdout) as PermissionRequest;
    expect(a.kind).toBe("role-access");
    const cancelled = await gatehouse(alice, "request", "cancel", a.id);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toContain(`${BILLING}  cancelled`);

    const second = await ask();
    expect(second.code).toBe(0);
    const id = /^Request ([0-9a-f]+)/.exec(second.stdout)![1]!;
    const rejected = await gatehouse(bob, "request", "reject", id, "--reason", "use the reports role");
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toContain(`${BILLING}  rejected`);
    // Nothing left to do with it: one line and the broker's code.
    const again = await gatehouse(alice, "request", "cancel", id);
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split("\n")).toHaveLength(1);
    expect(again.stderr.trim()).toMatch(/\[ILLEGAL_TRANSITION\]$/);
  });

  // `request create … --wait`: a script asks and goes on once the request is applied, or stops when not.
  const create = (who: Home, ...args: string[]) =>
    gatehouse(who, "request", "create", "--justification", "nightly export job needs it", ...args);
  /** alice's `create` of the good policy for Billing, for 8 hours. */
  const createForBilling = (...extra: string[]) =>
    create(alice, "--target", BILLING, "--policy", goodFile, "--expires", "8h", ...extra);

  /** Bob's view of alice's pending request with this justification, polled until the broker has it. */
  async function pendingFor(justification: string): Promise<PermissionRequest> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const list = await gatehouse(bob, "request", "list", "--approver", "--json");
      expect(list.code).toBe(0);
      const found = (JSON.parse(list.stdout) as PermissionRequest[]).find(
        (x) => x.justification === justification,
      );
      if (found) return found;
      await sleep(100);
    }
    throw new Error(`no pending request "${justification}" reached bob`);
  }

  it("create --wait --json: alice waits while bob approves from another process; exit 0, the final JSON", async () => {
    const justification = "wait for bob to approve this one";
    let settled = false;
    const waiting = askForPolicy("create", goodFile, justification, "8h", "--wait", "--json").finally(() => {
      settled = true;
    });
    const pending = await pendingFor(justification);
    await sleep(500); // a few polls go by with the target pending
    expect(settled).toBe(false);
    const ok = await gatehouse(
      bob,
      "request",
      "approve",
      pending.id,
      "--comment",
      "fine for the export",
      "--json",
    );
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const approved = JSON.parse(ok.stdout) as PermissionRequest;
    expect(approved.id).toBe(pending.id);
    expect(approved.targets[0]!.state).toBe("applied");
    expect(approved.approvals[0]!.comment).toBe("fine for the export");

    const r = await waiting;
    // stderr is not a terminal here: no progress lines, nothing at all.
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const final = JSON.parse(r.stdout) as PermissionRequest;
    expect(final.id).toBe(pending.id);
    expect(final.targets.map((t) => t.state)).toEqual(["applied"]);
    const role = billingRole();
    expect(role.inlinePolicies[`gatehouse-${pending.id}-0`]).toBeDefined();
  });

  it("create --role … --wait: bob rejects; alice's wait exits 1 naming the target, bob and the reason", async () => {
    const justification = "wait for bob to reject this one";
    const waitingFor = gatehouse(
      alice,
      "request",
      "create",
      "--role",
      "prod/Billing",
      "--justification",
      justification,
      "--expires",
      "1h",
      "--wait",
    );
    const pending = await pendingFor(justification);
    expect(pending.kind).toBe("role-access");
    const no = await gatehouse(
      bob,
      "request",
      "reject",
      pending.id,
      "--reason",
      "ask for ReadOnly instead",
      "--json",
    );
    expect(no.code).toBe(0);
    expect((JSON.parse(no.stdout) as PermissionRequest).targets[0]!.state).toBe("rejected");

    const r = await waitingFor;
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`Request ${pending.id} (role-access)`);
    expect(r.stdout).toContain(`${BILLING}  rejected`);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      `gatehouse: request ${pending.id}: ${BILLING} rejected by bob@example.com: ask for ReadOnly instead [REQUEST_REJECTED]`,
    );
  });

  it("--timeout: still pending when it runs out exits 124 with the id; request wait ID goes on", async () => {
    const t0 = Date.now();
    const r = await createForBilling("--wait", "--timeout", "1s");
    expect(r.code).toBe(124);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const id = /^Request ([0-9a-f]+) \(inline-policy\)$/m.exec(r.stdout)![1]!;
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^gatehouse: request ${id}: still waiting after 1s \\(${BILLING} pending\\).*\\[TIMEOUT\\]$`,
      ),
    );

    const again = await gatehouse(alice, "request", "wait", id, "--timeout", "1s", "--json");
    expect(again.code).toBe(124);
    expect((JSON.parse(again.stdout) as PermissionRequest).targets[0]!.state).toBe("pending");

    const cancelled = await gatehouse(alice, "request", "cancel", id, "--json");
    expect(cancelled.code).toBe(0);
    const done = await gatehouse(alice, "request", "wait", id, "--json");
    expect(done.code).toBe(1);
    expect((JSON.parse(done.stdout) as PermissionRequest).targets[0]!.state).toBe("cancelled");
    expect(done.stderr.trim()).toMatch(/cancelled by alice@example\.com \[REQUEST_CANCELLED\]$/);
  });

  it.skipIf(!existsSync(SCRIPT))("on a terminal, --wait prints its progress on stderr", async () => {
    const created = await createForBilling("--json");
    const id = (JSON.parse(created.stdout) as PermissionRequest).id;
    // script(1) gives the command a terminal (stdout and stderr both); -e passes its exit code on.
    const command = [process.execPath, GATEHOUSE, "request", "wait", id, "--timeout", "2s"].join(" ");
    const r = await run(SCRIPT, ["-qec", command, "/dev/null"], alice.env);
    expect(r.code).toBe(124);
    expect(r.stdout).toContain(`gatehouse: request ${id}: waiting — ${BILLING} pending`);
    expect(r.stdout).toContain("[TIMEOUT]");
    expect((await gatehouse(alice, "request", "cancel", id)).code).toBe(0);
  });

  it("create --json (policy and --access) parses; create without a kind, or a bad --timeout, is exit 2", async () => {
    const p = await createForBilling("--json");
    expect(p.code).toBe(0);
    const pr = JSON.parse(p.stdout) as PermissionRequest;
    expect(pr.kind).toBe("inline-policy");
    expect(pr.targets.map((t) => [t.arn, t.state])).toEqual([[BILLING, "pending"]]);
    const a = await create(alice, "--access", "--target", BILLING, "--expires", "1h", "--json");
    expect(a.code).toBe(0);
    expect((JSON.parse(a.stdout) as PermissionRequest).kind).toBe("role-access");
    for (const id of [pr.id, (JSON.parse(a.stdout) as PermissionRequest).id])
      expect((await gatehouse(alice, "request", "cancel", id)).code).toBe(0);

    const neither = await create(alice, "--target", BILLING, "--expires", "8h");
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain("[BAD_ARGUMENT]");
    const both = await create(alice, "--role", BILLING, "--policy", goodFile, "--expires", "8h");
    expect(both.code).toBe(2);
    const badTimeout = await gatehouse(alice, "request", "wait", requestId, "--timeout", "soon");
    expect(badTimeout.code).toBe(2);
    expect(badTimeout.stderr).toContain("--timeout");
    // An applied request: wait returns at once.
    const applied = await gatehouse(alice, "request", "wait", requestId);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(`${BILLING}  applied`);
  });

  it("a bad duration or a missing flag is a usage error, exit 2", async () => {
    const r = await gatehouse(
      alice,
      "request",
      "access",
      "--role",
      BILLING,
      "--justification",
      "quarterly report",
      "--expires",
      "91d",
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("[BAD_ARGUMENT]");
    const missing = await gatehouse(alice, "request", "reject", requestId);
    expect(missing.code).toBe(2);
  });

  it("resolve: a policy changed outside Gatehouse is reported at expiry; bob keeps it unmanaged, alice may not", async () => {
    const sys = system!;
    const r = JSON.parse(
      (await askForPolicy("create", goodFile, "month-end report for finance", "8h", "--json")).stdout,
    ) as PermissionRequest;
    expect((await gatehouse(bob, "request", "approve", r.id)).code).toBe(0);
    const role = billingRole();
    const name = `gatehouse-${r.id}-0`;
    const changed = READ_BUCKET.replace("prod-reports", "prod-everything");
    role.inlinePolicies[name] = changed;
    await sys.broker.requests.expireDue(new Date(Date.now() + 9 * 3600_000));
    const shown = await gatehouse(alice, "request", "show", r.id);
    expect(shown.stdout).toContain(`request resolve ${r.id} --target 0 --delete|--keep`);
    const refused = await gatehouse(alice, "request", "resolve", r.id, "--target", "0", "--keep");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/\[[A-Z_]+\]/);
    expect((await gatehouse(bob, "request", "resolve", r.id, "--target", "0")).code).toBe(2);
    const kept = await gatehouse(bob, "request", "resolve", r.id, "--target", "0", "--keep", "--json");
    expect(kept.code).toBe(0);
    const after = JSON.parse(kept.stdout) as PermissionRequest;
    expect(after.targets[0]!.state).toBe("expired");
    expect(after.targets[0]!.note).toBeTruthy();
    expect(role.inlinePolicies[name]).toBe(changed);
  });
});
