// Requests on a broker that needs two approvals and allows requests that never expire: alice asks for a
// permanent policy; bob's approvals tab says "0 of 2 approvals", his approval leaves it pending; dave's
// says "1 of 2 approvals" and his applies it.

import type { Page } from "@playwright/test";
import { type Desktop, expect, openDesktop, roleRow, signIn, test } from "./harness.ts";

test.use({
  brokerExtra:
    "requests:\n  approver_groups: [approvers]\n  approvals_required: 2\n  allow_permanent: true\n",
});

async function signInFully(app: Page, desktop: Desktop, email: string): Promise<void> {
  await signIn(app, desktop, email);
  await expect(app.getByRole("tablist", { name: "Sections" })).toHaveAttribute("data-context", "loaded");
}

test("a permanent request needs two approvers, and each sees how many it has", async ({
  app,
  desktop,
  stack,
  server,
  browser,
}) => {
  await signInFully(app, desktop, "alice@example.com");
  await expect(roleRow(app, "staging/Developer")).toBeVisible();
  const bucket = `forever-${Date.now().toString(36)}`;
  await app.getByRole("tab", { name: "Request", exact: true }).click();
  const form = app.getByRole("form", { name: "Request permissions" });
  await form.getByLabel("Find a role or user").fill("staging developer");
  await form.getByRole("option", { name: /staging\/Developer/ }).click();
  await form.getByLabel("Template").selectOption({ label: "S3 bucket: read" });
  await form.getByLabel("Bucket name").fill(bucket);
  await expect(form.getByText("Valid policy, no findings")).toBeVisible();
  await form.getByLabel("Justification").fill("The archive job reads this bucket for good");
  await form.getByLabel("Expires after").selectOption({ label: "Permanent (until removed)" });
  await expect(form.getByText(/The policy stays until someone removes it/)).toBeVisible();
  await form.getByRole("button", { name: "Send request" }).click();
  await expect(app.getByRole("tab", { name: "My requests" })).toHaveAttribute("aria-selected", "true");
  const req = (await desktop.core.myRequests()).find((r) => r.policy?.includes(bucket));
  expect(req).toMatchObject({ expirySeconds: null });
  const id = req!.id;
  await expect(app.locator(`article[data-request-id="${id}"]`)).toContainText("permanent");

  for (const [who, before, after] of [
    ["bob@example.com", "0 of 2 approvals", "pending"],
    ["dave@example.com", "1 of 2 approvals", "applied"],
  ] as const) {
    const other = await openDesktop(browser, stack, server);
    try {
      await signInFully(other.app, other.desktop, who);
      await other.app.getByRole("tab", { name: /Approvals/ }).click();
      await other.app.locator(`button[data-request-id="${id}"]`).click();
      const detail = other.app.getByRole("form", { name: "Inline policy for staging/Developer" });
      await expect(detail.getByRole("list", { name: "Targets" })).toContainText(before);
      await expect(detail).toContainText("permanent");
      await detail.getByRole("button", { name: "Approve", exact: true }).click();
      await expect(other.app.getByTestId("toast")).toContainText("Approved");
    } finally {
      await other.close();
    }
    expect((await desktop.core.getRequest(id)).targets[0]!.state).toBe(after);
  }
  const done = await desktop.core.getRequest(id);
  expect(done.approvals.map((a) => a.approver)).toEqual(["bob@example.com", "dave@example.com"]);
  expect(done.targets[0]!.expiresAt).toBeNull();
});
