// The broker's files are its own (SECURITY 38): its database, WAL and shared-memory files are created 0600,
// in a folder that no other user can write, and files left more open by an older version are tightened.

import { chmodSync, lstatSync, mkdirSync, statSync } from "node:fs";
import { GatehouseError } from "../shared/errors.ts";

const unsafe = (message: string) => new GatehouseError("FILE_UNSAFE", message);

const posix = () => typeof process.getuid === "function";

/**
 * The folder the broker writes in: created 0700 when missing; refused when every user may write in it
 * (even with the sticky bit, another user could create the `-wal` or `-shm` file first, and SQLite would
 * open theirs) or when it belongs to another user (who could swap the files).
 */
export function privateFolder(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!posix()) return;
  const st = statSync(dir);
  if (!st.isDirectory()) throw unsafe(`${dir} is not a folder`);
  if (st.mode & 0o002)
    throw unsafe(
      `${dir} can be written by every user (mode ${(st.mode & 0o7777).toString(8)}); give the broker's files a folder of their own`,
    );
  if (st.uid !== process.getuid!() && st.uid !== 0)
    throw unsafe(
      `${dir} belongs to another user (uid ${st.uid}); give the broker's files a folder of their own`,
    );
}

/**
 * An existing file of the broker's: refused when another user owns it, made 0600 when it is more open
 * (a database created before files were private). Missing files are fine: they are created 0600.
 */
export function privateFile(file: string): void {
  if (!posix()) return;
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  if (st.isSymbolicLink()) st = statSync(file);
  if (st.uid !== process.getuid!()) throw unsafe(`${file} belongs to another user (uid ${st.uid})`);
  if (st.mode & 0o077) chmodSync(file, 0o600);
}

/**
 * Run `create` (synchronous, so nothing else runs meanwhile) with umask 077: every file it creates is
 * 0600 from its first byte. Where the umask cannot be set (a worker thread) it runs as it is; callers
 * tighten the files right after with privateFile.
 */
export function withPrivateUmask<T>(create: () => T): T {
  let old: number | undefined;
  try {
    old = process.umask(0o077);
  } catch {
    old = undefined;
  }
  try {
    return create();
  } finally {
    if (old !== undefined) process.umask(old);
  }
}
