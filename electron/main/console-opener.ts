// Opens federated console URLs: in the system browser (default), or in a console window with the
// role's own persistent session partition, so several accounts' consoles are open side by side. Keeps
// the list of open console windows for the tray. The decisions are in console-windows.ts.

import { BrowserWindow, session, type WebContents } from "electron";
import type { Role } from "../../shared/api.ts";
import { GatehouseError } from "../../shared/errors.ts";
import { limitNavigation } from "./app-window.ts";
import {
  type ConsoleWindowInfo,
  ConsoleWindows,
  consoleNavigation,
  consolePartition,
  consolePermission,
} from "./console-windows.ts";
import type { ConsoleOpener } from "./desktop-core.ts";
import type { ExternalUrlPolicy } from "./external-urls.ts";

export interface ConsoleOpenerDeps {
  /** The system browser, behind the external-URL allow-list. */
  openExternal: (url: string) => Promise<void>;
  policy: () => ExternalUrlPolicy;
  /** Console windows opened, closed or re-opened (the tray rebuilds its menu). */
  onChange: () => void;
}

export class ElectronConsoleOpener implements ConsoleOpener {
  private readonly open_ = new ConsoleWindows<BrowserWindow>();
  private readonly hardened = new Set<string>();

  constructor(private readonly deps: ConsoleOpenerDeps) {}

  async open(url: string, role: Role, mode: "browser" | "window", expiresAt: string): Promise<void> {
    if (mode === "browser") return this.deps.openExternal(url);
    if (consoleNavigation(url, this.deps.policy()) !== "allow")
      throw new GatehouseError("FORBIDDEN", "the console URL is not on a known AWS or configured host");
    const existing = this.open_.get(role.ref);
    if (existing && !existing.isDestroyed()) {
      // Re-open (e.g. the session expired): same window, same partition, fresh sign-in URL.
      this.open_.set(role.ref, expiresAt, existing);
      this.load(existing, url);
      existing.show();
      existing.focus();
    } else {
      const win = this.create(role, consolePartition(role));
      this.open_.set(role.ref, expiresAt, win);
      win.on("closed", () => {
        this.open_.delete(role.ref, win);
        this.deps.onChange();
      });
      this.load(win, url);
    }
    this.deps.onChange();
  }

  windows(): { role: string; expiresAt: string }[] {
    return this.open_.list().map(({ role, expiresAt }) => ({ role, expiresAt }));
  }

  /** With time left and expiry, for the tray. */
  list(): ConsoleWindowInfo[] {
    return this.open_.list();
  }

  focus(role: string): void {
    const win = this.open_.get(role);
    if (win && !win.isDestroyed()) {
      if (win.isMinimized()) win.restore();
      win.show();
      win.focus();
    }
  }

  close(role: string): void {
    const win = this.open_.get(role);
    if (win && !win.isDestroyed()) win.close();
  }

  private load(win: BrowserWindow, url: string): void {
    // The URL carries a sign-in token: failures are reported without it.
    win.loadURL(url).catch((e: Error) => console.error(`gatehouse: a console page did not load: ${e.name}`));
  }

  private create(role: Role, partition: string): BrowserWindow {
    this.hardenSession(partition);
    const win = new BrowserWindow({
      width: 1280,
      height: 860,
      title: `${role.ref} — AWS console`,
      autoHideMenuBar: true,
      // No preload, no Node, sandboxed: a console window is a plain browser tab of AWS's pages.
      webPreferences: {
        partition,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        webviewTag: false,
        experimentalFeatures: false,
        navigateOnDragDrop: false,
      },
    });
    // The window's title names the role, whatever the page calls itself.
    win.on("page-title-updated", (event) => event.preventDefault());
    this.guard(win.webContents);
    return win;
  }

  /**
   * Navigation within the allow-list. Windows the console opens (allowed URLs only) share its session
   * and inherit its security webPreferences (Electron does so for window.open); the same rules apply.
   */
  private guard(contents: WebContents): void {
    const allowed = (url: string) => consoleNavigation(url, this.deps.policy()) === "allow";
    limitNavigation(contents, allowed);
    contents.setWindowOpenHandler(({ url }) =>
      allowed(url)
        ? { action: "allow", overrideBrowserWindowOptions: { autoHideMenuBar: true } }
        : { action: "deny" },
    );
    contents.on("did-create-window", (child) => this.guard(child.webContents));
  }

  private hardenSession(partition: string): void {
    if (this.hardened.has(partition)) return;
    const ses = session.fromPartition(partition);
    ses.setPermissionRequestHandler((_contents, permission, callback) =>
      callback(consolePermission(permission)),
    );
    ses.setPermissionCheckHandler((_contents, permission) => consolePermission(permission));
    this.hardened.add(partition);
  }
}
