// The access review in the tray app (issue 16), against the real stack: alice takes credentials for
// staging/Developer and opens its console at her desktop; bob (platform-admins) sees in the Access review
// tab who may use what, why, when it was last used and what is unused, filters it, switches to roles and
// downloads the CSV; alice has no such tab and the channel is refused by the broker.

import { readFileSync } from "node:fs";
import { expect, openDesktop, screenshot, signIn, test } from "./harness.ts";

test("bob reviews everyone's access, filters it and downloads the CSV; alice may not", async ({
  app,
  desktop,
  stack,
  server,
  browser,
}, info) => {
  test.setTimeout(90_000);
  const alice = await openDesktop(browser, stack, server);
  try {
    await signIn(alice.app, alice.desktop, "alice@example.com");
    await expect(alice.app.getByRole("tablist", { name: "Sections" })).toHaveAttribute(
      "data-context",
      "loaded",
    );
    // Real use: credentials for staging/Developer through her agent, and its console.
    await alice.desktop.core.copyText("staging/Developer", "envExport");
    await alice.desktop.core.openConsole("staging/Developer");
    await expect(alice.app.getByRole("tab", { name: "Access review" })).toHaveCount(0);
    await expect(alice.desktop.core.accessReport()).rejects.toMatchObject({ code: "FORBIDDEN" });
  } finally {
    await alice.close();
  }

  await signIn(app, desktop, "bob@example.com");
  const tabs = app.getByRole("tablist", { name: "Sections" });
  await expect(tabs).toHaveAttribute("data-context", "loaded");
  await tabs.getByRole("tab", { name: "Access review" }).click();
  const view = app.getByTestId("access-review");
  const table = view.getByRole("table", { name: "Access by person" });
  const aliceDev = table
    .getByRole("row")
    .filter({ hasText: "alice@example.com" })
    .filter({ hasText: "staging/Developer" });
  await expect(aliceDev).toHaveCount(1);
  await expect(aliceDev).toContainText("console + CLI");
  await expect(aliceDev).toContainText("group engineers in gatehouse-authorized");
  await expect(aliceDev).toContainText("email alice@example.com in gatehouse-authorized");
  await expect(aliceDev).toHaveAttribute("data-unused", "no");
  await expect(aliceDev.getByRole("cell").last()).not.toContainText("never");
  // prod/ReadOnly comes with her group and was never used: flagged.
  const aliceRo = table
    .getByRole("row")
    .filter({ hasText: "alice@example.com" })
    .filter({ hasText: "prod/ReadOnly" });
  await expect(aliceRo).toHaveAttribute("data-unused", "yes");
  await expect(aliceRo).toContainText("never");
  // bob himself is known from his sign-in: prod/Admin through platform-admins.
  await expect(
    table.getByRole("row").filter({ hasText: "bob@example.com" }).filter({ hasText: "prod/Admin" }),
  ).toHaveCount(1);
  await screenshot(app, "access-review", info);

  // Filters: alice only, then staging's Developer only, then unused only (Developer was used: gone).
  const filters = view.getByRole("form", { name: "Filters" });
  await filters.getByLabel("Person or group").fill("alice@");
  await expect(table.getByRole("row").filter({ hasText: "bob@example.com" })).toHaveCount(0);
  await filters.getByLabel("Account").selectOption({ label: "staging (333333333333)" });
  await filters.getByLabel("Role", { exact: true }).fill("Developer");
  await expect(table.locator("tbody tr")).toHaveCount(1);
  await expect(view.getByTestId("access-summary")).toContainText("1 people · 1 accesses · 0 unused");

  // The CSV is what the filters show, with a header, as the broker's command writes it.
  const downloading = app.waitForEvent("download");
  await view.getByRole("button", { name: "Download CSV" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^gatehouse-access-\d{4}-\d\d-\d\d\.csv$/);
  const csv = readFileSync((await download.path())!, "utf8").split("\r\n");
  expect(csv[0]).toBe(
    "email,account_id,account_name,role,arn,level,why,until,last_credentials,last_console,last_used,unused,groups_from,groups_at",
  );
  expect(csv.filter((l) => l !== "")).toHaveLength(2);
  expect(csv[1]).toMatch(
    /^alice@example\.com,333333333333,staging,Developer,arn:aws:iam::333333333333:role\/Developer,console,/,
  );
  expect(csv[1]).toMatch(/,no,audit,/);

  await filters.getByLabel("Unused only").check();
  await expect(view.getByText("No access matches these filters.")).toBeVisible();
  await filters.getByLabel("Unused only").uncheck();

  // By role: Developer's people (as filtered: alice).
  await filters.getByLabel("By role").check();
  const byRole = view.getByRole("table", { name: "Access by role" });
  await expect(byRole.getByRole("row").filter({ hasText: "staging/Developer" })).toContainText(
    "alice@example.com",
  );

  // A line of 0 days is refused in the view, not sent.
  await filters.getByLabel("Unused after").fill("0");
  await expect(view.getByRole("alert")).toContainText("whole number of days");
  await filters.getByLabel("Unused after").fill("1");
  await expect(view.getByTestId("access-summary")).toContainText("unused for 1 days");

  // Every look at the review is audited, by who looked.
  expect(stack.broker.store.listAudit({ action: "access.report" }).map((r) => r.actor)).toContain(
    "bob@example.com",
  );
});
