// The SCIM group source: a person's groups are the provisioned groups (pushed by the IdP to /scim/v2)
// whose members include the SCIM user with their e-mail. Read from the database on every request, so a
// membership change applies to the next request at once, on every replica.

import type { PeopleStore } from "../people/store.ts";
import type { GroupSource } from "./index.ts";

export function scimSource(people: PeopleStore): GroupSource {
  return { groupsFor: async (q) => people.groupsOf(q.email) };
}
