// The renderer's only way out of its sandbox: the preload's typed API on window.gatehouse, whose contract
// (channels, argument and result schemas) is shared/ipc.ts. Nothing here talks to the network.

import type { GatehouseApi } from "../../shared/ipc.ts";

declare global {
  interface Window {
    /** Exposed by the preload through contextBridge (in tests: bound to a real desktop core). */
    readonly gatehouse: GatehouseApi;
  }
}

export function gatehouse(): GatehouseApi {
  return window.gatehouse;
}

// contextBridge hands the page only an Error's message, so the preload also ends the message with the code,
// "… [BAD_REQUEST]" (electron/preload/api.ts); a `code` property is used when there is one.
const CODE_SUFFIX = / \[([A-Z][A-Z0-9_]*)\]$/;

/** The error code an IPC call failed with. */
export function errorCode(e: unknown): string | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  if ("code" in e && typeof e.code === "string") return e.code;
  if ("message" in e && typeof e.message === "string") return CODE_SUFFIX.exec(e.message)?.[1];
  return undefined;
}

/** A line people read for a failed call (without the code the preload appends). */
export function errorText(e: unknown): string {
  if (e instanceof Error && e.message) return e.message.replace(CODE_SUFFIX, "");
  return "Something went wrong. Try again.";
}
