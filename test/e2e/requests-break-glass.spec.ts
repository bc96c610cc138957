// SECURITY 31 in the tray app, against the real stack with `requests.break_glass` on: alice's request for
// iam:PutRolePolicy on her own staging/Developer carries a visible break-glass badge in her My requests and
// in an approver's Approvals queue and detail; dave's approval (no admin) leaves it pending; an ordinary
// request has no badge.

import type { Page } from "@playwright/test";
import { expect, openDesktop, roleRow, signIn, test } from "./harness.ts";

test.use({ brokerExtra: "requests:\n  approver_groups: [approvers]\n  break_glass: true\n" });

const card = (app: Page, id: string) => app.locator(`article[data-request-id="${id}"]`);
const queueItem = (app: Page, id: string) => app.locator(`button[data-request-id="${id}"]`);

const policy = (action: string, resource: string) =>
  JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: action, Resource: resource }],
  });

test("SECURITY 31: a break-glass request shows its badge to the requester and to the approver", async ({
  app,
  desktop,
  stack,
  server,
  browser,
}) => {
  await signIn(app, desktop, "alice@example.com");
  await expect(roleRow(app, "staging/Developer")).toBeVisible();
  const create = (p: string, justification: string) =>
    app.evaluate((body) => window.gatehouse.createRequest(body), {
      kind: "inline-policy" as const,
      targets: ["staging/Developer"],
      policy: p,
      justification,
      expiry: "PT4H",
    });
  const escalating = await create(
    policy("iam:PutRolePolicy", "arn:aws:iam::333333333333:role/Developer"),
    "Break-glass: fixing the Developer role's own policy",
  );
  expect(escalating.breakGlass).toBe(true);
  const ordinary = await create(
    policy("s3:GetObject", "arn:aws:s3:::reports/*"),
    "Reading the reports bucket",
  );
  expect(ordinary.breakGlass).toBe(false);

  await app.getByRole("tab", { name: "My requests" }).click();
  const badge = card(app, escalating.id).getByTestId("break-glass");
  await expect(badge).toBeVisible();
  await expect(badge).toHaveText("Break-glass · needs an admin");
  await expect(badge).toHaveAttribute("title", /PRIVILEGE_ESCALATION/);
  await expect(card(app, ordinary.id)).toBeVisible();
  await expect(card(app, ordinary.id).getByTestId("break-glass")).toHaveCount(0);

  const dave = await openDesktop(browser, stack, server);
  try {
    await signIn(dave.app, dave.desktop, "dave@example.com");
    await dave.app.getByRole("tab", { name: /Approvals/ }).click();
    const item = queueItem(dave.app, escalating.id);
    await expect(item.getByTestId("break-glass")).toBeVisible();
    await expect(queueItem(dave.app, ordinary.id)).toBeVisible();
    await expect(queueItem(dave.app, ordinary.id).getByTestId("break-glass")).toHaveCount(0);
    await item.click();
    const detail = dave.app.getByRole("form", { name: "Inline policy for staging/Developer" });
    await expect(detail.getByTestId("break-glass")).toBeVisible();
    await detail.getByRole("button", { name: "Approve" }).click();
    // dave is no admin: his approval counts but does not apply it.
    await expect
      .poll(async () => (await dave.desktop.core.getRequest(escalating.id)).approvals.length)
      .toBe(1);
    expect((await dave.desktop.core.getRequest(escalating.id)).targets[0]!.state).toBe("pending");
  } finally {
    await dave.close();
  }
  await app.getByRole("tab", { name: "My requests" }).click();
  await expect(card(app, escalating.id).getByTestId("break-glass")).toBeVisible();
});
