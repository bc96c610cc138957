// End to end through the CLI (emulator, dev IdP, broker, an agent per person as a child process): alice
// asks with `gatehouse request create --attach … --wait` for a managed policy on prod's Billing role and
// her CLI waits while bob approves from his; it is attached in IAM; `show` and `list` name the policy.
// `--group` reaches the broker with a user/NAME target and comes back refused with the broker's reason.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PermissionRequest } from "../../shared/requests.ts";
import {
  cleanUp,
  formLoginHome,
  gatehouse,
  type Home,
  type System,
  sleep,
  startAgent,
  startSystem,
} from "../support/e2e.ts";

const BILLING = "arn:aws:iam::222222222222:role/Billing";
const READ_IAM = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";

let system: System | undefined;
let alice: Home;
let bob: Home;

const billingRole = () => system!.emulator.world.accounts.get("222222222222")!.roles.get("billing")!;

beforeAll(async () => {
  system = await startSystem({ brokerExtra: "requests:\n  approver_groups: [approvers]\n", formLogin: true });
  alice = formLoginHome(system, "alice@example.com");
  bob = formLoginHome(system, "bob@example.com");
  await Promise.all([startAgent(alice), startAgent(bob)]);
  const [a, b] = await Promise.all([gatehouse(alice, "login"), gatehouse(bob, "login")]);
  expect(a.stdout).toContain("Signed in as alice@example.com");
  expect(b.stdout).toContain("Signed in as bob@example.com");
}, 45_000);

afterAll(async () => {
  await cleanUp();
  await system?.close();
});

describe("gatehouse request create --attach / --group", () => {
  it("--attach NAME --wait --json: alice waits while bob approves; exit 0; attached in IAM", async () => {
    const justification = "read IAM for the access review";
    let settled = false;
    const waiting = gatehouse(
      alice,
      "request",
      "create",
      "--attach",
      "IAMReadOnlyAccess",
      "--target",
      "prod/Billing",
      "--justification",
      justification,
      "--expires",
      "8h",
      "--wait",
      "--json",
    ).finally(() => {
      settled = true;
    });
    let pending: PermissionRequest | undefined;
    for (let i = 0; i < 150 && !pending; i++) {
      const list = await gatehouse(bob, "request", "list", "--approver", "--json");
      expect(list.code).toBe(0);
      pending = (JSON.parse(list.stdout) as PermissionRequest[]).find(
        (x) => x.justification === justification,
      );
      if (!pending) await sleep(100);
    }
    expect(pending).toMatchObject({
      kind: "managed-policy",
      targets: [{ arn: BILLING, policyArn: READ_IAM }],
    });
    await sleep(300);
    expect(settled).toBe(false);
    expect(billingRole().managedPolicies).not.toContain(READ_IAM);

    const listed = await gatehouse(bob, "request", "list", "--approver");
    expect(listed.stdout).toContain("managed-policy");
    const ok = await gatehouse(bob, "request", "approve", pending!.id);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`${BILLING}  attach ${READ_IAM}  applied`);

    const r = await waiting;
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const final = JSON.parse(r.stdout) as PermissionRequest;
    expect(final.targets.map((t) => [t.state, t.policyArn])).toEqual([["applied", READ_IAM]]);
    expect(billingRole().managedPolicies).toContain(READ_IAM);

    const show = await gatehouse(alice, "request", "show", pending!.id);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain("Request");
    expect(show.stdout).toContain(`attach ${READ_IAM}  applied`);
  });

  it("--attach of a policy that does not exist: exit 1 with the broker's reason", async () => {
    const r = await gatehouse(
      alice,
      "request",
      "create",
      "--attach",
      "NoSuchPolicyAnywhere",
      "--target",
      BILLING,
      "--justification",
      "read IAM for the access review",
      "--expires",
      "8h",
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/NoSuchPolicyAnywhere.*\[POLICY_NOT_FOUND\]$/m);
  });

  it("--group with user/NAME reaches the broker (no such group in the demo: GROUP_NOT_FOUND); a role is refused", async () => {
    const ask = (target: string) =>
      gatehouse(
        alice,
        "request",
        "create",
        "--group",
        "Auditors",
        "--target",
        target,
        "--justification",
        "join the auditors for the review",
        "--expires",
        "8h",
      );
    const r = await ask("user/deploy-bot");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no IAM group "Auditors" in account 222222222222.*\[GROUP_NOT_FOUND\]$/m);
    const role = await ask("prod/Billing");
    expect(role.code).toBe(1);
    expect(role.stderr).toMatch(/groups hold users, not roles.*\[BAD_REQUEST\]$/m);
  });

  it("--attach and --group together is a usage error (exit 2)", async () => {
    const r = await gatehouse(
      alice,
      "request",
      "create",
      "--attach",
      "IAMReadOnlyAccess",
      "--group",
      "Auditors",
      "--target",
      BILLING,
      "--justification",
      "read IAM for the access review",
      "--expires",
      "8h",
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--attach and --group: one kind of request at a time");
  });
});
