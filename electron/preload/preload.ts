// The app window's preload (sandboxed, context-isolated): exposes window.gatehouse, one function per
// channel of the shared contract, and nothing else — no ipcRenderer, no event objects, no Node.
// Bundled with zod into one CommonJS file (a sandboxed preload can require only "electron").

import { contextBridge, ipcRenderer } from "electron";
import { z } from "zod";
import { createGatehouseApi } from "./api.ts";

// zod compiles object parsers with `new Function` where eval is allowed; the preload never needs it.
z.config({ jitless: true });

contextBridge.exposeInMainWorld(
  "gatehouse",
  createGatehouseApi((channel, args) => ipcRenderer.invoke(channel, args)),
);
