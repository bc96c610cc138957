// The IPC contract from the page's side: window.gatehouse has exactly the contract's channels; a call whose
// argument does not fit its schema is refused with BAD_REQUEST and never reaches the desktop core or the agent;
// a call from another origin, or from a frame inside the app's window, is refused with FORBIDDEN_ORIGIN.

import type { Page } from "@playwright/test";
import { CHANNELS } from "../../shared/ipc.ts";
import { startStaticServer } from "../support/static-server.ts";
import { bindGatehouse, expect, signIn, test } from "./harness.ts";

interface Outcome {
  ok: boolean;
  value?: unknown;
  code?: string;
  message?: string;
  isError?: boolean;
}

/** Calls window.gatehouse[channel](args) in a frame and reports what came back. */
function call(frame: Pick<Page, "evaluate">, channel: string, args?: unknown): Promise<Outcome> {
  return frame.evaluate(
    async ([c, a]) => {
      const fn = (window.gatehouse as unknown as Record<string, (x?: unknown) => Promise<unknown>>)[
        c as string
      ];
      try {
        return { ok: true, value: await fn!(a) };
      } catch (e) {
        const err = e as Error & { code?: string };
        return { ok: false, code: err.code, message: err.message, isError: err instanceof Error };
      }
    },
    [channel, args] as const,
  );
}

/** The raw IPC binding, as a page that skipped the preload's functions would use it. */
function raw(page: Page, channel: string, args: unknown) {
  return page.evaluate(
    ([c, a]) =>
      (
        window as unknown as {
          __gatehouseIpc(
            c: string,
            a: unknown,
          ): Promise<{ ok: boolean; error?: { code: string; message: string } }>;
        }
      ).__gatehouseIpc(c as string, a),
    [channel, args] as const,
  );
}

function totalCalls(calls: Record<string, number>): number {
  return Object.values(calls).reduce((a, b) => a + b, 0);
}

test("window.gatehouse exposes exactly the contract's channels, as functions", async ({ app }) => {
  await expect(app.getByRole("button", { name: "Sign in with SSO" })).toBeVisible();
  const shape = await app.evaluate(() =>
    Object.entries(window.gatehouse).map(([k, v]) => [k, typeof v] as const),
  );
  expect(shape.map(([k]) => k).sort()).toEqual([...CHANNELS].sort());
  expect(shape.every(([, t]) => t === "function")).toBe(true);
});

test("calls with a wrong argument shape are refused with BAD_REQUEST and never reach the agent", async ({
  app,
  desktop,
}) => {
  await signIn(app, desktop, "alice@example.com");
  await expect(app.getByRole("list", { name: "Roles" })).toBeVisible();
  const settingsBefore = desktop.readJson("settings.json");
  for (const k of Object.keys(desktop.calls)) delete desktop.calls[k];

  const cases: [channel: string, args: unknown, message: RegExp][] = [
    ["openConsole", { role: 42 }, /^openConsole: role: .*expected string/],
    ["openConsole", {}, /^openConsole: role: /],
    ["openConsole", "staging/Developer", /^openConsole: argument: /],
    ["openConsole", { role: "staging/Developer", region: "../../etc" }, /^openConsole: region: /],
    ["openConsole", { role: "staging/Developer", destination: "https://evil.example" }, /unrecognized key/i],
    ["setFavourite", { role: "staging/Developer" }, /^setFavourite: favourite: /],
    ["setFavourite", { role: "staging/Developer", favourite: "yes" }, /^setFavourite: favourite: /],
    ["copyText", { role: "staging/Developer", kind: "profile", extra: 1 }, /unrecognized key/i],
    ["copyText", { role: "staging/Developer", kind: "secretKey" }, /^copyText: kind: /],
    ["copyText", { role: "x".repeat(5000), kind: "profile" }, /^copyText: role: /],
    ["roles", { refresh: "please" }, /^roles: refresh: /],
    ["status", { verbose: true }, /unrecognized key/i],
    ["signIn", { email: "mallory@example.com" }, /unrecognized key/i],
    ["updateSettings", { theme: "pink" }, /^updateSettings: theme: /],
    ["updateSettings", { brokerUrl: "file:///etc/passwd" }, /^updateSettings: brokerUrl: /],
    [
      "updateSettings",
      { profileTemplate: "{account}" },
      /^updateSettings: profileTemplate: must contain \{role\}/,
    ],
    ["updateSettings", { refreshWindowSeconds: 5 }, /^updateSettings: refreshWindowSeconds: /],
    ["updateSettings", { tokenStore: "file" }, /unrecognized key/i],
    // "Record": only a role, an argv, a folder and the proxy switch; never an environment or a shell line.
    ["recordStart", { role: "staging/Developer", command: "aws s3 ls" }, /^recordStart: command: /],
    ["recordStart", { role: "staging/Developer", command: [] }, /^recordStart: command: /],
    ["recordStart", { role: "staging/Developer", command: Array(300).fill("x") }, /^recordStart: command: /],
    ["recordStart", { role: "staging/Developer", command: [42] }, /^recordStart: command\.0: /],
    [
      "recordStart",
      { role: "staging/Developer", command: ["env"], env: { LD_PRELOAD: "x" } },
      /unrecognized key/i,
    ],
    [
      "recordStart",
      { role: "staging/Developer", command: ["true"], cwd: "x".repeat(5000) },
      /^recordStart: cwd: /,
    ],
    ["recordStart", { role: "staging/Developer", command: ["true"], proxy: "yes" }, /^recordStart: proxy: /],
    ["recordStop", { kill: "SIGKILL" }, /unrecognized key/i],
    ["recordSavePolicy", { path: "/etc/passwd" }, /unrecognized key/i],
  ];
  for (const [channel, args, message] of cases) {
    const out = await call(app, channel, args);
    expect(out, `${channel}(${JSON.stringify(args)})`).toMatchObject({
      ok: false,
      code: "BAD_REQUEST",
      isError: true,
    });
    expect(out.message, `${channel}(${JSON.stringify(args)})`).toMatch(message);
    expect(out.message).toMatch(/ \[BAD_REQUEST\]$/);
  }

  // A channel outside the contract, sent straight to the binding, is refused the same way.
  for (const channel of ["deleteEverything", "constructor", "__proto__", "toString"]) {
    expect(await raw(app, channel, {})).toEqual({
      ok: false,
      error: { code: "BAD_REQUEST", message: `no IPC channel "${channel}"` },
    });
  }

  expect(desktop.calls).toEqual({});
  expect(desktop.consoles).toEqual([]);
  expect(desktop.recordProposals).toEqual([]);
  expect(desktop.readJson("settings.json")).toEqual(settingsBefore);

  // The spies do see a well-formed call: the same channel with a valid argument gets through.
  expect(await call(app, "setFavourite", { role: "staging/Developer", favourite: true })).toEqual({
    ok: true,
    value: ["staging/Developer"],
  });
  expect(desktop.calls.setFavourite).toBe(1);
  expect(await call(app, "openConsole", { role: "staging/Developer" })).toMatchObject({ ok: true });
  expect(desktop.calls["agent.console"]).toBe(1);
});

test("a signed-out agent's error reaches the page with its code", async ({ app, desktop }) => {
  await expect(app.getByRole("button", { name: "Sign in with SSO" })).toBeVisible();
  expect(await call(app, "roles", {})).toMatchObject({ ok: false, code: "NOT_SIGNED_IN", isError: true });
  expect(desktop.calls["agent.roles"]).toBe(1);
});

test("a call from another origin is refused with FORBIDDEN_ORIGIN", async ({ page, desktop }) => {
  // A page of another origin in the same window, with the same binding (as if the window had navigated away).
  const other = await startStaticServer("/nonexistent");
  try {
    await bindGatehouse(page, desktop.handlers);
    await page.goto(other.page("/evil.html", "<!doctype html><title>elsewhere</title><p>not the app</p>"));
    for (const channel of ["status", "favourites", "signIn"] as const) {
      expect(await call(page, channel)).toMatchObject({ ok: false, code: "FORBIDDEN_ORIGIN", isError: true });
    }
    expect(await call(page, "openConsole", { role: "staging/Developer" })).toMatchObject({
      code: "FORBIDDEN_ORIGIN",
    });
    // The origin is checked before the argument: nothing about the contract leaks to a stranger.
    expect(await raw(page, "deleteEverything", {})).toMatchObject({ error: { code: "FORBIDDEN_ORIGIN" } });
    expect(totalCalls(desktop.calls)).toBe(0);
  } finally {
    await other.close();
  }
});

test("a call from a frame inside the app's window is refused, even from the app's origin", async ({
  page,
  desktop,
  server,
}) => {
  // The app's own CSP forbids frames, so a test page on the app's origin hosts one holding the app.
  const host = server.page(
    "/test/frame-host.html",
    `<!doctype html><title>frame host</title><iframe name="inner" src="${server.url}"></iframe>`,
  );
  await bindGatehouse(page, desktop.handlers);
  await page.goto(host);
  const inner = page.frame({ name: "inner" });
  expect(inner).not.toBeNull();
  await inner!.waitForFunction(() => typeof window.gatehouse?.status === "function");
  expect(await call(inner!, "status")).toMatchObject({ ok: false, code: "FORBIDDEN_ORIGIN", isError: true });
  expect(await call(inner!, "setFavourite", { role: "staging/Developer", favourite: true })).toMatchObject({
    code: "FORBIDDEN_ORIGIN",
  });
  expect(totalCalls(desktop.calls)).toBe(0);

  // The top frame of the same origin is the app's window: it is answered.
  expect(await call(page, "favourites")).toEqual({ ok: true, value: [] });
  expect(desktop.calls.favourites).toBe(1);
});
