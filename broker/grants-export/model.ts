// What `grants export` says about one grant, whatever the format: the row as the store holds it, turned into
// the resource that holds it in IAM (Terraform type, CloudFormation type, the id Terraform imports it by)
// and who asked for it, who approved it and until when. The three formats render this one model, so they
// carry the same content.

import type { RequestKind, TargetState } from "../../shared/requests.ts";

/** One target of a request as the reader reads it (targets ⋈ requests, approvals gathered). */
export interface GrantRow {
  requestId: string;
  n: number;
  kind: RequestKind;
  state: TargetState;
  accountId: string;
  type: "role" | "user";
  name: string;
  arn: string;
  policyName: string | null;
  policy: string | null;
  appliedPolicy: string | null;
  policyArn: string | null;
  groupName: string | null;
  requester: string;
  justification: string;
  /** Approvals that still count, in the order they were given. */
  approvers: string[];
  appliedAt: string | null;
  expiresAt: string | null;
  /** When the target last changed state: for an expired one, when it was reverted. */
  updatedAt: string;
  drift: string | null;
  note: string | null;
}

/**
 * Which grants: `applied` — every target in state applied (what IAM holds for Gatehouse now, including one
 * whose expiry has passed but which the expiry worker has not reverted yet); `active` — applied and not
 * past its expiry (permanent, or expiring after `now`); `expired-since` — targets reverted (state expired)
 * at or after `since`, so a reviewer can check that Terraform holds none of them.
 */
export type ExportMode = "applied" | "active" | "expired-since";

export interface ExportFilter {
  mode: ExportMode;
  /** ISO 8601; required by `expired-since`. */
  since?: string;
  /** Account ids; empty or absent: every account. */
  accounts?: string[];
  /** Only grants without an expiry (what a team commits). */
  permanentOnly?: boolean;
}

/** The JSON form of one grant; the Terraform and CloudFormation forms carry the same fields. */
export interface ExportedGrant {
  kind: RequestKind;
  state: TargetState;
  account: { id: string; name: string | null };
  target: { type: "role" | "user"; name: string; arn: string };
  /** The Terraform resource type that holds it; null for role access (not an IAM resource). */
  resourceType: string | null;
  /** The CloudFormation type that holds it; null where CloudFormation has none (see gaps). */
  cloudformationType: string | null;
  /** `TYPE.NAME` in the Terraform output. */
  address: string | null;
  /** The CloudFormation logical id, when there is a resource. */
  logicalId: string | null;
  /** The id `terraform import` takes for it (the AWS provider's format). */
  importId: string | null;
  policyName: string | null;
  policyArn: string | null;
  groupName: string | null;
  /** The document Gatehouse applied (inline policies), parsed; null otherwise. */
  policy: unknown;
  request: { id: string; target: number; justification: string };
  requester: string;
  approvers: string[];
  appliedAt: string | null;
  /** null: permanent. */
  expiresAt: string | null;
  /** expired-since: when Gatehouse reverted it. */
  revertedAt: string | null;
  drift: string | null;
  note: string | null;
}

export interface GrantExport {
  generatedAt: string;
  filter: ExportFilter;
  grants: ExportedGrant[];
}

/** What oneLine would change: a control character, whitespace other than one inner space. */
const NOT_ONE_LINE = /[\p{Cc}\u2028\u2029]|[^\S ]|\s\s|^\s|\s$/u;

/** One line, no control characters, at most `max` characters: safe in a comment of any format. */
export function oneLine(s: string, max = 200): string {
  // Most values are one short line already: a test allocates nothing where the replaces would copy.
  if (s.length <= max && !NOT_ONE_LINE.test(s)) return s;
  const flat = s
    .replace(/[\p{Cc}\u2028\u2029]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

const TF_TYPES: Record<"inline-policy" | "managed-policy", Record<"role" | "user", string>> = {
  "inline-policy": { role: "aws_iam_role_policy", user: "aws_iam_user_policy" },
  "managed-policy": { role: "aws_iam_role_policy_attachment", user: "aws_iam_user_policy_attachment" },
};

function resourceTypes(r: GrantRow): { tf: string | null; cfn: string | null; importId: string | null } {
  switch (r.kind) {
    case "inline-policy":
      return {
        tf: TF_TYPES["inline-policy"][r.type],
        cfn: r.type === "role" ? "AWS::IAM::RolePolicy" : "AWS::IAM::UserPolicy",
        importId: `${r.name}:${r.policyName ?? ""}`,
      };
    case "managed-policy":
      // CloudFormation cannot attach a managed policy to a role or user it does not own (a gap).
      return {
        tf: TF_TYPES["managed-policy"][r.type],
        cfn: null,
        importId: `${r.name}/${r.policyArn ?? ""}`,
      };
    case "group-membership":
      // One membership resource per grant (the resource is non-exclusive), so each keeps its own expiry.
      return {
        tf: "aws_iam_user_group_membership",
        cfn: "AWS::IAM::UserToGroupAddition",
        importId: `${r.name}/${r.groupName ?? ""}`,
      };
    default:
      return { tf: null, cfn: null, importId: null };
  }
}

const parsed = (doc: string | null): unknown => {
  if (doc === null) return null;
  try {
    return JSON.parse(doc);
  } catch {
    return doc;
  }
};

/** Names unique within one export: a clash after cleaning (never expected: ids are unique) gets a suffix. */
class Names {
  private readonly used = new Set<string>();
  take(base: string): string {
    let name = base;
    for (let i = 2; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}

/** A valid HCL identifier (letters, digits, `_`, `-`; not starting with a digit or `-`). */
export const hclName = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, "_");
/** A CloudFormation logical id (alphanumeric only). */
export const cfnName = (s: string) => s.replace(/[^A-Za-z0-9]+/g, "");

/** The rows, as the model all formats render. `accountNames`: id → name, for the comments. */
export function toExport(
  rows: readonly GrantRow[],
  filter: ExportFilter,
  accountNames: ReadonlyMap<string, string>,
  now = new Date(),
): GrantExport {
  const tf = new Names();
  const cfn = new Names();
  const grants = rows.map((r): ExportedGrant => {
    const t = resourceTypes(r);
    const stem = `${r.accountId}_${r.type}_${r.name}_${r.requestId}_${r.n}`;
    const address = t.tf ? `${t.tf}.${tf.take(hclName(`gh_${stem}`))}` : null;
    const logicalId = t.cfn
      ? cfn.take(cfnName(`Gh${r.accountId}${r.type}${r.name}${r.requestId}N${r.n}`))
      : null;
    return {
      kind: r.kind,
      state: r.state,
      account: { id: r.accountId, name: accountNames.get(r.accountId) ?? null },
      target: { type: r.type, name: r.name, arn: r.arn },
      resourceType: t.tf,
      cloudformationType: t.cfn,
      address,
      logicalId,
      importId: t.importId,
      policyName: r.kind === "inline-policy" ? r.policyName : null,
      policyArn: r.kind === "managed-policy" ? r.policyArn : null,
      groupName: r.kind === "group-membership" ? r.groupName : null,
      policy: r.kind === "inline-policy" ? parsed(r.appliedPolicy ?? r.policy) : null,
      request: { id: r.requestId, target: r.n, justification: oneLine(r.justification) },
      requester: r.requester,
      approvers: r.approvers,
      appliedAt: r.appliedAt,
      expiresAt: r.expiresAt,
      revertedAt: r.state === "expired" ? r.updatedAt : null,
      drift: r.drift,
      note: r.note,
    };
  });
  return { generatedAt: now.toISOString(), filter, grants };
}
