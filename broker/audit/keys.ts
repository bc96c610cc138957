// The checkpoint signing key: read from an environment variable or from a private file outside the
// database's folder (whoever can write the database must not be able to read or replace the key).

import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute as pathIsAbsolute, relative, resolve } from "node:path";
import { GatehouseError } from "../../shared/errors.ts";

export interface KeySource {
  private_key_env?: string | undefined;
  private_key_file?: string | undefined;
}

/** Whether `file` lies inside `dir` (both resolved through symbolic links where they exist). */
function inside(file: string, dir: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  const rel = relative(real(dir), real(file));
  return rel === "" || (!rel.startsWith("..") && !pathIsAbsolute(rel));
}

/** The database's folder, or undefined for an in-memory database. */
export function databaseFolder(database: string): string | undefined {
  // A PostgreSQL database has no folder on this machine.
  return database === ":memory:" || /^postgres(ql)?:\/\//i.test(database)
    ? undefined
    : dirname(resolve(database));
}

/** Refuse a key file in the database's folder (or below it) or open to anyone but its owner. */
export function checkKeyFile(file: string, database: string): void {
  const folder = databaseFolder(database);
  if (folder && inside(file, folder))
    throw new GatehouseError(
      "AUDIT_KEY_UNSAFE",
      `the audit signing key ${file} lies in the database's folder ${folder}: whoever can write the database could read it; keep it elsewhere`,
    );
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (e) {
    throw new GatehouseError("AUDIT_KEY_INVALID", `cannot read the audit signing key ${file}`, { cause: e });
  }
  if ((mode & 0o077) !== 0)
    throw new GatehouseError(
      "AUDIT_KEY_UNSAFE",
      `the audit signing key ${file} has mode ${(mode & 0o777).toString(8)}: it must be readable by its owner only (chmod 600)`,
    );
}

function parsePrivate(text: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = text.trimStart().startsWith("-----BEGIN")
      ? createPrivateKey(text)
      : createPrivateKey({ key: Buffer.from(text.trim(), "base64"), format: "der", type: "pkcs8" });
  } catch (e) {
    throw new GatehouseError(
      "AUDIT_KEY_INVALID",
      `${where} does not hold a private key (PKCS#8 PEM, or base64 DER)`,
      { cause: e },
    );
  }
  if (key.asymmetricKeyType !== "ed25519")
    throw new GatehouseError("AUDIT_KEY_INVALID", `${where} is a ${key.asymmetricKeyType} key; use Ed25519`);
  return key;
}

/** The signing key from the configured source (exactly one of environment variable or file). */
export function loadSigningKey(src: KeySource, database: string): KeyObject {
  if (src.private_key_env) {
    const text = process.env[src.private_key_env];
    if (!text)
      throw new GatehouseError(
        "AUDIT_KEY_INVALID",
        `the environment variable ${src.private_key_env} (audit.checkpoints.private_key_env) is not set`,
      );
    return parsePrivate(text, `the environment variable ${src.private_key_env}`);
  }
  const file = src.private_key_file!;
  checkKeyFile(file, database);
  return parsePrivate(readFileSync(file, "utf8"), file);
}

/** An Ed25519 public key from a PEM (SPKI) file. */
export function loadPublicKey(file: string): KeyObject {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new GatehouseError("AUDIT_KEY_INVALID", `cannot read the public key ${file}`, { cause: e });
  }
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch (e) {
    throw new GatehouseError("AUDIT_KEY_INVALID", `${file} does not hold a public key (PEM)`, { cause: e });
  }
  if (key.asymmetricKeyType !== "ed25519")
    throw new GatehouseError("AUDIT_KEY_INVALID", `${file} is a ${key.asymmetricKeyType} key; use Ed25519`);
  return key;
}

/** The signing key and the configured public key, refused unless they are one pair. */
export function loadKeyPair(
  src: KeySource & { public_key_file: string },
  database: string,
): { privateKey: KeyObject; publicKey: KeyObject } {
  const privateKey = loadSigningKey(src, database);
  const publicKey = loadPublicKey(src.public_key_file);
  const derived = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  if (!derived.equals(publicKey.export({ type: "spki", format: "der" })))
    throw new GatehouseError(
      "AUDIT_KEY_INVALID",
      `${src.public_key_file} is not the public half of the audit signing key`,
    );
  return { privateKey, publicKey };
}
