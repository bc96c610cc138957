// How much a policy grants: wildcard and Not* findings, and a risk level whose reasons an approver reads.

import { type CatalogueAction, isWrite } from "./catalogue.ts";
import { type Finding, finding, type LintCode, RISKS, type Risk } from "./codes.ts";
import type { Item, PolicyModel, StatementModel } from "./grammar.ts";
import { type Expansions, fullName, list } from "./references.ts";
import { hasWildcard, splitArn } from "./wildcards.ts";

export interface Assessment {
  risk: Risk;
  reasons: string[];
  /** WILDCARD_*, ALLOW_NOT_* and the like, found on the way. */
  findings: Finding[];
}

/** `*`, or an ARN whose resource part is `*` (every bucket, every key): the whole of a service. */
function isBroad(r: Item): boolean {
  return r.value === "*" || splitArn(r.value)?.resource === "*";
}

interface Grant {
  risk: Risk;
  reason: string;
}

function statementGrant(s: StatementModel, expansions: Expansions, out: Finding[]): Grant | undefined {
  if (s.effect !== "Allow" || !s.actionElement || !s.resourceElement) return undefined;
  const at = s.path;
  const broadItems = s.resources.filter(isBroad);
  const notResource = s.resourceElement === "NotResource";
  const broad = notResource || broadItems.length > 0;
  const where = notResource
    ? "every resource except those listed"
    : broad
      ? "every resource"
      : "named resources";

  if (notResource) {
    out.push(
      finding(
        "ALLOW_NOT_RESOURCE",
        s.resourcePath,
        "Allow with NotResource reaches every resource not listed: list the resources instead",
      ),
    );
  }
  if (s.actionElement === "NotAction") {
    out.push(
      finding(
        "ALLOW_NOT_ACTION",
        s.actionPath,
        `Allow with NotAction allows every action of every service except ${list(s.actions.map((a) => a.value))}: list what is allowed instead`,
      ),
    );
    for (const r of broadItems) {
      out.push(
        finding(
          "WILDCARD_RESOURCE",
          r.path,
          `with NotAction, "${r.value}" lets nearly every action act on ${where}`,
        ),
      );
    }
    return {
      risk: "high",
      reason: `${at} allows every action except ${list(s.actions.map((a) => a.value))} on ${where}`,
    };
  }

  let everything = false;
  const serviceWide: string[] = [];
  const writes = new Set<CatalogueAction>();
  const reads = new Set<CatalogueAction>();
  for (const item of s.actions) {
    if (item.service === "*" || hasWildcard(item.service)) {
      everything = true;
      out.push(
        finding(
          "WILDCARD_ACTION",
          item.path,
          item.value === "*"
            ? `"*" allows every action of every AWS service`
            : `"${item.value}" matches actions of more than one service`,
        ),
      );
      continue;
    }
    if (item.name === "*") {
      serviceWide.push(item.value);
      out.push(
        finding(
          "WILDCARD_ACTION",
          item.path,
          `"${item.value}" allows every ${item.service} action, deletes included`,
        ),
      );
    }
    for (const a of expansions.get(item) ?? []) {
      if (isWrite(a)) writes.add(a);
      else reads.add(a);
    }
  }
  const writeNames = [...writes].map(fullName);
  // Writes that only ever work on "*" (no resource-level permissions) are no broader there than anywhere.
  const scopedWrites = [...writes].filter((a) => a.resourceTypes.length > 0).map(fullName);
  if (everything || serviceWide.length > 0 || scopedWrites.length > 0) {
    const what = everything ? "every action" : list(serviceWide.length > 0 ? serviceWide : scopedWrites);
    for (const r of broadItems) {
      out.push(
        finding(
          "WILDCARD_RESOURCE",
          r.path,
          `"${r.value}" lets ${what} act on every resource: name the resources`,
        ),
      );
    }
  }

  if (everything) {
    return broad
      ? { risk: "critical", reason: `${at} allows every action on every resource (administrator access)` }
      : { risk: "high", reason: `${at} allows every action on ${list(s.resources.map((r) => r.value))}` };
  }
  if (serviceWide.length > 0) {
    return { risk: "high", reason: `${at} allows every action of ${list(serviceWide)} on ${where}` };
  }
  if (scopedWrites.length > 0 && broad) {
    return { risk: "high", reason: `${at} allows writes (${list(scopedWrites)}) on ${where}` };
  }
  if (writes.size > 0) {
    return {
      risk: "medium",
      reason: `${at} allows writes (${list(writeNames)}) ${broad ? 'that only work on "*"' : "on named resources"}`,
    };
  }
  // Reading every object or secret is worth an approver's look; listing what exists is not.
  const scopedReads = [...reads].filter((a) => a.resourceTypes.length > 0).map(fullName);
  if (scopedReads.length > 0 && broad) {
    return { risk: "medium", reason: `${at} allows reading (${list(scopedReads)}) on ${where}` };
  }
  if (reads.size > 0) return { risk: "low", reason: `${at} allows only reading and listing, on ${where}` };
  return undefined;
}

const rank = (r: Risk) => RISKS.indexOf(r);

/** Findings that make a policy critical whatever else it grants; the finding itself has the details. */
const CRITICAL: Partial<Record<LintCode, string>> = {
  PRIVILEGE_ESCALATION: "lets its holder raise their own privileges",
  ACCESS_TAG_CHANGE: "can change the tags that decide access in Gatehouse",
  PROTECTED_ROLE: "reaches Gatehouse's own roles",
};

/**
 * The level is the highest any statement or dangerous finding (among `findings`, read only) reaches;
 * the reasons are those at that level, because they are what an approver has to weigh.
 */
export function assessRisk(
  model: PolicyModel | undefined,
  expansions: Expansions,
  findings: Finding[],
): Assessment {
  if (!model) return { risk: "low", reasons: ["not a readable policy, so it grants nothing"], findings: [] };
  const grants: Grant[] = [];
  const found: Finding[] = [];
  for (const s of model.statements) {
    const g = statementGrant(s, expansions, found);
    if (g) grants.push(g);
  }
  for (const f of findings) {
    const label = CRITICAL[f.code];
    if (label) grants.push({ risk: "critical", reason: `${f.path} ${label}` });
  }
  if (grants.length === 0) {
    const allDeny = model.statements.length > 0 && model.statements.every((s) => s.effect === "Deny");
    const reason = allDeny ? "only Deny statements: it grants nothing" : "it grants no known action";
    return { risk: "low", reasons: [reason], findings: found };
  }
  const top = grants.reduce((m, g) => (rank(g.risk) > rank(m) ? g.risk : m), "low" as Risk);
  const reasons = [...new Set(grants.filter((g) => g.risk === top).map((g) => g.reason))];
  return { risk: top, reasons, findings: found };
}
