// How browser tests and benchmarks start Chromium: Debian's /usr/bin/chromium when it is there (Playwright
// cannot download its own here), else Playwright's bundled one; flags for containers and quiet start-up.

import { existsSync } from "node:fs";

export const SYSTEM_CHROMIUM = "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export function chromiumLaunchOptions(extraArgs: readonly string[] = []) {
  return {
    ...(existsSync(SYSTEM_CHROMIUM) ? { executablePath: SYSTEM_CHROMIUM } : {}),
    args: [...CHROMIUM_ARGS, ...extraArgs],
  };
}
