// Bundles the Electron shell into dist/electron (`npm run build:electron` runs both modes):
//   --mode main     dist/electron/main.js: ESM for Electron's Node; electron, Node built-ins and the
//                   native @napi-rs/keyring stay external, everything else (agent, zod, openid-client,
//                   jose) is bundled; the tray icons are copied to dist/electron/icons.
//   --mode preload  dist/electron/preload.cjs: one CommonJS file with zod inside, because a sandboxed
//                   preload can require nothing but "electron".
// The renderer has its own config (renderer/vite.config.ts → dist/renderer).

import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { defineConfig, type Plugin, type UserConfig } from "vite";

const root = resolve(import.meta.dirname, "..");
const outDir = resolve(root, "dist/electron");
const trayIconDir = resolve(root, "build/icons/tray");

/** Copies build/icons/tray/*.png and the window icon next to main.js (packaged apps have no build/). */
function shellIcons(): Plugin {
  return {
    name: "gatehouse-shell-icons",
    generateBundle() {
      for (const f of readdirSync(trayIconDir).filter((n) => n.endsWith(".png"))) {
        this.emitFile({
          type: "asset",
          fileName: `icons/${f}`,
          source: readFileSync(resolve(trayIconDir, f)),
        });
      }
      this.emitFile({
        type: "asset",
        fileName: "icons/window.png",
        source: readFileSync(resolve(root, "build/icons/256x256.png")),
      });
    },
  };
}

const main: UserConfig = {
  root,
  publicDir: false,
  logLevel: "warn",
  plugins: [shellIcons()],
  ssr: { target: "node", noExternal: true, external: ["electron", "@napi-rs/keyring"] },
  build: {
    ssr: resolve(root, "electron/main/main.ts"),
    outDir,
    emptyOutDir: true,
    target: "node22",
    minify: false,
    reportCompressedSize: false,
    rolldownOptions: { output: { format: "es", entryFileNames: "main.js" } },
  },
};

const preload: UserConfig = {
  root,
  publicDir: false,
  logLevel: "warn",
  build: {
    outDir,
    emptyOutDir: false,
    target: "chrome120",
    minify: false,
    reportCompressedSize: false,
    lib: {
      entry: resolve(root, "electron/preload/preload.ts"),
      formats: ["cjs"],
      fileName: () => "preload.cjs",
    },
    rolldownOptions: { external: ["electron"] },
  },
};

export default defineConfig(({ mode }) => {
  if (mode === "main") return main;
  if (mode === "preload") return preload;
  throw new Error(`electron/vite.config.ts: --mode must be "main" or "preload", not "${mode}"`);
});
