// Policy lint for the editor, the broker and the CLI: findings with stable codes, and a risk level.

// The checks live in shared/policy/; this file runs them in order and is the one place callers import.

import { type Catalogue, iamDataCatalogue } from "./policy/catalogue.ts";
import { type Finding, finding, type LintResult, SEVERITIES } from "./policy/codes.ts";
import { ACCESS_CHANGING, checkEscalation, DEFAULT_ACCESS_TAG_KEYS } from "./policy/escalation.ts";
import { parsePolicy } from "./policy/grammar.ts";
import { checkReferences, type Expansions, load } from "./policy/references.ts";
import { assessRisk } from "./policy/risk.ts";

export type { Catalogue } from "./policy/catalogue.ts";
export {
  type Finding,
  LINT_CODES,
  type LintCode,
  type LintResult,
  lintResultSchema,
  REFUSED_CODES,
  type Risk,
  type Severity,
} from "./policy/codes.ts";
export { ACCESS_CHANGING, DEFAULT_ACCESS_TAG_KEYS, iamDataCatalogue };

/** IAM's limit for all inline policies of a role together, and of a user (SECURITY 26). */
export const ROLE_INLINE_LIMIT = 10_240;
export const USER_INLINE_LIMIT = 2_048;

export interface LintOptions {
  /** Only identity policies (what Gatehouse applies to roles and users) are linted today. */
  kind?: "identity";
  /** Gatehouse's central and spoke roles: a policy that reaches them is PROTECTED_ROLE. */
  protectedRoleArns?: string[];
  /** The access tag keys the broker reads, named in ACCESS_TAG_CHANGE findings. */
  accessTagKeys?: string[];
  /** Another catalogue (tests, or a browser build that loads the data its own way). */
  catalogue?: Catalogue;
}

/**
 * Size as IAM counts it: white space does not count. The lint checks one policy against the role
 * limit; the broker adds the target's other inline policies, and uses the user limit for users.
 */
export function policySize(text: string): number {
  return text.replace(/\s/g, "").length;
}

const order = (f: Finding) => SEVERITIES.indexOf(f.severity);

export async function lintPolicy(text: string, opts: LintOptions = {}): Promise<LintResult> {
  const findings: Finding[] = [];
  const size = policySize(text);
  if (size > ROLE_INLINE_LIMIT) {
    findings.push(
      finding(
        "SIZE_LIMIT",
        "",
        `${size} characters without white space; IAM allows ${ROLE_INLINE_LIMIT} for a role's inline policies`,
      ),
    );
  }
  const model = parsePolicy(text, findings);
  let expansions: Expansions = new Map();
  if (model) {
    const loaded = await load(model, opts.catalogue ?? iamDataCatalogue);
    expansions = checkReferences(model, loaded, findings);
    findings.push(...checkEscalation(model.statements, loaded, opts));
  }
  const { risk, reasons, findings: breadth } = assessRisk(model, expansions, findings);
  findings.push(...breadth);
  // Errors first, then warnings, then infos; within each, in the order of the document's checks.
  const sorted = findings
    .map((f, i) => [f, i] as const)
    .sort((a, b) => order(a[0]) - order(b[0]) || a[1] - b[1]);
  return {
    valid: !findings.some((f) => f.severity === "error"),
    risk,
    reasons,
    findings: sorted.map(([f]) => f),
  };
}
