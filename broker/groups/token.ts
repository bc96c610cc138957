// The default group source: the groups the token itself carries (none when it has no groups claim).

import type { GroupSource } from "./index.ts";

export function tokenSource(): GroupSource {
  return { groupsFor: async (q) => q.tokenGroups ?? [] };
}
