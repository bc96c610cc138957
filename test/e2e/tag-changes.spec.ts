// SECURITY 32 in the tray app: under `access.external_tag_changes: hold` an access tag added outside
// Gatehouse waits in the admin's Tag changes view (shown only to admins) until the Accept button serves it.

import { TagRoleCommand } from "@aws-sdk/client-iam";
import { spokeIam } from "../support/spoke-iam.ts";
import { expect, openDesktop, roleRow, screenshot, signIn, test } from "./harness.ts";

const PROD = "222222222222";
const READ_ONLY = `arn:aws:iam::${PROD}:role/ReadOnly`;
const carol = { email: "carol@example.com", groups: [] };
const carolsRoles = (names: { entry: { role: { arn: string } } }[]) => names.map((g) => g.entry.role.arn);

test.use({ brokerAccessExtra: "external_tag_changes: hold" });

test("an admin sees a held tag change for carol on prod/ReadOnly and accepts it; alice has no such view", async ({
  app,
  desktop,
  stack,
  server,
  browser,
}, info) => {
  const iam = await spokeIam(stack.emulator, PROD);
  await iam.send(
    new TagRoleCommand({
      RoleName: "ReadOnly",
      Tags: [{ Key: "gatehouse-authorized", Value: "engineers:carol@example.com" }],
    }),
  );
  await stack.broker.syncer.syncAll();
  expect(carolsRoles(stack.broker.index.rolesFor(carol))).toEqual([]);

  // bob is in platform-admins: the Tag changes tab is his.
  await signIn(app, desktop, "bob@example.com");
  await expect(roleRow(app, "prod/Admin")).toBeVisible();
  const tabs = app.getByRole("tablist", { name: "Sections" });
  await expect(tabs).toHaveAttribute("data-context", "loaded");
  await tabs.getByRole("tab", { name: "Tag changes" }).click();
  const list = app.getByRole("list", { name: "Held tag changes" });
  const card = list.locator("article").filter({ hasText: READ_ONLY });
  await expect(card).toHaveCount(1);
  await expect(card.getByRole("list", { name: "Added" })).toHaveText(
    "gatehouse-authorized: carol@example.com",
  );
  await expect(card.getByRole("list", { name: "Before" })).toHaveText("gatehouse-authorized: engineers");
  await screenshot(app, "tag-changes", info);

  await card.getByRole("button", { name: "Accept" }).click();
  await expect(app.getByText("Change accepted")).toBeVisible();
  await expect(app.getByText("No access-tag change is waiting.")).toBeVisible();
  expect(carolsRoles(stack.broker.index.rolesFor(carol))).toEqual([READ_ONLY]);
  expect(stack.broker.store.listAudit({ action: "access_tags.accepted" }).map((r) => r.actor)).toEqual([
    "bob@example.com",
  ]);

  // alice is no admin: no tab, and the channel itself is refused by the broker.
  const alice = await openDesktop(browser, stack, server);
  try {
    await signIn(alice.app, alice.desktop, "alice@example.com");
    const aliceTabs = alice.app.getByRole("tablist", { name: "Sections" });
    await expect(aliceTabs).toHaveAttribute("data-context", "loaded");
    await expect(aliceTabs.getByRole("tab", { name: "Tag changes" })).toHaveCount(0);
    await expect(alice.desktop.core.heldTagChanges()).rejects.toMatchObject({ code: "FORBIDDEN" });
  } finally {
    await alice.close();
  }
});
