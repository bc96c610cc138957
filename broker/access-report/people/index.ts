// Who the "people" of the access review are: everyone some source knows, merged by e-mail. A source is
// one module (the audit's sign-ins, role-access grants, SCIM-provisioned people) chosen by name
// from the registry below, so adding one touches its own module and this list only.

import type { Db } from "../../db/index.ts";
import type { RequestsStore } from "../../requests-store.ts";
import { auditPeople } from "./audit.ts";
import { grantPeople } from "./grants.ts";
import { scimPeople } from "./scim.ts";

export interface KnownPerson {
  email: string;
  /** Groups as this source knows them; null: this source does not know them. */
  groups: string[] | null;
  /** When the groups were true (a sign-in, a provisioning push). */
  groupsAt: string | null;
  groupsTruncated?: boolean;
  lastSignIn?: string | null;
}

/** A role-access grant from an approved request. */
export interface Grant {
  email: string;
  arn: string;
  requestId: string;
  /** ISO 8601; null: permanent. */
  until: string | null;
}

export interface PeopleSource {
  readonly name: string;
  people(): KnownPerson[];
  /** Access the source itself hands out (role-access grants). */
  grants?(): Grant[];
}

export interface PeopleSourceDeps {
  db: Db;
  requests: Pick<RequestsStore, "targetsIn">;
}

export const PEOPLE_SOURCES: Record<string, (deps: PeopleSourceDeps) => PeopleSource> = {
  audit: auditPeople,
  grants: grantPeople,
  scim: scimPeople,
};

export function peopleSources(deps: PeopleSourceDeps, names = Object.keys(PEOPLE_SOURCES)): PeopleSource[] {
  return names.map((n) => {
    const make = PEOPLE_SOURCES[n];
    if (!make) throw new Error(`unknown people source ${n}`);
    return make(deps);
  });
}
