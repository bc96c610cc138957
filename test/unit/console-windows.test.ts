// Console windows: one persistent partition per role (side by side, never shared), what a console page
// may navigate to and be granted, and the open-window list the tray shows.

import { describe, expect, it } from "vitest";
import {
  ConsoleWindows,
  consoleNavigation,
  consolePartition,
  consolePermission,
} from "../../electron/main/console-windows.ts";
import { externalUrlPolicy } from "../../electron/main/external-urls.ts";

describe("consolePartition", () => {
  it("is persist:console-<account>-<role>, lower-cased", () => {
    expect(consolePartition({ accountId: "222222222222", roleName: "Developer" })).toBe(
      "persist:console-222222222222-developer",
    );
    expect(consolePartition({ accountId: "333333333333", roleName: "read_only-2" })).toBe(
      "persist:console-333333333333-read_only-2",
    );
  });

  it("gives different roles and accounts different partitions", () => {
    const names = [
      { accountId: "222222222222", roleName: "Developer" },
      { accountId: "333333333333", roleName: "Developer" },
      { accountId: "222222222222", roleName: "Admin" },
    ].map(consolePartition);
    expect(new Set(names).size).toBe(3);
  });

  it("keeps IAM's other name characters apart with a hash, and never lets a path through", () => {
    const a = consolePartition({ accountId: "222222222222", roleName: "a+b" });
    const b = consolePartition({ accountId: "222222222222", roleName: "a=b" });
    const c = consolePartition({ accountId: "222222222222", roleName: "a_b" });
    expect(new Set([a, b, c]).size).toBe(3);
    expect(a).toMatch(/^persist:console-222222222222-a_b-[0-9a-f]{8}$/);
    expect(c).toBe("persist:console-222222222222-a_b");
    const hostile = consolePartition({ accountId: "../../x", roleName: "role/with\\slashes@x.y,z" });
    expect(hostile).toMatch(/^persist:console-[a-z0-9_-]+$/);
  });

  it("is the same name for a role whatever its case (IAM role names are case-insensitive)", () => {
    expect(consolePartition({ accountId: "1", roleName: "Admin" })).toBe(
      consolePartition({ accountId: "1", roleName: "ADMIN" }),
    );
  });

  it("stays short for a 64-character role name", () => {
    const p = consolePartition({ accountId: "222222222222", roleName: "R".repeat(64) });
    expect(p.length).toBeLessThanOrEqual("persist:console-".length + 96 + 9);
  });
});

describe("console windows' pages and permissions", () => {
  const demo = externalUrlPolicy({ brokerUrl: "http://127.0.0.1:7420", issuer: "http://127.0.0.1:7421" });
  const prod = externalUrlPolicy({ brokerUrl: "https://gh.example.com", issuer: "https://idp.example.com" });

  it("go where the allow-list says, nowhere else", () => {
    expect(consoleNavigation("https://us-east-1.console.aws.amazon.com/s3/home", prod)).toBe("allow");
    expect(consoleNavigation("http://127.0.0.1:7422/console", demo)).toBe("allow");
    expect(consoleNavigation("http://127.0.0.1:7422/console", prod)).toBe("deny");
    expect(consoleNavigation("https://evil.example/phish", prod)).toBe("deny");
    expect(consoleNavigation("file:///etc/passwd", demo)).toBe("deny");
  });

  it("may write the clipboard (the console's copy buttons) and nothing else", () => {
    expect(consolePermission("clipboard-sanitized-write")).toBe(true);
    for (const p of ["clipboard-read", "media", "geolocation", "notifications", "openExternal", "usb", "hid"])
      expect(consolePermission(p), p).toBe(false);
  });
});

describe("ConsoleWindows", () => {
  const now = Date.parse("2030-01-01T12:00:00Z");

  it("lists windows by role with time left and expiry", () => {
    const w = new ConsoleWindows<string>();
    w.set("staging/Developer", "2030-01-01T12:42:10Z", "win-1");
    w.set("prod/Admin", "2030-01-01T11:59:00Z", "win-2");
    expect(w.list(now)).toEqual([
      { role: "prod/Admin", expiresAt: "2030-01-01T11:59:00Z", expired: true, secondsLeft: 0 },
      { role: "staging/Developer", expiresAt: "2030-01-01T12:42:10Z", expired: false, secondsLeft: 2530 },
    ]);
    expect(w.get("prod/Admin")).toBe("win-2");
  });

  it("treats an unparseable expiry as expired", () => {
    const w = new ConsoleWindows<string>();
    w.set("r", "not a date", "x");
    expect(w.list(now)[0]).toMatchObject({ expired: true, secondsLeft: 0 });
  });

  it("re-opening replaces a role's entry; a stale close does not drop the new window", () => {
    const w = new ConsoleWindows<string>();
    w.set("prod/Admin", "2030-01-01T12:10:00Z", "old");
    w.set("prod/Admin", "2030-01-01T13:00:00Z", "new");
    w.delete("prod/Admin", "old");
    expect(w.get("prod/Admin")).toBe("new");
    expect(w.list(now)).toHaveLength(1);
    w.delete("prod/Admin", "new");
    expect(w.list(now)).toEqual([]);
  });
});
