// Permission requests in the tray app against the real stack (a broker with `approvers` as approver group):
// alice asks for S3 read on a bucket for staging/Developer from a template; dave approves it in his
// approvals tab; the inline policy is in the emulator's IAM (read with the AWS SDK as Gatehouse's spoke role)
// until it expires. An approver's edit reaches the requester as a diff. alice cannot approve her own
// request and carol approves nothing; the editor marks lint findings and completes actions.

import { GetRolePolicyCommand, type IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import type { Browser, Locator, Page } from "@playwright/test";
import type { PermissionRequest } from "../../shared/requests.ts";
import { spokeIam } from "../support/spoke-iam.ts";
import type { StaticServer } from "../support/static-server.ts";
import {
  type Desktop,
  expect,
  type OtherPerson,
  openDesktop,
  roleRow,
  type Stack,
  screenshot,
  signIn,
  test,
} from "./harness.ts";

test.use({ brokerExtra: "requests:\n  approver_groups: [approvers]\n" });

const STAGING = "333333333333";

/** Signs in and waits until the roles are shown and the broker has said whether this person approves. */
async function signInFully(app: Page, desktop: Desktop, email: string, firstRole?: string): Promise<void> {
  await signIn(app, desktop, email);
  if (firstRole) await expect(roleRow(app, firstRole)).toBeVisible();
  await expect(app.getByRole("tablist", { name: "Sections" })).toHaveAttribute("data-context", "loaded");
}

/** A bucket name no other test of this worker uses. */
const bucketFor = (what: string) => `${what}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`;

/** Fills the request panel for an S3 template on staging/Developer and sends it; returns the request. */
async function requestS3(
  app: Page,
  desktop: Desktop,
  o: { template: string; bucket: string; justification: string; expiry: string },
): Promise<PermissionRequest> {
  await app.getByRole("tab", { name: "Request", exact: true }).click();
  const form = app.getByRole("form", { name: "Request permissions" });
  await form.getByLabel("Find a role or user").fill("staging developer");
  await form.getByRole("option", { name: /staging\/Developer/ }).click();
  await expect(form.getByRole("list", { name: "Chosen targets" })).toContainText("staging/Developer");
  await form.getByLabel("Template").selectOption({ label: o.template });
  await form.getByLabel("Bucket name").fill(o.bucket);
  await expect(form.getByRole("textbox", { name: "Policy" })).toContainText(`arn:aws:s3:::${o.bucket}/*`);
  await expect(form.getByText("Valid policy, no findings")).toBeVisible();
  await form.getByLabel("Justification").fill(o.justification);
  await form.getByLabel("Expires after").selectOption({ label: o.expiry });
  await form.getByRole("button", { name: "Send request" }).click();
  await expect(app.getByRole("tab", { name: "My requests" })).toHaveAttribute("aria-selected", "true");
  const mine = await desktop.core.myRequests();
  const r = mine.find((x) => x.policy?.includes(`arn:aws:s3:::${o.bucket}/*`));
  if (!r) throw new Error(`no request for ${o.bucket} among alice's ${mine.length}`);
  return r;
}

/**
 * Replaces the editor's text as a paste does (CodeMirror handles the paste itself; Playwright's fill would
 * have the browser's editing engine rewrite the DOM instead, with inline styles the CSP refuses).
 */
async function paste(app: Page, editor: Locator, text: string): Promise<void> {
  await editor.click();
  await app.keyboard.press("Control+a");
  await app.evaluate((t) => navigator.clipboard.writeText(t), text);
  await app.keyboard.press("Control+v");
  // CodeMirror may take the paste a moment later: nothing else is typed before it is in.
  await expect(editor).toHaveText(text.split("\n").join(""));
}

const card = (app: Page, id: string) => app.locator(`article[data-request-id="${id}"]`);
const queueItem = (app: Page, id: string) => app.locator(`button[data-request-id="${id}"]`);

/** A second person at their own desktop, signed in as `email`, for `use`; closed however `use` ends. */
async function asOther(
  where: { browser: Browser; stack: Stack; server: StaticServer },
  email: string,
  use: (person: OtherPerson) => Promise<void>,
): Promise<void> {
  const person = await openDesktop(where.browser, where.stack, where.server);
  try {
    await signInFully(person.app, person.desktop, email);
    await use(person);
  } finally {
    await person.close();
  }
}

/** What GetRolePolicy on staging/Developer answers for this policy: "still there" or the error's name. */
const developerPolicy = (iam: IAMClient, policyName: string) =>
  iam.send(new GetRolePolicyCommand({ RoleName: "Developer", PolicyName: policyName })).then(
    () => "still there",
    (e: Error) => e.name,
  );

test("alice requests S3 read for staging/Developer, dave approves it, IAM has it until it expires", async ({
  app,
  desktop,
  stack,
  server,
  browser,
}, info) => {
  await signInFully(app, desktop, "alice@example.com", "staging/Developer");
  // alice approves nothing: no Approvals tab.
  await expect(app.getByRole("tab")).toHaveText(["Roles", "Request", "My requests", "Record"]);

  const bucket = bucketFor("staging-reports");
  await app.getByRole("tab", { name: "Request", exact: true }).click();
  const form = app.getByRole("form", { name: "Request permissions" });
  // Nothing chosen yet: the panel says what is missing instead of sending.
  await form.getByRole("button", { name: "Send request" }).click();
  const notReady = form.getByRole("alert").filter({ hasText: "The request is not ready." });
  await expect(notReady).toContainText("Choose at least one role or user.");
  await expect(notReady).toContainText("Bucket name: required.");
  await expect(notReady).toContainText("at least 10 characters");
  await expect(form.getByTestId("risk")).toHaveText("Low risk");
  await screenshot(app, "request-panel-empty", info);

  const req = await requestS3(app, desktop, {
    template: "S3 bucket: read",
    bucket,
    justification: "The quarterly report build reads this staging bucket",
    expiry: "1 hour",
  });
  expect(req.kind).toBe("inline-policy");
  expect(req.expirySeconds).toBe(3600);
  expect(req.targets.map((t) => t.arn)).toEqual([`arn:aws:iam::${STAGING}:role/Developer`]);
  const mineCard = card(app, req.id);
  await expect(mineCard.getByRole("heading")).toHaveText("Inline policy for staging/Developer");
  await expect(mineCard.getByRole("list", { name: "Targets" })).toContainText("Pending approval");
  await expect(app.getByTestId("toast")).toContainText("Request sent");
  await screenshot(app, "my-requests-pending", info);

  // dave, an approver, at his own desktop.
  await asOther({ browser, stack, server }, "dave@example.com", async (dave) => {
    const tab = dave.app.getByRole("tab", { name: /Approvals/ });
    const waiting = (await dave.desktop.core.approvals()).length;
    expect(waiting).toBeGreaterThanOrEqual(1);
    await expect(tab.getByTestId("approvals-badge")).toHaveText(`${waiting} waiting`);
    await expect(dave.app).toHaveTitle(`Gatehouse (${waiting})`);
    await tab.click();
    const item = queueItem(dave.app, req.id);
    await item.click();
    await expect(item).toContainText("Low risk");
    await expect(item).toContainText("alice@example.com");
    await expect(item).toContainText(/just now|\d+ min ago/);
    const detail = dave.app.getByRole("form", { name: "Inline policy for staging/Developer" });
    await expect(detail.getByLabel("Justification")).toHaveText(
      "The quarterly report build reads this staging bucket",
    );
    await expect(detail.getByRole("textbox", { name: "Policy to approve" })).toContainText(
      `arn:aws:s3:::${bucket}/*`,
    );
    await expect(detail.getByText("Valid policy, no findings")).toBeVisible();
    await detail.getByLabel("Comment").fill("Fine for the quarter");
    await screenshot(dave.app, "approvals", info);
    await detail.getByRole("button", { name: "Approve", exact: true }).click();
    await expect(dave.app.getByTestId("toast")).toContainText("Approved");
    await expect(item).toHaveCount(0);
    if (waiting === 1) await expect(tab.getByTestId("approvals-badge")).toHaveCount(0);
    else await expect(tab.getByTestId("approvals-badge")).toHaveText(`${waiting - 1} waiting`);
  });

  // The inline policy is on the role in the emulator's IAM, as the spoke role reads it.
  const applied = await desktop.core.getRequest(req.id);
  const target = applied.targets[0]!;
  expect(target.state).toBe("applied");
  expect(target.policyName).toContain(req.id);
  const iam = await spokeIam(stack.emulator, STAGING);
  const got = await iam.send(
    new GetRolePolicyCommand({ RoleName: "Developer", PolicyName: target.policyName! }),
  );
  const doc = JSON.parse(decodeURIComponent(got.PolicyDocument!)) as { Statement: { Resource: unknown }[] };
  expect(doc.Statement.map((s) => s.Resource)).toEqual([
    `arn:aws:s3:::${bucket}`,
    `arn:aws:s3:::${bucket}/*`,
  ]);

  // alice sees it applied, who approved it and their comment.
  await app.getByRole("button", { name: "Refresh" }).click();
  await expect(mineCard.getByRole("list", { name: "Targets" })).toContainText("Applied");
  await expect(mineCard).toContainText("Approved by dave@example.com");
  await expect(mineCard).toContainText("“Fine for the quarter”");
  await mineCard.getByText(/^History/).click();
  await expect(mineCard.getByRole("list", { name: "History" }).getByRole("listitem")).not.toHaveCount(0);
  await screenshot(app, "my-requests-applied", info);

  // After its expiry (the broker's expiry run, an hour and more later) the policy is gone.
  const expired = await stack.broker.requests.expireDue(new Date(Date.now() + 2 * 3600_000 + 60_000));
  expect(expired).toBeGreaterThanOrEqual(1);
  expect(await developerPolicy(iam, target.policyName!)).toBe("NoSuchEntityException");
  await app.getByRole("button", { name: "Refresh" }).click();
  await expect(mineCard.getByRole("list", { name: "Targets" })).toContainText("Expired");
  await expect(mineCard.getByRole("button", { name: "Cancel request" })).toHaveCount(0);
});

test("an approver's edit reaches the requester as a diff", async ({
  app,
  desktop,
  stack,
  server,
  browser,
}) => {
  await signInFully(app, desktop, "alice@example.com", "staging/Developer");
  const bucket = bucketFor("staging-uploads");
  const req = await requestS3(app, desktop, {
    template: "S3 bucket: read and write",
    bucket,
    justification: "Uploads for the import job, for a day",
    expiry: "1 day",
  });
  const requested = req.policy!;
  expect(requested).toContain('"s3:DeleteObject"');
  // dave takes deletes out: the whole text replaced, as a paste would.
  const edited = requested.replace(/\n\s*"s3:DeleteObject",/, "");
  expect(edited).not.toBe(requested);

  await asOther({ browser, stack, server }, "dave@example.com", async (dave) => {
    await dave.app.getByRole("tab", { name: /Approvals/ }).click();
    await queueItem(dave.app, req.id).click();
    await expect(queueItem(dave.app, req.id)).toContainText("Medium risk");
    const detail = dave.app.getByRole("form", { name: "Inline policy for staging/Developer" });
    const editor = detail.getByRole("textbox", { name: "Policy to approve" });
    await expect(editor).toContainText("s3:DeleteObject");
    await paste(dave.app, editor, edited);
    const mine = detail.getByRole("figure", { name: "Your changes" });
    await expect(mine.locator(".diff-line.del")).toHaveCount(1);
    await expect(mine.locator(".diff-line.del")).toHaveText(/^- +"s3:DeleteObject",\s*$/);
    await expect(detail.getByText("Valid policy, no findings")).toBeVisible();
    // An expiry shorter than asked: 8 hours from now.
    await detail.getByLabel("Expiry").selectOption({ label: "8 hours from now" });
    await detail.getByRole("button", { name: "Approve with my changes" }).click();
    await expect(dave.app.getByTestId("toast")).toContainText("Approved");
  });

  const applied = await desktop.core.getRequest(req.id);
  expect(applied.targets[0]!.state).toBe("applied");
  expect(applied.targets[0]!.policy).toBe(edited);
  const expiresIn = Date.parse(applied.targets[0]!.expiresAt!) - Date.now();
  expect(expiresIn).toBeGreaterThan(7.9 * 3600_000);
  expect(expiresIn).toBeLessThan(8.1 * 3600_000);

  await app.getByRole("button", { name: "Refresh" }).click();
  const mineCard = card(app, req.id);
  await expect(mineCard.getByRole("list", { name: "Targets" })).toContainText("Applied");
  const diff = mineCard.getByRole("figure", { name: "Changes by dave@example.com" });
  await expect(diff).toBeVisible();
  await expect(diff.locator(".diff-line.del")).toHaveCount(1);
  await expect(diff.locator(".diff-line.del")).toContainText('"s3:DeleteObject",');
  await expect(diff.locator(".diff-line.add")).toHaveCount(0);
});

/** What window.gatehouse.approveRequest in the page does with this id: "approved" or the error's code. */
function tryApprove(app: Page, id: string): Promise<string> {
  return app.evaluate(async (requestId) => {
    try {
      await window.gatehouse.approveRequest({ id: requestId });
      return "approved";
    } catch (e) {
      return String((e as { code?: unknown }).code ?? (e as Error).message);
    }
  }, id);
}

test("alice cannot approve her own request; carol approves nothing; alice cancels", async ({
  app,
  desktop,
  stack,
  server,
  browser,
}, info) => {
  await signInFully(app, desktop, "alice@example.com", "staging/Developer");
  await expect(app.getByRole("tab")).toHaveText(["Roles", "Request", "My requests", "Record"]);
  const bucket = bucketFor("own-approval");
  const req = await requestS3(app, desktop, {
    template: "S3 bucket: read",
    bucket,
    justification: "Trying to approve this myself, which must fail",
    expiry: "2 hours",
  });

  // The API refuses her too, whatever the window shows.
  expect(["SELF_APPROVAL", "REQUEST_NOT_FOUND"]).toContain(await tryApprove(app, req.id));
  expect((await desktop.core.getRequest(req.id)).targets[0]!.state).toBe("pending");

  // carol: no roles, no approvals tab, and the API refuses her.
  await asOther({ browser, stack, server }, "carol@example.com", async (carol) => {
    await expect(carol.app.getByRole("heading", { name: "You can't use any AWS role yet" })).toBeVisible();
    await expect(carol.app.getByRole("tab")).toHaveText(["Roles", "Request", "My requests", "Record"]);
    const code = await tryApprove(carol.app, req.id);
    expect(code).not.toBe("approved");
    expect(["NOT_AN_APPROVER", "REQUEST_NOT_FOUND", "FORBIDDEN"]).toContain(code);
    expect(await carol.app.evaluate(() => window.gatehouse.approvals())).toEqual([]);

    // Her empty state leads to the request panel for access to a role; a user cannot be chosen there.
    await carol.app.getByRole("button", { name: "Request access to a role" }).click();
    const form = carol.app.getByRole("form", { name: "Request permissions" });
    await expect(form.getByRole("radio", { name: "Access to a role" })).toBeChecked();
    await expect(form.getByRole("textbox", { name: "Policy" })).toHaveCount(0);
    await form.getByLabel("Find a role or user").fill("prod");
    await expect(form.getByRole("option", { name: /prod\/ReadOnly/ })).toBeVisible();
    await expect(form.getByRole("option", { name: /IAM user/ })).toHaveCount(0);
    await form.getByRole("option", { name: /prod\/ReadOnly/ }).click();
    await form.getByLabel("Justification").fill("short");
    await form.getByRole("button", { name: "Send request" }).click();
    await expect(form.getByRole("alert")).toContainText("at least 10 characters");
    await form.getByLabel("Justification").fill("On call this week: read-only look at prod");
    await form.getByLabel("Expires after").selectOption({ label: "Other…" });
    await form.getByLabel("How long").fill("100");
    await form.getByLabel("Unit").selectOption("days");
    await form.getByRole("button", { name: "Send request" }).click();
    await expect(form.getByRole("alert")).toContainText("Expiry: between 1 hour and 90 days.");
    await form.getByLabel("How long").fill("3");
    await form.getByRole("button", { name: "Send request" }).click();
    await expect(carol.app.getByRole("tab", { name: "My requests" })).toHaveAttribute(
      "aria-selected",
      "true",
    );
    const access = (await carol.desktop.core.myRequests()).find((r) => r.kind === "role-access");
    expect(access).toMatchObject({ kind: "role-access", policy: null, expirySeconds: 3 * 86_400 });
    const accessCard = card(carol.app, access?.id ?? "none");
    await expect(accessCard.getByRole("heading")).toHaveText("Role access for prod/ReadOnly");
    await expect(accessCard.getByRole("list", { name: "Targets" })).toContainText("Pending approval");
    await screenshot(carol.app, "role-access-request", info);
    await accessCard.getByRole("button", { name: "Cancel request" }).click();
    await expect(accessCard.getByRole("list", { name: "Targets" })).toContainText("Cancelled");
  });

  // alice cancels hers: it leaves every approver's queue.
  const mine = card(app, req.id);
  await mine.getByRole("button", { name: "Cancel request" }).click();
  await expect(app.getByTestId("toast")).toContainText("Request cancelled");
  await expect(mine.getByRole("list", { name: "Targets" })).toContainText("Cancelled");
  await expect(mine.getByRole("button", { name: "Cancel request" })).toHaveCount(0);
  expect((await desktop.core.getRequest(req.id)).targets[0]!.state).toBe("cancelled");
});

test("the editor marks lint findings in the text, completes actions, and refuses a broken policy", async ({
  app,
  desktop,
}, info) => {
  await signInFully(app, desktop, "alice@example.com", "staging/Developer");
  const before = (await desktop.core.myRequests()).length;
  // From the role's row in the list: the request panel with that role chosen.
  await roleRow(app, "staging/Developer").getByRole("button", { name: "Request permissions" }).click();
  await expect(app.getByRole("tab", { name: "Request", exact: true })).toHaveAttribute(
    "aria-selected",
    "true",
  );
  const form = app.getByRole("form", { name: "Request permissions" });
  await expect(form.getByRole("list", { name: "Chosen targets" }).getByRole("listitem")).toHaveText([
    /staging\/Developer/,
  ]);
  await form.getByLabel("Template").selectOption({ label: "Custom" });
  const editor = form.getByRole("textbox", { name: "Policy" });
  await expect(editor).toContainText("s3:ListAllMyBuckets");
  await expect(form.getByText("Valid policy, no findings")).toBeVisible();

  // An unknown action and every action on every resource.
  const broken = JSON.stringify(
    {
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: ["s3:GetObjectt"], Resource: "arn:aws:s3:::team-reports/*" },
        { Effect: "Allow", Action: "*", Resource: "*" },
      ],
    },
    null,
    2,
  );
  await paste(app, editor, broken);
  const findings = form.getByRole("list", { name: "Lint findings" });
  await expect(findings).toContainText("UNKNOWN_ACTION");
  await expect(findings).toContainText("WILDCARD_ACTION");
  await expect(form.getByTestId("risk")).toHaveText("Critical risk");
  await expect(form.getByText(/^\d+ errors? to fix$/)).toBeVisible();
  // The marker sits on the unknown action's text.
  const marked = form.locator(".cm-lintRange-error");
  await expect(marked.first()).toBeVisible();
  expect(await marked.allTextContents()).toContain('"s3:GetObjectt"');
  await screenshot(app, "request-lint", info);

  await form.getByLabel("Justification").fill("Checking that a broken policy is refused");
  await form.getByRole("button", { name: "Send request" }).click();
  await expect(form.getByRole("alert")).toContainText("Fix the policy's errors first");
  expect(await desktop.core.myRequests()).toHaveLength(before);

  // A well-formed policy that reaches Gatehouse's own role: the editor's lint warns (privilege escalation;
  // it is not told which roles are Gatehouse's), the broker refuses it, and the panel says why and keeps
  // everything as it was.
  const protectedRole = JSON.stringify(
    {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: "iam:PutRolePolicy",
          Resource: `arn:aws:iam::${STAGING}:role/GatehouseSpoke`,
        },
      ],
    },
    null,
    2,
  );
  await paste(app, editor, protectedRole);
  await expect(findings).toContainText("PRIVILEGE_ESCALATION");
  // The broker's own roles come with /v1/me, so the editor flags what the broker will refuse.
  await expect(findings).toContainText("PROTECTED_ROLE");
  await expect(form.getByTestId("risk")).toHaveText("Critical risk");
  await expect(form.getByText(/^Valid policy, \d+ findings?$/)).toBeVisible();
  await form.getByRole("button", { name: "Send request" }).click();
  const refused = form.getByRole("alert").filter({ hasText: "The request was not sent." });
  await expect(refused).toContainText("PROTECTED_ROLE");
  await expect(refused).not.toContainText("[POLICY_REFUSED]");
  await expect(form.getByLabel("Justification")).toHaveValue("Checking that a broken policy is refused");
  expect(await desktop.core.myRequests()).toHaveLength(before);

  // Completion: typing in an Action string offers the catalogue's actions (asked of main as you type).
  await paste(
    app,
    editor,
    '{\n  "Version": "2012-10-17",\n  "Statement": [\n    { "Effect": "Allow", "Action": ["sqs:SendMes',
  );
  await app.keyboard.type("s");
  // One suggestion (SQS has no other action starting so), with its access level and what it does.
  const suggestion = app.getByRole("option", { name: /^sqs:SendMessage/ });
  await expect(suggestion).toHaveCount(1);
  await expect(suggestion).toContainText("Write");
  await expect(app.getByText("Grants permission to deliver a message to the specified queue")).toBeVisible();
  await screenshot(app, "request-completion", info);
  await app.keyboard.press("Enter");
  await expect(editor).toContainText('"sqs:SendMessage');
  await expect(editor).not.toContainText('"sqs:SendMess"');
});

test("bob rejects a request with a reason, which alice reads in its history", async ({
  app,
  desktop,
  stack,
  server,
  browser,
}) => {
  await signInFully(app, desktop, "alice@example.com", "staging/Developer");
  // Sent through the page's API (the panel is covered above): secrets read on a role of prod.
  const secret = `arn:aws:secretsmanager:eu-west-1:222222222222:secret:${bucketFor("db")}`;
  const policy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secret }],
  });
  const req = await app.evaluate((body) => window.gatehouse.createRequest(body), {
    kind: "inline-policy" as const,
    targets: ["prod/ReadOnly"],
    policy,
    justification: "Debugging the prod database login",
    expiry: "PT4H",
  });

  await asOther({ browser, stack, server }, "bob@example.com", async (bob) => {
    await bob.app.getByRole("tab", { name: /Approvals/ }).click();
    await queueItem(bob.app, req.id).click();
    const detail = bob.app.getByRole("form", { name: "Inline policy for prod/ReadOnly" });
    await expect(detail.getByRole("textbox", { name: "Policy to approve" })).toContainText(secret);
    // A rejection needs a reason.
    await detail.getByRole("button", { name: "Reject" }).click();
    await expect(detail.getByRole("alert")).toContainText("Say why you reject it");
    await detail.getByLabel("Comment").fill("Use the break-glass runbook for prod secrets");
    await detail.getByRole("button", { name: "Reject" }).click();
    await expect(bob.app.getByTestId("toast")).toContainText("Rejected");
    await expect(queueItem(bob.app, req.id)).toHaveCount(0);
  });

  await app.getByRole("tab", { name: "My requests" }).click();
  const mine = card(app, req.id);
  await expect(mine.getByRole("list", { name: "Targets" })).toContainText("Rejected");
  await expect(mine.getByRole("button", { name: "Cancel request" })).toHaveCount(0);
  await mine.getByText(/^History/).click();
  const history = mine.getByRole("list", { name: "History" });
  await expect(history).toContainText("bob@example.com");
  await expect(history).toContainText("Use the break-glass runbook for prod secrets");
  expect((await desktop.core.getRequest(req.id)).targets[0]!.state).toBe("rejected");
});

test("a policy changed outside Gatehouse is drift at expiry, which an approver settles by deleting it", async ({
  app,
  desktop,
  stack,
  server,
  browser,
}) => {
  await signInFully(app, desktop, "alice@example.com", "staging/Developer");
  const bucket = bucketFor("drift");
  const policy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${bucket}/*` }],
  });
  const req = await app.evaluate((body) => window.gatehouse.createRequest(body), {
    kind: "inline-policy" as const,
    targets: ["staging/Developer"],
    policy,
    justification: "Reading the drift bucket for an hour",
    expiry: "PT1H",
  });

  await asOther({ browser, stack, server }, "dave@example.com", async (dave) => {
    const approved = await dave.app.evaluate((id) => window.gatehouse.approveRequest({ id }), req.id);
    const policyName = approved.targets[0]!.policyName!;
    expect(approved.targets[0]!.state).toBe("applied");

    // Someone widens the policy in IAM directly; at expiry Gatehouse finds it changed and leaves it be.
    const iam = await spokeIam(stack.emulator, STAGING);
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: "Developer",
        PolicyName: policyName,
        PolicyDocument: policy.replace('"s3:GetObject"', '["s3:GetObject","s3:PutObject"]'),
      }),
    );
    await stack.broker.requests.expireDue(new Date(Date.now() + 2 * 3600_000 + 60_000));
    const drifted = await desktop.core.getRequest(req.id);
    expect(drifted.targets[0]).toMatchObject({ state: "applied", drift: expect.any(String) });

    // alice is told, and cannot settle it herself.
    await app.getByRole("tab", { name: "My requests" }).click();
    const mine = card(app, req.id);
    await expect(mine).toContainText("Changed outside Gatehouse");
    await expect(mine).toContainText("An approver decides whether it is deleted or kept.");
    await expect(mine.getByRole("button", { name: "Delete the policy" })).toHaveCount(0);

    // dave opens it by id in his approvals tab and deletes it.
    await dave.app.getByRole("tab", { name: /Approvals/ }).click();
    const lookup = dave.app.getByRole("region", { name: "Look up a request" });
    await lookup.getByLabel("Request id").fill("not an id!");
    await lookup.getByRole("button", { name: "Open" }).click();
    await expect(lookup.getByRole("alert")).toContainText("A request id is letters, digits");
    await lookup.getByLabel("Request id").fill(req.id);
    await lookup.getByRole("button", { name: "Open" }).click();
    const theirs = card(dave.app, req.id);
    await expect(theirs).toContainText("Changed outside Gatehouse");
    await expect(theirs.getByRole("button", { name: "Cancel request" })).toHaveCount(0);
    await theirs.getByRole("button", { name: "Delete the policy" }).click();
    await expect(dave.app.getByTestId("toast")).toContainText("Policy deleted");
    await expect(theirs.getByRole("list", { name: "Targets" })).toContainText("Expired");
    await expect(theirs.getByRole("button", { name: "Delete the policy" })).toHaveCount(0);

    expect(await developerPolicy(iam, policyName)).toBe("NoSuchEntityException");
  });
  await app.getByRole("button", { name: "Refresh" }).click();
  await expect(card(app, req.id).getByRole("list", { name: "Targets" })).toContainText("Expired");
});
