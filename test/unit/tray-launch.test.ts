// tryStartTrayApp: one line saying why the tray app cannot start (no Electron binary, no display,
// root on Linux, a failed build, an agent already on the home, an app that dies or never brings its
// agent up), otherwise "started" once the app's agent answers — with the bundles built first when
// missing and the demo's GATEHOUSE_HOME passed to Electron.

import type { ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { type TrayLaunchDeps, tryStartTrayApp } from "../../dev/tray-launch.ts";

const ENV = { GATEHOUSE_HOME: "/demo/home", AWS_CONFIG_FILE: "/demo/aws-config", DISPLAY: ":0" };

let killed = 0;
function fakeChild(behaviour: "runs" | "exits" | "fails"): ChildProcess {
  const child = new EventEmitter() as ChildProcess & EventEmitter;
  (child as { kill: () => boolean }).kill = () => {
    killed++;
    return true;
  };
  setTimeout(() => {
    if (behaviour === "exits") child.emit("exit", 1, null);
    if (behaviour === "fails") child.emit("error", new Error("spawn EACCES"));
  }, 5);
  return child;
}

function deps(over: Partial<TrayLaunchDeps> & { files?: string[] } = {}) {
  const files = new Set(
    over.files ?? [
      "/electron/dist/electron",
      "/repo/dist/electron/main.js",
      "/repo/dist/electron/preload.cjs",
      "/repo/dist/renderer/index.html",
    ],
  );
  const scripts: string[] = [];
  const spawned: { command: string; args: string[]; env: NodeJS.ProcessEnv }[] = [];
  const d: TrayLaunchDeps = {
    platform: "linux",
    uid: 1000,
    root: "/repo",
    pollMs: 5,
    startTimeoutMs: 2000,
    // The app's agent answers once the app runs.
    agentAlive: async () => spawned.length > 0,
    electronPath: () => "/electron/dist/electron",
    exists: (p) => files.has(p),
    runScript: (s) => {
      scripts.push(s);
      return undefined;
    },
    spawn: (command, args, env) => {
      spawned.push({ command, args, env });
      return fakeChild("runs");
    },
    ...over,
  };
  return { d, scripts, spawned };
}

describe("tryStartTrayApp", () => {
  it("starts electron on dist/electron/main.js with the demo's environment", async () => {
    const { d, spawned, scripts } = deps();
    await expect(tryStartTrayApp({ ...ENV, ELECTRON_RUN_AS_NODE: "1" }, d)).resolves.toBe("started");
    expect(scripts).toEqual([]);
    expect(spawned).toHaveLength(1);
    expect(spawned[0]!.command).toBe("/electron/dist/electron");
    expect(spawned[0]!.args).toEqual(["/repo/dist/electron/main.js"]);
    expect(spawned[0]!.env.GATEHOUSE_HOME).toBe("/demo/home");
    expect(spawned[0]!.env.AWS_CONFIG_FILE).toBe("/demo/aws-config");
    // ELECTRON_RUN_AS_NODE would turn the binary into plain Node.
    expect(spawned[0]!.env).not.toHaveProperty("ELECTRON_RUN_AS_NODE");
  });

  it("says there is no Electron binary when require('electron') throws (as in this repository)", async () => {
    const { d, spawned } = deps({
      electronPath: () => {
        throw new Error("Electron failed to install correctly");
      },
    });
    const reason = await tryStartTrayApp(ENV, d);
    expect(reason).toMatch(/^tray app not started: no Electron binary .*; the headless stack keeps running$/);
    expect(reason).not.toContain("\n");
    expect(spawned).toEqual([]);
  });

  it("says there is no Electron binary when the path it names does not exist", async () => {
    const { d } = deps({ electronPath: () => "/nowhere/electron" });
    await expect(tryStartTrayApp(ENV, d)).resolves.toMatch(/no Electron binary at \/nowhere\/electron/);
  });

  it.skipIf(existsSync(resolve(import.meta.dirname, "../../node_modules/electron/path.txt")))(
    "really finds no binary here: node_modules/electron was installed without its download",
    async () => {
      await expect(tryStartTrayApp(ENV)).resolves.toMatch(/no Electron binary/);
    },
  );

  it("needs a display on Linux (X11 or Wayland), not on macOS or Windows", async () => {
    const noDisplay = { GATEHOUSE_HOME: "/demo/home" };
    await expect(tryStartTrayApp(noDisplay, deps().d)).resolves.toMatch(
      /^tray app not started: no display \(neither DISPLAY nor WAYLAND_DISPLAY is set\)/,
    );
    await expect(tryStartTrayApp({ ...noDisplay, WAYLAND_DISPLAY: "wayland-0" }, deps().d)).resolves.toBe(
      "started",
    );
    await expect(tryStartTrayApp(noDisplay, deps({ platform: "darwin" }).d)).resolves.toBe("started");
    await expect(tryStartTrayApp(noDisplay, deps({ platform: "win32", uid: undefined }).d)).resolves.toBe(
      "started",
    );
  });

  it("refuses root on Linux rather than start Electron without its sandbox", async () => {
    const { d, spawned } = deps({ uid: 0 });
    await expect(tryStartTrayApp(ENV, d)).resolves.toMatch(/running as root/);
    expect(spawned).toEqual([]);
  });

  it("builds the bundles and the renderer first when they are missing", async () => {
    const { d, scripts, spawned } = deps({ files: ["/electron/dist/electron"] });
    await expect(tryStartTrayApp(ENV, d)).resolves.toBe("started");
    expect(scripts).toEqual(["build:electron", "build:renderer"]);
    expect(spawned).toHaveLength(1);
  });

  it("says which build failed, and does not start", async () => {
    const { d, spawned } = deps({ files: ["/electron/dist/electron"], runScript: () => "vite: error X" });
    await expect(tryStartTrayApp(ENV, d)).resolves.toBe(
      "tray app not started: npm run build:electron failed: vite: error X; the headless stack keeps running",
    );
    expect(spawned).toEqual([]);
  });

  it("reports an app that exits or cannot be spawned at start", async () => {
    const exits = deps({ spawn: () => fakeChild("exits"), agentAlive: async () => false }).d;
    await expect(tryStartTrayApp(ENV, exits)).resolves.toMatch(/electron exited at start \(exit 1\)/);
    const fails = deps({ spawn: () => fakeChild("fails"), agentAlive: async () => false }).d;
    await expect(tryStartTrayApp(ENV, fails)).resolves.toMatch(/electron did not run \(spawn EACCES\)/);
  });

  it("does not start a second agent on a home where one already answers", async () => {
    const { d, spawned } = deps({ agentAlive: async () => true });
    await expect(tryStartTrayApp(ENV, d)).resolves.toBe(
      "tray app not started: an agent already runs in /demo/home (the app hosts its own; stop that one first); the headless stack keeps running",
    );
    expect(spawned).toEqual([]);
  });

  it("ends an app that never brings its agent up, and says so", async () => {
    const before = killed;
    const { d } = deps({ agentAlive: async () => false, startTimeoutMs: 60 });
    await expect(tryStartTrayApp(ENV, d)).resolves.toMatch(/the app did not bring its agent up within 0 s/);
    expect(killed).toBe(before + 1);
  });

  it("asks GATEHOUSE_HOME's real socket by default", async () => {
    const home = mkdtempSync(join(tmpdir(), "gh-tray-"));
    const server = createServer((c) => c.end());
    await new Promise<void>((r) => server.listen(join(home, "agent.sock"), r));
    try {
      const { d, spawned } = deps();
      delete d.agentAlive;
      await expect(tryStartTrayApp({ ...ENV, GATEHOUSE_HOME: home }, d)).resolves.toMatch(
        `an agent already runs in ${home}`,
      );
      expect(spawned).toEqual([]);
    } finally {
      await new Promise((r) => server.close(r));
      rmSync(home, { recursive: true, force: true });
    }
  });
});
