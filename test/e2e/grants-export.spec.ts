// Export grants in the tray app (issue 17), against the real stack: alice asks for read access to a bucket
// on staging/Developer and bob approves it (the broker applies it in the emulator); bob, an admin, opens
// Export grants in the Access review, exports Terraform and sees the resource and its import block, copies
// it and saves it; JSON says the same grant. alice may not export.

import { readFileSync } from "node:fs";
import { expect, openDesktop, screenshot, signIn, test } from "./harness.ts";

test.use({ brokerExtra: "requests:\n  approver_groups: [approvers]\n" });

test("bob exports the applied grants as Terraform, copies and saves them; alice may not", async ({
  app,
  desktop,
  stack,
  server,
  browser,
}, info) => {
  test.setTimeout(90_000);
  const bucket = `export-${Date.now().toString(36)}`;
  const alice = await openDesktop(browser, stack, server);
  let id: string;
  try {
    await signIn(alice.app, alice.desktop, "alice@example.com");
    const r = await alice.desktop.core.createRequest({
      kind: "inline-policy",
      targets: ["staging/Developer"],
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${bucket}/*` }],
      }),
      justification: "read the export bucket for the report",
      expiry: "PT8H",
    });
    id = r.id;
    await expect(alice.desktop.core.grantsExport({ format: "terraform" })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
  } finally {
    await alice.close();
  }

  await signIn(app, desktop, "bob@example.com");
  const approved = await desktop.core.approveRequest(id, {});
  expect(approved.targets[0]!.state).toBe("applied");
  await app.context().grantPermissions(["clipboard-read", "clipboard-write"]);

  const tabs = app.getByRole("tablist", { name: "Sections" });
  await expect(tabs).toHaveAttribute("data-context", "loaded");
  await tabs.getByRole("tab", { name: "Access review" }).click();
  const panel = app.getByTestId("grants-export");
  await panel.getByText("Export grants", { exact: true }).click();
  const form = panel.getByRole("form", { name: "Export grants" });
  await form.getByLabel("Format").selectOption({ label: "Terraform" });
  await form.getByRole("button", { name: "Export" }).click();

  const text = panel.getByTestId("grants-export-text");
  const policyName = `gatehouse-${id}-0`;
  await expect(text).toContainText('resource "aws_iam_role_policy"');
  await expect(text).toContainText(`id       = "Developer:${policyName}"`);
  await expect(text).toContainText(`name     = "${policyName}"`);
  await expect(text).toContainText(`arn:aws:s3:::${bucket}/*`);
  await expect(text).toContainText("# requester alice@example.com · approvers bob@example.com");
  await expect(text).toContainText('allowed_account_ids = ["333333333333"]');
  await expect(panel.getByTestId("grants-export-summary")).toContainText(
    /\d+ grants · Terraform · gatehouse-grants-\d{4}-\d\d-\d\d\.tf/,
  );
  await screenshot(app, "grants-export", info);

  await panel.getByRole("button", { name: "Copy" }).click();
  await expect(app.getByText("Copied")).toBeVisible();
  const copied = await app.evaluate(() => navigator.clipboard.readText());
  expect(copied).toContain(`import {`);
  expect(copied).toContain(`"Developer:${policyName}"`);

  const downloading = app.waitForEvent("download");
  await panel.getByRole("button", { name: "Save" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^gatehouse-grants-\d{4}-\d\d-\d\d\.tf$/);
  expect(readFileSync((await download.path())!, "utf8")).toBe(copied);

  // The same grant as JSON: its import id and who approved it.
  await form.getByLabel("Format").selectOption({ label: "JSON" });
  await form.getByRole("button", { name: "Export" }).click();
  await expect(panel.getByTestId("grants-export-summary")).toContainText("JSON");
  const json = JSON.parse((await text.textContent()) ?? "{}") as {
    grants: { request: { id: string }; importId: string; approvers: string[] }[];
  };
  expect(json.grants.find((g) => g.request.id === id)).toMatchObject({
    importId: `Developer:${policyName}`,
    approvers: ["bob@example.com"],
  });

  expect(stack.broker.store.listAudit({ action: "grants.export" }).map((r) => r.actor)).toContain(
    "bob@example.com",
  );
});
