// Console windows (consoleMode "window"), the decisions only: each role's session partition, which
// pages and permissions a console window may have, and the list of open windows the tray shows.
// Plain Node; console-opener.ts creates the BrowserWindows.

import { createHash } from "node:crypto";
import type { Role } from "../../shared/api.ts";
import { type ExternalUrlPolicy, isAllowedExternalUrl } from "./external-urls.ts";

/**
 * The persistent session partition of a role's console windows: `persist:console-<account>-<role>`,
 * so that several accounts' consoles (each with its own AWS cookies) are open side by side and a role
 * finds its console session again. Account id and role name are lower-cased (IAM role names are unique
 * regardless of case) and reduced to [a-z0-9_-]; when that changed the name, a short hash of the
 * original keeps two roles from sharing a partition.
 */
export function consolePartition(role: Pick<Role, "accountId" | "roleName">): string {
  const raw = `${role.accountId}-${role.roleName}`;
  const clean = raw
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "_")
    .slice(0, 96);
  const suffix =
    clean === raw.toLowerCase()
      ? ""
      : `-${createHash("sha256").update(raw.toLowerCase()).digest("hex").slice(0, 8)}`;
  return `persist:console-${clean}${suffix}`;
}

/**
 * Whether a console window may go to `url` (navigation or a window it opens): only the pages the
 * external-URL allow-list accepts (AWS's https hosts, the configured ones, the demo's loopback).
 */
export function consoleNavigation(url: string, policy: ExternalUrlPolicy): "allow" | "deny" {
  return isAllowedExternalUrl(url, policy) ? "allow" : "deny";
}

/**
 * Permissions a console page may have: writing to the clipboard (the console's copy buttons).
 * Nothing else — no camera, microphone, notifications, geolocation, reading the clipboard.
 */
const CONSOLE_PERMISSIONS = new Set(["clipboard-sanitized-write"]);
export function consolePermission(permission: string): boolean {
  return CONSOLE_PERMISSIONS.has(permission);
}

export interface ConsoleWindowInfo {
  role: string;
  expiresAt: string;
  expired: boolean;
  /** Whole seconds until the console session ends (0 once expired). */
  secondsLeft: number;
}

/** Open console windows by role ref (one window per role): what the tray lists, focuses and closes. */
export class ConsoleWindows<W> {
  private readonly byRole = new Map<string, { expiresAt: string; window: W }>();

  get(role: string): W | undefined {
    return this.byRole.get(role)?.window;
  }

  set(role: string, expiresAt: string, window: W): void {
    this.byRole.set(role, { expiresAt, window });
  }

  /** Forget `role`'s window, but only if it is still `window` (a re-opened role has a newer one). */
  delete(role: string, window?: W): void {
    const entry = this.byRole.get(role);
    if (entry && (window === undefined || entry.window === window)) this.byRole.delete(role);
  }

  list(now = Date.now()): ConsoleWindowInfo[] {
    return [...this.byRole.entries()]
      .map(([role, { expiresAt }]) => {
        const left = Math.floor((Date.parse(expiresAt) - now) / 1000);
        const expired = !(left > 0);
        return { role, expiresAt, expired, secondsLeft: expired ? 0 : left };
      })
      .sort((a, b) => a.role.localeCompare(b.role));
  }
}
