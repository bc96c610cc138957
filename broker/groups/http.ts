// What the directory clients share: HTTP calls whose failures become coded errors, secrets read from the
// environment or a file, next-page links held to the directory's own origin, and a kept access token.

import { readFileSync } from "node:fs";
import { GatehouseError } from "../../shared/errors.ts";

/** A secret as configured: the name of an environment variable or a file path (never the value). */
export interface SecretRef {
  env?: string | undefined;
  file?: string | undefined;
}

export function readSecret(ref: SecretRef, where: string): string {
  if (ref.env !== undefined) {
    const v = process.env[ref.env];
    if (!v?.trim())
      throw new GatehouseError("CONFIG_INVALID", `${where}: environment variable ${ref.env} is not set`);
    return v.trim();
  }
  try {
    const v = readFileSync(ref.file!, "utf8").trim();
    if (!v) throw new Error("the file is empty");
    return v;
  } catch (e) {
    throw new GatehouseError("CONFIG_INVALID", `${where}: cannot read ${ref.file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** Text a directory sent, fit for a message: no control characters, at most 300 characters. */
export function clean(text: unknown): string {
  let out = "";
  for (const ch of String(text ?? "").slice(0, 300)) {
    const c = ch.codePointAt(0)!;
    out += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? " " : ch;
  }
  return out;
}

export const unavailable = (label: string, why: string, cause?: unknown) =>
  new GatehouseError(
    "IDP_UNAVAILABLE",
    `${label} could not be asked for the person's groups: ${why}`,
    cause ? { cause } : undefined,
  );

/** fetch with a timeout; a network failure or timeout is IDP_UNAVAILABLE naming the directory. */
export async function call(
  label: string,
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: "error", signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const timedOut = (e as Error).name === "TimeoutError";
    throw unavailable(label, timedOut ? `no answer within ${timeoutMs} ms` : "it cannot be reached", e);
  }
}

/** The body as JSON; anything else is IDP_UNAVAILABLE (a proxy's HTML page, a cut body). */
export async function jsonOf(label: string, res: Response): Promise<Record<string, unknown>> {
  let text = "";
  try {
    text = await res.text();
    const v = JSON.parse(text) as unknown;
    if (v !== null && typeof v === "object") return v as Record<string, unknown>;
  } catch (e) {
    throw unavailable(label, `it answered ${res.status} with a body that is not JSON`, e);
  }
  throw unavailable(label, `it answered ${res.status} with JSON that is not an object`);
}

/** 429 and 5xx are the directory's trouble, not the configuration's: served from the cache meanwhile. */
export const transient = (status: number) => status === 429 || status >= 500;

/**
 * A next-page link is followed only on the directory's own origin: the bearer token goes with it, and a
 * link elsewhere (a compromised or misconfigured directory, a proxy) must not carry it away.
 */
export function sameOrigin(label: string, link: string, base: string): string {
  let next: URL;
  try {
    next = new URL(link, base);
  } catch (e) {
    throw unavailable(label, "its next-page link is not a URL", e);
  }
  if (next.origin !== new URL(base).origin)
    throw unavailable(
      label,
      `its next-page link leads to ${next.origin}, not ${new URL(base).origin}; refused`,
    );
  return next.href;
}

/** The token endpoint refused a token we sent (revoked, expired early): fetched again once. */
export class TokenRejected extends Error {}

/** An access token fetched once, kept until a minute before it expires; one fetch at a time. */
export class KeptToken {
  private token: { value: string; until: number } | undefined;
  private fetching: Promise<string> | undefined;

  constructor(private readonly fetchToken: () => Promise<{ value: string; expiresInSeconds: number }>) {}

  get(): Promise<string> {
    if (this.token && this.token.until > Date.now()) return Promise.resolve(this.token.value);
    this.fetching ??= this.fetchToken()
      .then((t) => {
        this.token = { value: t.value, until: Date.now() + Math.max(0, t.expiresInSeconds - 60) * 1000 };
        return t.value;
      })
      .finally(() => {
        this.fetching = undefined;
      });
    return this.fetching;
  }

  /** Run `use` with the token; a TokenRejected from it drops the token and runs it once more. */
  async with<T>(use: (token: string) => Promise<T>): Promise<T> {
    try {
      return await use(await this.get());
    } catch (e) {
      if (!(e instanceof TokenRejected)) throw e;
      this.token = undefined;
      try {
        return await use(await this.get());
      } catch (again) {
        if (again instanceof TokenRejected)
          throw new GatehouseError("DIRECTORY_CREDENTIALS_REJECTED", again.message, { cause: again });
        throw again;
      }
    }
  }
}

/** The pages collected so far would exceed the person's limit: refused, never cut short. */
export function tooMany(label: string, max: number): GatehouseError {
  return new GatehouseError(
    "DIRECTORY_TOO_MANY_GROUPS",
    `${label} lists more than ${max} groups for this person (directory.max_groups_per_person)`,
  );
}
