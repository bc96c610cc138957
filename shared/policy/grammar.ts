// The grammar of an IAM identity policy: JSON and element checks, and the model the later checks read.

// A path names the place as written: `Statement` when Statement is one object, `Statement[0]` when it is
// a list; `Action` when Action is one string, `Action[2]` when it is a list. So every path resolves in
// the document the person is editing, and the editor can put its marker there.

import { type Finding, finding } from "./codes.ts";
import { CONDITION_OPERATORS, STATEMENT_ELEMENTS } from "./operators.ts";

export interface Item {
  value: string;
  path: string;
}

export interface ActionItem extends Item {
  /** Lower-case service prefix; "*" for the lone `*`. */
  service: string;
  /** The part after the colon, wildcards kept; "*" for the lone `*`. */
  name: string;
}

export interface ConditionEntry {
  /** The operator without `ForAllValues:`/`ForAnyValue:` and `IfExists`, as IAM spells it. */
  base: string;
  key: string;
  values: (string | number | boolean)[];
  path: string;
}

export interface StatementModel {
  path: string;
  effect: "Allow" | "Deny" | undefined;
  actionElement: "Action" | "NotAction" | undefined;
  actionPath: string;
  actions: ActionItem[];
  resourceElement: "Resource" | "NotResource" | undefined;
  resourcePath: string;
  resources: Item[];
  conditions: ConditionEntry[];
  /** Whether the statement has a Condition element at all, well-formed or not. */
  conditional: boolean;
}

export interface PolicyModel {
  version: string | undefined;
  statements: StatementModel[];
  /** Policy variables (`aws:username`) where they are used: Resource items and condition values. */
  variables: Item[];
}

const TOP_FIELDS = new Set(["Version", "Id", "Statement"]);
const VERSIONS = new Set(["2012-10-17", "2008-10-17"]);

// Matched without regard to case: being lenient here can only miss an error, never invent one.
const OPERATOR_BY_LOWER = new Map(CONDITION_OPERATORS.map((o) => [o.toLowerCase(), o]));

const ACTION_RE = /^[A-Za-z0-9*?-]+:[A-Za-z0-9*?_-]+$/;
const SID_RE = /^[A-Za-z0-9]*$/;
const IDENTIFIER_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VARIABLE_RE = /\$\{([^}]*)\}/g;

/** `a.b` for plain names, `a["aws:SourceIp"]` for the rest, so a path is never ambiguous. */
export function child(path: string, key: string): string {
  if (IDENTIFIER_RE.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** "Did you mean Effect?" for `effect`: element names are case-sensitive in IAM. */
function unknownField(key: string, known: Iterable<string>, path: string): Finding {
  const hint = [...known].find((k) => k.toLowerCase() === key.toLowerCase());
  return finding(
    "UNKNOWN_FIELD",
    child(path, key),
    `"${key}" is not an element of ${path || "a policy"}${hint ? ` (did you mean "${hint}"?)` : ""}`,
  );
}

export function parseOperator(op: string): { base: string; ifExists: boolean } | undefined {
  let rest = op;
  const set = /^(ForAllValues|ForAnyValue):/i.exec(rest);
  if (set) rest = rest.slice(set[0].length);
  const ifExists = /IfExists$/i.test(rest);
  if (ifExists) rest = rest.slice(0, -"IfExists".length);
  const base = OPERATOR_BY_LOWER.get(rest.toLowerCase());
  // Null asks whether a key exists, so "IfExists" makes no sense on it and IAM refuses it.
  if (!base || (base === "Null" && ifExists)) return undefined;
  return { base, ifExists };
}

function variablesIn(value: string, path: string, into: Item[]): void {
  for (const m of value.matchAll(VARIABLE_RE)) {
    const name = m[1]!.split(",")[0]!.trim();
    if (name !== "*" && name !== "?" && name !== "$") into.push({ value: name, path });
  }
}

interface Lists {
  items: Item[];
  empty: boolean;
}

/** A string or a list of strings; anything else is BAD_TYPE at the exact place. */
function stringList(value: unknown, path: string, element: string, findings: Finding[]): Lists {
  if (typeof value === "string") return { items: [{ value, path }], empty: false };
  if (!Array.isArray(value)) {
    findings.push(
      finding("BAD_TYPE", path, `${element} must be a string or a list of strings, not ${jsonType(value)}`),
    );
    return { items: [], empty: false };
  }
  const items: Item[] = [];
  value.forEach((v, i) => {
    if (typeof v === "string") items.push({ value: v, path: `${path}[${i}]` });
    else
      findings.push(finding("BAD_TYPE", `${path}[${i}]`, `${element} items are strings, not ${jsonType(v)}`));
  });
  return { items, empty: value.length === 0 };
}

function parseActions(
  st: Record<string, unknown>,
  path: string,
  s: StatementModel,
  findings: Finding[],
): void {
  const hasAction = Object.hasOwn(st, "Action");
  const hasNot = Object.hasOwn(st, "NotAction");
  if (hasAction && hasNot) {
    findings.push(finding("ACTION_AND_NOTACTION", path, "use either Action or NotAction in one statement"));
  }
  if (!hasAction && !hasNot) {
    findings.push(finding("MISSING_ACTION", path, "the statement needs Action (or NotAction)"));
    return;
  }
  const element = hasAction ? "Action" : "NotAction";
  s.actionElement = element;
  s.actionPath = child(path, element);
  const { items, empty } = stringList(st[element], s.actionPath, element, findings);
  if (empty) findings.push(finding("MISSING_ACTION", s.actionPath, `${element} is an empty list`));
  for (const item of items) {
    if (item.value === "*") {
      s.actions.push({ ...item, service: "*", name: "*" });
    } else if (ACTION_RE.test(item.value)) {
      const colon = item.value.indexOf(":");
      s.actions.push({
        ...item,
        service: item.value.slice(0, colon).toLowerCase(),
        name: item.value.slice(colon + 1),
      });
    } else {
      findings.push(
        finding(
          "BAD_ACTION",
          item.path,
          `"${item.value}" is not an action: write "service:ActionName" or "*"`,
        ),
      );
    }
  }
}

function checkArn(item: Item, findings: Finding[]): boolean {
  const r = item.value;
  if (r === "*") return true;
  const bad = (why: string) => {
    findings.push(finding("BAD_ARN", item.path, `"${r}" is not a resource ARN: ${why}`));
    return false;
  };
  if (!r.startsWith("arn:")) return bad('a resource is "*" or starts with "arn:"');
  const parts = r.split(":");
  // Fewer than six parts is only acceptable when a wildcard may stand for the missing colons.
  if (parts.length < 6 && !r.includes("*"))
    return bad("an ARN is arn:partition:service:region:account:resource");
  const partition = parts[1] ?? "";
  if (!/[*?$]/.test(partition) && !/^aws(-[a-z]+)*$/.test(partition)) {
    return bad(`"${partition}" is not an AWS partition (aws, aws-cn, aws-us-gov…)`);
  }
  if (parts.length >= 6 && parts[2] === "") return bad("the service part is empty");
  // `${aws:PrincipalTag/team, 'default'}` may hold a space; the ARN around it may not.
  if (/\s/.test(r.replace(VARIABLE_RE, ""))) return bad("an ARN has no white space");
  return true;
}

function parseResources(
  st: Record<string, unknown>,
  path: string,
  s: StatementModel,
  findings: Finding[],
): void {
  const hasResource = Object.hasOwn(st, "Resource");
  const hasNot = Object.hasOwn(st, "NotResource");
  if (hasResource && hasNot) {
    findings.push(
      finding("RESOURCE_AND_NOTRESOURCE", path, "use either Resource or NotResource in one statement"),
    );
  }
  if (!hasResource && !hasNot) {
    findings.push(
      finding("MISSING_RESOURCE", path, 'an identity policy statement needs Resource (use "*" for all)'),
    );
    return;
  }
  const element = hasResource ? "Resource" : "NotResource";
  s.resourceElement = element;
  s.resourcePath = child(path, element);
  const { items, empty } = stringList(st[element], s.resourcePath, element, findings);
  if (empty) findings.push(finding("MISSING_RESOURCE", s.resourcePath, `${element} is an empty list`));
  for (const item of items) if (checkArn(item, findings)) s.resources.push(item);
}

function conditionValueProblem(base: string, v: string | number | boolean): string | undefined {
  if (typeof v === "string" && v.includes("${")) return undefined;
  const text = String(v);
  if (base === "Bool" || base === "Null") {
    return /^(true|false)$/i.test(text) ? undefined : `${base} takes "true" or "false"`;
  }
  if (base.startsWith("Numeric")) {
    return text.trim() !== "" && Number.isFinite(Number(text)) ? undefined : `${base} takes numbers`;
  }
  if (base.startsWith("Date")) {
    const ok = /^\d+$/.test(text) || !Number.isNaN(Date.parse(text));
    return ok ? undefined : `${base} takes ISO 8601 dates or epoch seconds`;
  }
  if (base === "IpAddress" || base === "NotIpAddress") {
    return /^[0-9A-Fa-f:.]+(\/\d{1,3})?$/.test(text)
      ? undefined
      : `${base} takes IP addresses or CIDR ranges`;
  }
  return undefined;
}

function parseConditions(
  value: unknown,
  path: string,
  s: StatementModel,
  model: PolicyModel,
  findings: Finding[],
) {
  if (!isObject(value)) {
    findings.push(finding("BAD_TYPE", path, `Condition must be an object, not ${jsonType(value)}`));
    return;
  }
  for (const [op, block] of Object.entries(value)) {
    const opPath = child(path, op);
    const parsed = parseOperator(op);
    if (!parsed) {
      findings.push(finding("BAD_CONDITION_OPERATOR", opPath, `"${op}" is not a condition operator`));
    }
    if (!isObject(block)) {
      findings.push(finding("BAD_CONDITION", opPath, `${op} must map condition keys to values`));
      continue;
    }
    for (const [key, raw] of Object.entries(block)) {
      const keyPath = child(opPath, key);
      const list = Array.isArray(raw) ? raw : [raw];
      const values: (string | number | boolean)[] = [];
      for (const v of list) {
        if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") values.push(v);
      }
      if (values.length !== list.length || list.length === 0) {
        findings.push(
          finding(
            "BAD_CONDITION",
            keyPath,
            `${key} needs a string, number or boolean, or a non-empty list of them`,
          ),
        );
        continue;
      }
      const base = parsed?.base ?? op;
      s.conditions.push({ base, key, values, path: keyPath });
      values.forEach((v, i) => {
        const at = Array.isArray(raw) ? `${keyPath}[${i}]` : keyPath;
        if (typeof v === "string") variablesIn(v, at, model.variables);
        const problem = parsed && conditionValueProblem(parsed.base, v);
        if (problem) findings.push(finding("BAD_CONDITION_VALUE", at, `${JSON.stringify(v)}: ${problem}`));
      });
    }
  }
}

function parseStatement(
  raw: unknown,
  path: string,
  model: PolicyModel,
  sids: Map<string, string>,
  findings: Finding[],
): void {
  if (!isObject(raw)) {
    findings.push(finding("BAD_TYPE", path, `a statement is an object, not ${jsonType(raw)}`));
    return;
  }
  const s: StatementModel = {
    path,
    effect: undefined,
    actionElement: undefined,
    actionPath: path,
    actions: [],
    resourceElement: undefined,
    resourcePath: path,
    resources: [],
    conditions: [],
    conditional: Object.hasOwn(raw, "Condition"),
  };
  for (const key of Object.keys(raw)) {
    if (!STATEMENT_ELEMENTS.includes(key)) findings.push(unknownField(key, STATEMENT_ELEMENTS, path));
  }
  if (Object.hasOwn(raw, "Sid")) {
    const sid = raw.Sid;
    const at = child(path, "Sid");
    if (typeof sid !== "string") {
      findings.push(finding("BAD_TYPE", at, `Sid must be a string, not ${jsonType(sid)}`));
    } else if (!SID_RE.test(sid)) {
      findings.push(finding("BAD_SID", at, `"${sid}": IAM accepts only A-Z, a-z and 0-9 in a Sid`));
    } else if (sid !== "" && sids.has(sid)) {
      findings.push(finding("DUPLICATE_SID", at, `Sid "${sid}" is also used by ${sids.get(sid)}`));
    } else if (sid !== "") {
      sids.set(sid, path);
    }
  }
  if (!Object.hasOwn(raw, "Effect")) {
    findings.push(finding("MISSING_EFFECT", path, 'the statement needs "Effect": "Allow" or "Deny"'));
  } else if (raw.Effect === "Allow" || raw.Effect === "Deny") {
    s.effect = raw.Effect;
  } else {
    findings.push(
      finding(
        "BAD_EFFECT",
        child(path, "Effect"),
        `${JSON.stringify(raw.Effect)}: Effect is "Allow" or "Deny"`,
      ),
    );
  }
  for (const key of ["Principal", "NotPrincipal"]) {
    if (Object.hasOwn(raw, key)) {
      findings.push(
        finding(
          "PRINCIPAL_NOT_ALLOWED",
          child(path, key),
          `${key} belongs in trust and resource policies; an identity policy applies to whoever holds it`,
        ),
      );
    }
  }
  parseActions(raw, path, s, findings);
  parseResources(raw, path, s, findings);
  for (const r of s.resources) variablesIn(r.value, r.path, model.variables);
  if (Object.hasOwn(raw, "Condition"))
    parseConditions(raw.Condition, child(path, "Condition"), s, model, findings);
  model.statements.push(s);
}

/** Parse and check the document; the model holds every well-formed part, even when there are errors. */
export function parsePolicy(text: string, findings: Finding[]): PolicyModel | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    findings.push(finding("INVALID_JSON", "", `not JSON: ${(e as Error).message}`));
    return undefined;
  }
  if (!isObject(doc)) {
    findings.push(finding("NOT_AN_OBJECT", "", `a policy is a JSON object, not ${jsonType(doc)}`));
    return undefined;
  }
  const model: PolicyModel = { version: undefined, statements: [], variables: [] };
  for (const key of Object.keys(doc)) {
    if (!TOP_FIELDS.has(key)) findings.push(unknownField(key, TOP_FIELDS, ""));
  }
  if (!Object.hasOwn(doc, "Version")) {
    findings.push(
      finding("MISSING_VERSION", "", 'add "Version": "2012-10-17"; without it IAM uses 2008-10-17'),
    );
  } else if (typeof doc.Version === "string" && VERSIONS.has(doc.Version)) {
    model.version = doc.Version;
    if (doc.Version === "2008-10-17") {
      findings.push(
        finding("OLD_VERSION", "Version", 'use "2012-10-17": the old version has no policy variables'),
      );
    }
  } else {
    findings.push(
      finding(
        "BAD_VERSION",
        "Version",
        `${JSON.stringify(doc.Version)}: Version is "2012-10-17" (a date, not today's)`,
      ),
    );
  }
  if (Object.hasOwn(doc, "Id") && typeof doc.Id !== "string") {
    findings.push(finding("BAD_TYPE", "Id", `Id must be a string, not ${jsonType(doc.Id)}`));
  }
  if (!Object.hasOwn(doc, "Statement")) {
    findings.push(finding("MISSING_STATEMENT", "", "the policy needs a Statement"));
    return model;
  }
  const sids = new Map<string, string>();
  const statement = doc.Statement;
  if (Array.isArray(statement)) {
    if (statement.length === 0)
      findings.push(finding("EMPTY_STATEMENT", "Statement", "Statement is an empty list"));
    statement.forEach((st, i) => {
      parseStatement(st, `Statement[${i}]`, model, sids, findings);
    });
  } else {
    parseStatement(statement, "Statement", model, sids, findings);
  }
  return model;
}
