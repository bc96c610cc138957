// The default group source: the groups the token itself carries (none when it has no groups claim).

import type { GroupSource } from "./index.ts";

export const tokenGroups: GroupSource = {
  name: "token",
  groupsFor: async (_claims, fromToken) => fromToken ?? [],
};
