// window.gatehouse, built from the shared contract: one function per channel of shared/ipc.ts, each
// checking its argument with the channel's zod schema before anything is sent (main checks again), and
// unwrapping main's {ok, value} | {ok: false, error} reply. No Electron import: preload.ts passes in
// ipcRenderer.invoke, tests pass a fake.

import { CHANNELS, type Channel, type GatehouseApi, IPC, ipcChannelName } from "../../shared/ipc.ts";

export type Invoke = (channel: string, args: unknown) => Promise<unknown>;

/**
 * The error a call rejects with. contextBridge copies only an Error's message into the page, so the
 * code also ends the message ("… [BAD_REQUEST]"); `ipcErrorCode` reads it back on either side.
 */
export interface IpcError extends Error {
  code: string;
}

export function ipcError(code: string, message: string): IpcError {
  const e = new Error(`${message} [${code}]`) as IpcError;
  e.name = "GatehouseError";
  e.code = code;
  return e;
}

/** The error code of a rejected window.gatehouse call, from its `code` or its message's "[CODE]". */
export function ipcErrorCode(e: unknown): string | undefined {
  if (e && typeof e === "object") {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    const message = (e as { message?: unknown }).message;
    if (typeof message === "string") return /\[([A-Z][A-Z0-9_]*)\]$/.exec(message)?.[1];
  }
  return undefined;
}

function unwrap(channel: Channel, reply: unknown): unknown {
  if (reply && typeof reply === "object" && "ok" in reply) {
    const r = reply as { ok: unknown; value?: unknown; error?: { code?: unknown; message?: unknown } };
    if (r.ok === true) return r.value;
    if (r.ok === false && r.error && typeof r.error.code === "string" && typeof r.error.message === "string")
      throw ipcError(r.error.code, r.error.message);
  }
  throw ipcError("INTERNAL", `${channel}: the app sent a malformed reply`);
}

export function createGatehouseApi(invoke: Invoke): GatehouseApi {
  const api: Partial<Record<Channel, (args?: unknown) => Promise<unknown>>> = {};
  for (const channel of CHANNELS) {
    const schema = IPC[channel].args;
    const name = ipcChannelName(channel);
    api[channel] = async (args?: unknown) => {
      const parsed = schema.safeParse(args);
      if (!parsed.success) {
        const i = parsed.error.issues[0]!;
        throw ipcError("BAD_REQUEST", `${channel}: ${i.path.join(".") || "argument"}: ${i.message}`);
      }
      return unwrap(channel, await invoke(name, parsed.data));
    };
  }
  return Object.freeze(api) as GatehouseApi;
}
