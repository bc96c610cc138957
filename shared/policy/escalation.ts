// Privilege escalation, access-tag changes and reach into Gatehouse's own roles (SECURITY 25, 31); Allow only.

import { isWrite } from "./catalogue.ts";
import { type Finding, finding } from "./codes.ts";
import type { Item, StatementModel } from "./grammar.ts";
import { type Loaded, list } from "./references.ts";
import { actionPattern, overlaps, resourceTokens, type Token } from "./wildcards.ts";

/** What an access-changing action can do, and the finding that reports it. */
export interface AccessChange {
  why: string;
  /** ACCESS_TAG_CHANGE for the tags Gatehouse reads access from; PRIVILEGE_ESCALATION otherwise. */
  code: "PRIVILEGE_ESCALATION" | "ACCESS_TAG_CHANGE";
  /** Harmless on one's own user only (`${aws:username}`), as in AWS's "manage your own credentials". */
  selfService?: true;
  /** Dangerous only when it reaches any role rather than named ones. */
  onAnyRole?: true;
}

const perms = (why: string): AccessChange => ({ why, code: "PRIVILEGE_ESCALATION" });
const creds = (why: string): AccessChange => ({ why, code: "PRIVILEGE_ESCALATION", selfService: true });
const accessTags: AccessChange = { why: "changes access tags", code: "ACCESS_TAG_CHANGE" };
const otherTags = perms("changes tags that aws:ResourceTag conditions may rely on");

/**
 * SECURITY 31: every action that can change anyone's permissions, trust, credentials or access tags.
 * ONE list: the lint reports what a policy grants of it (PRIVILEGE_ESCALATION, ACCESS_TAG_CHANGE) and the
 * broker refuses those findings (REFUSED_CODES) unless break-glass. A test walks the catalogue so that no
 * IAM action of the "Permissions management" or "Tagging" access levels is missing from here unexplained.
 */
export const ACCESS_CHANGING: Readonly<Record<string, AccessChange>> = {
  // Permissions: policies written, attached, switched, or taken away (a Deny goes with them).
  "iam:CreatePolicyVersion": perms("rewrites a managed policy"),
  "iam:SetDefaultPolicyVersion": perms("switches a managed policy to another version"),
  "iam:AttachUserPolicy": perms("attaches any managed policy, AdministratorAccess included"),
  "iam:AttachGroupPolicy": perms("attaches any managed policy, AdministratorAccess included"),
  "iam:AttachRolePolicy": perms("attaches any managed policy, AdministratorAccess included"),
  "iam:PutUserPolicy": perms("writes any inline policy"),
  "iam:PutGroupPolicy": perms("writes any inline policy"),
  "iam:PutRolePolicy": perms("writes any inline policy"),
  "iam:DetachUserPolicy": perms("takes a managed policy away, a Deny with it"),
  "iam:DetachGroupPolicy": perms("takes a managed policy away, a Deny with it"),
  "iam:DetachRolePolicy": perms("takes a managed policy away, a Deny with it"),
  "iam:DeleteUserPolicy": perms("deletes an inline policy, a Deny with it"),
  "iam:DeleteGroupPolicy": perms("deletes an inline policy, a Deny with it"),
  "iam:DeleteRolePolicy": perms("deletes an inline policy, a Deny with it"),
  "iam:PutUserPermissionsBoundary": perms("changes a permissions boundary"),
  "iam:PutRolePermissionsBoundary": perms("changes a permissions boundary"),
  "iam:DeleteUserPermissionsBoundary": perms("lifts a permissions boundary"),
  "iam:DeleteRolePermissionsBoundary": perms("lifts a permissions boundary"),
  "iam:AddUserToGroup": perms("joins a more privileged group"),
  "iam:RemoveUserFromGroup": perms("leaves a group, and a Deny with it"),
  // Trust: who may assume a role, through which identity provider, on which instance.
  "iam:UpdateAssumeRolePolicy": perms("lets anyone assume a role"),
  "iam:UpdateSAMLProvider": perms("replaces the identity provider that roles trust"),
  "iam:CreateSAMLProvider": perms("recreates an identity provider that roles trust"),
  "iam:UpdateOpenIDConnectProviderThumbprint": perms("replaces the identity provider that roles trust"),
  "iam:AddClientIDToOpenIDConnectProvider": perms("adds an audience that roles trust"),
  "iam:CreateOpenIDConnectProvider": perms("recreates an identity provider that roles trust"),
  "iam:AddRoleToInstanceProfile": perms("puts a role on an instance profile, for any instance to use"),
  // Credentials of other users.
  "iam:CreateAccessKey": creds("makes access keys for other users"),
  "iam:UpdateAccessKey": creds("reactivates other users' access keys"),
  "iam:CreateLoginProfile": creds("sets other users' console passwords"),
  "iam:UpdateLoginProfile": creds("sets other users' console passwords"),
  "iam:CreateServiceSpecificCredential": creds("makes service credentials for other users"),
  "iam:ResetServiceSpecificCredential": creds("resets other users' service credentials"),
  "iam:UpdateServiceSpecificCredential": creds("reactivates other users' service credentials"),
  "iam:UploadSSHPublicKey": creds("adds SSH keys to other users"),
  "iam:UpdateSSHPublicKey": creds("reactivates other users' SSH keys"),
  "iam:UploadSigningCertificate": creds("adds signing certificates to other users"),
  "iam:UpdateSigningCertificate": creds("reactivates other users' signing certificates"),
  "iam:EnableMFADevice": creds("binds an MFA device to other users"),
  "iam:DeactivateMFADevice": creds("takes other users' MFA away"),
  // Tags: the access tags Gatehouse reads, and the tags ABAC conditions read.
  "iam:TagRole": accessTags,
  "iam:UntagRole": accessTags,
  "iam:TagUser": accessTags,
  "iam:UntagUser": accessTags,
  "iam:TagPolicy": otherTags,
  "iam:UntagPolicy": otherTags,
  "iam:TagInstanceProfile": otherTags,
  "iam:UntagInstanceProfile": otherTags,
  "iam:TagOpenIDConnectProvider": otherTags,
  "iam:UntagOpenIDConnectProvider": otherTags,
  "iam:TagSAMLProvider": otherTags,
  "iam:UntagSAMLProvider": otherTags,
  "iam:TagMFADevice": otherTags,
  "iam:UntagMFADevice": otherTags,
  "iam:TagServerCertificate": otherTags,
  "iam:UntagServerCertificate": otherTags,
  // On any role (`*`, `role/*`): hand any role to a service, or become it.
  "iam:PassRole": {
    why: "hands any role to a service it starts",
    code: "PRIVILEGE_ESCALATION",
    onAnyRole: true,
  },
  "sts:AssumeRole": {
    why: "assumes any role that trusts this account",
    code: "PRIVILEGE_ESCALATION",
    onAnyRole: true,
  },
};

const actionsWhere = (pick: (c: AccessChange) => boolean) =>
  Object.entries(ACCESS_CHANGING)
    .filter(([, c]) => pick(c))
    .map(([n]) => n);
const why = Object.fromEntries(Object.entries(ACCESS_CHANGING).map(([n, c]) => [n, c.why]));
const ESCALATION = actionsWhere((c) => c.code === "PRIVILEGE_ESCALATION" && !c.onAnyRole);
const SELF_SERVICE = new Set(actionsWhere((c) => c.selfService === true));
const ON_ANY_ROLE = actionsWhere((c) => c.onAnyRole === true);
const ACCESS_TAG_ACTIONS = actionsWhere((c) => c.code === "ACCESS_TAG_CHANGE");

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

const explained = (actions: string[], reasons: Record<string, string>) =>
  list(actions.map((n) => `${n} (${reasons[n]})`));

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
  const escalations = live(ESCALATION);
  const onAnyRole = live(ON_ANY_ROLE);
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
          `grants ${explained(names, why)}: whoever holds it can give themselves more permissions`,
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
            `grants ${explained(names, why)} on every role (${anyRole}): name the roles instead`,
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
