// The tray app's renderer in Chromium against the real stack: sign-in through the dev IdP's form, alice's
// roles and nothing else, search, favourites across a reload, the console for a role, copying, carol's empty
// state, settings that persist, themes; a screenshot of each screen is kept.

import { resolve } from "node:path";
import { accountRoleRefs, expect, roleRow, screenshot, signIn, test } from "./harness.ts";

const ALICE_ROLES = ["prod/ReadOnly", "staging/DataPipeline", "staging/Developer"];

test("alice signs in and sees exactly her roles, grouped by account", async ({ app, desktop }, info) => {
  await expect(app.getByRole("heading", { name: "Sign in to Gatehouse" })).toBeVisible();
  await screenshot(app, "sign-in", info);

  await signIn(app, desktop, "alice@example.com");

  const list = app.getByRole("list", { name: "Roles" });
  await expect(list).toBeVisible();
  await expect.poll(() => accountRoleRefs(app)).toEqual(ALICE_ROLES);
  await expect(list.getByRole("heading", { name: /prod\s*222222222222/ })).toBeVisible();
  await expect(list.getByRole("heading", { name: /staging\s*333333333333/ })).toBeVisible();

  // The CLI-only role says so and offers no console; the others do.
  const pipeline = roleRow(app, "staging/DataPipeline");
  await expect(pipeline.getByText("CLI only", { exact: true })).toBeVisible();
  await expect(pipeline.getByRole("button", { name: "Open console" })).toBeDisabled();
  for (const ref of ["prod/ReadOnly", "staging/Developer"]) {
    await expect(roleRow(app, ref).getByText("CLI only", { exact: true })).toHaveCount(0);
    await expect(roleRow(app, ref).getByRole("button", { name: "Open console" })).toBeEnabled();
  }
  await expect(app.getByText("3 roles", { exact: true })).toBeVisible();

  const status = app.getByRole("contentinfo");
  await expect(status).toContainText("alice@example.com");
  await expect(status).toContainText("Broker reachable");
  await expect(status).toContainText("No credentials in use");
  await screenshot(app, "roles", info);

  // The session is the agent's: a new window (a reload) is still signed in and asks for no new login.
  await app.reload();
  await expect.poll(() => accountRoleRefs(app)).toEqual(ALICE_ROLES);
  expect(desktop.calls["agent.login"]).toBe(1);
});

test("search narrows the roles at once and is reached from the keyboard", async ({ app, desktop }, info) => {
  await signIn(app, desktop, "alice@example.com");
  await expect.poll(() => accountRoleRefs(app)).toEqual(ALICE_ROLES);

  await app.keyboard.press("/");
  const search = app.getByRole("searchbox", { name: "Search roles" });
  await expect(search).toBeFocused();
  await search.pressSequentially("pipe");
  await expect.poll(() => accountRoleRefs(app)).toEqual(["staging/DataPipeline"]);
  await expect(app.getByText("1 of 3 roles")).toBeVisible();
  await expect(app.getByRole("list", { name: "Matching roles" }).locator("mark").first()).toHaveText(/pipe/i);
  await screenshot(app, "search", info);

  // Account id, account name, tag values and several words (all must match).
  await search.fill("222222222222");
  await expect.poll(() => accountRoleRefs(app)).toEqual(["prod/ReadOnly"]);
  await search.fill("engineers");
  await expect.poll(() => accountRoleRefs(app)).toEqual(["prod/ReadOnly", "staging/Developer"]);
  await search.fill("staging power");
  await expect.poll(() => accountRoleRefs(app)).toEqual([]);
  await search.fill("staging developer");
  await expect.poll(() => accountRoleRefs(app)).toEqual(["staging/Developer"]);
  await search.fill("no-such-role");
  await expect(app.getByText(/No role matches/)).toBeVisible();

  // Escape clears; Ctrl+K comes back to the search from the list.
  await search.press("Escape");
  await expect(search).toHaveValue("");
  await expect.poll(() => accountRoleRefs(app)).toEqual(ALICE_ROLES);
  await search.press("ArrowDown");
  await expect(roleRow(app, "prod/ReadOnly")).toBeFocused();
  await app.keyboard.press("ArrowDown");
  await expect(roleRow(app, "staging/DataPipeline")).toBeFocused();
  await app.keyboard.press("Control+k");
  await expect(search).toBeFocused();
});

test("a favourite survives a reload", async ({ app, desktop }) => {
  await signIn(app, desktop, "alice@example.com");
  const star = roleRow(app, "staging/Developer").getByRole("button", { name: "Favourite" });
  await expect(star).toHaveAttribute("aria-pressed", "false");
  await star.click();
  await expect(star).toHaveAttribute("aria-pressed", "true");
  await expect(roleRow(app, "staging/Developer", "favourites")).toBeVisible();
  await expect(app.getByRole("heading", { name: /Favourites/ })).toBeVisible();
  expect(desktop.readJson("ui.json").favourites).toEqual(["staging/Developer"]);

  await app.reload();
  await expect(roleRow(app, "staging/Developer", "favourites")).toBeVisible();
  await expect(roleRow(app, "staging/Developer").getByRole("button", { name: "Favourite" })).toHaveAttribute(
    "aria-pressed",
    "true",
  );
  await expect(roleRow(app, "prod/ReadOnly").getByRole("button", { name: "Favourite" })).toHaveAttribute(
    "aria-pressed",
    "false",
  );

  // F on a focused role toggles it too.
  await roleRow(app, "staging/Developer", "favourites").focus();
  await app.keyboard.press("f");
  await expect(roleRow(app, "staging/Developer", "favourites")).toHaveCount(0);
  await expect.poll(() => desktop.readJson("ui.json").favourites).toEqual([]);
});

test("Open console leads to the emulator's console page for the role", async ({ app, desktop, context }) => {
  await signIn(app, desktop, "alice@example.com");
  await roleRow(app, "staging/Developer").getByRole("button", { name: "Open console" }).click();
  await expect(app.getByTestId("toast")).toContainText("Console opened for staging/Developer");
  expect(desktop.consoles).toHaveLength(1);
  const opened = desktop.consoles[0]!;
  expect(opened.role.ref).toBe("staging/Developer");
  expect(opened.mode).toBe("browser");

  const consolePage = await context.newPage();
  await consolePage.goto(opened.url);
  const main = consolePage.locator("#console");
  await expect(main).toHaveAttribute("data-role", "Developer");
  await expect(main).toHaveAttribute("data-account", "333333333333");
  await expect(main).toHaveAttribute("data-session", "alice@example.com");
  await consolePage.close();

  // It is recent now, and Enter on a focused role opens its console from the keyboard.
  await expect(roleRow(app, "staging/Developer", "recent")).toBeVisible();
  await roleRow(app, "prod/ReadOnly").focus();
  await app.keyboard.press("Enter");
  await expect.poll(() => desktop.consoles.length).toBe(2);
  expect(desktop.consoles[1]!.role.ref).toBe("prod/ReadOnly");

  // A CLI-only role never asks for one.
  await roleRow(app, "staging/DataPipeline").focus();
  await app.keyboard.press("Enter");
  await expect(app.getByTestId("toast")).toContainText("is for the CLI only");
  expect(desktop.calls["agent.console"]).toBe(2);
});

test("copy actions put the profile name, credential_process line and env export on the clipboard", async ({
  app,
  desktop,
}) => {
  await signIn(app, desktop, "alice@example.com");
  const row = roleRow(app, "staging/Developer");
  const clipboard = () => app.evaluate(() => navigator.clipboard.readText());

  await row.getByRole("button", { name: "Copy profile name" }).click();
  await expect(app.getByTestId("toast")).toContainText("Copied");
  await expect.poll(clipboard).toBe("staging-Developer");

  await row.getByRole("button", { name: "Copy credential_process line" }).click();
  await expect
    .poll(clipboard)
    // The CLI by absolute path (here Node and this checkout's script, as no binary is installed).
    .toBe(
      `credential_process = ${process.execPath} ${resolve(import.meta.dirname, "../../bin/gatehouse.cjs")} credential-process --role staging/Developer`,
    );

  await row.getByRole("button", { name: "Copy env export" }).click();
  await expect.poll(clipboard).toMatch(/^export AWS_ACCESS_KEY_ID=.?ASIA/m);
  expect(await clipboard()).toMatch(/^export AWS_SESSION_TOKEN=.+/m);
  // The toast never shows the secret itself.
  await expect(app.getByTestId("toast")).not.toContainText("AWS_SECRET_ACCESS_KEY");

  // The credentials now in use count down in the status bar, second by second.
  const left = app.getByTestId("time-left");
  await expect(left).toHaveText(/^\d+ h \d\d min left$|^\d+:\d\d left$/);
  await expect(app.getByRole("contentinfo")).toContainText("staging/Developer");
});

test("carol, who may use no role, sees the empty state", async ({ app, desktop }, info) => {
  await signIn(app, desktop, "carol@example.com");
  await expect(app.getByRole("heading", { name: "You can't use any AWS role yet" })).toBeVisible();
  await expect(app.getByText(/Ask for access/)).toBeVisible();
  await expect(app.getByRole("button", { name: "Request access to a role" })).toBeVisible();
  await expect(app.getByRole("list", { name: "Roles" })).toHaveCount(0);
  await expect(app.getByRole("contentinfo")).toContainText("carol@example.com");
  await screenshot(app, "empty-state", info);
});

test("the first screen asks for the broker's URL; one that is not a broker is refused with its code", async ({
  app,
  desktop,
}) => {
  const field = app.getByLabel("Your company's Gatehouse URL");
  const brokerUrl = desktop.core.service.agent.settings.brokerUrl;
  await expect(field).toHaveValue(brokerUrl);
  await field.fill("http://127.0.0.1:9");
  await app.getByRole("button", { name: "Sign in with SSO" }).click();
  await expect(app.getByRole("alert")).toContainText("BROKER_UNREACHABLE");
  // Nothing was changed: the same broker is still the one in use, and signing in there still works.
  expect(desktop.core.service.agent.settings.brokerUrl).toBe(brokerUrl);
  await field.fill(brokerUrl);
  await signIn(app, desktop, "alice@example.com");
  await expect.poll(() => accountRoleRefs(app)).toEqual(ALICE_ROLES);
});

test("a cancelled sign-in says so and can be tried again", async ({ app, desktop }) => {
  await app.getByRole("button", { name: "Sign in with SSO" }).click();
  await expect(app.getByText("Waiting for your browser…")).toBeVisible();
  const login = await desktop.nextLoginPage();
  await login.getByRole("button", { name: "Cancel" }).click();
  await expect(app.getByRole("alert")).toContainText("Sign-in did not complete");
  await expect(app.getByRole("button", { name: "Sign in with SSO" })).toBeEnabled();
  await login.close();

  await signIn(app, desktop, "alice@example.com");
  await expect.poll(() => accountRoleRefs(app)).toEqual(ALICE_ROLES);
});

test("settings changes persist", async ({ app, desktop, page }, info) => {
  await signIn(app, desktop, "alice@example.com");
  await app.keyboard.press("Control+,");
  const dialog = app.getByRole("dialog", { name: "Settings" });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByLabel("Profile name template")).toHaveValue("{account}-{role}");
  await screenshot(app, "settings", info);

  // A template without {role} is refused before it is sent.
  await dialog.getByLabel("Profile name template").fill("{account}");
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(dialog.getByText("The template must contain {role}.")).toBeVisible();
  expect(desktop.calls.updateSettings ?? 0).toBe(0);

  await dialog.getByLabel("Profile name template").fill("gh-{account}.{role}");
  await dialog.getByLabel("Refresh window (seconds)").fill("900");
  await dialog.getByLabel("An app window").check();
  await dialog.getByLabel("Launch Gatehouse when I log in").check();
  await dialog.getByLabel("Dark").check();
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(dialog).toBeHidden();
  await expect(app.getByTestId("toast")).toContainText("Settings saved");
  await expect(app.locator("html")).toHaveAttribute("data-theme", "dark");
  expect(desktop.calls.updateSettings).toBe(1);

  // On disk: agent settings in settings.json, UI ones in ui.json.
  expect(desktop.readJson("settings.json")).toMatchObject({
    profileTemplate: "gh-{account}.{role}",
    refreshWindowSeconds: 900,
  });
  expect(desktop.readJson("ui.json")).toMatchObject({
    consoleMode: "window",
    theme: "dark",
    launchAtLogin: true,
  });

  await page.reload();
  await expect(app.locator("html")).toHaveAttribute("data-theme", "dark");
  await roleRow(app, "staging/Developer").getByRole("button", { name: "Copy profile name" }).click();
  await expect.poll(() => app.evaluate(() => navigator.clipboard.readText())).toBe("gh-staging.Developer");
  await roleRow(app, "staging/Developer").getByRole("button", { name: "Open console" }).click();
  await expect(app.getByTestId("toast")).toContainText("In a Gatehouse window");
  expect(desktop.consoles.at(-1)?.mode).toBe("window");
  await screenshot(app, "roles-dark-setting", info);

  await app.getByRole("button", { name: "Settings" }).click();
  await expect(dialog.getByLabel("Profile name template")).toHaveValue("gh-{account}.{role}");
  await expect(dialog.getByLabel("Refresh window (seconds)")).toHaveValue("900");
  await expect(dialog.getByLabel("An app window")).toBeChecked();
  await expect(dialog.getByLabel("Launch Gatehouse when I log in")).toBeChecked();
  await expect(dialog.getByLabel("Dark")).toBeChecked();
  await dialog.press("Escape");
  await expect(dialog).toBeHidden();
});

test("the system theme follows the OS: light and dark", async ({ app, desktop }, info) => {
  await signIn(app, desktop, "alice@example.com");
  await roleRow(app, "prod/ReadOnly").getByRole("button", { name: "Favourite" }).click();
  await roleRow(app, "staging/Developer").getByRole("button", { name: "Copy env export" }).click();
  await expect(app.getByTestId("time-left")).toBeVisible();
  await app.getByTestId("toast").getByRole("button", { name: "Dismiss" }).click();
  const background = () => app.evaluate(() => getComputedStyle(document.body).backgroundColor);

  await app.emulateMedia({ colorScheme: "light" });
  await expect(app.locator("html")).toHaveAttribute("data-theme", "system");
  const light = await background();
  await screenshot(app, "roles-light", info);

  await app.emulateMedia({ colorScheme: "dark" });
  await expect.poll(background).not.toBe(light);
  await roleRow(app, "staging/Developer").focus();
  await screenshot(app, "roles-dark", info);
});
