// What a policy names, checked against the catalogue: actions, wildcards, condition keys, resource types.

import type { Catalogue, CatalogueAction, CatalogueService, ResourceFormat } from "./catalogue.ts";
import { type Finding, finding } from "./codes.ts";
import type { ActionItem, PolicyModel, StatementModel } from "./grammar.ts";
import { actionPattern, hasWildcard, overlaps, resourceTokens, splitArn } from "./wildcards.ts";

/** Everything the later checks need from the catalogue, loaded up front so they need not wait. */
export interface Loaded {
  services: Map<string, CatalogueService | undefined>;
  keys: Map<string, boolean>;
}

/** For each action item the catalogue could resolve, the actions it names (one, or a wildcard's many). */
export type Expansions = Map<ActionItem, CatalogueAction[]>;

/** Services every lint needs besides those the policy names: IAM and STS decide escalation. */
const ALWAYS = ["iam", "sts"];

export async function load(model: PolicyModel, catalogue: Catalogue): Promise<Loaded> {
  const prefixes = new Set(ALWAYS);
  for (const s of model.statements) {
    for (const a of s.actions) if (a.service !== "*" && !hasWildcard(a.service)) prefixes.add(a.service);
  }
  const keys = new Set<string>();
  for (const s of model.statements) for (const c of s.conditions) keys.add(c.key.toLowerCase());
  for (const v of model.variables) keys.add(v.value.toLowerCase());
  const [services, known] = await Promise.all([
    Promise.all([...prefixes].map(async (p) => [p, await catalogue.service(p)] as const)),
    Promise.all([...keys].map(async (k) => [k, await catalogue.conditionKeyExists(k)] as const)),
  ]);
  return { services: new Map(services), keys: new Map(known) };
}

/** Edit distance, for "did you mean" on a misspelt action; small words only, so the table stays small. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

function suggestion(name: string, service: CatalogueService): string {
  const lower = name.toLowerCase();
  let best: CatalogueAction | undefined;
  let bestScore = 3;
  for (const a of service.actions) {
    if (Math.abs(a.name.length - name.length) >= bestScore) continue;
    const d = distance(lower, a.name.toLowerCase());
    if (d < bestScore) {
      best = a;
      bestScore = d;
    }
  }
  return best ? ` (did you mean ${service.prefix}:${best.name}?)` : "";
}

const expanded = new WeakMap<CatalogueService, Map<string, CatalogueAction[]>>();

/**
 * What a name or a wildcard names in a service. Kept with the service, since templates and big
 * policies repeat the same few, and the lists' identity lets formatsOf keep its answers too.
 */
function expand(service: CatalogueService, pattern: string): CatalogueAction[] {
  let cache = expanded.get(service);
  if (!cache) {
    cache = new Map();
    expanded.set(service, cache);
  }
  const key = pattern.toLowerCase();
  let matched = cache.get(key);
  if (!matched) {
    if (hasWildcard(key)) {
      const re = actionPattern(key);
      matched = service.actions.filter((a) => re.test(a.name));
    } else {
      const action = service.byName.get(key);
      matched = action ? [action] : [];
    }
    cache.set(key, matched);
  }
  return matched;
}

const formatCache = new WeakMap<CatalogueAction[], ResourceFormat[] | undefined>();

/** The ARN formats of a list of one service's actions; undefined when the data misses one. */
function formatsOf(actions: CatalogueAction[], service: CatalogueService): ResourceFormat[] | undefined {
  if (formatCache.has(actions)) return formatCache.get(actions);
  const formats = new Set<ResourceFormat>();
  let complete = true;
  for (const a of actions) {
    for (const key of a.resourceTypes) {
      const f = service.resourceFormats.get(key);
      if (f) formats.add(f);
      else complete = false;
    }
  }
  const result = complete ? [...formats] : undefined;
  formatCache.set(actions, result);
  return result;
}

function resolveItem(item: ActionItem, loaded: Loaded, findings: Finding[]): CatalogueAction[] | undefined {
  if (item.service === "*" || hasWildcard(item.service)) return undefined;
  const service = loaded.services.get(item.service);
  if (!service) {
    findings.push(
      finding("UNKNOWN_SERVICE", item.path, `"${item.service}" is not the prefix of any AWS service`),
    );
    return undefined;
  }
  const matched = expand(service, item.name);
  if (!hasWildcard(item.name)) {
    if (matched.length > 0) return matched;
    findings.push(
      finding(
        "UNKNOWN_ACTION",
        item.path,
        `${item.service} has no action "${item.name}"${suggestion(item.name, service)}`,
      ),
    );
    return undefined;
  }
  if (matched.length === 0) {
    findings.push(
      finding(
        "ACTION_PATTERN_MATCHES_NOTHING",
        item.path,
        `"${item.value}" matches no ${item.service} action`,
      ),
    );
    return undefined;
  }
  return matched;
}

export function list(names: string[], max = 3): string {
  const shown = names.slice(0, max).join(", ");
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

export const fullName = (a: CatalogueAction) => `${a.service}:${a.name}`;

/**
 * A resource fits when at least one of the statement's actions has a resource type whose ARN format
 * can name it. Only plain Action + Resource statements whose every action is known are judged: with
 * "*", a service wildcard or an unknown action the answer would be a guess.
 */
function checkFit(
  s: StatementModel,
  resolved: (CatalogueAction[] | undefined)[],
  loaded: Loaded,
  out: Finding[],
) {
  if (s.actionElement !== "Action" || s.resourceElement !== "Resource" || resolved.length === 0) return;
  const formats = new Set<ResourceFormat>();
  for (const actions of resolved) {
    const service = actions?.[0] && loaded.services.get(actions[0].service);
    const some = actions && service && formatsOf(actions, service);
    if (!some) return;
    for (const f of some) formats.add(f);
  }
  for (const r of s.resources) {
    if (r.value === "*") continue;
    const tokens = resourceTokens(r.value);
    const service = splitArn(r.value)?.service.toLowerCase();
    const literal = service !== undefined && !/[*?$]/.test(service);
    const fitting = (f: ResourceFormat) =>
      !(literal && f.literal && f.service !== service) && overlaps(tokens, f.tokens);
    if ([...formats].some(fitting)) continue;
    const names = [...new Set(resolved.flat() as CatalogueAction[])].map(fullName);
    const message =
      formats.size === 0
        ? `${list(names)} work only on "*" (no resource-level permissions), so "${r.value}" never matches them`
        : `"${r.value}" fits no resource type of ${list(names)}; expected ${list(
            [...formats].map((f) => `${f.key} (${f.arn})`),
            2,
          )}`;
    out.push(finding("RESOURCE_TYPE_MISMATCH", r.path, message));
  }
}

export function checkReferences(model: PolicyModel, loaded: Loaded, findings: Finding[]): Expansions {
  const expansions: Expansions = new Map();
  for (const s of model.statements) {
    const resolved = s.actions.map((item) => {
      const r = resolveItem(item, loaded, findings);
      if (r) expansions.set(item, r);
      return r;
    });
    checkFit(s, resolved, loaded, findings);
    for (const c of s.conditions) {
      if (loaded.keys.get(c.key.toLowerCase()) === false) {
        findings.push(
          finding("UNKNOWN_CONDITION_KEY", c.path, `the catalogue knows no condition key "${c.key}"`),
        );
      }
    }
  }
  for (const v of model.variables) {
    if (loaded.keys.get(v.value.toLowerCase()) === false) {
      findings.push(
        finding(
          "UNKNOWN_POLICY_VARIABLE",
          v.path,
          `\${${v.value}} is not a known key; IAM will not fill it in`,
        ),
      );
    }
  }
  if (model.variables.length > 0 && model.version !== "2012-10-17") {
    const first = model.variables[0]!;
    findings.push(
      finding(
        "POLICY_VARIABLE_WITHOUT_VERSION",
        first.path,
        `\${${first.value}} is read literally unless the policy says "Version": "2012-10-17"`,
      ),
    );
  }
  return expansions;
}
