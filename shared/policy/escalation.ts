// Privilege escalation, access-tag changes and reach into Gatehouse's own roles (SECURITY 25); Allow only.

import { isWrite } from "./catalogue.ts";
import { type Finding, finding } from "./codes.ts";
import type { Item, StatementModel } from "./grammar.ts";
import { type Loaded, list } from "./references.ts";
import { actionPattern, overlaps, resourceTokens, type Token } from "./wildcards.ts";

/** Actions that let whoever holds them give themselves (or anyone) more permissions, and how. */
const ESCALATION: Record<string, string> = {
  "iam:CreatePolicyVersion": "rewrites a managed policy",
  "iam:SetDefaultPolicyVersion": "switches a managed policy to another version",
  "iam:AttachUserPolicy": "attaches any managed policy, AdministratorAccess included",
  "iam:AttachGroupPolicy": "attaches any managed policy, AdministratorAccess included",
  "iam:AttachRolePolicy": "attaches any managed policy, AdministratorAccess included",
  "iam:PutUserPolicy": "writes any inline policy",
  "iam:PutGroupPolicy": "writes any inline policy",
  "iam:PutRolePolicy": "writes any inline policy",
  "iam:UpdateAssumeRolePolicy": "lets anyone assume a role",
  "iam:AddUserToGroup": "joins a more privileged group",
  "iam:CreateAccessKey": "makes access keys for other users",
  "iam:CreateLoginProfile": "sets other users' console passwords",
  "iam:UpdateLoginProfile": "sets other users' console passwords",
  "iam:PutUserPermissionsBoundary": "changes a permissions boundary",
  "iam:PutRolePermissionsBoundary": "changes a permissions boundary",
  "iam:DeleteUserPermissionsBoundary": "lifts a permissions boundary",
  "iam:DeleteRolePermissionsBoundary": "lifts a permissions boundary",
};

/** Managing one's own credentials (AWS's own example policy) is not escalation. */
const SELF_SERVICE = new Set(["iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile"]);

/** Dangerous only when they reach any role rather than named ones. */
const ON_ANY_ROLE: Record<string, string> = {
  "iam:PassRole": "hands any role to a service it starts",
  "sts:AssumeRole": "assumes any role that trusts this account",
};

const ACCESS_TAG_ACTIONS = ["iam:TagRole", "iam:UntagRole", "iam:TagUser", "iam:UntagUser"];

/** Role actions that cannot touch an existing role Gatehouse relies on. */
const HARMLESS_TO_ROLES = new Set(["iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole"]);

/**
 * A role name nobody wrote: only a wildcard can match it, so a resource that overlaps it covers every
 * role of an account, Gatehouse's included, whatever they are called.
 */
const NOBODY: Token[] = resourceTokens("arn:*:iam::*:role/\0").map((t) =>
  // Partition and account hold no ":" or "/", or they could swallow a role name written in the policy.
  t.t === "run" ? { t: "run", not: ":/" } : t,
);

export const DEFAULT_ACCESS_TAG_KEYS = [
  "gatehouse-authorized",
  "gatehouse-authorized-cli-only",
  "gatehouse-approvers",
];

export interface EscalationOptions {
  protectedRoleArns?: string[];
  accessTagKeys?: string[];
}

function matches(item: Item, action: string): boolean {
  return item.value === "*" || actionPattern(item.value).test(action);
}

/** Where in the statement `action` is granted: the item that names it, or NotAction; undefined if not. */
function grantedAt(s: StatementModel, action: string): string | undefined {
  if (s.effect !== "Allow" || !s.actionElement) return undefined;
  if (s.actionElement === "NotAction")
    return s.actions.some((i) => matches(i, action)) ? undefined : s.actionPath;
  return s.actions.find((i) => matches(i, action))?.path;
}

/**
 * Whether an unconditional Deny on every resource takes `action` away again, as in the common
 * "Allow iam:*, Deny iam:TagRole" pattern; a Deny with a condition may not apply, so it does not count.
 */
function deniedEverywhere(statements: StatementModel[], action: string): boolean {
  return statements.some((s) => {
    if (s.effect !== "Deny" || s.conditional || s.resourceElement !== "Resource") return false;
    if (!s.resources.some((r) => r.value === "*")) return false;
    const named = s.actions.some((i) => matches(i, action));
    return s.actionElement === "Action" ? named : s.actionElement === "NotAction" && !named;
  });
}

/** Group what a statement grants by the item that first grants it, in the document's order. */
function grantedBy(s: StatementModel, actions: string[]): Map<string, string[]> {
  const at = new Map<string, string[]>();
  if (s.effect !== "Allow" || !s.actionElement) return at;
  if (s.actionElement === "NotAction") {
    const granted = actions.filter((a) => !s.actions.some((i) => matches(i, a)));
    if (granted.length > 0) at.set(s.actionPath, granted);
    return at;
  }
  let left = actions;
  for (const item of s.actions) {
    const here = left.filter((a) => matches(item, a));
    if (here.length > 0) at.set(item.path, here);
    left = left.filter((a) => !here.includes(a));
  }
  return at;
}

/** The item that reaches `targets` (or NotResource, which reaches nearly everything); undefined if none. */
function reaching(s: StatementModel, targets: Token[][]): string | undefined {
  if (s.resourceElement === "NotResource") return s.resourcePath;
  return s.resources.find((r) => {
    const tokens = resourceTokens(r.value);
    return targets.some((t) => overlaps(tokens, t));
  })?.path;
}

function selfScoped(s: StatementModel): boolean {
  return (
    s.resourceElement === "Resource" &&
    s.resources.length > 0 &&
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a template
    s.resources.every((r) => r.value.toLowerCase().includes("${aws:username}"))
  );
}

const explained = (names: string[], why: Record<string, string>) =>
  list(names.map((n) => `${n} (${why[n]})`));

export function checkEscalation(
  statements: StatementModel[],
  loaded: Loaded,
  opts: EscalationOptions,
): Finding[] {
  const out: Finding[] = [];
  const live = (actions: string[]) => actions.filter((a) => !deniedEverywhere(statements, a));
  const passRole = live(["iam:PassRole"]).length > 0;
  const anyPassRole = passRole
    ? statements.find((s) => grantedAt(s, "iam:PassRole") !== undefined)
    : undefined;
  const protectedArns = (opts.protectedRoleArns ?? []).map(resourceTokens);
  const roleWrites = live([
    ...(loaded.services.get("iam")?.actions ?? [])
      .filter((a) => isWrite(a) && a.resourceTypes.includes("role"))
      .map((a) => `iam:${a.name}`)
      .filter((n) => !HARMLESS_TO_ROLES.has(n)),
    "sts:AssumeRole",
  ]);
  const escalations = live(Object.keys(ESCALATION));
  const onAnyRole = live(Object.keys(ON_ANY_ROLE));
  const tagActions = live(ACCESS_TAG_ACTIONS);
  const codeUpdate = live(["lambda:UpdateFunctionCode"]).length > 0;
  const tagKeys = opts.accessTagKeys?.length ? opts.accessTagKeys : DEFAULT_ACCESS_TAG_KEYS;

  for (const s of statements) {
    if (s.effect !== "Allow") continue;
    const self = selfScoped(s);
    const dangerous = escalations.filter((a) => !(self && SELF_SERVICE.has(a)));
    for (const [path, names] of grantedBy(s, dangerous)) {
      out.push(
        finding(
          "PRIVILEGE_ESCALATION",
          path,
          `grants ${explained(names, ESCALATION)}: whoever holds it can give themselves more permissions`,
        ),
      );
    }
    const anyRole = reaching(s, [NOBODY]);
    for (const [path, names] of grantedBy(s, onAnyRole)) {
      if (anyRole !== undefined) {
        out.push(
          finding(
            "PRIVILEGE_ESCALATION",
            path,
            `grants ${explained(names, ON_ANY_ROLE)} on every role (${anyRole}): name the roles instead`,
          ),
        );
      } else if (names.includes("iam:PassRole")) {
        out.push(
          finding(
            "PASS_ROLE",
            path,
            "iam:PassRole on named roles: the holder can give them to AWS services and act with their permissions",
          ),
        );
      }
    }
    const update = codeUpdate ? grantedAt(s, "lambda:UpdateFunctionCode") : undefined;
    // Already an escalation there (`*`, `lambda:*` with PassRole on every role): one finding says it.
    const flagged = out.some((f) => f.path === update && f.code === "PRIVILEGE_ESCALATION");
    if (update !== undefined && anyPassRole && !flagged) {
      out.push(
        finding(
          "PRIVILEGE_ESCALATION",
          update,
          `lambda:UpdateFunctionCode with iam:PassRole (${anyPassRole.path}): can run its own code under the roles of Lambda functions`,
        ),
      );
    }
    for (const [path, names] of grantedBy(s, tagActions)) {
      out.push(
        finding(
          "ACCESS_TAG_CHANGE",
          path,
          `grants ${list(names, 4)}: can change the access tags (${tagKeys.join(", ")}) that decide who may use a role or user in Gatehouse`,
        ),
      );
    }
    const touching = roleWrites.filter((a) => grantedAt(s, a) !== undefined);
    const where = touching.length > 0 ? reaching(s, [NOBODY, ...protectedArns]) : undefined;
    if (where !== undefined) {
      const whose = opts.protectedRoleArns?.length
        ? `Gatehouse's own roles (${list(opts.protectedRoleArns, 2)})`
        : "every role, Gatehouse's central and spoke roles included";
      out.push(
        finding("PROTECTED_ROLE", where, `allows ${list(touching)} on a resource that covers ${whose}`),
      );
    }
  }
  return out;
}
