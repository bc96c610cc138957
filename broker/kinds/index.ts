// The kinds of access this broker grants, by name. A new kind is its module plus one line here.

import { GatehouseError } from "../../shared/errors.ts";
import type { RequestKind } from "../../shared/requests.ts";
import { groupMembership } from "./group-membership.ts";
import { inlinePolicy } from "./inline-policy.ts";
import { managedPolicy } from "./managed-policy.ts";
import { roleAccess } from "./role-access.ts";
import type { KindModule } from "./types.ts";

const KINDS: Record<RequestKind, KindModule> = {
  "inline-policy": inlinePolicy,
  "role-access": roleAccess,
  "managed-policy": managedPolicy,
  "group-membership": groupMembership,
};

/** The module of a kind (a row of an unknown kind, from a newer broker, is BAD_REQUEST, not a crash). */
export function kindModule(kind: RequestKind): KindModule {
  const m = KINDS[kind];
  if (!m) throw new GatehouseError("BAD_REQUEST", `this broker does not grant ${kind} requests`);
  return m;
}

export type { KindContext, KindModule } from "./types.ts";
