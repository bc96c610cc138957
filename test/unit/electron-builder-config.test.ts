// build/electron-builder.yml, checked without packaging (that needs the Electron binary): loaded and
// validated by electron-builder's own code against its JSON schema (app-builder-lib/scheme.json), the
// required targets and the fuses of SECURITY.md 29 present, and every icon it names a real PNG of the
// right size (the .ico's entries too).

import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const ROOT = resolve(import.meta.dirname, "../..");
const CONFIG = "build/electron-builder.yml";
const require = createRequire(import.meta.url);

interface BuilderConfig {
  appId: string;
  productName: string;
  files: string[];
  asar: boolean;
  extraMetadata: { main: string };
  electronFuses: Record<string, boolean>;
  mac: { target: string; category: string; hardenedRuntime: boolean; icon: string };
  win: { target: string; icon: string };
  linux: { target: string[]; category: string; icon: string };
}
const config = parse(readFileSync(resolve(ROOT, CONFIG), "utf8")) as BuilderConfig;

/** Width, height and a decoded check of a PNG: signature, IHDR first, CRCs, IDAT inflates to size. */
function readPng(bytes: Buffer): { width: number; height: number } {
  expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const { crc32 } = require("node:zlib") as { crc32?: (b: Buffer) => number };
  let offset = 8;
  let width = 0;
  let height = 0;
  let colourType = -1;
  const idat: Buffer[] = [];
  const types: string[] = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString("ascii", offset + 4, offset + 8);
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (crc32)
      expect(bytes.readUInt32BE(offset + 8 + length), `${type} CRC`).toBe(
        crc32(bytes.subarray(offset + 4, offset + 8 + length)),
      );
    types.push(type);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8], "bit depth").toBe(8);
      colourType = data[9]!;
    }
    if (type === "IDAT") idat.push(data);
    offset += 12 + length;
  }
  expect(types[0]).toBe("IHDR");
  expect(types.at(-1)).toBe("IEND");
  expect(colourType, "RGBA").toBe(6);
  expect(inflateSync(Buffer.concat(idat)).length).toBe((width * 4 + 1) * height);
  return { width, height };
}

describe("electron-builder configuration", () => {
  it("passes electron-builder's own loading and schema validation", async () => {
    const { getConfig, validateConfiguration } = require("app-builder-lib/out/util/config/config.js");
    const { DebugLogger } = require("builder-util");
    const loaded = await getConfig(ROOT, CONFIG, null);
    await expect(validateConfiguration(loaded, new DebugLogger(false))).resolves.toBeUndefined();
    // The validator does reject a wrong key (so the pass above means something).
    const broken = { ...loaded, electronFuses: { ...loaded.electronFuses, runAsNod: false } };
    await expect(validateConfiguration(broken, new DebugLogger(false))).rejects.toThrow(/electronFuses/);
  });

  it("names the app, ships the bundles in an asar, and starts dist/electron/main.js", () => {
    expect(config.appId).toBe("dev.gatehouse.app");
    expect(config.productName).toBe("Gatehouse");
    expect(config.files).toEqual(["dist/**", "package.json"]);
    expect(config.asar).toBe(true);
    expect(config.extraMetadata.main).toBe("dist/electron/main.js");
    const pkg = JSON.parse(readFileSync(resolve(ROOT, "package.json"), "utf8"));
    expect(pkg.scripts["start:app"]).toBe("electron dist/electron/main.js");
  });

  it("builds a dmg, an NSIS installer, an AppImage and a deb", () => {
    expect(config.mac).toMatchObject({
      target: "dmg",
      category: "public.app-category.developer-tools",
      hardenedRuntime: true,
    });
    expect(config.win.target).toBe("nsis");
    expect(config.linux.target).toEqual(["AppImage", "deb"]);
    expect(config.linux.category).toBe("Development");
  });

  it("flips the fuses of SECURITY.md 29", () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
  });
});

describe("the command-line tool in the package", () => {
  type Resource = { from: string; to: string };
  const raw = config as unknown as Record<
    "mac" | "win" | "linux",
    { extraResources: Resource[]; executableName?: string }
  > & { deb: { afterInstall: string; afterRemove: string } };

  it("each platform carries the binary build:cli writes for it, and its keychain module, in resources/cli", async () => {
    const { binaryName } = await import("../../build/cli/build.mjs");
    for (const [key, platform] of [
      ["mac", "darwin-arm64"],
      ["win", "win32-x64"],
      ["linux", "linux-x64"],
    ] as const) {
      const name = binaryName(platform) as string;
      expect(raw[key].extraResources, key).toEqual([
        { from: `dist/cli/${name}`, to: `cli/${name}` },
        { from: "dist/cli/gatehouse-keyring.node", to: "cli/gatehouse-keyring.node" },
      ]);
    }
  });

  it("the app is not `gatehouse` on Linux's PATH, and the deb links /usr/bin/gatehouse to the tool (only a link)", () => {
    expect(raw.linux.executableName).toBe("gatehouse-app");
    const install = readFileSync(resolve(ROOT, raw.deb.afterInstall), "utf8");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: electron-builder's template variable, verbatim
    expect(install).toContain("CLI='/opt/${sanitizedProductName}/resources/cli/gatehouse'");
    expect(install).toContain('ln -sf "$CLI" /usr/bin/gatehouse');
    expect(install).toMatch(/if \[ -L \/usr\/bin\/gatehouse \] \|\| \[ ! -e \/usr\/bin\/gatehouse \]; then/);
    // electron-builder's own steps (the app's link, chrome-sandbox) are kept.
    expect(install).toContain("chrome-sandbox");
    const remove = readFileSync(resolve(ROOT, raw.deb.afterRemove), "utf8");
    expect(remove).toContain("rm -f /usr/bin/gatehouse");
  });

  it("the deb scripts run: install links the tool, remove takes the link away, a file there is kept", () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-deb-"));
    try {
      // The scripts with their paths moved under a temporary root (they are templates electron-builder fills).
      const sub = (f: string) =>
        readFileSync(resolve(ROOT, f), "utf8")
          // biome-ignore lint/suspicious/noTemplateCurlyInString: electron-builder's template variable, verbatim
          .replaceAll("${sanitizedProductName}", "Gatehouse")
          .replaceAll("/opt/", `${dir}/opt/`)
          .replaceAll("/usr/bin/gatehouse", `${dir}/bin/gatehouse`);
      const cli = join(dir, "opt/Gatehouse/resources/cli/gatehouse");
      mkdirSync(dirname(cli), { recursive: true });
      mkdirSync(join(dir, "bin"));
      writeFileSync(cli, "#!/bin/sh\n", { mode: 0o755 });
      // Only our part of each script: electron-builder's own steps want a real system.
      const ours = (f: string, marker: string) => sub(f).slice(sub(f).lastIndexOf(marker));
      const install = ours(raw.deb.afterInstall, "# The command-line tool");
      const remove = ours(raw.deb.afterRemove, "if [ -L /");
      const run = (script: string) => execFileSync("/bin/bash", ["-c", script], { encoding: "utf8" });
      run(install);
      expect(readlinkSync(join(dir, "bin/gatehouse"))).toBe(cli);
      run(remove);
      expect(existsSync(join(dir, "bin/gatehouse"))).toBe(false);
      writeFileSync(join(dir, "bin/gatehouse"), "npm's gatehouse\n");
      expect(run(install)).toMatch(/exists and is not a link/);
      expect(readFileSync(join(dir, "bin/gatehouse"), "utf8")).toBe("npm's gatehouse\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("icons", () => {
  it("the macOS icon is a 512×512 PNG", () => {
    expect(readPng(readFileSync(resolve(ROOT, config.mac.icon)))).toEqual({ width: 512, height: 512 });
  });

  it("the Linux icon directory has square PNGs from 16 to 512, each the size its name says", () => {
    const dir = resolve(ROOT, config.linux.icon);
    const sized = readdirSync(dir).filter((f) => /^\d+x\d+\.png$/.test(f));
    const sizes = sized.map((f) => Number(f.split("x")[0])).sort((a, b) => a - b);
    expect(sizes).toEqual(expect.arrayContaining([16, 32, 64, 128, 256, 512]));
    for (const f of sized) {
      const n = Number(f.split("x")[0]);
      expect(readPng(readFileSync(resolve(dir, f))), f).toEqual({ width: n, height: n });
    }
  });

  it("the Windows .ico holds PNG entries up to 256×256, each entry matching its directory record", () => {
    const ico = readFileSync(resolve(ROOT, config.win.icon));
    expect(ico.readUInt16LE(0)).toBe(0);
    expect(ico.readUInt16LE(2)).toBe(1);
    const count = ico.readUInt16LE(4);
    const sizes: number[] = [];
    for (let i = 0; i < count; i++) {
      const e = 6 + i * 16;
      const size = ico[e] === 0 ? 256 : ico[e]!;
      const length = ico.readUInt32LE(e + 8);
      const offset = ico.readUInt32LE(e + 12);
      expect(readPng(ico.subarray(offset, offset + length))).toEqual({ width: size, height: size });
      sizes.push(size);
    }
    expect(sizes).toContain(256);
    expect(sizes).toContain(16);
  });

  it("the tray icons: 16 and 32 px macOS template images (black and alpha only), a 32 px colour one", () => {
    const tray = resolve(ROOT, "build/icons/tray");
    expect(readPng(readFileSync(resolve(tray, "trayTemplate.png")))).toEqual({ width: 16, height: 16 });
    expect(readPng(readFileSync(resolve(tray, "trayTemplate@2x.png")))).toEqual({ width: 32, height: 32 });
    expect(readPng(readFileSync(resolve(tray, "tray.png")))).toEqual({ width: 32, height: 32 });
    for (const f of ["trayTemplate.png", "trayTemplate@2x.png"]) {
      const bytes = readFileSync(resolve(tray, f));
      const { width, height } = readPng(bytes);
      const idat: Buffer[] = [];
      for (let o = 8; o < bytes.length; ) {
        const len = bytes.readUInt32BE(o);
        if (bytes.toString("ascii", o + 4, o + 8) === "IDAT") idat.push(bytes.subarray(o + 8, o + 8 + len));
        o += 12 + len;
      }
      const raw = inflateSync(Buffer.concat(idat));
      let opaque = 0;
      for (let y = 0; y < height; y++) {
        expect(raw[y * (width * 4 + 1)], "filter byte").toBe(0);
        for (let x = 0; x < width; x++) {
          const p = y * (width * 4 + 1) + 1 + x * 4;
          expect([raw[p], raw[p + 1], raw[p + 2]], `${f} pixel ${x},${y}`).toEqual([0, 0, 0]);
          if (raw[p + 3]! > 0) opaque++;
        }
      }
      // A glyph, not an empty or a filled square.
      expect(opaque / (width * height)).toBeGreaterThan(0.2);
      expect(opaque / (width * height)).toBeLessThan(0.8);
    }
  });
});
