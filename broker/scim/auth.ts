// The SCIM bearer tokens: read from the environment variables named by `scim.token_env` (several during
// a rotation), compared in constant time against every one (no early exit that would time which matched).

import { createHash, timingSafeEqual } from "node:crypto";
import { GatehouseError } from "../../shared/errors.ts";

const digest = (s: string) => createHash("sha256").update(s).digest();

export interface ScimTokens {
  /** Whether the Authorization header carries one of the tokens. */
  matches(authorization: string | undefined): boolean;
}

export function scimTokens(envNames: readonly string[], env: NodeJS.ProcessEnv = process.env): ScimTokens {
  const digests = envNames.map((name) => {
    const v = env[name]?.trim();
    if (!v)
      throw new GatehouseError(
        "CONFIG_INVALID",
        `scim.token_env: the environment variable ${name} is not set`,
      );
    // A guessable token would hand provisioning (and so everyone's groups) to whoever guesses it.
    if (v.length < 32 || /\s/.test(v))
      throw new GatehouseError(
        "CONFIG_INVALID",
        `scim.token_env: ${name} must hold a token of at least 32 characters without spaces (openssl rand -base64 32)`,
      );
    return digest(v);
  });
  return {
    matches(authorization) {
      const m = /^Bearer ([^\s]{1,4096})$/i.exec(authorization ?? "");
      // Hashing makes every comparison the same length, so timingSafeEqual applies to any input.
      const given = digest(m ? m[1]! : "");
      let ok = false;
      for (const d of digests) ok = timingSafeEqual(d, given) || ok;
      return m !== null && ok;
    },
  };
}
