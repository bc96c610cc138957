// Electron entry of the tray app (bundled to dist/electron/main.js). It only wires things together:
// the DesktopCore (agent, favourites, settings — plain Node, its agent serves the local socket while the
// app runs) behind zod-checked IPC, the locked-down app window, console windows and the tray.
// The app's origin is app://gatehouse, not file:// (why: app-protocol.ts); IPC is accepted only from
// that origin's top frame.

import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  app,
  type BrowserWindow,
  clipboard,
  dialog,
  ipcMain,
  Menu,
  Notification,
  session,
  shell,
} from "electron";
import { GatehouseError } from "../../shared/errors.ts";
import { CHANNELS, ipcChannelName } from "../../shared/ipc.ts";
import { defaultContext, installCli, installedAt, uninstallCli } from "../agent/cli-install.ts";
import { isAppUrl } from "./app-protocol.ts";
import { createAppWindow, hardenAppSession, registerAppScheme, serveApp } from "./app-window.ts";
import { ElectronConsoleOpener } from "./console-opener.ts";
import { DesktopCore } from "./desktop-core.ts";
import { externalUrlPolicy, isAllowedExternalUrl } from "./external-urls.ts";
import { createIpcHandlers } from "./ipc-handlers.ts";
import { confirmed, recordDialog } from "./record-dialog.ts";
import { type AppTray, createTray } from "./tray.ts";
import { TRAY_REFRESH_CHANNELS } from "./tray-menu.ts";

const here = import.meta.dirname;
let core: DesktopCore | undefined;
let tray: AppTray | undefined;
let window: BrowserWindow | undefined;

registerAppScheme();

// Anything any page creates: no <webview>, no new windows unless its owner says otherwise.
app.on("web-contents-created", (_event, contents) => {
  contents.on("will-attach-webview", (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: "deny" }));
});

function report(message: string): void {
  console.error(`gatehouse: ${message}`);
  if (Notification.isSupported()) new Notification({ title: "Gatehouse", body: message }).show();
}

/** The system browser, for https URLs of known hosts only (external-urls.ts). */
async function openExternal(url: string): Promise<void> {
  const settings = core?.service.agent.settings;
  if (!settings || !isAllowedExternalUrl(url, externalUrlPolicy(settings))) {
    const origin = URL.parse(url)?.origin ?? "an invalid URL";
    throw new GatehouseError("FORBIDDEN", `not opening ${origin}: not a known AWS or configured host`);
  }
  await shell.openExternal(url);
}

function showWindow(): void {
  if (window && !window.isDestroyed()) {
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
    return;
  }
  window = createAppWindow({
    preload: join(here, "preload.cjs"),
    icon: join(here, "icons", "window.png"),
    openExternal: (url) => void openExternal(url).catch((e: Error) => report(e.message)),
  });
}

async function start(): Promise<void> {
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([
      ...(process.platform === "darwin" ? [{ role: "appMenu" as const }] : []),
      { role: "editMenu" },
      { role: "windowMenu" },
    ]),
  );
  hardenAppSession(session.defaultSession);
  serveApp(join(here, "..", "renderer"));

  const opener = new ElectronConsoleOpener({
    openExternal,
    policy: () => externalUrlPolicy(core!.service.agent.settings),
    onChange: () => tray?.refresh(),
  });
  // The single-file CLI this app carries (build/electron-builder.yml extraResources); none in a dev run.
  const cliBinary = join(
    process.resourcesPath,
    "cli",
    process.platform === "win32" ? "gatehouse.exe" : "gatehouse",
  );
  const cliShipped = app.isPackaged && existsSync(cliBinary);
  const cliContext = () => defaultContext(cliBinary);
  // Profiles name the tool by absolute path: the link on PATH once installed, else the binary itself.
  const cliEnv = (): NodeJS.ProcessEnv =>
    cliShipped ? { ...process.env, GATEHOUSE_CLI: installedAt(cliContext()) ?? cliBinary } : process.env;
  const desktop = await DesktopCore.start(cliEnv(), opener, {
    launchAtLogin: (on) => app.setLoginItemSettings({ openAtLogin: on, args: ["--hidden"] }),
    // The dock/launcher badge and the tray follow the approvals count.
    onApprovals: (ctx) => {
      app.setBadgeCount(ctx.pendingApprovals);
      tray?.refresh();
    },
    // The window only proposes a command; the person confirms it in a native modal dialog (SECURITY 28).
    confirmRecording: async (proposal) => {
      const options = recordDialog(proposal);
      const parent = window && !window.isDestroyed() ? window : undefined;
      return confirmed(
        parent ? await dialog.showMessageBox(parent, options) : await dialog.showMessageBox(options),
      );
    },
    choosePolicyPath: async (suggested) => {
      const options = {
        title: "Save the recorded policy",
        defaultPath: join(app.getPath("documents"), suggested),
        filters: [{ name: "IAM policy", extensions: ["json"] }],
      };
      const parent = window && !window.isDestroyed() ? window : undefined;
      const r = parent ? await dialog.showSaveDialog(parent, options) : await dialog.showSaveDialog(options);
      return r.canceled || !r.filePath ? null : r.filePath;
    },
  });
  core = desktop;
  // Sign-in opens the IdP through the same allow-list as everything else.
  desktop.setSignInOpener((url) => void openExternal(url).catch((e: Error) => report(e.message)));

  const handlers = createIpcHandlers(desktop, isAppUrl);
  for (const channel of CHANNELS) {
    ipcMain.handle(ipcChannelName(channel), async (event, args: unknown) => {
      const frame = event.senderFrame;
      const result = await handlers.invoke(channel, args, {
        url: frame?.url ?? "",
        topFrame: frame !== null && frame === event.sender.mainFrame,
      });
      if (result.ok && TRAY_REFRESH_CHANNELS.has(channel)) tray?.refresh();
      return result;
    });
  }

  tray = createTray({
    iconDir: join(here, "icons"),
    report,
    model: async () => {
      const status = await desktop.status().catch(() => null);
      const ctx = status?.signedIn ? await desktop.requestContext().catch(() => null) : null;
      return {
        pendingApprovals: ctx?.approver ? ctx.pendingApprovals : null,
        signedIn: status?.signedIn ?? false,
        email: status?.email ?? null,
        favourites: desktop.favourites(),
        recent: desktop.recent(),
        consoles: opener.list(),
        ...(cliShipped ? { cli: { installedAt: installedAt(cliContext()) ?? null } } : {}),
      };
    },
    effects: {
      openConsole: (role) => desktop.openConsole(role),
      copyText: (role, kind) => desktop.copyText(role, kind),
      writeClipboard: (text) => clipboard.writeText(text),
      signIn: () => desktop.signIn(),
      signOut: () => desktop.signOut(),
      showWindow,
      focusConsole: (role) => opener.focus(role),
      closeConsole: (role) => opener.close(role),
      installCli: async () => {
        const r = installCli(cliContext());
        desktop.setCliPath(r.path);
        return `gatehouse is installed at ${r.path}${r.hint ? `; ${r.hint}` : ""}`;
      },
      uninstallCli: async () => {
        const r = uninstallCli(cliContext());
        desktop.setCliPath(cliBinary);
        return r.removed.length > 0 ? `removed ${r.removed.join(", ")}` : "gatehouse was not installed";
      },
      notify: report,
      quit: () => app.quit(),
    },
  });

  // Started at login: only the tray; otherwise the window too.
  if (!process.argv.includes("--hidden") && !app.getLoginItemSettings().wasOpenedAtLogin) showWindow();
}

if (!app.requestSingleInstanceLock()) {
  // Another Gatehouse is running: it shows its window (second-instance) and this one ends.
  app.quit();
} else {
  app.on("second-instance", () => showWindow());
  app.on("activate", () => showWindow());
  // Closing windows keeps the tray (and the agent) running; Quit in the tray ends the app.
  app.on("window-all-closed", () => undefined);
  let stopped = false;
  app.on("will-quit", (event) => {
    if (stopped || !core) return;
    event.preventDefault();
    tray?.destroy();
    void core.stop().finally(() => {
      stopped = true;
      app.quit();
    });
  });
  app
    .whenReady()
    .then(start)
    .catch((e: Error) => {
      const message = e instanceof GatehouseError ? `${e.message} [${e.code}]` : e.message;
      console.error(`gatehouse: the app could not start: ${message}`);
      dialog.showErrorBox("Gatehouse could not start", message);
      app.exit(1);
    });
}
