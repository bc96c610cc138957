// The refresh-token stores against the real Secret Service (gnome-keyring in the test's private D-Bus session):
// the keychain store, the choice openTokenStore makes (keychain by default, a file only when chosen, NO_KEYCHAIN
// instead of a silent fall-back), and the opt-in file store's permissions.

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Entry, findCredentials } from "@napi-rs/keyring";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type AgentPaths, agentPaths } from "../../electron/agent/home.ts";
import { type Settings, settingsSchema } from "../../electron/agent/settings.ts";
import {
  fileStore,
  KEYCHAIN_SERVICE,
  keychainAccount,
  keychainStore,
  openTokenStore,
  type TokenStore,
} from "../../electron/agent/token-store.ts";
import { GatehouseError } from "../../shared/errors.ts";

const RUN = randomBytes(4).toString("hex");
const SERVICE = `gatehouse-test-${RUN}`;
const TOKEN_STORE_TS = resolve(import.meta.dirname, "../../electron/agent/token-store.ts");
const pinned = { linux: { store: "secret-service" as const } };

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
afterAll(() => {
  // Nothing this run wrote may stay in the person's keyring.
  for (const { account } of findCredentials(SERVICE)) new Entry(SERVICE, account, pinned).deleteCredential();
});

function fakeToken(): string {
  return `rt-${randomBytes(24).toString("base64url")}`;
}

function freshHome(): AgentPaths {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-home-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const paths = agentPaths({ GATEHOUSE_HOME: join(dir, "home") });
  mkdirSync(paths.home, { mode: 0o700 });
  return paths;
}

function settingsFor(extra: Partial<Settings> = {}): Settings {
  // A unique issuer per test, so the entries of parallel runs and of the person's real sign-in never meet.
  return settingsSchema.parse({
    issuer: `https://idp-${RUN}-${randomBytes(3).toString("hex")}.example.com`,
    ...extra,
  });
}

/** Every file under dir, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

describe("keychainStore (real Secret Service)", () => {
  it("sets, gets, overwrites and deletes", async () => {
    const store = keychainStore(SERVICE, "alice");
    expect(store.kind).toBe("keychain");
    expect(await store.get()).toBeNull();
    const a = fakeToken();
    await store.set(a);
    expect(await store.get()).toBe(a);
    const b = fakeToken();
    await store.set(b);
    expect(await store.get()).toBe(b);
    await store.delete();
    expect(await store.get()).toBeNull();
    // Deleting what is not there is not an error (logout twice).
    await store.delete();
  });

  it("keeps two accounts apart", async () => {
    const one = keychainStore(SERVICE, "https://idp-one.example.com#gatehouse-desktop");
    const two = keychainStore(SERVICE, "https://idp-two.example.com#gatehouse-desktop");
    const t1 = fakeToken();
    const t2 = fakeToken();
    await one.set(t1);
    await two.set(t2);
    expect(await one.get()).toBe(t1);
    expect(await two.get()).toBe(t2);
    await one.delete();
    expect(await one.get()).toBeNull();
    expect(await two.get()).toBe(t2);
    await two.delete();
  });

  it("really writes to the Secret Service: a fresh handle and a search by service find the value", async () => {
    const store = keychainStore(SERVICE, "bob");
    const t = fakeToken();
    await store.set(t);
    expect(new Entry(SERVICE, "bob", pinned).getPassword()).toBe(t);
    expect(findCredentials(SERVICE)).toContainEqual({ account: "bob", password: t });
    // And what the Secret Service holds is what the store reads: change it behind the store's back.
    new Entry(SERVICE, "bob", pinned).setPassword("changed-elsewhere");
    expect(await store.get()).toBe("changed-elsewhere");
    await store.delete();
    expect(new Entry(SERVICE, "bob", pinned).getPassword()).toBeNull();
  });
});

describe("openTokenStore", () => {
  it("uses the keychain by default, probes it without leaving anything, and never warns", async () => {
    const paths = freshHome();
    const settings = settingsFor();
    const warnings: string[] = [];
    const store = await openTokenStore(settings, paths, { warn: (m) => warnings.push(m) });
    cleanups.push(() => store.delete());
    expect(store.kind).toBe("keychain");
    expect(warnings).toEqual([]);
    const account = keychainAccount(settings);
    expect(account).toBe(`${settings.issuer}#${settings.clientId}`);
    const leftovers = findCredentials(KEYCHAIN_SERVICE).filter((c) => c.account.startsWith(account));
    expect(leftovers).toEqual([]);

    const t = fakeToken();
    await store.set(t);
    expect(new Entry(KEYCHAIN_SERVICE, account, pinned).getPassword()).toBe(t);
  });

  it("FAILS if the file is used silently: with the keychain chosen, the token is in no file under GATEHOUSE_HOME", async () => {
    const paths = freshHome();
    // Settings on disk too, as the agent has them, so the scan covers a realistic home.
    writeFileSync(paths.settings, JSON.stringify({ tokenStore: "keychain" }), { mode: 0o600 });
    const store = await openTokenStore(settingsFor({ tokenStore: "keychain" }), paths, {
      warn: (m) => {
        throw new Error(`unexpected warning: ${m}`);
      },
    });
    cleanups.push(() => store.delete());
    const t = fakeToken();
    await store.set(t);
    expect(await store.get()).toBe(t);
    expect(existsSync(paths.tokenFile)).toBe(false);
    const files = filesUnder(paths.home);
    for (const f of files) expect(readFileSync(f, "utf8")).not.toContain(t);
    // Also not left in the directory next to it (a temporary file, a misplaced home).
    for (const f of filesUnder(resolve(paths.home, ".."))) expect(readFileSync(f, "utf8")).not.toContain(t);
  });

  it("uses the file store only when settings choose it, and then warns once", async () => {
    const paths = freshHome();
    const settings = settingsFor({ tokenStore: "file" });
    const warnings: string[] = [];
    const store = await openTokenStore(settings, paths, { warn: (m) => warnings.push(m) });
    expect(store.kind).toBe("file");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(paths.tokenFile);
    expect(warnings[0]).toContain('"tokenStore": "file"');

    const t = fakeToken();
    await store.set(t);
    expect(warnings).toHaveLength(1);
    expect(readFileSync(paths.tokenFile, "utf8").trim()).toBe(t);
    expect(statSync(paths.tokenFile).mode & 0o777).toBe(0o600);
    // And not in the keychain.
    expect(new Entry(KEYCHAIN_SERVICE, keychainAccount(settings), pinned).getPassword()).toBeNull();
    await store.delete();
    expect(existsSync(paths.tokenFile)).toBe(false);
  });

  /** Runs openTokenStore in a child whose D-Bus session bus does not exist: no Secret Service at all. */
  function withoutSecretService(settings: Partial<Settings>, paths: AgentPaths) {
    const script = `
      const { openTokenStore } = await import(${JSON.stringify(`file://${TOKEN_STORE_TS}`)});
      const [settings, paths] = JSON.parse(process.argv[1]);
      try {
        const store = await openTokenStore(settings, paths, { warn: (m) => console.error("WARN " + m) });
        await store.set("child-token");
        console.log(JSON.stringify({ kind: store.kind, back: await store.get() }));
      } catch (e) {
        console.log(JSON.stringify({ code: e.code, message: e.message }));
      }`;
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script, JSON.stringify([settings, paths])],
      {
        env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(paths.home, "no-such-bus")}` },
        encoding: "utf8",
        timeout: 30_000,
      },
    );
    const lastLine = r.stdout.trim().split("\n").at(-1) ?? "";
    return { out: JSON.parse(lastLine) as Record<string, string>, stderr: r.stderr };
  }

  it("throws NO_KEYCHAIN naming the opt-in setting when there is no Secret Service, instead of falling back", async () => {
    const paths = freshHome();
    const { out } = withoutSecretService(settingsFor(), paths);
    expect(out.code).toBe("NO_KEYCHAIN");
    expect(out.message).toContain('"tokenStore": "file"');
    expect(out.message).toContain(paths.settings);
    expect(out.kind).toBeUndefined();
    // No file fall-back happened, not even partly.
    expect(existsSync(paths.tokenFile)).toBe(false);
    expect(filesUnder(paths.home)).toEqual([]);
  });

  it("without a Secret Service, the file store still works when chosen (with its warning)", async () => {
    const paths = freshHome();
    const { out, stderr } = withoutSecretService(settingsFor({ tokenStore: "file" }), paths);
    expect(out).toEqual({ kind: "file", back: "child-token" });
    expect(stderr).toContain("WARN ");
    expect(statSync(paths.tokenFile).mode & 0o777).toBe(0o600);
  });
});

describe("fileStore", () => {
  function storeIn(): { store: TokenStore; path: string; dir: string } {
    const paths = freshHome();
    return { store: fileStore(paths.tokenFile), path: paths.tokenFile, dir: paths.home };
  }

  async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
    try {
      await p;
      return undefined;
    } catch (e) {
      if (e instanceof GatehouseError) return e.code;
      throw e;
    }
  }

  it("writes 0600 atomically (no temporary file left) and reads it back", async () => {
    const { store, path, dir } = storeIn();
    expect(store.kind).toBe("file");
    expect(await store.get()).toBeNull();
    const a = fakeToken();
    await store.set(a);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await store.get()).toBe(a);
    const b = fakeToken();
    await store.set(b);
    expect(await store.get()).toBe(b);
    expect(readdirSync(dir)).toEqual(["refresh-token"]);
    await store.delete();
    expect(await store.get()).toBeNull();
    await store.delete();
  });

  it("refuses to read a file others can read (0644, 0640) and does not fix it", async () => {
    const { store, path } = storeIn();
    const t = fakeToken();
    await store.set(t);
    for (const mode of [0o644, 0o640, 0o606]) {
      chmodSync(path, mode);
      expect(await codeOf(store.get())).toBe("TOKEN_FILE_UNSAFE");
      expect(statSync(path).mode & 0o777).toBe(mode);
    }
    try {
      await store.get();
    } catch (e) {
      // The message says what is wrong and never carries the token.
      expect((e as Error).message).toMatch(/0644|0606/);
      expect((e as Error).message).not.toContain(t);
    }
  });

  it("refuses a symbolic link in place of the file, and writing into a directory others can enter", async () => {
    const { store, path, dir } = storeIn();
    const elsewhere = join(dir, "..", "elsewhere");
    writeFileSync(elsewhere, "not-a-token\n", { mode: 0o600 });
    symlinkSync(elsewhere, path);
    expect(await codeOf(store.get())).toBe("TOKEN_FILE_UNSAFE");
    rmSync(path);

    chmodSync(dir, 0o755);
    expect(await codeOf(store.set(fakeToken()))).toBe("TOKEN_FILE_UNSAFE");
    expect(existsSync(path)).toBe(false);
    expect(statSync(dir).mode & 0o777).toBe(0o755);
  });
});
