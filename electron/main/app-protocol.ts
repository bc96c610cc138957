// The app window's origin and content: the renderer's production build served on app://gatehouse/ by
// a handler that reads only files inside dist/renderer, each response with the app's CSP. Plain Node
// (the Electron wiring is in app-window.ts), so the origin check and the path rules are unit-tested.
//
// Why app:// and not file://: a file:// page shares its origin with every local file, and Chromium's
// CSP 'self' and origin checks are unreliable on file:; Electron's security checklist (item 18) says to
// serve local content from a custom protocol. A privileged, standard, secure scheme gives the app one
// exact origin — the IPC sender check compares against it — and the handler below cannot serve
// anything outside dist/renderer. The renderer is built with base "./", so it works on either.

import { extname, isAbsolute, relative, resolve, sep } from "node:path";

export const APP_SCHEME = "app";
export const APP_HOST = "gatehouse";
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** What the app window loads. */
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * The app window's Content-Security-Policy: only the app's own scripts, styles, fonts and images; no
 * remote connections (the renderer talks to main over IPC only), no frames, no plugins, no forms.
 */
export const APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Whether a sender frame's URL is the app: app://gatehouse/… exactly (no user, no port). */
export function isAppUrl(url: string): boolean {
  const u = URL.parse(url);
  return (
    u !== null &&
    u.protocol === `${APP_SCHEME}:` &&
    u.host === APP_HOST &&
    u.username === "" &&
    u.password === ""
  );
}

/**
 * The file under `root` that an app:// request names, or null: other origins, encoded separators,
 * `..` escapes and anything outside `root` are refused. "/" is index.html.
 */
export function resolveAppAsset(root: string, url: string): string | null {
  if (!isAppUrl(url)) return null;
  const u = new URL(url);
  let path: string;
  try {
    path = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  // An encoded "/" or "\" would let one path segment become two after decoding.
  if (/%2f|%5c/i.test(u.pathname) || path.includes("\\") || path.includes("\0")) return null;
  if (path === "/" || path === "") path = "/index.html";
  const base = resolve(root);
  const file = resolve(base, `.${path}`);
  const rel = relative(base, file);
  if (rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel)) return null;
  return file;
}

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json",
};

/** The Content-Type of an app file (unknown types are served as opaque bytes, never sniffed). */
export function appMimeType(file: string): string {
  return MIME[extname(file).toLowerCase()] ?? "application/octet-stream";
}

/** Headers of every app response: its type, the CSP, no sniffing, no referrer. */
export function appResponseHeaders(file: string): Record<string, string> {
  return {
    "Content-Type": appMimeType(file),
    "Content-Security-Policy": APP_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
  };
}
