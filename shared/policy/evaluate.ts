// IAM policy evaluation shared by the AWS emulator and the broker's doctor: grammar checks as IAM does
// them on write, and evaluation (explicit Deny wins, then Allow, else implicit deny) with wildcards,
// Not* elements and common conditions. One copy, so the doctor judges policies as the emulator enforces them.

import { CONDITION_OPERATORS, STATEMENT_ELEMENTS } from "./operators.ts";

/** A document IAM would refuse (the emulator answers MalformedPolicyDocument with this message). */
export class MalformedPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedPolicyError";
  }
}
const malformedPolicy = (message: string) => new MalformedPolicyError(message);

export type ContextValue = string | string[] | undefined;
export type Context = Record<string, ContextValue>;

type Principal = "*" | Record<string, string | string[]>;

export interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action?: string[];
  NotAction?: string[];
  Resource?: string[];
  NotResource?: string[];
  Principal?: Principal;
  NotPrincipal?: Principal;
  Condition?: Record<string, Record<string, string[]>>;
}

export interface Policy {
  Version?: string;
  Statement: Statement[];
}

const VERSIONS = new Set(["2012-10-17", "2008-10-17"]);
const BASE_OPERATORS = new Set(CONDITION_OPERATORS);

function asList(value: unknown, where: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  for (const v of list) {
    if (typeof v !== "string")
      throw malformedPolicy(`Syntax errors in policy. ${where} must be a string or a list of strings.`);
  }
  return list as string[];
}

/** Size as IAM counts it: the document without insignificant white space. */
export function policySize(text: string): number {
  try {
    return JSON.stringify(JSON.parse(text)).length;
  } catch {
    return text.replace(/\s+/g, "").length;
  }
}

/**
 * Parse and check a policy as IAM does on write. `kind` decides whether a Principal is required
 * (trust policies) or forbidden (identity policies).
 */
export function parsePolicy(text: string, kind: "identity" | "trust" | "session"): Policy {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw malformedPolicy("This policy contains invalid Json");
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw malformedPolicy("This policy contains invalid Json");
  }
  const doc = raw as Record<string, unknown>;
  for (const key of Object.keys(doc)) {
    if (key !== "Version" && key !== "Statement" && key !== "Id") {
      throw malformedPolicy(`Syntax errors in policy. Unknown field ${key}`);
    }
  }
  if (doc.Version !== undefined && (typeof doc.Version !== "string" || !VERSIONS.has(doc.Version))) {
    throw malformedPolicy("The policy must contain a valid version string");
  }
  if (doc.Statement === undefined)
    throw malformedPolicy("Syntax errors in policy. Missing required field Statement");
  const rawStatements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  if (rawStatements.length === 0)
    throw malformedPolicy("Syntax errors in policy. Statement must not be empty");
  const statements = rawStatements.map((s) => parseStatement(s, kind));
  return { ...(typeof doc.Version === "string" ? { Version: doc.Version } : {}), Statement: statements };
}

const STATEMENT_KEYS = new Set(STATEMENT_ELEMENTS);

function parseStatement(s: unknown, kind: "identity" | "trust" | "session"): Statement {
  if (s === null || typeof s !== "object" || Array.isArray(s)) {
    throw malformedPolicy("Syntax errors in policy. Statement must be an object");
  }
  const st = s as Record<string, unknown>;
  for (const key of Object.keys(st)) {
    if (!STATEMENT_KEYS.has(key)) throw malformedPolicy(`Syntax errors in policy. Unknown field ${key}`);
  }
  if (st.Effect !== "Allow" && st.Effect !== "Deny") {
    throw malformedPolicy("Syntax errors in policy. Effect must be Allow or Deny");
  }
  const hasAction = st.Action !== undefined;
  const hasNotAction = st.NotAction !== undefined;
  if (hasAction === hasNotAction) {
    throw malformedPolicy("Policy statement must contain actions.");
  }
  const out: Statement = { Effect: st.Effect };
  if (typeof st.Sid === "string") out.Sid = st.Sid;
  if (hasAction) out.Action = asList(st.Action, "Action");
  if (hasNotAction) out.NotAction = asList(st.NotAction, "NotAction");
  for (const a of [...(out.Action ?? []), ...(out.NotAction ?? [])]) {
    if (a !== "*" && !/^[a-zA-Z0-9-]+:[A-Za-z0-9*?]+$/.test(a)) {
      throw malformedPolicy(`Action vendors must not contain spaces or special characters: ${a}`);
    }
  }
  const hasPrincipal = st.Principal !== undefined || st.NotPrincipal !== undefined;
  if (kind !== "trust" && hasPrincipal)
    throw malformedPolicy("Policy document should not specify a principal.");
  if (kind === "trust" && !hasPrincipal)
    throw malformedPolicy("Has prohibited field Resource or missing Principal");
  if (st.Principal !== undefined) out.Principal = parsePrincipal(st.Principal);
  if (st.NotPrincipal !== undefined) out.NotPrincipal = parsePrincipal(st.NotPrincipal);
  if (kind === "trust") {
    if (st.Resource !== undefined || st.NotResource !== undefined) {
      throw malformedPolicy("Has prohibited field Resource");
    }
  } else {
    if ((st.Resource === undefined) === (st.NotResource === undefined)) {
      throw malformedPolicy("Policy statement must contain resources.");
    }
    if (st.Resource !== undefined) out.Resource = asList(st.Resource, "Resource");
    if (st.NotResource !== undefined) out.NotResource = asList(st.NotResource, "NotResource");
    for (const r of [...(out.Resource ?? []), ...(out.NotResource ?? [])]) {
      if (r !== "*" && !r.startsWith("arn:"))
        throw malformedPolicy(`Resource ${r} must be in ARN format or "*".`);
    }
  }
  if (st.Condition !== undefined) out.Condition = parseCondition(st.Condition);
  return out;
}

function parsePrincipal(p: unknown): Principal {
  if (p === "*") return "*";
  if (p === null || typeof p !== "object" || Array.isArray(p)) {
    throw malformedPolicy("Invalid principal in policy");
  }
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(p as Record<string, unknown>)) {
    if (!["AWS", "Service", "Federated", "CanonicalUser"].includes(k)) {
      throw malformedPolicy(`Invalid principal in policy: ${k}`);
    }
    out[k] = asList(v, "Principal");
  }
  return out;
}

function parseCondition(c: unknown): Record<string, Record<string, string[]>> {
  if (c === null || typeof c !== "object" || Array.isArray(c))
    throw malformedPolicy("Syntax errors in policy. Condition");
  const out: Record<string, Record<string, string[]>> = {};
  for (const [op, block] of Object.entries(c as Record<string, unknown>)) {
    const base = op.replace(/^(ForAnyValue|ForAllValues):/, "").replace(/IfExists$/, "");
    if (!BASE_OPERATORS.has(base)) throw malformedPolicy(`Invalid Condition type : ${op}`);
    if (block === null || typeof block !== "object" || Array.isArray(block)) {
      throw malformedPolicy(`Syntax errors in policy. Condition ${op}`);
    }
    out[op] = {};
    for (const [key, values] of Object.entries(block as Record<string, unknown>)) {
      const list = (Array.isArray(values) ? values : [values]).map((v) =>
        typeof v === "boolean" || typeof v === "number" ? String(v) : v,
      );
      out[op][key] = asList(list, `Condition ${op}`);
    }
  }
  return out;
}

/** IAM wildcard match: `*` any run of characters, `?` one character. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  if (pattern === "*") return true;
  if (!pattern.includes("*") && !pattern.includes("?")) {
    return ignoreCase ? pattern.toLowerCase() === value.toLowerCase() : pattern === value;
  }
  let re = cache.get(pattern + (ignoreCase ? "/i" : ""));
  if (!re) {
    const body = pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".");
    re = new RegExp(`^${body}$`, ignoreCase ? "si" : "s");
    if (cache.size > 10_000) cache.clear();
    cache.set(pattern + (ignoreCase ? "/i" : ""), re);
  }
  return re.test(value);
}
const cache = new Map<string, RegExp>();

function testOperator(base: string, policyValue: string, actual: string): boolean {
  switch (base) {
    case "StringEquals":
    case "ArnEquals":
    case "BinaryEquals":
      return policyValue === actual;
    case "StringNotEquals":
    case "ArnNotEquals":
      return policyValue !== actual;
    case "StringEqualsIgnoreCase":
      return policyValue.toLowerCase() === actual.toLowerCase();
    case "StringNotEqualsIgnoreCase":
      return policyValue.toLowerCase() !== actual.toLowerCase();
    case "StringLike":
    case "ArnLike":
      return wildcardMatch(policyValue, actual);
    case "StringNotLike":
    case "ArnNotLike":
      return !wildcardMatch(policyValue, actual);
    case "Bool":
      return policyValue.toLowerCase() === actual.toLowerCase();
    case "NumericEquals":
      return Number(actual) === Number(policyValue);
    case "NumericNotEquals":
      return Number(actual) !== Number(policyValue);
    case "NumericLessThan":
      return Number(actual) < Number(policyValue);
    case "NumericLessThanEquals":
      return Number(actual) <= Number(policyValue);
    case "NumericGreaterThan":
      return Number(actual) > Number(policyValue);
    case "NumericGreaterThanEquals":
      return Number(actual) >= Number(policyValue);
    case "DateEquals":
      return dateOf(actual) === dateOf(policyValue);
    case "DateNotEquals":
      return dateOf(actual) !== dateOf(policyValue);
    case "DateLessThan":
      return dateOf(actual) < dateOf(policyValue);
    case "DateLessThanEquals":
      return dateOf(actual) <= dateOf(policyValue);
    case "DateGreaterThan":
      return dateOf(actual) > dateOf(policyValue);
    case "DateGreaterThanEquals":
      return dateOf(actual) >= dateOf(policyValue);
    default:
      // IpAddress and the like have no context in the emulator: never satisfied.
      return false;
  }
}

/** Operators that require the key not to match: true only if no policy value matches (and if the key is absent). */
const NEGATED = new Set([
  "StringNotEquals",
  "StringNotEqualsIgnoreCase",
  "StringNotLike",
  "ArnNotEquals",
  "ArnNotLike",
  "NumericNotEquals",
  "DateNotEquals",
]);

function lookup(context: Context, key: string): ContextValue {
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(context)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** A date condition value: ISO 8601, or epoch seconds as AWS also accepts (NaN never matches). */
function dateOf(value: string): number {
  return /^\d{1,12}$/.test(value) ? Number(value) * 1000 : Date.parse(value);
}

export function conditionsMatch(condition: Statement["Condition"], context: Context): boolean {
  if (!condition) return true;
  for (const [op, block] of Object.entries(condition)) {
    const set = op.startsWith("ForAnyValue:") ? "any" : op.startsWith("ForAllValues:") ? "all" : "single";
    const ifExists = op.endsWith("IfExists");
    const base = op.replace(/^(ForAnyValue|ForAllValues):/, "").replace(/IfExists$/, "");
    for (const [key, values] of Object.entries(block)) {
      const actual = lookup(context, key);
      if (base === "Null") {
        const want = values[0]?.toLowerCase() === "true";
        if ((actual === undefined) !== want) return false;
        continue;
      }
      if (actual === undefined) {
        // As in AWS: an absent key fails a condition, except with IfExists, ForAllValues, or a
        // single-valued negated operator (the key cannot match what it does not have).
        if (ifExists || set === "all" || (set === "single" && NEGATED.has(base))) continue;
        return false;
      }
      const actuals = Array.isArray(actual) ? actual : [actual];
      const one = (a: string) =>
        NEGATED.has(base)
          ? values.every((v) => testOperator(base, v, a))
          : values.some((v) => testOperator(base, v, a));
      const ok = set === "all" ? actuals.every(one) : actuals.some(one);
      if (!ok) return false;
    }
  }
  return true;
}

export interface Request {
  action: string;
  resource: string;
  context: Context;
}

export type Decision = "allow" | "deny" | "implicit";

function statementApplies(st: Statement, req: Request): boolean {
  const actionHit = st.Action
    ? st.Action.some((a) => wildcardMatch(a, req.action, true))
    : !st.NotAction!.some((a) => wildcardMatch(a, req.action, true));
  if (!actionHit) return false;
  if (st.Resource || st.NotResource) {
    const resHit = st.Resource
      ? st.Resource.some((r) => wildcardMatch(r, req.resource))
      : !st.NotResource!.some((r) => wildcardMatch(r, req.resource));
    if (!resHit) return false;
  }
  return conditionsMatch(st.Condition, req.context);
}

/** Evaluate identity policies: an explicit Deny anywhere wins, otherwise any Allow allows. */
export function evaluate(policies: readonly Policy[], req: Request): Decision {
  let allowed = false;
  for (const p of policies) {
    for (const st of p.Statement) {
      if (!statementApplies(st, req)) continue;
      if (st.Effect === "Deny") return "deny";
      allowed = true;
    }
  }
  return allowed ? "allow" : "implicit";
}

export interface PrincipalIdentity {
  /** ARN a trust policy names: the user ARN or, for a session, the role ARN. */
  arn: string;
  account: string;
}

function principalMatches(p: Principal, who: PrincipalIdentity): "specific" | "account" | false {
  if (p === "*") return "account";
  const aws = p.AWS;
  if (aws === undefined) return false;
  for (const v of Array.isArray(aws) ? aws : [aws]) {
    if (v === "*") return "account";
    if (v === who.arn) return "specific";
    if (v === who.account || v === `arn:aws:iam::${who.account}:root`) return "account";
  }
  return false;
}

/**
 * Evaluate a role's trust policy for an action. "specific" means the statement names the caller
 * itself (enough on its own in the same account); "account" means it trusts the whole account, so
 * the caller's identity policies must allow the action as well.
 */
export function evaluateTrust(
  policy: Policy,
  who: PrincipalIdentity,
  action: string,
  context: Context,
): "deny" | "specific" | "account" | "implicit" {
  let best: "specific" | "account" | "implicit" = "implicit";
  for (const st of policy.Statement) {
    const actionHit = st.Action
      ? st.Action.some((a) => wildcardMatch(a, action, true))
      : !st.NotAction!.some((a) => wildcardMatch(a, action, true));
    if (!actionHit) continue;
    let hit: "specific" | "account" | false;
    if (st.Principal) hit = principalMatches(st.Principal, who);
    else hit = principalMatches(st.NotPrincipal!, who) ? false : "account";
    if (!hit || !conditionsMatch(st.Condition, context)) continue;
    if (st.Effect === "Deny") return "deny";
    if (hit === "specific" || best === "implicit") best = hit;
  }
  return best;
}
