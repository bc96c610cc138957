// People known from role-access grants: requesters of applied role-access targets, and the grants
// themselves (which request, until when). Their groups are not known here.

import type { Grant, PeopleSource, PeopleSourceDeps } from "./index.ts";

export function grantPeople(deps: PeopleSourceDeps): PeopleSource {
  const grants = (): Grant[] =>
    deps.requests
      .targetsIn(["applied"])
      .filter((t) => t.kind === "role-access")
      .map((t) => ({
        email: t.requester.toLowerCase(),
        arn: t.arn,
        requestId: t.requestId,
        until: t.expiresAt,
      }));
  return {
    name: "grants",
    people: () =>
      [...new Set(grants().map((g) => g.email))].map((email) => ({ email, groups: null, groupsAt: null })),
    grants,
  };
}
