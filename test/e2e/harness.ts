// The browser tests' world, all real: the demo AWS emulator, the dev IdP (its login form filled in by the
// tests, no auto-login), the broker on both, and a DesktopCore (the tray app's main-process logic) in a
// temporary GATEHOUSE_HOME. The production renderer build is served over loopback HTTP, and window.gatehouse
// is bound in the page exactly as the preload binds it: one function per contract channel, each a call into
// the IPC handlers with the sender frame's URL, results unwrapped and errors rethrown with their code.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Browser, type BrowserContext, test as base, type Page, type TestInfo } from "@playwright/test";
import type { Emulator } from "../../dev/aws/server.ts";
import { type DevIdp, startIdp } from "../../dev/idp/provider.ts";
import type { RecordProposal } from "../../electron/agent/record/record-service.ts";
import { type ConsoleOpener, DesktopCore } from "../../electron/main/desktop-core.ts";
import { createIpcHandlers, type IpcHandlers, type IpcResult } from "../../electron/main/ipc-handlers.ts";
import type { Role } from "../../shared/api.ts";
import { CHANNELS } from "../../shared/ipc.ts";
import { type StartedBroker, startTestBroker } from "../support/broker.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { type StaticServer, startStaticServer } from "../support/static-server.ts";

export const ROOT = resolve(import.meta.dirname, "../..");
export const RENDERER_DIST = join(ROOT, "dist/renderer");
export const SCREENSHOTS = join(ROOT, "test-results/e2e/screenshots");

export interface Stack {
  emulator: Emulator;
  idp: DevIdp;
  broker: StartedBroker;
  close(): Promise<void>;
}

/**
 * `extra`: YAML added to the broker's configuration (e.g. a `requests:` block); `accessExtra`: lines inside
 * its `access:` block.
 */
export async function startStack(extra = "", accessExtra = ""): Promise<Stack> {
  const emulator = await startDemoEmulator();
  const idp = await startIdp({ port: 0 });
  const broker = await startTestBroker({ issuer: idp.issuer, awsUrl: emulator.url, extra, accessExtra });
  return {
    emulator,
    idp,
    broker,
    async close() {
      await broker.stop();
      await idp.close();
      await emulator.close();
    },
  };
}

export interface ConsoleOpened {
  url: string;
  role: Role;
  mode: "browser" | "window";
  expiresAt: string;
}

export interface Desktop {
  core: DesktopCore;
  handlers: IpcHandlers;
  /** GATEHOUSE_HOME. */
  home: string;
  /** Consoles the core asked its opener to show, in order. */
  consoles: ConsoleOpened[];
  /** Calls that reached the desktop core ("openConsole") or the agent under it ("agent.console"). */
  calls: Record<string, number>;
  /** The page the agent opened for the next sign-in: the IdP's login form, in the test's browser. */
  nextLoginPage(): Promise<Page>;
  /**
   * "Record": every command the window proposed, as the native confirmation dialog would show it, and the
   * answer the stand-in dialog gives (no until a test says yes).
   */
  recordProposals: RecordProposal[];
  confirmRecording: boolean;
  /** Where "Save policy" writes (the stand-in save dialog's answer); null: the person cancels. */
  policyPath: string | null;
  /** JSON of a file in GATEHOUSE_HOME (settings.json, ui.json). */
  readJson(name: string): Record<string, unknown>;
  stop(): Promise<void>;
}

const AGENT_METHODS = ["roles", "resolve", "console", "credentials", "login", "logout"] as const;

/** Count every call of `names` on `target` under `prefix + name`, then run the original. */
function spyOn(target: object, names: readonly string[], calls: Record<string, number>, prefix = ""): void {
  const obj = target as Record<string, unknown>;
  for (const name of names) {
    const original = obj[name] as (...args: unknown[]) => unknown;
    obj[name] = function (this: unknown, ...args: unknown[]) {
      calls[prefix + name] = (calls[prefix + name] ?? 0) + 1;
      return original.apply(this, args);
    };
  }
}

/**
 * A desktop core in a fresh temporary home, signed out. Sign-in URLs open as new pages of `context` (the
 * person's browser); consoles are recorded (the test visits the URL itself).
 */
export async function startDesktop(
  stack: Stack,
  appOrigin: string,
  context: BrowserContext,
): Promise<Desktop> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-ui-"));
  const home = join(dir, "home");
  mkdirSync(home, { mode: 0o700 });
  writeFileSync(
    join(home, "settings.json"),
    `${JSON.stringify({ brokerUrl: stack.broker.url, issuer: stack.idp.issuer, tokenStore: "file" }, null, 2)}\n`,
    { mode: 0o600 },
  );
  const consoles: ConsoleOpened[] = [];
  const opener: ConsoleOpener = {
    async open(url, role, mode, expiresAt) {
      consoles.push({ url, role, mode, expiresAt });
    },
    windows: () =>
      consoles.filter((c) => c.mode === "window").map((c) => ({ role: c.role.ref, expiresAt: c.expiresAt })),
  };
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    GATEHOUSE_HOME: home,
    AWS_CONFIG_FILE: join(dir, "aws-config"),
  };
  const recordProposals: RecordProposal[] = [];
  // The desktop object is made below; the hooks read its answers when they are asked.
  const answers = { confirmRecording: false, policyPath: join(dir, "recorded-policy.json") as string | null };
  const core = await DesktopCore.start(env, opener, {
    confirmRecording: async (p) => {
      recordProposals.push(structuredClone(p));
      return desktop.confirmRecording;
    },
    choosePolicyPath: async () => desktop.policyPath,
    // JS SDK v3 scripts call AWS's real hosts: the recording proxy sends them to the emulator.
    recordUpstream: stack.emulator.url,
  });

  const loginPages: Page[] = [];
  const waiters: ((p: Page) => void)[] = [];
  core.service.setOpener((url) => {
    context
      .newPage()
      .then(async (page) => {
        await page.goto(url);
        const waiter = waiters.shift();
        if (waiter) waiter(page);
        else loginPages.push(page);
      })
      // The context closes when a test ends; a sign-in page still loading then has nowhere to go.
      .catch(() => undefined);
  });

  const calls: Record<string, number> = {};
  spyOn(core, CHANNELS, calls);
  spyOn(core.service.agent, AGENT_METHODS, calls, "agent.");
  const handlers = createIpcHandlers(core, (url) => URL.parse(url)?.origin === appOrigin);

  const desktop: Desktop = {
    core,
    handlers,
    home,
    consoles,
    calls,
    recordProposals,
    ...answers,
    nextLoginPage: () => {
      const ready = loginPages.shift();
      return ready ? Promise.resolve(ready) : new Promise<Page>((r) => waiters.push(r));
    },
    readJson: (name) => JSON.parse(readFileSync(join(home, name), "utf8")) as Record<string, unknown>,
    async stop() {
      // Abandons a sign-in still waiting for the browser, so its loopback listener closes now.
      await core.signOut().catch(() => undefined);
      await core.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return desktop;
}

/**
 * What the preload does, in the page: window.gatehouse.<channel>(args) sends the call to main with the
 * sending frame (here: a Playwright binding that hands main's IPC handlers the frame's URL and whether it is
 * the top frame) and unwraps the result, throwing an Error carrying main's error code. Unlike the real
 * preload, it does not check arguments itself: what main does with a bad one is what the tests look at.
 */
export async function bindGatehouse(page: Page, handlers: IpcHandlers): Promise<void> {
  await page.exposeBinding("__gatehouseIpc", (source, channel: string, args: unknown) =>
    handlers.invoke(channel, args, {
      url: source.frame.url(),
      topFrame: source.frame === source.page.mainFrame(),
    }),
  );
  await page.addInitScript((channels: string[]) => {
    type Ipc = (channel: string, args: unknown) => Promise<IpcResult>;
    const ipc = (window as unknown as { __gatehouseIpc: Ipc }).__gatehouseIpc;
    const api: Record<string, (args?: unknown) => Promise<unknown>> = {};
    for (const channel of channels) {
      api[channel] = async (args?: unknown) => {
        const r = await ipc(channel, args);
        if (r.ok) return r.value;
        // As electron/preload/api.ts: the code on the Error and (what survives contextBridge) at the end
        // of its message.
        throw Object.assign(new Error(`${r.error.message} [${r.error.code}]`), {
          name: "GatehouseError",
          code: r.error.code,
        });
      };
    }
    Object.defineProperty(window, "gatehouse", { value: Object.freeze(api), enumerable: true });
  }, CHANNELS);
}

/** Console errors, uncaught exceptions and CSP violations of a page; a test ends with none. */
export async function watchPage(page: Page): Promise<string[]> {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console.error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
    });
  });
  return problems;
}

/** A screenshot kept as an artifact in test-results/e2e/screenshots/NAME.png and attached to the report. */
export async function screenshot(page: Page, name: string, info: TestInfo): Promise<void> {
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, animations: "disabled", caret: "hide" });
  await info.attach(name, { path, contentType: "image/png" });
}

interface TestFixtures {
  desktop: Desktop;
  /** The app's page: window.gatehouse bound to `desktop`, the renderer loaded. */
  app: Page;
  /** Problems seen in the app page; checked to be none after each test. */
  pageProblems: string[];
}

interface WorkerFixtures {
  /** YAML added to the worker's broker configuration; a spec sets it with test.use (its own worker then). */
  brokerExtra: string;
  /** Lines inside the broker's `access:` block (e.g. `external_tag_changes: hold`). */
  brokerAccessExtra: string;
  stack: Stack;
  server: StaticServer;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  brokerExtra: ["", { scope: "worker", option: true }],
  brokerAccessExtra: ["", { scope: "worker", option: true }],
  stack: [
    async ({ brokerExtra, brokerAccessExtra }, use) => {
      const stack = await startStack(brokerExtra, brokerAccessExtra);
      await use(stack);
      await stack.close();
    },
    { scope: "worker", timeout: 60_000 },
  ],
  server: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's dependencies from this pattern.
    async ({}, use) => {
      try {
        readFileSync(join(RENDERER_DIST, "index.html"));
      } catch {
        throw new Error(
          `no renderer build in ${RENDERER_DIST}: run npm run build:renderer (npm run test:e2e does)`,
        );
      }
      const server = await startStaticServer(RENDERER_DIST);
      await use(server);
      await server.close();
    },
    { scope: "worker" },
  ],
  desktop: async ({ stack, server, context }, use) => {
    const desktop = await startDesktop(stack, server.origin, context);
    await use(desktop);
    await desktop.stop();
  },
  pageProblems: async ({ page }, use) => {
    const problems = await watchPage(page);
    await use(problems);
    if (problems.length > 0) throw new Error(`the page reported problems:\n${problems.join("\n")}`);
  },
  app: async ({ page, desktop, server, pageProblems }, use) => {
    void pageProblems;
    await bindGatehouse(page, desktop.handlers);
    await page.goto(server.url);
    await use(page);
  },
});

export { expect } from "@playwright/test";

export interface OtherPerson {
  desktop: Desktop;
  /** Their app page, in a browser context of its own (its own IdP session). */
  app: Page;
  /** Problems seen in their app page; `close` fails if there are any. */
  problems: string[];
  close(): Promise<void>;
}

/**
 * A second person at their own desktop in the same test: a new browser context (so the IdP's session of the
 * first person is not theirs), a desktop core in its own home, the app loaded and window.gatehouse bound.
 */
export async function openDesktop(
  browser: Browser,
  stack: Stack,
  server: StaticServer,
): Promise<OtherPerson> {
  const context = await browser.newContext({
    viewport: { width: 1040, height: 700 },
    locale: "en-GB",
    timezoneId: "UTC",
    colorScheme: "light",
    permissions: ["clipboard-read", "clipboard-write"],
  });
  const desktop = await startDesktop(stack, server.origin, context);
  const app = await context.newPage();
  const problems = await watchPage(app);
  await bindGatehouse(app, desktop.handlers);
  await app.goto(server.url);
  return {
    desktop,
    app,
    problems,
    async close() {
      await desktop.stop();
      await context.close();
      if (problems.length > 0) throw new Error(`the page reported problems:\n${problems.join("\n")}`);
    },
  };
}

/**
 * Signs in from the sign-in screen as a person would: the button, then the IdP's login form in the browser
 * tab the agent opened, which redirects to the agent's loopback callback.
 */
export async function signIn(app: Page, desktop: Desktop, email: string): Promise<void> {
  await app.getByRole("button", { name: "Sign in with SSO" }).click();
  const login = await desktop.nextLoginPage();
  await login.getByLabel("Email").fill(email);
  await login.getByRole("button", { name: "Sign in", exact: true }).click();
  await login.waitForURL((u) => u.pathname === "/callback");
  await login.close();
}

/** Role refs shown under their accounts, in list order. */
export function accountRoleRefs(app: Page): Promise<string[]> {
  return app
    .locator('[data-section="accounts"][data-role-ref]')
    .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.roleRef ?? ""));
}

/** A role's row in a section of the list. */
export function roleRow(app: Page, ref: string, section: "accounts" | "favourites" | "recent" = "accounts") {
  return app.locator(`[data-section="${section}"][data-role-ref="${ref}"]`);
}
