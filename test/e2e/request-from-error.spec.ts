// "Paste an error" in the tray app's request panel, against the real stack: alice's own SDK calls as
// staging/Developer are denied by the emulator; she pastes the errors, sees the drafted policy on Developer
// with its risk, and sends it; dave approves it in his approvals tab; the same calls then succeed. Bad input
// (empty, unrelated text, an explicit deny, a role Gatehouse does not manage, a forged encoded message, an
// encoded one about a role alice may not use) says
// why and who can fix it, and no request is made; malformed IPC arguments are refused in main, and markup in
// a pasted role name is shown as text.

import { GetRoleCommand, ListUsersCommand } from "@aws-sdk/client-iam";
import type { Page } from "@playwright/test";
import { encodeAuthorizationMessage } from "../../dev/aws/authorization-message.ts";
import type { World } from "../../dev/aws/model.ts";
import { iam } from "../support/emulator.ts";
import { type Desktop, expect, openDesktop, roleRow, screenshot, signIn, test } from "./harness.ts";

test.use({ brokerExtra: "requests:\n  approver_groups: [approvers]\n" });

const STAGING = "333333333333";
const DEVELOPER = `arn:aws:iam::${STAGING}:role/Developer`;
const SESSION = `arn:aws:sts::${STAGING}:assumed-role/Developer/alice@example.com`;

async function signInFully(app: Page, desktop: Desktop, email: string): Promise<void> {
  await signIn(app, desktop, email);
  await expect(app.getByRole("tablist", { name: "Sections" })).toHaveAttribute("data-context", "loaded");
}

/** The error the SDK call failed with ("no error" if it succeeded). */
const failure = (p: Promise<unknown>) =>
  p.then(
    () => "no error",
    (e: Error) => `${e.name}: ${e.message}`,
  );

async function openPaste(app: Page) {
  await app.getByRole("tab", { name: "Request", exact: true }).click();
  const form = app.getByRole("form", { name: "Request permissions" });
  await expect(form.getByRole("heading", { name: "Paste an error" })).toBeVisible();
  return form;
}

test("alice pastes Developer's denials, sends the drafted policy, dave approves, the calls then succeed", async ({
  app,
  desktop,
  stack,
  server,
  browser,
}, info) => {
  // Two people, a sign-in each, an approval and SDK calls: more than the default budget on a loaded machine.
  test.slow();
  await signInFully(app, desktop, "alice@example.com");
  await expect(roleRow(app, "staging/Developer")).toBeVisible();
  // alice's own credentials for Developer, as her agent hands them out (the SDK wants no ISO expiration).
  const c = await desktop.core.service.agent.credentials("staging/Developer");
  const asDeveloper = iam(stack.emulator, {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    sessionToken: c.sessionToken,
  });
  const listUsers = () => asDeveloper.send(new ListUsersCommand({}));
  const getRole = () => asDeveloper.send(new GetRoleCommand({ RoleName: "DataPipeline" }));

  // The emulator denies both with AWS's messages; alice pastes them as a log.
  const denied = [await failure(listUsers()), await failure(getRole())];
  for (const m of denied) {
    expect(m).toContain(`User: ${SESSION} is not authorized to perform`);
    expect(m).toContain("because no identity-based policy allows");
  }
  const log = `$ ./deploy.sh\n${denied[0]}\nretrying in 2s…\n${denied[1]}\n`;

  const form = await openPaste(app);
  await form.getByLabel("AWS error or log").fill(log);
  await form.getByRole("button", { name: "Read the error" }).click();

  // The parse: the target found among what Gatehouse manages, the actions, the drafted policy with its risk.
  const summary = form.getByRole("region", { name: "From the error" });
  await expect(summary).toContainText("From 2 denials: staging/Developer");
  await expect(summary).toContainText(DEVELOPER);
  await expect(summary.getByRole("list", { name: "Actions" }).getByRole("listitem")).toHaveText([
    "iam:GetRole",
    "iam:ListUsers",
  ]);
  await expect(form.getByRole("list", { name: "Chosen targets" })).toContainText("staging/Developer");
  const editor = form.getByRole("textbox", { name: "Policy" });
  await expect(editor).toContainText(`"Resource": "arn:aws:iam::${STAGING}:role/DataPipeline"`);
  await expect(editor).toContainText('"iam:ListUsers"');
  await expect(form.getByTestId("risk")).toBeVisible();
  await expect(form.getByTestId("risk")).not.toBeEmpty();
  await expect(form.locator(".lint-ok")).toContainText("Valid policy");
  // The usual form, prefilled: a justification naming what was denied, the default expiry.
  await expect(form.getByLabel("Justification")).toHaveValue("AWS denied iam:GetRole, iam:ListUsers");
  await expect(form.getByLabel("Expires after")).toHaveValue("PT8H");
  await screenshot(app, "request-from-error-drafted", info);
  await form.getByLabel("Justification").fill("deploy.sh reads the pipeline role and lists users");

  const before = (await desktop.core.myRequests()).length;
  await form.getByRole("button", { name: "Send request" }).click();
  await expect(app.getByRole("tab", { name: "My requests" })).toHaveAttribute("aria-selected", "true");
  const mine = await desktop.core.myRequests();
  expect(mine).toHaveLength(before + 1);
  const req = mine.find((r) => r.justification.startsWith("deploy.sh reads"))!;
  expect(req.kind).toBe("inline-policy");
  expect(req.targets.map((t) => t.arn)).toEqual([DEVELOPER]);
  const policy = JSON.parse(req.policy!) as { Statement: { Action: string[]; Resource: string }[] };
  expect(policy.Statement.flatMap((s) => s.Action).sort()).toEqual(["iam:GetRole", "iam:ListUsers"]);

  // Still denied until approved.
  expect(await failure(listUsers())).toContain("is not authorized to perform: iam:ListUsers");

  const dave = await openDesktop(browser, stack, server);
  try {
    await signInFully(dave.app, dave.desktop, "dave@example.com");
    await dave.app.getByRole("tab", { name: /Approvals/ }).click();
    await dave.app.locator(`button[data-request-id="${req.id}"]`).click();
    const detail = dave.app.getByRole("form", { name: "Inline policy for staging/Developer" });
    await detail.getByRole("button", { name: "Approve", exact: true }).click();
    await expect(dave.app.getByTestId("toast")).toContainText("Approved");
  } finally {
    await dave.close();
  }
  expect((await desktop.core.getRequest(req.id)).targets[0]!.state).toBe("applied");

  // The calls that were denied now succeed against the emulator.
  const users = await listUsers();
  expect(Array.isArray(users.Users)).toBe(true);
  const role = await getRole();
  expect(role.Role?.Arn).toBe(`arn:aws:iam::${STAGING}:role/DataPipeline`);
});

test("bad input says why and who can fix it, and makes no request", async ({ app, desktop, stack }) => {
  await signInFully(app, desktop, "alice@example.com");
  const before = (await desktop.core.myRequests()).length;
  const form = await openPaste(app);
  const text = form.getByLabel("AWS error or log");
  const read = form.getByRole("button", { name: "Read the error" });
  const alert = form.getByRole("alert", { name: "Error not usable" });

  const cases: [string, string, RegExp[]][] = [
    ["", "Paste an AWS error first.", []],
    [
      "Error: connect ECONNREFUSED 127.0.0.1:443\n    at TCPConnectWrap.afterConnect",
      "No AWS access-denied message in this text.",
      [/NO_DENIAL/],
    ],
    [
      `An error occurred (AccessDenied) when calling the DeleteRole operation: User: ${SESSION} is not authorized to perform: iam:DeleteRole on resource: ${DEVELOPER} with an explicit deny in a service control policy`,
      "A request cannot fix this.",
      [
        /explicit deny in a service control policy/,
        /who can fix it: the organisation's administrators/i,
        /DENIAL_NOT_REQUESTABLE/,
      ],
    ],
    [
      `User: arn:aws:sts::${STAGING}:assumed-role/Unmanaged/alice is not authorized to perform: s3:ListBucket on resource: arn:aws:s3:::b because no identity-based policy allows the s3:ListBucket action`,
      "Gatehouse does not manage this role or user.",
      [/role Unmanaged in account 333333333333/, /its own administrators can fix/, /DENIAL_TARGET_UNKNOWN/],
    ],
  ];
  // EC2's encoded form, forged: the broker's decode is refused by AWS, so nothing can be trusted or requested.
  cases.push([
    "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: You are not authorized to perform this operation. Encoded authorization failure message: Zm9yZ2VkLW1lc3NhZ2UtdGhhdC1pcy1ub3QtZnJvbS1hd3M",
    "AWS would not decode this encoded message.",
    [/DENIAL_UNDECODABLE/],
  ]);
  // A genuine encoded message about a role alice may not use: its decoded content is not hers to read.
  cases.push([
    ec2Error(stack.emulator.world, "arn:aws:sts::222222222222:assumed-role/Billing/x", "ec2:StopInstances"),
    "You may not read this error's decoded message.",
    [/FORBIDDEN/],
  ]);
  for (const [input, title, details] of cases) {
    await text.fill(input);
    await read.click();
    await expect(alert.locator(".alert-title")).toHaveText(title);
    for (const d of details) await expect(alert).toContainText(d);
    await expect(alert).toContainText("No request was made.");
    // Nothing was drafted: the template form is still there, no target was chosen.
    await expect(form.getByRole("region", { name: "From the error" })).toHaveCount(0);
    await expect(form.getByLabel("Template")).toBeVisible();
  }
  expect(await desktop.core.myRequests()).toHaveLength(before);
});

/** EC2's UnauthorizedOperation error with the emulator's encoded authorization failure message. */
const ec2Error = (world: World, principal: string, action = "ec2:RunInstances") =>
  `An error occurred (UnauthorizedOperation) when calling the RunInstances operation: You are not authorized to perform this operation. Encoded authorization failure message: ${encodeAuthorizationMessage(
    world,
    {
      principal: { id: "AROAEXAMPLE:alice", arn: principal },
      action,
      resource: `arn:aws:ec2:us-east-1:${STAGING}:instance/*`,
      explicitDeny: false,
    },
  )}`;

test("alice pastes EC2's encoded error: the broker decodes it and the draft is on Developer", async ({
  app,
  desktop,
  stack,
}) => {
  await signInFully(app, desktop, "alice@example.com");
  const form = await openPaste(app);
  await form.getByLabel("AWS error or log").fill(ec2Error(stack.emulator.world, SESSION));
  await form.getByRole("button", { name: "Read the error" }).click();
  const summary = form.getByRole("region", { name: "From the error" });
  await expect(summary).toContainText("From 1 denial: staging/Developer");
  await expect(summary.getByRole("list", { name: "Actions" })).toContainText("ec2:RunInstances");
  await expect(form.getByRole("textbox", { name: "Policy" })).toContainText("ec2:RunInstances");
});

/** The raw IPC binding, as a page that skipped the preload's checks would call it. */
function raw(page: Page, args: unknown) {
  return page.evaluate(
    (a) =>
      (
        window as unknown as {
          __gatehouseIpc(c: string, a: unknown): Promise<{ ok: boolean; error?: { code: string } }>;
        }
      ).__gatehouseIpc("gatehouse:draftFromError", a),
    args,
  );
}

test("hostile input: oversized or malformed arguments are refused in main; markup in a role name stays text", async ({
  app,
  desktop,
}) => {
  await signInFully(app, desktop, "alice@example.com");
  const before = (await desktop.core.myRequests()).length;
  for (const args of [
    { text: "x".repeat(1024 * 1024 + 1) },
    { text: 42 },
    { text: "User: x is not authorized to perform: s3:GetObject", policy: "{}" },
    null,
  ])
    expect(await raw(app, args)).toMatchObject({ ok: false, error: { code: "BAD_REQUEST" } });

  // A role "name" carrying markup: the message names it, as text, and nothing runs.
  const form = await openPaste(app);
  await form
    .getByLabel("AWS error or log")
    .fill(
      `User: arn:aws:sts::${STAGING}:assumed-role/<i>Pwned<i>/a is not authorized to perform: s3:GetObject because no identity-based policy allows the s3:GetObject action`,
    );
  await form.getByRole("button", { name: "Read the error" }).click();
  const alert = form.getByRole("alert", { name: "Error not usable" });
  await expect(alert).toContainText("Gatehouse does not manage this role or user.");
  await expect(alert).toContainText("role <i>Pwned<i> in account");
  await expect(alert.locator("i")).toHaveCount(0);
  expect(await desktop.core.myRequests()).toHaveLength(before);
});

test("a log mixing a fixable denial and an explicit deny drafts the fixable one and lists the other with who can fix it", async ({
  app,
  desktop,
}) => {
  await signInFully(app, desktop, "alice@example.com");
  const before = (await desktop.core.myRequests()).length;
  const form = await openPaste(app);
  await form
    .getByLabel("AWS error or log")
    .fill(
      [
        `An error occurred (AccessDenied) when calling the ListUsers operation: User: ${SESSION} is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::${STAGING}:user/ because no identity-based policy allows the iam:ListUsers action`,
        "some unrelated line",
        `An error occurred (AccessDenied) when calling the DeleteRole operation: User: ${SESSION} is not authorized to perform: iam:DeleteRole on resource: ${DEVELOPER} with an explicit deny in a service control policy`,
      ].join("\n"),
    );
  await form.getByRole("button", { name: "Read the error" }).click();
  const summary = form.getByRole("region", { name: "From the error" });
  await expect(summary).toContainText("From 1 denial: staging/Developer");
  await expect(summary.getByRole("list", { name: "Actions" })).toHaveText("iam:ListUsers");
  const refused = summary.getByRole("list", { name: "Not requested" });
  await expect(refused).toContainText("iam:DeleteRole");
  await expect(refused).toContainText("explicit deny in a service control policy");
  await expect(refused).toContainText("AWS Organizations");
  await expect(form.getByRole("textbox", { name: "Policy" })).not.toContainText("iam:DeleteRole");
  // Reading drafts; only sending makes a request. "Use a template instead" leaves the draft.
  expect(await desktop.core.myRequests()).toHaveLength(before);
  await summary.getByRole("button", { name: "Use a template instead" }).click();
  await expect(form.getByLabel("Template")).toBeVisible();
  await expect(form.getByRole("region", { name: "From the error" })).toHaveCount(0);
  await expect(form.getByRole("textbox", { name: "Policy" })).not.toContainText("iam:ListUsers");
});
