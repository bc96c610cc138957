// The policy lint's one table of finding codes, and the result every caller (editor, broker, CLI) gets.

import { z } from "zod";

export const SEVERITIES = ["error", "warning", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const RISKS = ["low", "medium", "high", "critical"] as const;
export type Risk = (typeof RISKS)[number];

/**
 * Every code the lint emits, with its usual severity and a line people read. Codes are stable: the
 * editor, the broker and scripts switch on them. Errors are what IAM would refuse (or what would make the
 * policy not do what it says); warnings and infos are about what a valid policy grants.
 */
export const LINT_CODES = {
  INVALID_JSON: { severity: "error", title: "The policy is not valid JSON." },
  NOT_AN_OBJECT: { severity: "error", title: "A policy is a JSON object." },
  SIZE_LIMIT: { severity: "error", title: "The policy is larger than IAM allows for inline policies." },
  UNKNOWN_FIELD: { severity: "error", title: "IAM does not know this element." },
  BAD_TYPE: { severity: "error", title: "The element has the wrong JSON type." },
  MISSING_VERSION: { severity: "warning", title: 'No Version: IAM assumes "2008-10-17".' },
  BAD_VERSION: { severity: "error", title: 'Version must be "2012-10-17" (or the old "2008-10-17").' },
  OLD_VERSION: { severity: "warning", title: 'Version "2008-10-17" does not support policy variables.' },
  MISSING_STATEMENT: { severity: "error", title: "The policy has no Statement." },
  EMPTY_STATEMENT: { severity: "error", title: "Statement is empty." },
  BAD_SID: { severity: "error", title: "A Sid in an IAM policy is letters and digits only." },
  DUPLICATE_SID: { severity: "error", title: "Two statements have the same Sid." },
  MISSING_EFFECT: { severity: "error", title: "The statement has no Effect." },
  BAD_EFFECT: { severity: "error", title: 'Effect must be "Allow" or "Deny".' },
  MISSING_ACTION: { severity: "error", title: "The statement has no Action or NotAction." },
  ACTION_AND_NOTACTION: { severity: "error", title: "A statement has Action or NotAction, not both." },
  BAD_ACTION: { severity: "error", title: 'An action is "service:Action" or "*".' },
  MISSING_RESOURCE: { severity: "error", title: "The statement has no Resource or NotResource." },
  RESOURCE_AND_NOTRESOURCE: {
    severity: "error",
    title: "A statement has Resource or NotResource, not both.",
  },
  BAD_ARN: {
    severity: "error",
    title: 'A resource is "*" or an ARN (arn:partition:service:region:account:…).',
  },
  PRINCIPAL_NOT_ALLOWED: { severity: "error", title: "An identity policy names no Principal." },
  BAD_CONDITION_OPERATOR: { severity: "error", title: "IAM does not know this condition operator." },
  BAD_CONDITION: { severity: "error", title: "A condition maps keys to a value or a list of values." },
  BAD_CONDITION_VALUE: { severity: "warning", title: "The value does not fit the condition operator." },
  UNKNOWN_CONDITION_KEY: { severity: "warning", title: "The catalogue does not know this condition key." },
  UNKNOWN_POLICY_VARIABLE: {
    severity: "warning",
    title: "The catalogue does not know this policy variable.",
  },
  POLICY_VARIABLE_WITHOUT_VERSION: {
    severity: "warning",
    title: 'Policy variables work only with Version "2012-10-17"; here they are plain text.',
  },
  UNKNOWN_SERVICE: { severity: "error", title: "No AWS service has this prefix." },
  UNKNOWN_ACTION: { severity: "error", title: "The service has no such action." },
  ACTION_PATTERN_MATCHES_NOTHING: { severity: "error", title: "The wildcard matches no action." },
  RESOURCE_TYPE_MISMATCH: { severity: "warning", title: "The resource fits none of the actions." },
  WILDCARD_ACTION: { severity: "warning", title: "The statement allows every action of a service." },
  WILDCARD_RESOURCE: { severity: "warning", title: "The statement allows writes on every resource." },
  ALLOW_NOT_ACTION: { severity: "warning", title: "Allow with NotAction allows everything not listed." },
  ALLOW_NOT_RESOURCE: {
    severity: "warning",
    title: "Allow with NotResource allows every resource not listed.",
  },
  PRIVILEGE_ESCALATION: {
    severity: "warning",
    title: "The policy lets its holder raise their own privileges.",
  },
  PASS_ROLE: {
    severity: "info",
    title: "The holder can hand a role to an AWS service, with its permissions.",
  },
  ACCESS_TAG_CHANGE: { severity: "warning", title: "The policy can change Gatehouse's access tags." },
  PROTECTED_ROLE: { severity: "warning", title: "The policy can change or use Gatehouse's own roles." },
} as const satisfies Record<string, { severity: Severity; title: string }>;

export type LintCode = keyof typeof LINT_CODES;

/**
 * Findings the broker refuses unless a break-glass setting allows them, and then only with an admin among
 * the approvers (SECURITY 25, 31): whatever can change anyone's permissions, trust, credentials or access
 * tags (ACCESS_CHANGING in escalation.ts, the one list), or reach Gatehouse's own roles. They are warnings,
 * not errors, because the policy itself is well-formed; refusing it is the broker's decision.
 */
export const REFUSED_CODES: readonly LintCode[] = [
  "PRIVILEGE_ESCALATION",
  "ACCESS_TAG_CHANGE",
  "PROTECTED_ROLE",
];

export const findingSchema = z.object({
  severity: z.enum(SEVERITIES),
  code: z.string(),
  message: z.string(),
  /** Where in the document, as written: `Statement[0].Action[2]`, `Statement.Resource`; "" is the whole. */
  path: z.string(),
});
export type Finding = z.infer<typeof findingSchema> & { code: LintCode };

export const lintResultSchema = z.object({
  valid: z.boolean(),
  risk: z.enum(RISKS),
  reasons: z.array(z.string()),
  findings: z.array(findingSchema),
});
export type LintResult = z.infer<typeof lintResultSchema> & { findings: Finding[] };

export function finding(code: LintCode, path: string, message: string, severity?: Severity): Finding {
  return { severity: severity ?? LINT_CODES[code].severity, code, message, path };
}
