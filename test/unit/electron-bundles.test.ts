// `npm run build:electron`, run here (beforeAll) so the checks are of bundles built from this tree:
// main.js is ESM whose only imports are electron, Node built-ins and the native keyring; preload.cjs
// is one self-contained CommonJS file. The preload is then loaded in a bare V8 context — no Node, no
// eval, a `require` that knows only a fake "electron" — to check what a sandboxed preload would do:
// expose exactly one function per channel, never ipcRenderer, and never send a wrongly-shaped call.
// (Electron itself cannot run here; this fake is for this one bundle check.)

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { resolve } from "node:path";
import { createContext, runInContext } from "node:vm";
import { beforeAll, describe, expect, it } from "vitest";
import { APP_ORIGIN, appMimeType, resolveAppAsset } from "../../electron/main/app-protocol.ts";
import { CHANNELS } from "../../shared/ipc.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const MAIN = resolve(ROOT, "dist/electron/main.js");
const PRELOAD = resolve(ROOT, "dist/electron/preload.cjs");

const RENDERER = resolve(ROOT, "dist/renderer");

let builtAt = 0;
beforeAll(() => {
  builtAt = Date.now() - 1000;
  execFileSync("npm", ["run", "--silent", "build:electron"], { cwd: ROOT, stdio: "pipe" });
  // The renderer is another build (npm run build:renderer); made here only if missing.
  if (!existsSync(resolve(RENDERER, "index.html")))
    execFileSync("npm", ["run", "--silent", "build:renderer"], { cwd: ROOT, stdio: "pipe" });
}, 180_000);

describe("npm run build:electron", () => {
  it("writes main.js, preload.cjs and the tray icons into dist/electron", () => {
    for (const f of [
      MAIN,
      PRELOAD,
      "dist/electron/icons/tray.png",
      "dist/electron/icons/trayTemplate.png",
      "dist/electron/icons/trayTemplate@2x.png",
      "dist/electron/icons/window.png",
    ]) {
      const path = resolve(ROOT, f);
      expect(existsSync(path), f).toBe(true);
      expect(statSync(path).mtimeMs, `${f} is fresh`).toBeGreaterThanOrEqual(builtAt);
    }
  });

  it("main.js is ESM importing only electron, Node built-ins and the native keyring", () => {
    const code = readFileSync(MAIN, "utf8");
    const imports = [...code.matchAll(/^import\s[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1]!);
    expect(imports).toContain("electron");
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const external = imports.filter((m) => m !== "electron" && !builtins.has(m));
    expect(external).toEqual(["@napi-rs/keyring"]);
    expect(code).not.toMatch(/\brequire\(/);
    expect(code).not.toContain("better-sqlite3");
    // The entry wires the pieces: single instance, the IPC handlers for every channel, the app scheme.
    expect(code).toContain("requestSingleInstanceLock");
    expect(code).toContain("ipcMain.handle(ipcChannelName(channel)");
    expect(code).toContain("registerSchemesAsPrivileged");
  });
});

describe("the renderer build on app://", () => {
  it("every file index.html loads is served by the app:// handler with its type", () => {
    const html = readFileSync(resolve(RENDERER, "index.html"), "utf8");
    const refs = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(1);
    for (const ref of refs) {
      const url = new URL(ref, `${APP_ORIGIN}/index.html`).href;
      const file = resolveAppAsset(RENDERER, url);
      expect(file, ref).not.toBeNull();
      expect(existsSync(file!), `${ref} → ${file}`).toBe(true);
      if (ref.endsWith(".js")) expect(appMimeType(file!)).toMatch(/^text\/javascript/);
      if (ref.endsWith(".css")) expect(appMimeType(file!)).toMatch(/^text\/css/);
    }
  });

  it("has no inline script or style, which the app's CSP header would block", () => {
    const html = readFileSync(resolve(RENDERER, "index.html"), "utf8");
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style[\s>]/);
    expect(html).not.toMatch(/\sstyle="/);
    expect(html).not.toMatch(/\son[a-z]+="/);
  });
});

describe("the preload bundle in a sandbox-like context", () => {
  function load() {
    const required: string[] = [];
    const exposed: [string, unknown][] = [];
    const invoked: [string, unknown][] = [];
    let reply: (channel: string) => unknown = (channel) => ({ ok: true, value: `value of ${channel}` });
    const electron = {
      contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.push([key, api]) },
      ipcRenderer: {
        invoke: async (channel: string, args: unknown) => {
          invoked.push([channel, args]);
          return reply(channel);
        },
      },
    };
    const module = { exports: {} };
    const context = createContext(
      {
        module,
        exports: module.exports,
        require: (id: string) => {
          required.push(id);
          if (id === "electron") return electron;
          throw new Error(`a sandboxed preload cannot require "${id}"`);
        },
        URL,
        console,
      },
      { codeGeneration: { strings: false, wasm: false } },
    );
    runInContext(readFileSync(PRELOAD, "utf8"), context, { filename: PRELOAD });
    return {
      required,
      exposed,
      invoked,
      setReply: (r: typeof reply) => {
        reply = r;
      },
    };
  }

  it("requires only electron and exposes window.gatehouse once", () => {
    const { required, exposed } = load();
    expect(new Set(required)).toEqual(new Set(["electron"]));
    expect(exposed.map(([key]) => key)).toEqual(["gatehouse"]);
  });

  it("exposes exactly one function per channel and nothing else (no ipcRenderer)", () => {
    const api = load().exposed[0]![1] as Record<string, unknown>;
    expect(Object.keys(api).sort()).toEqual([...CHANNELS].sort());
    for (const [name, value] of Object.entries(api)) expect(typeof value, name).toBe("function");
    expect(Object.getOwnPropertySymbols(api)).toEqual([]);
    // A plain object of the preload's realm: nothing inherited but Object.prototype.
    expect(Object.getPrototypeOf(Object.getPrototypeOf(api))).toBeNull();
  });

  it("sends valid calls on gatehouse:<channel> and returns the value", async () => {
    const { exposed, invoked } = load();
    const api = exposed[0]![1] as Record<string, (a?: unknown) => Promise<unknown>>;
    await expect(api.status!()).resolves.toBe("value of gatehouse:status");
    await expect(api.openConsole!({ role: "prod/Admin" })).resolves.toBe("value of gatehouse:openConsole");
    expect(invoked).toEqual([
      ["gatehouse:status", undefined],
      ["gatehouse:openConsole", { role: "prod/Admin" }],
    ]);
  });

  it("never calls ipcRenderer.invoke for a wrongly-shaped argument", async () => {
    const { exposed, invoked } = load();
    const api = exposed[0]![1] as Record<string, (a?: unknown) => Promise<unknown>>;
    const wrong: [string, unknown][] = [
      ["openConsole", { role: 42 }],
      ["openConsole", undefined],
      ["copyText", { role: "prod/Admin", kind: "password" }],
      ["setFavourite", { role: "prod/Admin", favourite: "yes" }],
      ["updateSettings", { brokerUrl: "file:///etc/passwd" }],
      ["roles", { refresh: true, extra: 1 }],
      ["status", "x"],
    ];
    for (const [channel, args] of wrong) {
      const error = (await api[channel]!(args).catch((e: unknown) => e)) as { message?: string };
      expect(error?.message, channel).toMatch(new RegExp(`^${channel}: .* \\[BAD_REQUEST\\]$`));
    }
    expect(invoked).toEqual([]);
  });

  it("unwraps main's errors into errors whose message ends with the code", async () => {
    const loaded = load();
    loaded.setReply(() => ({ ok: false, error: { code: "FORBIDDEN_ORIGIN", message: "IPC refused" } }));
    const api = loaded.exposed[0]![1] as Record<string, (a?: unknown) => Promise<unknown>>;
    const error = (await api.status!().catch((e: unknown) => e)) as { message: string; code: string };
    expect(error.message).toBe("IPC refused [FORBIDDEN_ORIGIN]");
    expect(error.code).toBe("FORBIDDEN_ORIGIN");
  });
});
