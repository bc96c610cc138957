// Where a person's groups come from: one group source per kind, chosen by name from this registry
// (`oidc.groups_source`): the token's claim, a directory asked through its API, or SCIM provisioning.

import type { JWTPayload } from "jose";
import type { BrokerConfig } from "../config.ts";
import type { PeopleStore } from "../people/store.ts";
import { type DirectoryClient, DirectorySource, type DirectorySourceDeps } from "./directory.ts";
import { googleDirectory } from "./google.ts";
import { microsoftGraph } from "./microsoft-graph.ts";
import { oktaApi } from "./okta.ts";
import { scimSource } from "./scim.ts";
import { tokenSource } from "./token.ts";

/** What the broker knows of a person once their token is verified. */
export interface GroupsQuery {
  claims: JWTPayload;
  email: string;
  /** The token's groups claim; undefined when the token has none. */
  tokenGroups: string[] | undefined;
  /**
   * The token has no groups claim and says the IdP left them out for being too many (Entra's overage
   * markers, read by isGroupsOverage in ../claims.ts): a directory must then be asked.
   */
  overage: boolean;
}

export interface GroupSource {
  /** The person's groups as role tags name them; throws a GatehouseError (never answers a silent []). */
  groupsFor(q: GroupsQuery): Promise<string[]>;
}

export type GroupSourceName = BrokerConfig["oidc"]["groups_source"];
type Directory = NonNullable<BrokerConfig["directory"]>;

const directories: Record<Exclude<GroupSourceName, "token" | "scim">, (d: Directory) => DirectoryClient> = {
  google_directory: (d) => googleDirectory(d.google_directory!, d.timeout_seconds * 1000),
  microsoft_graph: (d) => microsoftGraph(d.microsoft_graph!, d.timeout_seconds * 1000),
  okta_api: (d) => oktaApi(d.okta_api!, d.timeout_seconds * 1000),
};

/** The configured source; a directory's secrets are read here, so a missing one stops the broker at start. */
export function createGroupSource(
  config: BrokerConfig,
  deps: DirectorySourceDeps & { people: PeopleStore },
): GroupSource {
  const name = config.oidc.groups_source;
  if (name === "token") return tokenSource(deps.log);
  if (name === "scim") return scimSource(deps.people);
  const d = config.directory!;
  return new DirectorySource(directories[name](d), d, deps);
}
