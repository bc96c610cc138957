// window.gatehouse as the preload builds it: one function per channel, arguments checked with the
// shared zod schema before anything is sent (a wrong shape never reaches ipcRenderer.invoke), replies
// unwrapped, errors carrying their code. Then both sides together: the preload's api over main's
// createIpcHandlers with a recording core — a wrong shape that slips past one side is refused by the
// other, and nothing refused reaches the core.

import { describe, expect, it } from "vitest";
import type { DesktopCore } from "../../electron/main/desktop-core.ts";
import { createIpcHandlers } from "../../electron/main/ipc-handlers.ts";
import { createGatehouseApi, type Invoke, ipcErrorCode } from "../../electron/preload/api.ts";
import { GatehouseError } from "../../shared/errors.ts";
import { CHANNELS, ipcChannelName } from "../../shared/ipc.ts";

function recordingInvoke(
  reply: (channel: string, args: unknown) => unknown = () => ({ ok: true, value: 1 }),
) {
  const calls: [string, unknown][] = [];
  const invoke: Invoke = async (channel, args) => {
    calls.push([channel, args]);
    return reply(channel, args);
  };
  return { invoke, calls };
}

describe("createGatehouseApi", () => {
  it("has exactly one function per channel of the contract, and is frozen", () => {
    const api = createGatehouseApi(recordingInvoke().invoke);
    expect(Object.keys(api).sort()).toEqual([...CHANNELS].sort());
    for (const c of CHANNELS) expect(typeof api[c]).toBe("function");
    expect(Object.isFrozen(api)).toBe(true);
  });

  it("sends each call on its gatehouse:<channel> with the parsed argument and returns the value", async () => {
    const { invoke, calls } = recordingInvoke((channel) => ({ ok: true, value: `reply to ${channel}` }));
    const api = createGatehouseApi(invoke);
    await expect(api.openConsole({ role: "prod/Admin", region: "eu-west-1" })).resolves.toBe(
      "reply to gatehouse:openConsole",
    );
    await expect(api.status()).resolves.toBe("reply to gatehouse:status");
    await api.roles({ refresh: true });
    expect(calls).toEqual([
      [ipcChannelName("openConsole"), { role: "prod/Admin", region: "eu-west-1" }],
      ["gatehouse:status", undefined],
      ["gatehouse:roles", { refresh: true }],
    ]);
  });

  it.each([
    ["openConsole", undefined, "openConsole: argument:"],
    ["openConsole", { role: "x" }, "openConsole: role:"],
    ["openConsole", { role: "prod/Admin", region: "mars-1" }, "openConsole: region:"],
    ["openConsole", { role: "prod/Admin", extra: 1 }, "openConsole:"],
    ["copyText", { role: "prod/Admin", kind: "secretKey" }, "copyText: kind:"],
    ["roles", { refresh: "yes" }, "roles: refresh:"],
    ["status", { anything: true }, "status:"],
    ["setFavourite", { role: "prod/Admin" }, "setFavourite: favourite:"],
    ["updateSettings", { brokerUrl: "javascript:alert(1)" }, "updateSettings: brokerUrl:"],
    ["updateSettings", { consoleMode: "popup" }, "updateSettings: consoleMode:"],
    ["updateSettings", { nodeIntegration: true }, "updateSettings:"],
    ["signIn", "now", "signIn:"],
  ] as const)("refuses %s(%j) before sending anything", async (channel, args, message) => {
    const { invoke, calls } = recordingInvoke();
    const api = createGatehouseApi(invoke) as unknown as Record<string, (a: unknown) => Promise<unknown>>;
    const error = await api[channel]!(args).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).toMatch(/ \[BAD_REQUEST\]$/);
    expect(ipcErrorCode(error)).toBe("BAD_REQUEST");
    expect(calls).toEqual([]);
  });

  it("turns main's {ok: false} into an Error whose code survives contextBridge (in the message)", async () => {
    const api = createGatehouseApi(
      recordingInvoke(() => ({ ok: false, error: { code: "NOT_SIGNED_IN", message: "Not signed in" } }))
        .invoke,
    );
    const error = await api.roles().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "GatehouseError", code: "NOT_SIGNED_IN" });
    expect((error as Error).message).toBe("Not signed in [NOT_SIGNED_IN]");
    // What the page sees after contextBridge copied the error: the message only.
    expect(ipcErrorCode({ message: (error as Error).message })).toBe("NOT_SIGNED_IN");
    expect(ipcErrorCode(new Error("plain"))).toBeUndefined();
  });

  it("refuses a malformed reply instead of passing it on", async () => {
    for (const reply of [
      undefined,
      null,
      "ok",
      { ok: "yes" },
      { ok: false },
      { ok: false, error: { code: 1 } },
    ]) {
      const api = createGatehouseApi(recordingInvoke(() => reply).invoke);
      const error = await api.status().catch((e: unknown) => e);
      expect(ipcErrorCode(error), JSON.stringify(reply)).toBe("INTERNAL");
    }
  });
});

describe("preload and main together", () => {
  const APP = "app://gatehouse/index.html";

  function wire(sender = { url: APP, topFrame: true }) {
    const reached: string[] = [];
    const core = new Proxy(
      {},
      {
        get:
          (_t, name: string) =>
          (...args: unknown[]) => {
            reached.push(`${name}(${args.map((a) => JSON.stringify(a)).join(", ")})`);
            if (name === "roles") return Promise.resolve([]);
            if (name === "copyText") return Promise.reject(new GatehouseError("ROLE_NOT_FOUND"));
            if (name === "favourites") throw new Error("disk on fire at /home/alice/.gatehouse");
            return Promise.resolve({ done: name });
          },
      },
    ) as DesktopCore;
    const handlers = createIpcHandlers(core, (url) => url === APP);
    const sent: string[] = [];
    const api = createGatehouseApi((channel, args) => {
      sent.push(channel);
      return handlers.invoke(channel.replace(/^gatehouse:/, ""), args, sender);
    });
    return { api, reached, sent, handlers };
  }

  it("a valid call reaches the core once and its value comes back", async () => {
    const { api, reached } = wire();
    await expect(api.roles({ refresh: true })).resolves.toEqual([]);
    await expect(api.setFavourite({ role: "prod/Admin", favourite: true })).resolves.toEqual({
      done: "setFavourite",
    });
    expect(reached).toEqual(["roles(true)", 'setFavourite("prod/Admin", true)']);
  });

  it("errors keep their code; unexpected ones say INTERNAL without details", async () => {
    const { api } = wire();
    const notFound = await api.copyText({ role: "prod/Nope", kind: "profile" }).catch((e: Error) => e);
    expect(ipcErrorCode(notFound)).toBe("ROLE_NOT_FOUND");
    const internal = (await api.favourites().catch((e: Error) => e)) as Error;
    expect(ipcErrorCode(internal)).toBe("INTERNAL");
    expect(internal.message).not.toContain("/home/alice");
  });

  it("a wrong shape sent straight to main (a compromised page without the preload) never reaches the core", async () => {
    const { handlers, reached } = wire();
    const sender = { url: APP, topFrame: true };
    for (const [channel, args] of [
      ["openConsole", { role: 42 }],
      ["copyText", { role: "prod/Admin", kind: "profile", extra: "x" }],
      ["updateSettings", { brokerUrl: "file:///etc/passwd" }],
      ["nope", {}],
      ["__proto__", {}],
    ] as const) {
      const r = await handlers.invoke(channel, args, sender);
      expect(r.ok, channel).toBe(false);
      if (!r.ok) expect(r.error.code).toBe("BAD_REQUEST");
    }
    expect(reached).toEqual([]);
  });

  it("a call from a sub-frame or another origin is refused by main", async () => {
    for (const sender of [
      { url: APP, topFrame: false },
      { url: "https://evil.example/", topFrame: true },
      { url: "file:///work/main/dist/renderer/index.html", topFrame: true },
    ]) {
      const { api, reached, sent } = wire(sender);
      const error = await api.status().catch((e: Error) => e);
      expect(ipcErrorCode(error)).toBe("FORBIDDEN_ORIGIN");
      expect(sent).toEqual(["gatehouse:status"]);
      expect(reached).toEqual([]);
    }
  });
});
