// The tray menu as plain data: what it lists (the signed-in user, favourite and recent roles, open
// console windows) and what each item does. tray.ts turns the model into an Electron Menu; the
// decisions live here, unit-tested.

import type { Channel } from "../../shared/ipc.ts";
import type { ConsoleWindowInfo } from "./console-windows.ts";

export type TrayAction =
  | { kind: "showWindow" }
  | { kind: "signIn" }
  | { kind: "signOut" }
  | { kind: "quit" }
  | { kind: "openConsole"; role: string }
  | { kind: "copy"; role: string; what: "profile" | "envExport" }
  | { kind: "focusConsole"; role: string }
  | { kind: "closeConsole"; role: string }
  | { kind: "installCli" }
  | { kind: "uninstallCli" };

export type TrayItem =
  | { type: "separator" }
  | { type: "item"; label: string; enabled: boolean; action?: TrayAction; submenu?: TrayItem[] };

export interface TrayModel {
  signedIn: boolean;
  email: string | null;
  favourites: readonly string[];
  recent: readonly string[];
  consoles: readonly ConsoleWindowInfo[];
  /** Requests waiting for this person's approval; null when they approve nothing (or it is unknown). */
  pendingApprovals?: number | null;
  /**
   * The command-line tool: where it is installed (null: not on PATH yet); undefined when this app carries
   * none (a development run), and then the menu offers nothing.
   */
  cli?: { installedAt: string | null };
}

export const MAX_FAVOURITES = 10;
export const MAX_RECENT = 5;

/** IPC calls after which the tray menu is rebuilt (they change what it shows). */
export const TRAY_REFRESH_CHANNELS: ReadonlySet<Channel> = new Set<Channel>([
  "signIn",
  "signOut",
  "setFavourite",
  "openConsole",
  "copyText",
  "approveRequest",
  "rejectRequest",
]);

/** The tray's tooltip and (macOS) title: the approvals badge. */
export function trayBadge(m: Pick<TrayModel, "signedIn" | "pendingApprovals">): {
  tooltip: string;
  title: string;
} {
  const n = m.signedIn ? (m.pendingApprovals ?? 0) : 0;
  if (n <= 0) return { tooltip: "Gatehouse", title: "" };
  return { tooltip: `Gatehouse — ${approvalsLabel(n)}`, title: String(n) };
}

export function approvalsLabel(n: number): string {
  return n === 1 ? "1 request to approve" : `${n} requests to approve`;
}

/** Menu labels treat "&" as a mnemonic marker on Windows and Linux; "&&" shows one "&". */
export function menuLabel(text: string): string {
  return text.replaceAll("&", "&&");
}

/** "42 min left", "1 h 5 min left", "under a minute left", "expired". */
export function formatTimeLeft(secondsLeft: number): string {
  if (!(secondsLeft > 0)) return "expired";
  if (secondsLeft < 60) return "under a minute left";
  const minutes = Math.floor(secondsLeft / 60);
  if (minutes < 60) return `${minutes} min left`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h left` : `${h} h ${m} min left`;
}

const item = (label: string, action?: TrayAction, submenu?: TrayItem[]): TrayItem => ({
  type: "item",
  label: menuLabel(label),
  enabled: true,
  ...(action ? { action } : {}),
  ...(submenu ? { submenu } : {}),
});
const heading = (label: string): TrayItem => ({ type: "item", label: menuLabel(label), enabled: false });
const separator: TrayItem = { type: "separator" };

/**
 * A role's entry: a submenu whose first item opens its console (menus cannot both open a submenu and
 * act on a click), then the two copies people want from a tray.
 */
function roleItem(role: string): TrayItem {
  return item(role, undefined, [
    item("Open console", { kind: "openConsole", role }),
    item("Copy profile name", { kind: "copy", role, what: "profile" }),
    item("Copy env export", { kind: "copy", role, what: "envExport" }),
  ]);
}

function consoleItem(c: ConsoleWindowInfo): TrayItem {
  if (c.expired) {
    return item(`${c.role} — expired`, undefined, [
      item("Re-open console", { kind: "openConsole", role: c.role }),
      item("Close window", { kind: "closeConsole", role: c.role }),
    ]);
  }
  return item(`${c.role} — ${formatTimeLeft(c.secondsLeft)}`, undefined, [
    item("Show window", { kind: "focusConsole", role: c.role }),
    item("Close window", { kind: "closeConsole", role: c.role }),
  ]);
}

export function buildTrayMenu(m: TrayModel): TrayItem[] {
  const out: TrayItem[] = [];
  if (m.signedIn) {
    out.push(heading(`Signed in as ${m.email ?? "unknown user"}`));
    const n = m.pendingApprovals ?? 0;
    if (n > 0) out.push(item(`${approvalsLabel(n)}…`, { kind: "showWindow" }));
    const favourites = m.favourites.slice(0, MAX_FAVOURITES);
    const recent = m.recent.filter((r) => !m.favourites.includes(r)).slice(0, MAX_RECENT);
    if (favourites.length > 0) out.push(separator, heading("Favourites"), ...favourites.map(roleItem));
    if (recent.length > 0) out.push(separator, heading("Recent"), ...recent.map(roleItem));
    if (favourites.length === 0 && recent.length === 0) out.push(heading("No favourite or recent roles yet"));
  } else {
    out.push(heading("Not signed in"));
  }
  if (m.consoles.length > 0) {
    const expired = m.consoles.filter((c) => c.expired).length;
    out.push(
      separator,
      heading(expired > 0 ? `Open consoles (${expired} expired)` : "Open consoles"),
      ...m.consoles.map(consoleItem),
    );
  }
  out.push(separator, item("Open Gatehouse", { kind: "showWindow" }));
  if (m.cli)
    out.push(
      m.cli.installedAt === null
        ? item("Install command-line tool", { kind: "installCli" })
        : item(`Uninstall command-line tool (${m.cli.installedAt})`, { kind: "uninstallCli" }),
    );
  out.push(m.signedIn ? item("Sign out", { kind: "signOut" }) : item("Sign in…", { kind: "signIn" }));
  out.push(separator, item("Quit Gatehouse", { kind: "quit" }));
  return out;
}

/** The tray icon file for a platform: a template image on macOS (it follows the menu bar's colours). */
export function trayIconFile(platform: NodeJS.Platform): string {
  return platform === "darwin" ? "trayTemplate.png" : "tray.png";
}

/** What tray actions do, as functions (main.ts passes the core, the clipboard, the windows). */
export interface TrayEffects {
  openConsole(role: string): Promise<unknown>;
  copyText(role: string, kind: "profile" | "envExport"): Promise<{ text: string }>;
  writeClipboard(text: string): void;
  signIn(): Promise<unknown>;
  signOut(): Promise<unknown>;
  showWindow(): void;
  focusConsole(role: string): void;
  closeConsole(role: string): void;
  /** Each resolves with one line for the person (where it went, what to add to PATH). */
  installCli(): Promise<string>;
  uninstallCli(): Promise<string>;
  notify(message: string): void;
  quit(): void;
}

export async function runTrayAction(action: TrayAction, fx: TrayEffects): Promise<void> {
  switch (action.kind) {
    case "openConsole":
      await fx.openConsole(action.role);
      return;
    case "copy":
      fx.writeClipboard((await fx.copyText(action.role, action.what)).text);
      return;
    case "signIn":
      await fx.signIn();
      return;
    case "signOut":
      await fx.signOut();
      return;
    case "showWindow":
      return fx.showWindow();
    case "focusConsole":
      return fx.focusConsole(action.role);
    case "closeConsole":
      return fx.closeConsole(action.role);
    case "installCli":
      fx.notify(await fx.installCli());
      return;
    case "uninstallCli":
      fx.notify(await fx.uninstallCli());
      return;
    case "quit":
      return fx.quit();
  }
}
