// Unit and integration tests (Node). End-to-end browser tests run separately under Playwright.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "test/**/*.test.ts",
      "shared/**/*.test.ts",
      "dev/**/*.test.ts",
      "broker/**/*.test.ts",
      "electron/**/*.test.ts",
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // One private PostgreSQL cluster per run (test/support/pg.ts): the driver's tests and, with
    // GATEHOUSE_TEST_STORE=postgres, every broker suite use fresh databases on it.
    globalSetup: ["test/support/pg-global-setup.ts"],
  },
});
