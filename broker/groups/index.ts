// Where a person's groups come from: one source per kind (the token's claim; directories plug in here), by name.

import type { JWTPayload } from "jose";
import type { BrokerConfig } from "../config.ts";
import { tokenGroups } from "./token.ts";

export interface GroupSource {
  readonly name: string;
  /**
   * The person's groups. `tokenGroups` is the token's groups claim (undefined when it has none); `overage` says
   * the IdP left groups out because there were too many (Entra): a directory must then be asked, and an answer
   * it cannot give is an error (IDP_UNAVAILABLE), never an empty list.
   */
  groupsFor(claims: JWTPayload, tokenGroups: string[] | undefined, overage: boolean): Promise<string[]>;
}

/** Builds a source from the broker's oidc settings (a directory's credentials and cache live there). */
export type GroupSourceFactory = (oidc: BrokerConfig["oidc"]) => GroupSource;

export const GROUP_SOURCES = {
  token: (_oidc: BrokerConfig["oidc"]) => tokenGroups,
} as const satisfies Record<string, GroupSourceFactory>;

export type GroupSourceName = keyof typeof GROUP_SOURCES;

export function createGroupSource(oidc: BrokerConfig["oidc"], name: GroupSourceName = "token"): GroupSource {
  return GROUP_SOURCES[name](oidc);
}
