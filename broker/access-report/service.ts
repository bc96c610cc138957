// The access review assembled: the people sources, the audit's last uses and the access index, into one
// report. Shared by the admin route and `gatehouse-broker access report`.

import { type AccessReport, DEFAULT_UNUSED_DAYS } from "../../shared/access-report.ts";
import type { AccessIndex } from "../access-index.ts";
import type { BrokerConfig } from "../config.ts";
import { lastUses } from "./audit-usage.ts";
import type { PeopleSource, PeopleSourceDeps } from "./people/index.ts";
import { peopleSources } from "./people/index.ts";
import { buildAccessReport } from "./report.ts";

export interface AccessReportDeps extends PeopleSourceDeps {
  config: Pick<BrokerConfig, "access" | "oidc">;
  index: Pick<AccessIndex, "entries" | "syncedRole">;
  /** Default: every registered source. */
  sources?: PeopleSource[];
}

export function accessReport(
  deps: AccessReportDeps,
  opts: { unusedDays?: number; now?: Date } = {},
): AccessReport {
  const sources = deps.sources ?? peopleSources(deps);
  return buildAccessReport({
    roles: deps.index,
    keys: { authorized: deps.config.access.tag_keys, cliOnly: deps.config.access.cli_only_tag_keys },
    lowercaseGroups: deps.config.oidc.force_groups_lowercase,
    sources: sources.map((s) => ({ name: s.name, people: s.people(), grants: s.grants?.() ?? [] })),
    uses: lastUses(deps.db),
    now: opts.now ?? new Date(),
    unusedDays: opts.unusedDays ?? DEFAULT_UNUSED_DAYS,
  });
}
