// The tray menu's model: who is signed in, favourite and recent roles with their actions, open console
// windows (focus, close, re-open when expired), and what each action does.

import { describe, expect, it } from "vitest";
import {
  buildTrayMenu,
  formatTimeLeft,
  MAX_FAVOURITES,
  MAX_RECENT,
  menuLabel,
  runTrayAction,
  type TrayAction,
  type TrayEffects,
  type TrayItem,
  type TrayModel,
  trayIconFile,
} from "../../electron/main/tray-menu.ts";

const base: TrayModel = {
  signedIn: true,
  email: "alice@example.com",
  favourites: [],
  recent: [],
  consoles: [],
};
const labels = (items: TrayItem[]) => items.map((i) => (i.type === "separator" ? "—" : i.label));
const find = (items: TrayItem[], label: string) => {
  const i = items.find((x) => x.type === "item" && x.label === label);
  if (i?.type !== "item") throw new Error(`no item ${label} in ${labels(items).join(" | ")}`);
  return i;
};

describe("buildTrayMenu", () => {
  it("signed out: says so, offers sign-in, the window and quit", () => {
    const items = buildTrayMenu({ ...base, signedIn: false, email: null });
    expect(labels(items)).toEqual([
      "Not signed in",
      "—",
      "Open Gatehouse",
      "Sign in…",
      "—",
      "Quit Gatehouse",
    ]);
    expect(find(items, "Sign in…").action).toEqual({ kind: "signIn" });
    expect(find(items, "Not signed in").enabled).toBe(false);
  });

  it("signed in: the user, favourites then recent roles (no repeats), sign out", () => {
    const items = buildTrayMenu({
      ...base,
      favourites: ["prod/Admin"],
      recent: ["staging/Developer", "prod/Admin", "prod/ReadOnly"],
    });
    expect(labels(items)).toEqual([
      "Signed in as alice@example.com",
      "—",
      "Favourites",
      "prod/Admin",
      "—",
      "Recent",
      "staging/Developer",
      "prod/ReadOnly",
      "—",
      "Open Gatehouse",
      "Sign out",
      "—",
      "Quit Gatehouse",
    ]);
    expect(find(items, "Sign out").action).toEqual({ kind: "signOut" });
  });

  it("each role opens its console, copies its profile name or its env export", () => {
    const role = find(buildTrayMenu({ ...base, favourites: ["prod/Admin"] }), "prod/Admin");
    expect(role.action).toBeUndefined();
    expect(role.submenu?.map((i) => (i.type === "item" ? [i.label, i.action] : i))).toEqual([
      ["Open console", { kind: "openConsole", role: "prod/Admin" }],
      ["Copy profile name", { kind: "copy", role: "prod/Admin", what: "profile" }],
      ["Copy env export", { kind: "copy", role: "prod/Admin", what: "envExport" }],
    ]);
  });

  it("caps favourites and recent roles", () => {
    const many = Array.from({ length: 30 }, (_, i) => `acct/role-${i}`);
    const items = buildTrayMenu({ ...base, favourites: many.slice(0, 20), recent: many.slice(10) });
    const roles = labels(items).filter((l) => l.startsWith("acct/"));
    expect(roles).toHaveLength(MAX_FAVOURITES + MAX_RECENT);
    expect(roles.slice(MAX_FAVOURITES)).toEqual([
      "acct/role-20",
      "acct/role-21",
      "acct/role-22",
      "acct/role-23",
      "acct/role-24",
    ]);
  });

  it("says when there is nothing to list yet", () => {
    expect(labels(buildTrayMenu(base))).toContain("No favourite or recent roles yet");
  });

  it("lists open consoles with time left: show or close; an expired one offers to re-open", () => {
    const items = buildTrayMenu({
      ...base,
      consoles: [
        { role: "prod/Admin", expiresAt: "x", expired: true, secondsLeft: 0 },
        { role: "staging/Developer", expiresAt: "y", expired: false, secondsLeft: 42 * 60 + 5 },
      ],
    });
    expect(labels(items)).toContain("Open consoles (1 expired)");
    const live = find(items, "staging/Developer — 42 min left");
    expect(live.submenu?.map((i) => i.type === "item" && i.action)).toEqual([
      { kind: "focusConsole", role: "staging/Developer" },
      { kind: "closeConsole", role: "staging/Developer" },
    ]);
    const expired = find(items, "prod/Admin — expired");
    expect(expired.submenu?.map((i) => i.type === "item" && [i.label, i.action])).toEqual([
      ["Re-open console", { kind: "openConsole", role: "prod/Admin" }],
      ["Close window", { kind: "closeConsole", role: "prod/Admin" }],
    ]);
  });

  it("shows console windows even when signed out (they stay open)", () => {
    const items = buildTrayMenu({
      ...base,
      signedIn: false,
      consoles: [{ role: "prod/Admin", expiresAt: "x", expired: false, secondsLeft: 3600 }],
    });
    expect(labels(items)).toContain("prod/Admin — 1 h left");
  });

  it("escapes & so that an account name is not taken for a mnemonic", () => {
    expect(menuLabel("R&D/Admin")).toBe("R&&D/Admin");
    expect(labels(buildTrayMenu({ ...base, favourites: ["R&D/Admin"] }))).toContain("R&&D/Admin");
    // The action keeps the real role ref.
    const item = find(buildTrayMenu({ ...base, favourites: ["R&D/Admin"] }), "R&&D/Admin");
    expect(item.submenu?.[0]).toMatchObject({ action: { kind: "openConsole", role: "R&D/Admin" } });
  });
});

describe("formatTimeLeft", () => {
  it.each([
    [0, "expired"],
    [-5, "expired"],
    [Number.NaN, "expired"],
    [30, "under a minute left"],
    [60, "1 min left"],
    [59 * 60 + 59, "59 min left"],
    [3600, "1 h left"],
    [3600 + 5 * 60, "1 h 5 min left"],
    [12 * 3600, "12 h left"],
  ])("%s s → %s", (s, text) => {
    expect(formatTimeLeft(s)).toBe(text);
  });
});

describe("runTrayAction", () => {
  function fakeEffects() {
    const calls: string[] = [];
    const fx: TrayEffects = {
      openConsole: async (role) => calls.push(`console ${role}`),
      copyText: async (role, kind) => {
        calls.push(`copy ${role} ${kind}`);
        return { text: kind === "profile" ? "prod-Admin" : "export AWS_ACCESS_KEY_ID=…" };
      },
      writeClipboard: (text) => calls.push(`clipboard ${text}`),
      signIn: async () => calls.push("signIn"),
      signOut: async () => calls.push("signOut"),
      showWindow: () => calls.push("showWindow"),
      focusConsole: (role) => calls.push(`focus ${role}`),
      closeConsole: (role) => calls.push(`close ${role}`),
      installCli: async () => {
        calls.push("installCli");
        return "gatehouse is installed at /usr/local/bin/gatehouse";
      },
      uninstallCli: async () => {
        calls.push("uninstallCli");
        return "removed /usr/local/bin/gatehouse";
      },
      notify: (message) => calls.push(`notify ${message}`),
      quit: () => calls.push("quit"),
    };
    return { fx, calls };
  }

  it("does what each item says", async () => {
    const { fx, calls } = fakeEffects();
    const actions: TrayAction[] = [
      { kind: "openConsole", role: "prod/Admin" },
      { kind: "copy", role: "prod/Admin", what: "profile" },
      { kind: "copy", role: "prod/Admin", what: "envExport" },
      { kind: "focusConsole", role: "a/b" },
      { kind: "closeConsole", role: "a/b" },
      { kind: "signIn" },
      { kind: "signOut" },
      { kind: "showWindow" },
      { kind: "installCli" },
      { kind: "uninstallCli" },
      { kind: "quit" },
    ];
    for (const a of actions) await runTrayAction(a, fx);
    expect(calls).toEqual([
      "console prod/Admin",
      "copy prod/Admin profile",
      "clipboard prod-Admin",
      "copy prod/Admin envExport",
      "clipboard export AWS_ACCESS_KEY_ID=…",
      "focus a/b",
      "close a/b",
      "signIn",
      "signOut",
      "showWindow",
      "installCli",
      "notify gatehouse is installed at /usr/local/bin/gatehouse",
      "uninstallCli",
      "notify removed /usr/local/bin/gatehouse",
      "quit",
    ]);
  });

  it("leaves the clipboard alone when the copy fails, and passes the error on", async () => {
    const { fx, calls } = fakeEffects();
    fx.copyText = async () => {
      throw new Error("Not signed in: run gatehouse login.");
    };
    await expect(runTrayAction({ kind: "copy", role: "x/y", what: "envExport" }, fx)).rejects.toThrow(
      /Not signed in/,
    );
    expect(calls).toEqual([]);
  });
});

describe("the command-line tool", () => {
  it("offers Install when the app carries the tool and it is not on PATH, Uninstall (saying where) when it is", () => {
    const install = find(buildTrayMenu({ ...base, cli: { installedAt: null } }), "Install command-line tool");
    expect(install).toMatchObject({ action: { kind: "installCli" } });
    const uninstall = find(
      buildTrayMenu({ ...base, cli: { installedAt: "/usr/local/bin/gatehouse" } }),
      "Uninstall command-line tool (/usr/local/bin/gatehouse)",
    );
    expect(uninstall).toMatchObject({ action: { kind: "uninstallCli" } });
  });

  it("offers neither when the app carries no tool (a development run)", () => {
    expect(labels(buildTrayMenu(base)).some((l) => l.includes("command-line tool"))).toBe(false);
  });
});

it("uses a template image on macOS", () => {
  expect(trayIconFile("darwin")).toBe("trayTemplate.png");
  expect(trayIconFile("linux")).toBe("tray.png");
  expect(trayIconFile("win32")).toBe("tray.png");
});

describe("approvals badge", () => {
  it("lists the count first and puts it on the tooltip and title; nothing when signed out or zero", async () => {
    const { trayBadge } = await import("../../electron/main/tray-menu.ts");
    const items = buildTrayMenu({ ...base, pendingApprovals: 3 });
    expect(labels(items).slice(0, 2)).toEqual(["Signed in as alice@example.com", "3 requests to approve…"]);
    expect(find(items, "3 requests to approve…")).toMatchObject({ action: { kind: "showWindow" } });
    expect(labels(buildTrayMenu({ ...base, pendingApprovals: 1 }))).toContain("1 request to approve…");
    expect(labels(buildTrayMenu({ ...base, pendingApprovals: 0 })).some((l) => l.includes("approve"))).toBe(
      false,
    );
    expect(trayBadge({ signedIn: true, pendingApprovals: 2 })).toEqual({
      tooltip: "Gatehouse — 2 requests to approve",
      title: "2",
    });
    expect(trayBadge({ signedIn: true, pendingApprovals: null })).toEqual({
      tooltip: "Gatehouse",
      title: "",
    });
    expect(trayBadge({ signedIn: false, pendingApprovals: 4 })).toEqual({ tooltip: "Gatehouse", title: "" });
  });
});
