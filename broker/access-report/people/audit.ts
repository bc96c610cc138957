// People known from the audit log: everyone the broker saw sign in, with the groups of their last token.

import { lastSignIns } from "../audit-usage.ts";
import type { PeopleSource, PeopleSourceDeps } from "./index.ts";

export function auditPeople(deps: PeopleSourceDeps): PeopleSource {
  return {
    name: "audit",
    people: () =>
      lastSignIns(deps.db).map((s) => ({
        email: s.email,
        groups: s.groups,
        groupsAt: s.at,
        groupsTruncated: s.truncated,
        lastSignIn: s.at,
      })),
  };
}
