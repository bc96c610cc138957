// Electron wiring of the app window: the app:// scheme and its file handler, the locked-down default
// session, and the BrowserWindow. The rules (origin, paths, CSP) are in app-protocol.ts.

import { readFile } from "node:fs/promises";
import { app, BrowserWindow, protocol, type Session, type WebContents } from "electron";
import {
  APP_CSP,
  APP_ENTRY_URL,
  APP_SCHEME,
  appResponseHeaders,
  isAppUrl,
  resolveAppAsset,
} from "./app-protocol.ts";

/**
 * Before `ready`: app:// is a standard, secure scheme — one origin, so CSP 'self' and the IPC origin
 * check are exact. corsEnabled lets Chromium fetch the build's `<script type="module" crossorigin>`
 * from it (same-origin; the handler sends no Access-Control-Allow-Origin, so no other origin can read).
 */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    {
      scheme: APP_SCHEME,
      privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true },
    },
  ]);
}

/** Serves the renderer build on app://gatehouse/ from `root`, nothing outside it, GET only. */
export function serveApp(root: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const file = request.method === "GET" ? resolveAppAsset(root, request.url) : null;
    if (!file) return new Response("Not found", { status: 404 });
    try {
      return new Response(new Uint8Array(await readFile(file)), { headers: appResponseHeaders(file) });
    } catch {
      return new Response("Not found", { status: 404 });
    }
  });
}

/**
 * The app window's session (the default one): every permission denied, no network at all (the
 * renderer talks to main over IPC only, so nothing remote can load), no downloads, and the app's CSP
 * on every http(s) response. webRequest's header events do not fire for custom protocols, so the
 * app:// responses carry the same policy from serveApp (appResponseHeaders).
 */
export function hardenAppSession(ses: Session): void {
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.webRequest.onBeforeRequest(
    { urls: ["http://*/*", "https://*/*", "ws://*/*", "wss://*/*"] },
    (_details, callback) => callback({ cancel: true }),
  );
  ses.webRequest.onHeadersReceived((details, callback) =>
    callback({ responseHeaders: { ...details.responseHeaders, "Content-Security-Policy": [APP_CSP] } }),
  );
  ses.on("will-download", (event) => event.preventDefault());
}

/**
 * Top-level navigation and redirects only where `allowed` says; sub-frames and <webview> never
 * navigate the window away. Used for the app window and for console windows.
 */
export function limitNavigation(contents: WebContents, allowed: (url: string) => boolean): void {
  contents.on("will-navigate", (event) => {
    if (!allowed(event.url)) event.preventDefault();
  });
  contents.on("will-redirect", (event) => {
    if (event.isMainFrame && !allowed(event.url)) event.preventDefault();
  });
  contents.on("will-attach-webview", (event) => event.preventDefault());
}

export interface AppWindowOptions {
  preload: string;
  icon?: string;
  /** Links the page opens (window.open, target=_blank) go here; it applies the external-URL allow-list. */
  openExternal: (url: string) => void;
}

export function createAppWindow(opts: AppWindowOptions): BrowserWindow {
  const win = new BrowserWindow({
    width: 1080,
    height: 740,
    minWidth: 720,
    minHeight: 480,
    show: false,
    title: "Gatehouse",
    autoHideMenuBar: true,
    ...(opts.icon ? { icon: opts.icon } : {}),
    webPreferences: {
      preload: opts.preload,
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
      spellcheck: false,
      disableBlinkFeatures: "Auxclick",
      devTools: !app.isPackaged,
    },
  });
  // The app is one page: no navigation off app://gatehouse, and window.open never opens an app window.
  limitNavigation(win.webContents, isAppUrl);
  win.webContents.setWindowOpenHandler(({ url }) => {
    opts.openExternal(url);
    return { action: "deny" };
  });
  win.once("ready-to-show", () => win.show());
  void win.loadURL(APP_ENTRY_URL);
  return win;
}
