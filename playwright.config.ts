// Browser tests (test/e2e): the production renderer build in Debian's Chromium, with window.gatehouse bound
// to a real desktop core, broker, dev IdP and AWS emulator (test/e2e/harness.ts). `npm run test:e2e` builds
// the renderer first. Screenshots are kept in test-results/e2e/screenshots; the JSON report feeds the one
// "N passed, N failed" line of `npm test`.

import { defineConfig } from "@playwright/test";
import { chromiumLaunchOptions } from "./test/support/chromium.ts";

// The pinned AWS SDK (in the broker) runs on Node 20; its notice about future releases says nothing here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export default defineConfig({
  testDir: "test/e2e",
  outputDir: "test-results/e2e",
  timeout: 60_000,
  expect: { timeout: 7_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [["list"], ["json", { outputFile: ".tmp/playwright.json" }]],
  use: {
    browserName: "chromium",
    launchOptions: chromiumLaunchOptions(),
    viewport: { width: 1040, height: 700 },
    locale: "en-GB",
    timezoneId: "UTC",
    colorScheme: "light",
    permissions: ["clipboard-read", "clipboard-write"],
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
  },
});
