// The kinds of access this broker grants, by name. A new kind is its module plus one line here.

import { GatehouseError } from "../../shared/errors.ts";
import type { RequestKind } from "../../shared/requests.ts";
import { inlinePolicy } from "./inline-policy.ts";
import { roleAccess } from "./role-access.ts";
import type { KindModule } from "./types.ts";

const KINDS: Partial<Record<RequestKind, KindModule>> = {
  [inlinePolicy.kind]: inlinePolicy,
  [roleAccess.kind]: roleAccess,
};

/** The module of a kind; BAD_REQUEST for a kind this broker does not grant. */
export function kindModule(kind: RequestKind): KindModule {
  const m = KINDS[kind];
  if (!m) throw new GatehouseError("BAD_REQUEST", `this broker does not grant ${kind} requests yet`);
  return m;
}

export type { KindContext, KindModule } from "./types.ts";
