// "Record" in the tray app against the real stack: alice proposes a script of real AWS CLI calls as
// staging/Developer; the stand-in for main's native dialog is asked with the exact argv, role and folder, and a
// no starts nothing; on a yes the calls are listed (ListRoles allowed, ListUsers and GetRole denied with AWS's
// messages) with the least-privilege policy; "Save policy" writes it; "Request what was denied" opens the request
// panel with exactly the denied actions, and sending it makes one request. Stop ends a long command.

import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Page } from "@playwright/test";
import { AWS_CLI } from "../support/e2e.ts";
import { type Desktop, expect, roleRow, screenshot, signIn, test } from "./harness.ts";

test.use({ brokerExtra: "requests:\n  approver_groups: [approvers]\n" });

const STAGING = "333333333333";
const DEVELOPER = `arn:aws:iam::${STAGING}:role/Developer`;

async function signInFully(app: Page, desktop: Desktop, email: string): Promise<void> {
  await signIn(app, desktop, email);
  await expect(app.getByRole("tablist", { name: "Sections" })).toHaveAttribute("data-context", "loaded");
}

async function openRecord(app: Page) {
  await app.getByRole("tab", { name: "Record", exact: true }).click();
  return app.getByRole("form", { name: "Record a command" });
}

test("alice records a script: a refusal starts nothing; confirmed, the denied calls become one request", async ({
  app,
  desktop,
  stack,
}, info) => {
  test.slow();
  await signInFully(app, desktop, "alice@example.com");
  await expect(roleRow(app, "staging/Developer")).toBeVisible();
  const aws = `${AWS_CLI} --endpoint-url ${stack.emulator.url} --region us-east-1 --output json`;
  const script = [
    `${aws} iam list-roles > /dev/null && echo listed-roles`,
    `${aws} iam list-users > /dev/null 2>&1 || echo denied-users`,
    `${aws} iam get-role --role-name DataPipeline > /dev/null 2>&1 || echo denied-role`,
  ].join("; ");
  const argv = ["sh", "-c", script];

  const form = await openRecord(app);
  await form.getByLabel("Role").selectOption("staging/Developer");
  await form.getByLabel("Command").fill(`sh -c '${script}'`);
  // What the person sees is what main will be asked to run.
  await expect(form.getByTestId("record-argv")).toHaveText(JSON.stringify(argv));
  await form.getByLabel("Working folder").fill("/tmp");

  // The dialog says no: nothing runs, the window says so.
  await form.getByRole("button", { name: "Record" }).click();
  await expect(app.getByRole("alert", { name: "Recording problem" })).toContainText(
    "You did not confirm the command; nothing was started.",
  );
  expect(desktop.recordProposals).toEqual([
    { role: "staging/Developer", command: argv, cwd: "/tmp", proxy: false },
  ]);
  expect(desktop.core.recordStatus().state).toBe("idle");

  // Proposals are rate-limited: the next one after a short wait, and this time the person says yes.
  await app.waitForTimeout(2100);
  desktop.confirmRecording = true;
  await form.getByRole("button", { name: "Record" }).click();
  const result = app.getByRole("region", { name: "Recording" });
  await expect(result).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  expect(desktop.recordProposals).toHaveLength(2);
  expect(desktop.recordProposals[1]!.command).toEqual(argv);
  await expect(result.getByTestId("record-summary")).toContainText(
    "Recorded 3 AWS calls as staging/Developer: 1 allowed, 2 denied, 0 failed otherwise · exit code 0",
  );
  const allowed = result.getByRole("table", { name: "Allowed calls" });
  await expect(allowed).toContainText("IAM:ListRoles");
  await expect(allowed).toContainText("iam:ListRoles");
  const denied = result.getByRole("table", { name: "Denied calls" });
  await expect(denied.locator("tbody tr")).toHaveCount(2);
  await expect(denied).toContainText("iam:ListUsers");
  await expect(denied).toContainText("iam:GetRole");
  await expect(denied).toContainText("is not authorized to perform: iam:ListUsers");
  await expect(result.getByTestId("record-policy")).toContainText(
    `"Resource": "arn:aws:iam::${STAGING}:role/DataPipeline"`,
  );
  await result.getByText("Command output").click();
  await expect(result.getByTestId("record-output")).toContainText("denied-users");
  await screenshot(app, "record-done", info);

  // Save policy: the whole policy, where the (stand-in) save dialog said.
  await result.getByRole("button", { name: "Save policy" }).click();
  await expect(app.getByTestId("toast")).toContainText("Policy saved");
  const saved = JSON.parse(readFileSync(desktop.policyPath!, "utf8"));
  expect(saved).toEqual(desktop.core.recorder.finished().policy);
  expect(saved.Statement.flatMap((s: { Action: string[] }) => s.Action).sort()).toEqual([
    "iam:GetRole",
    "iam:ListRoles",
    "iam:ListUsers",
  ]);

  // Request what was denied: the request panel, drafted with exactly the denied actions, on Developer.
  await result.getByRole("button", { name: "Request what was denied" }).click();
  await expect(app.getByRole("tab", { name: "Request", exact: true })).toHaveAttribute(
    "aria-selected",
    "true",
  );
  const request = app.getByRole("form", { name: "Request permissions" });
  const summary = request.getByRole("region", { name: "From the error" });
  await expect(summary).toContainText("From 2 denials: staging/Developer");
  await expect(summary).toContainText(DEVELOPER);
  await expect(summary.getByRole("list", { name: "Actions" }).getByRole("listitem")).toHaveText([
    "iam:GetRole",
    "iam:ListUsers",
  ]);
  await expect(request.getByLabel("Justification")).toHaveValue("AWS denied iam:GetRole, iam:ListUsers");
  await expect(request.locator(".lint-ok")).toContainText("Valid policy");
  await screenshot(app, "record-request-denied", info);

  const before = (await desktop.core.myRequests()).length;
  await request.getByRole("button", { name: "Send request" }).click();
  await expect(app.getByRole("tab", { name: "My requests" })).toHaveAttribute("aria-selected", "true");
  const mine = await desktop.core.myRequests();
  expect(mine).toHaveLength(before + 1);
  const req = mine.find((r) => r.justification === "AWS denied iam:GetRole, iam:ListUsers")!;
  expect(req.targets.map((t) => t.arn)).toEqual([DEVELOPER]);
  const policy = JSON.parse(req.policy!) as { Statement: { Action: string[] }[] };
  expect(policy.Statement.flatMap((s) => s.Action).sort()).toEqual(["iam:GetRole", "iam:ListUsers"]);
});

test("Stop ends a long command; its recording is kept; nothing denied means nothing to request", async ({
  app,
  desktop,
}) => {
  await signInFully(app, desktop, "alice@example.com");
  desktop.confirmRecording = true;
  const form = await openRecord(app);
  await form.getByLabel("Role").selectOption("staging/Developer");
  await form.getByLabel("Command").fill("sh -c 'echo started; sleep 60'");
  await form.getByRole("button", { name: "Record" }).click();
  const result = app.getByRole("region", { name: "Recording" });
  await expect(result).toHaveAttribute("data-state", "running");
  // One at a time: the form is locked while it runs.
  await expect(form.getByLabel("Command")).toBeDisabled();
  await form.getByRole("button", { name: "Stop" }).click();
  await expect(result).toHaveAttribute("data-state", "done", { timeout: 10_000 });
  await expect(result.getByTestId("record-summary")).toContainText("stopped, exit code 143");
  await expect(result.getByRole("button", { name: "Request what was denied" })).toBeDisabled();
  // No folder typed: the person's home folder (the desktop's HOME, which holds GATEHOUSE_HOME here).
  expect(desktop.recordProposals[0]!.cwd).toBe(dirname(desktop.home));
});
