// Attaching an AWS-managed policy from the tray app against the real stack: alice wants to use the MSK
// dashboard, searches the service "MSK", takes the read-only policy offered first (seeing the risk our
// lint gives its real document), targets staging/Developer and sends; dave approves; the emulator's IAM
// has the policy attached to the role until the request expires.

import { ListAttachedRolePoliciesCommand, ListGroupsForUserCommand } from "@aws-sdk/client-iam";
import type { Page } from "@playwright/test";
import { awsManagedPolicy } from "../../shared/policy/aws-managed.ts";
import { lintPolicy } from "../../shared/policy-lint.ts";
import { spokeIam } from "../support/spoke-iam.ts";
import { type Desktop, expect, openDesktop, roleRow, screenshot, signIn, test } from "./harness.ts";

test.use({ brokerExtra: "requests:\n  approver_groups: [approvers]\n" });

const STAGING = "333333333333";
const PROD = "222222222222";
const MSK_RO = "arn:aws:iam::aws:policy/AmazonMSKReadOnlyAccess";
const RISK_TEXT = { low: "Low risk", medium: "Medium risk", high: "High risk", critical: "Critical risk" };
/** The broker builds its catalogue index on the first search (a few seconds on a busy machine). */
const FIRST_SEARCH = { timeout: 30_000 };

async function signInFully(app: Page, desktop: Desktop, email: string, firstRole?: string): Promise<void> {
  await signIn(app, desktop, email);
  if (firstRole) await expect(roleRow(app, firstRole)).toBeVisible();
  await expect(app.getByRole("tablist", { name: "Sections" })).toHaveAttribute("data-context", "loaded");
}

test("alice attaches the MSK read-only policy to staging/Developer, dave approves, IAM has it until expiry", async ({
  app,
  desktop,
  stack,
  server,
  browser,
}, info) => {
  test.setTimeout(120_000);
  const expected = RISK_TEXT[(await lintPolicy(awsManagedPolicy(MSK_RO)!.document)).risk];
  await signInFully(app, desktop, "alice@example.com", "staging/Developer");
  await app.getByRole("tab", { name: "Request", exact: true }).click();
  const form = app.getByRole("form", { name: "Request permissions" });
  await form.getByRole("radio", { name: "Attach a managed policy" }).check();

  await form.getByLabel("Find a role or user").fill("staging developer");
  await form.getByRole("option", { name: /staging\/Developer/ }).click();
  await expect(form.getByRole("list", { name: "Chosen targets" })).toContainText("staging/Developer");

  // Nothing chosen yet: the panel says so instead of sending.
  await form.getByRole("button", { name: "Send request" }).click();
  await expect(form.getByRole("alert").filter({ hasText: "The request is not ready." })).toContainText(
    "Choose a managed policy.",
  );

  // "I want to use… MSK": the service, then its policies, read-only first, each with its risk.
  await form.getByLabel("I want to use… (a service)").fill("MSK");
  const services = form.getByRole("group", { name: "Services" });
  await services
    .getByRole("button", { name: "Amazon Managed Streaming for Apache Kafka" })
    .click(FIRST_SEARCH);
  await expect(form.getByRole("list", { name: "Chosen service" })).toContainText("(kafka)");
  const offered = form.getByRole("group", { name: "Policies for Amazon Managed Streaming for Apache Kafka" });
  const first = offered.getByRole("listitem").first();
  await expect(first).toContainText("AmazonMSKReadOnlyAccess", FIRST_SEARCH);
  await expect(first).toContainText("read-only");
  await expect(first.getByTestId("risk")).toHaveText(expected);
  await expect(offered.getByRole("listitem").nth(1)).toContainText("AmazonMSKFullAccess");

  await offered.getByRole("radio", { name: /AmazonMSKReadOnlyAccess/ }).check();
  const shown = form.getByRole("region", { name: "Policy AmazonMSKReadOnlyAccess" });
  await expect(shown.getByTestId("risk")).toHaveText(expected);
  const doc = shown.getByRole("textbox", { name: "Managed policy document" });
  await expect(doc).toContainText("kafka:Describe*");
  await expect(doc).toHaveAttribute("contenteditable", "false");
  await screenshot(app, "request-managed-policy", info);

  await form.getByLabel("Justification").fill("I need the MSK dashboard to look at the staging cluster");
  await form.getByLabel("Expires after").selectOption({ label: "1 hour" });
  await form.getByRole("button", { name: "Send request" }).click();
  await expect(app.getByRole("tab", { name: "My requests" })).toHaveAttribute("aria-selected", "true");
  const req = (await desktop.core.myRequests()).find((r) => r.kind === "managed-policy");
  if (!req) throw new Error("alice's managed-policy request is not among hers");
  expect(req.targets.map((t) => [t.arn, t.policyArn])).toEqual([
    [`arn:aws:iam::${STAGING}:role/Developer`, MSK_RO],
  ]);

  // dave, an approver, at his own desktop.
  const dave = await openDesktop(browser, stack, server);
  try {
    await signInFully(dave.app, dave.desktop, "dave@example.com");
    await dave.app.getByRole("tab", { name: /Approvals/ }).click();
    const item = dave.app.locator(`button[data-request-id="${req.id}"]`);
    await item.click();
    await expect(item.getByTestId("risk")).toHaveText(expected);
    const detail = dave.app.getByRole("form", { name: "Managed policy for staging/Developer" });
    await expect(detail.getByLabel("Justification")).toContainText("MSK dashboard");
    // The approver reads what is attached: the real document, read-only, with its risk.
    const policy = detail.getByRole("region", { name: "Policy AmazonMSKReadOnlyAccess" });
    await expect(policy.getByTestId("risk")).toHaveText(expected);
    await expect(policy.getByRole("textbox", { name: "Managed policy document" })).toContainText(
      "kafka:List*",
    );
    await screenshot(dave.app, "approvals-managed-policy", info);
    await detail.getByRole("button", { name: "Approve", exact: true }).click();
    await expect(dave.app.getByTestId("toast")).toContainText("Approved");
  } finally {
    await dave.close();
  }

  // Attached in the emulator's IAM, as Gatehouse's spoke role reads it.
  const iam = await spokeIam(stack.emulator, STAGING);
  const attached = async () =>
    (
      (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: "Developer" }))).AttachedPolicies ?? []
    ).map((p) => p.PolicyArn);
  expect((await desktop.core.getRequest(req.id)).targets[0]!.state).toBe("applied");
  expect(await attached()).toContain(MSK_RO);

  // After its expiry the broker detaches it; the role keeps what it had.
  await stack.broker.requests.expireDue(new Date(Date.now() + 2 * 3600_000 + 60_000));
  expect(await attached()).not.toContain(MSK_RO);
  expect(await attached()).toContain("arn:aws:iam::aws:policy/PowerUserAccess");
  expect((await desktop.core.getRequest(req.id)).targets[0]!.state).toBe("expired");
});

test("alice asks to add prod's deploy-bot to a group of its account; once approved IAM has it in the group", async ({
  app,
  desktop,
  stack,
  server,
  browser,
}) => {
  test.setTimeout(90_000);
  // A group of prod the broker's sync has read.
  stack.emulator.world.putGroup(stack.emulator.world.accounts.get(PROD)!, {
    name: "ReleaseReaders",
    path: "/",
    id: "AGPARELEASEREADERS001",
    createDate: "2024-01-01T00:00:00Z",
    inlinePolicies: {},
    managedPolicies: ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"],
  });
  await stack.broker.syncer.syncAll();

  await signInFully(app, desktop, "alice@example.com", "staging/Developer");
  await app.getByRole("tab", { name: "Request", exact: true }).click();
  const form = app.getByRole("form", { name: "Request permissions" });
  await form.getByRole("radio", { name: "Add a user to a group" }).check();
  const groups = form.getByRole("group", { name: "IAM group" });
  await expect(groups).toContainText("Choose the IAM user first");

  // Only IAM users are offered as targets.
  await form.getByLabel("Find a role or user").fill("prod");
  await expect(form.getByRole("option", { name: /prod\/user deploy-bot/ })).toBeVisible();
  await expect(form.getByRole("option", { name: /prod\/Billing/ })).toHaveCount(0);
  await form.getByRole("option", { name: /prod\/user deploy-bot/ }).click();
  await groups.getByRole("radio", { name: "ReleaseReaders" }).check();
  await form.getByLabel("Justification").fill("The release job reads the artefact buckets this week");
  await form.getByLabel("Expires after").selectOption({ label: "1 hour" });
  await form.getByRole("button", { name: "Send request" }).click();
  await expect(app.getByRole("tab", { name: "My requests" })).toHaveAttribute("aria-selected", "true");
  const req = (await desktop.core.myRequests()).find((r) => r.kind === "group-membership");
  if (!req) throw new Error("alice's group-membership request is not among hers");
  expect(req.targets.map((t) => [t.arn, t.groupName])).toEqual([
    [`arn:aws:iam::${PROD}:user/deploy-bot`, "ReleaseReaders"],
  ]);

  // dave approves at his desktop (through its core: the approvals tab is the other test's); IAM has it.
  const dave = await openDesktop(browser, stack, server);
  try {
    await signInFully(dave.app, dave.desktop, "dave@example.com");
    const approved = await dave.desktop.core.approveRequest(req.id, {});
    expect(approved.targets[0]!.state).toBe("applied");
  } finally {
    await dave.close();
  }
  const iam = await spokeIam(stack.emulator, PROD);
  const groupsOf = async () =>
    ((await iam.send(new ListGroupsForUserCommand({ UserName: "deploy-bot" }))).Groups ?? []).map(
      (g) => g.GroupName,
    );
  expect(await groupsOf()).toContain("ReleaseReaders");
  await stack.broker.requests.expireDue(new Date(Date.now() + 2 * 3600_000 + 60_000));
  expect(await groupsOf()).not.toContain("ReleaseReaders");
});
