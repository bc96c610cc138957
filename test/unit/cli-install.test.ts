// Putting the single-file gatehouse on PATH: where it goes (decided without touching anything), and real
// links made and removed in a temporary home, never over a file that is not a gatehouse link.

import { lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  type InstallContext,
  installCli,
  installedAt,
  planInstall,
  uninstallCli,
} from "../../electron/agent/cli-install.ts";

const tmp = mkdtempSync(join(tmpdir(), "gatehouse-cli-install-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const BINARY = "/opt/Gatehouse/resources/cli/gatehouse";

function ctx(over: Partial<InstallContext> = {}): InstallContext {
  return {
    platform: "linux",
    binary: BINARY,
    home: "/home/alice",
    envPath: "/usr/local/bin:/usr/bin:/bin",
    writable: () => false,
    ...over,
  };
}

describe("planInstall", () => {
  it("links in /usr/local/bin when it may be written", () => {
    expect(planInstall(ctx({ writable: (d) => d === "/usr/local/bin" }))).toEqual({
      kind: "link",
      link: "/usr/local/bin/gatehouse",
      target: BINARY,
    });
  });

  it("else in ~/.local/bin, with a hint when that is not on PATH", () => {
    const plan = planInstall(ctx({ platform: "darwin" }));
    expect(plan).toMatchObject({ kind: "link", link: "/home/alice/.local/bin/gatehouse", target: BINARY });
    expect(plan.kind === "link" && plan.hint).toContain('export PATH="$HOME/.local/bin:$PATH"');
    const onPath = planInstall(ctx({ envPath: "/usr/bin:/home/alice/.local/bin/" }));
    expect(onPath).toEqual({ kind: "link", link: "/home/alice/.local/bin/gatehouse", target: BINARY });
  });

  it("on Windows adds the binary's folder to the user PATH once (case and trailing slashes aside)", () => {
    const win = {
      platform: "win32" as const,
      binary: "C:\\Users\\alice\\AppData\\Local\\Programs\\Gatehouse\\resources\\cli\\gatehouse.exe",
      home: "C:\\Users\\alice",
    };
    const dir = "C:\\Users\\alice\\AppData\\Local\\Programs\\Gatehouse\\resources\\cli";
    expect(planInstall(ctx({ ...win, userPath: "C:\\tools;" }))).toEqual({
      kind: "user-path",
      dir,
      path: `C:\\tools;${dir}`,
      changed: true,
    });
    expect(planInstall(ctx({ ...win, userPath: "" }))).toMatchObject({ path: dir, changed: true });
    expect(planInstall(ctx({ ...win, userPath: `C:\\tools;${dir.toLowerCase()}\\` }))).toMatchObject({
      changed: false,
    });
  });
});

describe("installCli and uninstallCli on a real file system", () => {
  const home = join(tmp, "home");
  const binary = join(tmp, "resources", "cli", "gatehouse");
  mkdirSync(join(tmp, "resources", "cli"), { recursive: true });
  writeFileSync(binary, "#!/bin/sh\n", { mode: 0o755 });
  const real = (over: Partial<InstallContext> = {}) => ctx({ binary, home, envPath: "/usr/bin", ...over });
  const link = join(home, ".local", "bin", "gatehouse");

  it("links ~/.local/bin/gatehouse to the binary, says how to put it on PATH, and finds it installed", () => {
    expect(installedAt(real())).toBeUndefined();
    const r = installCli(real());
    expect(r.path).toBe(link);
    expect(r.hint).toMatch(/not on your PATH/);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(binary);
    expect(installedAt(real())).toBe(link);
    // Again: the link is replaced, not an error.
    expect(installCli(real()).path).toBe(link);
  });

  it("uninstall removes the link, and only once", () => {
    expect(uninstallCli(real())).toEqual({ removed: [link] });
    expect(() => lstatSync(link)).toThrow();
    expect(uninstallCli(real())).toEqual({ removed: [] });
  });

  it("never replaces a file that is not a gatehouse link, and never removes a link to something else", () => {
    mkdirSync(join(home, ".local", "bin"), { recursive: true });
    writeFileSync(link, "someone else's gatehouse script\n");
    expect(() => installCli(real())).toThrow(
      expect.objectContaining({
        code: "CLI_INSTALL_FAILED",
        message: expect.stringMatching(/is not a link/),
      }),
    );
    rmSync(link);
    symlinkSync("/usr/bin/env", link);
    expect(() => installCli(real())).toThrow(expect.objectContaining({ code: "CLI_INSTALL_FAILED" }));
    expect(uninstallCli(real())).toEqual({ removed: [] });
    expect(readlinkSync(link)).toBe("/usr/bin/env");
    rmSync(link);
  });

  it("a directory that cannot be written is a coded error", () => {
    const locked = join(tmp, "locked");
    mkdirSync(locked, { mode: 0o500 });
    // Root writes anywhere: make the parent a file instead, which nobody can create a folder in.
    writeFileSync(join(locked, ".local"), "");
    expect(() => installCli(real({ home: locked }))).toThrow(
      expect.objectContaining({ code: "CLI_INSTALL_FAILED", message: expect.stringMatching(/cannot link/) }),
    );
  });
});
