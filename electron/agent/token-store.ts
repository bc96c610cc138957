// Where the person's refresh token lives: the OS keychain (default), or a 0600 file only when settings choose it.

import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { AsyncEntry, type EntryOptions } from "@napi-rs/keyring";
import { GatehouseError } from "../../shared/errors.ts";
import { type AgentPaths, ensureHome } from "./home.ts";
import type { Settings } from "./settings.ts";

export interface TokenStore {
  readonly kind: "keychain" | "file";
  get(): Promise<string | null>;
  set(token: string): Promise<void>;
  delete(): Promise<void>;
}

/** Keychain service name under which every Gatehouse secret is filed. */
export const KEYCHAIN_SERVICE = "gatehouse";

/** One keychain entry per IdP and client, so signing in to a second IdP never overwrites the first. */
export function keychainAccount(settings: Pick<Settings, "issuer" | "clientId">): string {
  return `${settings.issuer.replace(/\/+$/, "")}#${settings.clientId}`;
}

// @napi-rs/keyring silently falls back from the Secret Service to the kernel keyring on Linux, which forgets
// everything at reboot and is not what the person was promised: pin the Secret Service so its absence is an error.
const ENTRY_OPTIONS: EntryOptions = { linux: { store: "secret-service" } };

function keychainError(what: string, e: unknown): GatehouseError {
  // The keyring's messages name the platform failure (D-Bus, locked collection…), never the secret.
  const reason = e instanceof Error ? e.message : String(e);
  return new GatehouseError("NO_KEYCHAIN", `the OS keychain could not ${what}: ${reason}`, { cause: e });
}

export function keychainStore(service: string, account: string): TokenStore {
  let entry: AsyncEntry | undefined;
  // The constructor itself fails when the Secret Service is missing, so it is made on first use, inside the
  // error handling, and rebuilt after a failure (the keyring daemon may have come back).
  const use = async <T>(what: string, op: (e: AsyncEntry) => Promise<T>): Promise<T> => {
    try {
      entry ??= new AsyncEntry(service, account, ENTRY_OPTIONS);
      return await op(entry);
    } catch (e) {
      entry = undefined;
      throw keychainError(what, e);
    }
  };
  return {
    kind: "keychain",
    get: () => use("read the sign-in", (e) => e.getPassword()).then((v) => (v ? v : null)),
    set: (token) => use("save the sign-in", (e) => e.setPassword(token)),
    delete: () => use("delete the sign-in", (e) => e.deleteCredential()).then(() => undefined),
  };
}

const isWindows = process.platform === "win32";

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function mode(m: number): string {
  return (m & 0o777).toString(8).padStart(4, "0");
}

function unsafe(path: string, why: string): GatehouseError {
  return new GatehouseError(
    "TOKEN_FILE_UNSAFE",
    `${path} ${why}; Gatehouse does not use it and does not repair it. Delete it and sign in again (gatehouse login).`,
  );
}

function ioError(path: string, what: string, e: unknown): GatehouseError {
  return new GatehouseError("INTERNAL", `cannot ${what} ${path}: ${(e as Error).message}`, { cause: e });
}

/**
 * The opt-in file store: a 0600 file owned by this user, replaced atomically (temp file + rename in the same
 * directory) so that a crash leaves either the old or the new token, never half of one. A file or directory that
 * others can read is refused, not fixed: permissions that changed behind our back mean the token may have leaked.
 */
export function fileStore(path: string): TokenStore {
  const dir = dirname(path);

  const checkDir = () => {
    if (isWindows) return;
    const st = statSync(dir);
    if ((st.mode & 0o077) !== 0)
      throw unsafe(dir, `is open to other users (mode ${mode(st.mode)}, must be 0700)`);
    if (typeof process.getuid === "function" && st.uid !== process.getuid())
      throw unsafe(dir, "belongs to another user");
  };

  return {
    kind: "file",
    async get() {
      let fd: number;
      try {
        // O_NOFOLLOW: a symlink planted in place of the file must not make us read (and send) another file.
        fd = openSync(path, constants.O_RDONLY | (isWindows ? 0 : constants.O_NOFOLLOW));
      } catch (e) {
        if (errno(e) === "ENOENT") return null;
        if (errno(e) === "ELOOP") throw unsafe(path, "is a symbolic link");
        throw ioError(path, "read", e);
      }
      try {
        const st = fstatSync(fd);
        if (!st.isFile()) throw unsafe(path, "is not a regular file");
        if (!isWindows) {
          if ((st.mode & 0o077) !== 0)
            throw unsafe(
              path,
              `is readable or writable by other users (mode ${mode(st.mode)}, must be 0600)`,
            );
          if (typeof process.getuid === "function" && st.uid !== process.getuid())
            throw unsafe(path, "belongs to another user");
        }
        const token = readFileSync(fd, "utf8").trim();
        return token === "" ? null : token;
      } finally {
        closeSync(fd);
      }
    },
    async set(token) {
      if (token === "" || /[\r\n]/.test(token))
        throw new GatehouseError("INTERNAL", "refusing to store a malformed token");
      checkDir();
      const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
      try {
        // O_EXCL: never write through a file (or symlink) someone else put at the temporary name.
        const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
        try {
          writeSync(fd, `${token}\n`);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, path);
      } catch (e) {
        try {
          unlinkSync(tmp);
        } catch {
          // Nothing was created, or it is already gone.
        }
        throw ioError(path, "write", e);
      }
      if (!isWindows) {
        // Make the rename itself durable, so a crash right after cannot bring the old (rotated, dead) token back.
        try {
          const dfd = openSync(dir, constants.O_RDONLY);
          try {
            fsyncSync(dfd);
          } finally {
            closeSync(dfd);
          }
        } catch {
          // Some file systems cannot fsync a directory; the rename is still atomic.
        }
      }
    },
    async delete() {
      try {
        unlinkSync(path);
      } catch (e) {
        if (errno(e) !== "ENOENT") throw ioError(path, "delete", e);
      }
    },
  };
}

/** Writes, reads back and deletes a throw-away entry: the only sure way to know the keychain really works. */
async function probeKeychain(service: string, account: string): Promise<void> {
  const probe = keychainStore(service, `${account}#probe`);
  const value = randomBytes(12).toString("hex");
  await probe.set(value);
  const back = await probe.get();
  await probe.delete();
  if (back !== value)
    throw new GatehouseError("NO_KEYCHAIN", "the OS keychain did not give back what was saved");
}

/**
 * The store the settings ask for. The keychain is the default and is probed; if it does not work the sign-in
 * cannot be kept, and that is an error naming the opt-in setting, never a silent fall-back to a file.
 */
export async function openTokenStore(
  settings: Pick<Settings, "issuer" | "clientId" | "tokenStore">,
  paths: AgentPaths,
  opts: { warn?: (msg: string) => void } = {},
): Promise<TokenStore> {
  if (settings.tokenStore === "file") {
    ensureHome(paths);
    const warn = opts.warn ?? ((msg: string) => process.stderr.write(`gatehouse: warning: ${msg}\n`));
    warn(
      `the sign-in is kept in the file ${paths.tokenFile} (mode 0600), not in the OS keychain, because ` +
        `${paths.settings} sets "tokenStore": "file". Any program running as you can read it.`,
    );
    return fileStore(paths.tokenFile);
  }
  const account = keychainAccount(settings);
  try {
    await probeKeychain(KEYCHAIN_SERVICE, account);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new GatehouseError(
      "NO_KEYCHAIN",
      `no OS keychain is available to keep the sign-in (${reason}). Start or unlock your keyring ` +
        `(gnome-keyring, KWallet, KeePassXC…), or accept a 0600 file instead by setting "tokenStore": "file" ` +
        `in ${paths.settings}.`,
      { cause: e },
    );
  }
  return keychainStore(KEYCHAIN_SERVICE, account);
}
