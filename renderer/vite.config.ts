// Builds the tray app's renderer (React) into dist/renderer with relative URLs, so that the Electron shell
// can load it from file:// and the browser tests from a local HTTP server.

import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

/**
 * The dev server needs an inline script (React refresh) and a websocket (HMR), which the production CSP
 * in index.html forbids. Only `vite serve` loosens it; builds keep index.html's policy byte for byte.
 */
function devServerCsp(): Plugin {
  return {
    name: "gatehouse-dev-server-csp",
    apply: "serve",
    transformIndexHtml(html) {
      return html
        .replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
        .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
        .replace("connect-src 'none'", "connect-src 'self' ws: http://localhost:* http://127.0.0.1:*");
    },
  };
}

export default defineConfig({
  root,
  base: "./",
  plugins: [react(), devServerCsp()],
  build: {
    outDir: fileURLToPath(new URL("../dist/renderer", import.meta.url)),
    emptyOutDir: true,
    // Electron 40 and the test Chromium are recent: no need to transpile for older engines.
    target: "chrome120",
    // The polyfill is for browsers without <link rel=modulepreload>; Chromium has it.
    modulePreload: { polyfill: false },
    // Nothing inlined as data: URLs except what img-src allows; fonts and scripts stay files.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
