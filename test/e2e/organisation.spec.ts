// The Organisation view in the tray app, against the real stack: bob (platform-admins, an admin) sees
// each account with its sync state, runs doctor and sees its findings per account with their fixes, and
// syncs one account now; alice (no admin) has no Organisation tab.

import { expect, screenshot, signIn, test } from "./harness.ts";

test("bob sees the accounts' sync state and doctor's findings, and syncs staging now", async ({
  app,
  desktop,
}, info) => {
  await signIn(app, desktop, "bob@example.com");
  await expect(app.getByRole("tablist", { name: "Sections" })).toHaveAttribute("data-context", "loaded");
  await app.getByRole("tab", { name: "Organisation" }).click();
  const view = app.getByTestId("organisation");
  const prod = view.locator('[data-account="222222222222"]');
  const staging = view.locator('[data-account="333333333333"]');
  await expect(prod.locator(".sync-state")).toHaveAttribute("data-state", "ok");
  await expect(staging).toContainText("staging");
  await expect(view).toContainText("doctor has not run yet");

  await view.getByRole("button", { name: "Run doctor" }).click();
  await expect(view).toContainText("doctor ran");
  // Each account carries its spoke's verdict; the broker-wide findings (base identity) sit above.
  await expect(prod.locator(".finding").filter({ hasText: "GatehouseSpoke in 222222222222" })).toHaveCount(1);
  await expect(
    view.getByRole("list", { name: "Findings about the broker and the central role" }),
  ).toContainText("the broker runs as arn:aws:iam::111111111111:user/gatehouse-broker");
  await screenshot(app, "organisation", info);

  await staging.getByRole("button", { name: "Sync now" }).click();
  await expect(app.getByTestId("toast")).toContainText("staging synced");
});

test("alice, not an administrator, has no Organisation tab", async ({ app, desktop }) => {
  await signIn(app, desktop, "alice@example.com");
  await expect(app.getByRole("tablist", { name: "Sections" })).toHaveAttribute("data-context", "loaded");
  await expect(app.getByRole("tab", { name: "Organisation" })).toHaveCount(0);
  await expect(desktop.core.organisation()).rejects.toMatchObject({ code: "FORBIDDEN" });
});
