// "Paste an error" on a broker that lists request targets only to approvers (`targets_visible_to:
// approvers`): alice's panel cannot search, so the denied role itself is offered, as the CLI does; the broker
// accepts Developer, which it manages, and refuses a role it does not manage when the request is sent.

import type { Page } from "@playwright/test";
import { type Desktop, expect, signIn, test } from "./harness.ts";

test.use({
  brokerExtra: "requests:\n  approver_groups: [approvers]\n  targets_visible_to: approvers\n",
});

const STAGING = "333333333333";
const denial = (role: string) =>
  `User: arn:aws:sts::${STAGING}:assumed-role/${role}/alice@example.com is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::${STAGING}:user/ because no identity-based policy allows the iam:ListUsers action`;

async function signInFully(app: Page, desktop: Desktop, email: string): Promise<void> {
  await signIn(app, desktop, email);
  await expect(app.getByRole("tablist", { name: "Sections" })).toHaveAttribute("data-context", "loaded");
}

async function draft(app: Page, text: string) {
  await app.getByRole("tab", { name: "Request", exact: true }).click();
  const form = app.getByRole("form", { name: "Request permissions" });
  await form.getByLabel("AWS error or log").fill(text);
  await form.getByRole("button", { name: "Read the error" }).click();
  await expect(form.getByRole("region", { name: "From the error" })).toContainText("From 1 denial");
  await form.getByLabel("Justification").fill("the nightly audit lists the account's users");
  return form;
}

test("the denied role is offered without a target search; the broker decides on send", async ({
  app,
  desktop,
}) => {
  test.slow();
  await signInFully(app, desktop, "alice@example.com");
  // The broker really hides targets from alice.
  await expect(desktop.core.requestTargets("Developer")).rejects.toMatchObject({ code: "FORBIDDEN" });
  const before = (await desktop.core.myRequests()).length;

  // A role the broker does not manage: drafted (nothing says otherwise yet), refused on send.
  let form = await draft(app, denial("Unmanaged"));
  await expect(form.getByRole("region", { name: "From the error" })).toContainText(
    `arn:aws:iam::${STAGING}:role/Unmanaged`,
  );
  await form.getByRole("button", { name: "Send request" }).click();
  await expect(form.getByRole("alert").filter({ hasText: "The request was not sent." })).toBeVisible();
  expect(await desktop.core.myRequests()).toHaveLength(before);

  // Developer: sent, and the broker resolved it to the role it manages.
  form = await draft(app, denial("Developer"));
  await form.getByRole("button", { name: "Send request" }).click();
  await expect(app.getByRole("tab", { name: "My requests" })).toHaveAttribute("aria-selected", "true");
  const mine = await desktop.core.myRequests();
  expect(mine).toHaveLength(before + 1);
  expect(
    mine.find((r) => r.justification.startsWith("the nightly audit"))?.targets.map((t) => t.arn),
  ).toEqual([`arn:aws:iam::${STAGING}:role/Developer`]);
});
