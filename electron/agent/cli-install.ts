// Putting the app's single-file `gatehouse` on PATH and taking it off again (the tray's "Install / Uninstall
// command-line tool"): the decision is pure and unit-tested; the doing is a symlink, or on Windows the user PATH.

import { execFileSync } from "node:child_process";
import { accessSync, constants, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve, win32 } from "node:path";
import { GatehouseError } from "../../shared/errors.ts";

/** Where the command goes: a link in a directory, or (Windows) the binary's directory on the user PATH. */
export type InstallPlan =
  | { kind: "link"; link: string; target: string; hint?: string }
  | { kind: "user-path"; dir: string; path: string; changed: boolean };

export interface InstallContext {
  platform: NodeJS.Platform;
  /** The binary shipped in the app's resources (resources/cli/gatehouse[.exe]). */
  binary: string;
  home: string;
  /** The PATH the person's shells have (this process's, for a hint). */
  envPath: string;
  /** The user PATH as stored (Windows: HKCU\Environment Path); unused elsewhere. */
  userPath?: string;
  writable(dir: string): boolean;
}

/** The system-wide place when it may be written, else one in the person's home. */
export const SYSTEM_BIN = "/usr/local/bin";

function onPath(dir: string, envPath: string, platform: NodeJS.Platform): boolean {
  const sep = platform === "win32" ? ";" : ":";
  const norm = (p: string) =>
    platform === "win32" ? win32.normalize(p).replace(/\\+$/, "").toLowerCase() : resolve(p);
  return envPath
    .split(sep)
    .filter(Boolean)
    .some((p) => norm(p) === norm(dir));
}

/** Where and how to install, decided from the platform, the PATH and what may be written. Pure. */
export function planInstall(ctx: InstallContext): InstallPlan {
  if (ctx.platform === "win32") {
    const dir = win32.dirname(ctx.binary);
    const current = ctx.userPath ?? "";
    if (onPath(dir, current, "win32")) return { kind: "user-path", dir, path: current, changed: false };
    const path = current.replace(/;+$/, "");
    return { kind: "user-path", dir, path: path ? `${path};${dir}` : dir, changed: true };
  }
  if (ctx.writable(SYSTEM_BIN))
    return { kind: "link", link: join(SYSTEM_BIN, "gatehouse"), target: ctx.binary };
  const local = join(ctx.home, ".local", "bin");
  const link = join(local, "gatehouse");
  if (onPath(local, ctx.envPath, ctx.platform)) return { kind: "link", link, target: ctx.binary };
  return {
    kind: "link",
    link,
    target: ctx.binary,
    hint: `${local} is not on your PATH: add \`export PATH="$HOME/.local/bin:$PATH"\` to your shell's profile`,
  };
}

/** The places an installed link may be, newest choice first (for uninstall and for finding it). */
export function linkCandidates(home: string): string[] {
  return [join(SYSTEM_BIN, "gatehouse"), join(home, ".local", "bin", "gatehouse")];
}

/** The link at `path` when it is a symlink to `target` (an install of this binary), else undefined. */
function ourLink(path: string, target: string): string | undefined {
  try {
    if (!lstatSync(path).isSymbolicLink()) return undefined;
    return resolve(dirname(path), readlinkSync(path)) === resolve(target) ? path : undefined;
  } catch {
    return undefined;
  }
}

export function defaultContext(binary: string, env: NodeJS.ProcessEnv = process.env): InstallContext {
  return {
    platform: process.platform,
    binary,
    home: homedir(),
    envPath: env.PATH ?? "",
    ...(process.platform === "win32" ? { userPath: readUserPath() } : {}),
    writable: (dir) => {
      try {
        accessSync(dir, constants.W_OK);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Where the command is installed (the link, or the binary when its folder is on the user PATH), or undefined. */
export function installedAt(ctx: InstallContext): string | undefined {
  if (ctx.platform === "win32") {
    const plan = planInstall(ctx);
    return plan.kind === "user-path" && !plan.changed ? ctx.binary : undefined;
  }
  return linkCandidates(ctx.home)
    .map((p) => ourLink(p, ctx.binary))
    .find(Boolean);
}

/** Install: returns where `gatehouse` now is and, when it is not on PATH yet, what to do about it. */
export function installCli(ctx: InstallContext): { path: string; hint?: string } {
  const plan = planInstall(ctx);
  if (plan.kind === "user-path") {
    if (plan.changed) writeUserPath(plan.path);
    return { path: ctx.binary, hint: "open a new terminal: the PATH of those already open is unchanged" };
  }
  try {
    mkdirSync(dirname(plan.link), { recursive: true });
    let st: ReturnType<typeof lstatSync> | undefined;
    try {
      st = lstatSync(plan.link);
    } catch {}
    if (st) {
      // Replace only a link to a gatehouse (an older install, the deb's); never a file someone put there.
      const to = st.isSymbolicLink() ? readlinkSync(plan.link) : "";
      if (!st.isSymbolicLink() || !/gatehouse(\.exe)?$/.test(to))
        throw new GatehouseError(
          "CLI_INSTALL_FAILED",
          `${plan.link} exists and is not a link to a gatehouse binary: remove it, then install again`,
        );
      rmSync(plan.link);
    }
    symlinkSync(plan.target, plan.link);
  } catch (e) {
    if (e instanceof GatehouseError) throw e;
    throw new GatehouseError(
      "CLI_INSTALL_FAILED",
      `cannot link ${plan.link}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { cause: e },
    );
  }
  return { path: plan.link, ...(plan.hint ? { hint: plan.hint } : {}) };
}

/** Uninstall: removes every link to this binary (and, on Windows, its folder from the user PATH). */
export function uninstallCli(ctx: InstallContext): { removed: string[] } {
  if (ctx.platform === "win32") {
    const dir = win32.dirname(ctx.binary);
    const parts = (ctx.userPath ?? "").split(";").filter(Boolean);
    const kept = parts.filter((p) => !onPath(dir, p, "win32"));
    if (kept.length !== parts.length) writeUserPath(kept.join(";"));
    return { removed: kept.length !== parts.length ? [dir] : [] };
  }
  const removed: string[] = [];
  for (const p of linkCandidates(ctx.home)) {
    if (!ourLink(p, ctx.binary)) continue;
    try {
      rmSync(p);
      removed.push(p);
    } catch (e) {
      throw new GatehouseError(
        "CLI_INSTALL_FAILED",
        `cannot remove ${p}: ${(e as NodeJS.ErrnoException).code}`,
        {
          cause: e,
        },
      );
    }
  }
  return { removed };
}

/** The user PATH as stored in the registry (Windows); "" when it has none. */
function readUserPath(): string {
  try {
    const out = execFileSync(
      "powershell.exe",
      ["-NoProfile", "-Command", "[Environment]::GetEnvironmentVariable('Path','User')"],
      { encoding: "utf8" },
    );
    return out.trim();
  } catch {
    return "";
  }
}

/** Through .NET, not setx (which cuts the value at 1,024 characters); new shells see it. */
function writeUserPath(value: string): void {
  if (value.includes("'")) throw new GatehouseError("CLI_INSTALL_FAILED", "the user PATH holds a quote");
  execFileSync("powershell.exe", [
    "-NoProfile",
    "-Command",
    `[Environment]::SetEnvironmentVariable('Path','${value}','User')`,
  ]);
}
