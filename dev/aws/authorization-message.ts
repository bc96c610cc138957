// The emulator's encoded authorization failure messages (what EC2 returns with UnauthorizedOperation) and
// their decoding, as sts:DecodeAuthorizationMessage returns it: AWS's decoded JSON shape.

// AWS encrypts the message so that only a principal allowed sts:DecodeAuthorizationMessage reads it; here
// AES-256-GCM under a key made per world (never persisted: like AWS's, old messages simply stop decoding
// when the emulator restarts), so a forged or altered message fails to decode instead of being trusted.

import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { AwsError } from "./errors.ts";
import type { World } from "./model.ts";

const keys = new WeakMap<World, Buffer>();
const keyOf = (world: World) => {
  let k = keys.get(world);
  if (!k) {
    k = randomBytes(32);
    keys.set(world, k);
  }
  return k;
};

/** What was denied, as AWS's decoded message tells it. */
export interface AuthorizationFailure {
  principal: { id: string; arn: string; name?: string };
  action: string;
  resource: string;
  explicitDeny: boolean;
  /** Condition keys of the request and their values. */
  conditions?: Record<string, string[]>;
}

/** AWS's decoded shape: allowed, explicitDeny, matchedStatements, failures, context{principal, action, resource, conditions}. */
export function decodedShape(f: AuthorizationFailure) {
  return {
    allowed: false,
    explicitDeny: f.explicitDeny,
    matchedStatements: { items: [] },
    failures: { items: [] },
    context: {
      principal: f.principal,
      action: f.action,
      resource: f.resource,
      conditions: {
        items: Object.entries(f.conditions ?? {}).map(([key, values]) => ({
          key,
          values: { items: values.map((value) => ({ value })) },
        })),
      },
    },
  };
}

/** The encoded message for a failure: opaque text of AWS's alphabet (letters, digits, - and _). */
export function encodeAuthorizationMessage(world: World, f: AuthorizationFailure): string {
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", keyOf(world), iv);
  const body = Buffer.concat([c.update(JSON.stringify(decodedShape(f)), "utf8"), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]).toString("base64url");
}

export const invalidMessage = () =>
  new AwsError(
    "InvalidAuthorizationMessageException",
    400,
    "The message passed to DecodeAuthorizationMessage is invalid: not one this service encoded, altered, or expired.",
  );

/** The decoded JSON text, or InvalidAuthorizationMessageException for anything this world did not encode. */
export function decodeAuthorizationMessage(world: World, encoded: string): string {
  if (!/^[A-Za-z0-9_-]{40,10240}$/.test(encoded)) throw invalidMessage();
  const raw = Buffer.from(encoded, "base64url");
  try {
    const d = createDecipheriv("aes-256-gcm", keyOf(world), raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString("utf8");
  } catch (e) {
    throw Object.assign(invalidMessage(), { cause: e });
  }
}
