// The default group source: the groups the token itself carries (none when it has no groups claim).

import type { DirectorySourceDeps } from "./directory.ts";
import type { GroupSource } from "./index.ts";

/**
 * An overage token (Entra: more groups than fit) read with `groups_source: token` gives the person no groups
 * at all, which looks like a broken sign-in to them: the log says why and what to configure, once per person
 * (bounded, so a stream of distinct people cannot grow it without limit).
 */
export function tokenSource(log?: DirectorySourceDeps["log"]): GroupSource {
  const warned = new Set<string>();
  return {
    groupsFor: async (q) => {
      if (q.overage && log && !warned.has(q.email)) {
        if (warned.size >= 10_000) warned.clear();
        warned.add(q.email);
        log.warn(
          { email: q.email },
          "the token leaves out this person's groups (Entra overage: more than fit in a token) and oidc.groups_source is token, so they get no groups from it; set groups_source: microsoft_graph (docs/idp/directories.md)",
        );
      }
      return q.tokenGroups ?? [];
    },
  };
}
