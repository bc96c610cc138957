// People provisioned over SCIM (broker/scim): every active user with an e-mail, with the groups the IdP
// put them in — known before they ever sign in, which is what an access review of joiners needs.

import { PeopleStore } from "../../people/store.ts";
import type { PeopleSource, PeopleSourceDeps } from "./index.ts";

export function scimPeople(deps: PeopleSourceDeps): PeopleSource {
  // Opening the store applies its migrations: a database that never saw SCIM has empty tables, not none.
  const store = new PeopleStore(deps.db);
  return {
    name: "scim",
    people: () =>
      store.provisionedPeople().map((p) => ({ email: p.email, groups: p.groups, groupsAt: p.updatedAt })),
  };
}
