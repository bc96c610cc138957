// From parsed denials to one inline-policy request: which role or user, which actions on which resources.
// Pure: the targets Gatehouse manages and the actions catalogue are handed in.

import { GatehouseError } from "../errors.ts";
import { type Denial, POLICY_TYPES } from "./types.ts";

/** What drafting needs to know of a role or IAM user Gatehouse manages (a RequestTarget has it). */
export interface ManagedTarget {
  arn: string;
  accountId: string;
  type: "role" | "user";
  name: string;
}

/** What drafting asks the actions catalogue: AWS's spelling, whether it takes only `*`, what it depends on. */
export interface ActionFacts {
  name: string;
  wildcardOnly: boolean;
  dependentActions: string[];
}
export type ActionLookup = (action: string) => Promise<ActionFacts | undefined>;

/** The role or user a denial's principal is, as Gatehouse names it. */
export interface PrincipalRef {
  partition: string;
  accountId: string;
  type: "role" | "user";
  name: string;
}

/**
 * An assumed-role session (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`) is that role; a user ARN
 * (`arn:aws:iam::ACCOUNT:user/PATH/NAME`) that user; a role ARN that role. Anything else (a federated user,
 * `anonymous`, root) is nobody Gatehouse can give permissions to.
 */
export function principalRef(principal: string | null): PrincipalRef | null {
  if (principal === null) return null;
  const m = /^arn:(aws[a-z-]*):(sts|iam)::(\d{12}):(assumed-role|role|user)\/(.+)$/.exec(principal);
  if (!m) return null;
  const [, partition, service, accountId, kind, rest] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (kind === "assumed-role") {
    if (service !== "sts") return null;
    const role = rest.split("/")[0]!;
    return role ? { partition, accountId, type: "role", name: role } : null;
  }
  if (service !== "iam") return null;
  const name = rest.split("/").pop()!;
  return name ? { partition, accountId, type: kind === "user" ? "user" : "role", name } : null;
}

/** The managed role or user a principal is; none when Gatehouse does not manage it. */
export function findTarget(ref: PrincipalRef, targets: readonly ManagedTarget[]): ManagedTarget | undefined {
  return targets.find((t) => t.accountId === ref.accountId && t.type === ref.type && t.name === ref.name);
}

/** IAM's "role Deploy" (kind and name) as an ARN in the principal's account; an ARN as it is; none as `*`. */
function resourceArn(resource: string | null, ref: PrincipalRef): string {
  if (resource === null) return "*";
  const named = /^(role|user|group|policy|instance-profile) (\S+)$/.exec(resource);
  if (named) return `arn:${ref.partition}:iam::${ref.accountId}:${named[1]}/${named[2]}`;
  return resource.startsWith("arn:") ? resource : "*";
}

export interface Refusal {
  denial: Denial;
  /** Why a request cannot fix it, in one line. */
  reason: string;
}

export interface Draft {
  target: ManagedTarget;
  /** Every action of the policy, sorted: those denied, then the dependent ones the catalogue adds. */
  actions: string[];
  /** Actions the catalogue adds because a denied action depends on them (granted on `*`: their resource is unknown). */
  dependent: string[];
  policy: {
    Version: "2012-10-17";
    Statement: { Sid: string; Effect: "Allow"; Action: string[]; Resource: string | string[] }[];
  };
  /** The fixable denials the policy answers. */
  denials: Denial[];
  /** Denials in the same text that no request can fix (shown, not requested). */
  refused: Refusal[];
}

function refusalReason(d: Denial): string {
  if (d.action === null) return "the message names no action (the service hides it); nothing to ask for";
  if (d.cause === "encoded") return "the reason is encoded; decode it first";
  if (d.cause === "explicit")
    return `an explicit deny in a ${d.policyType ? POLICY_TYPES[d.policyType].phrase : "policy"}: an Allow cannot override it`;
  if (d.cause === "implicit")
    return `no ${d.policyType ? POLICY_TYPES[d.policyType].phrase : "policy"} allows it: the role's or user's own policy cannot fix that`;
  if (principalRef(d.principal) === null) return "the principal is not an IAM role or user";
  return "the message does not say which policy denied it, so a request may not fix it";
}

/**
 * One inline policy for every fixable denial in `denials`. Throws NO_DENIAL when there is none at all,
 * DENIAL_NOT_REQUESTABLE when none can be fixed by a request (the message names who can fix it),
 * DENIAL_MIXED_PRINCIPALS when the fixable ones belong to several roles or users, and DENIAL_TARGET_UNKNOWN
 * when Gatehouse does not manage that role or user.
 */
export async function draftFromDenials(
  denials: readonly Denial[],
  targets: readonly ManagedTarget[],
  lookup: ActionLookup,
): Promise<Draft> {
  if (denials.length === 0)
    throw new GatehouseError("NO_DENIAL", "the text holds no AWS access-denied message");
  const fixable = denials.filter((d) => d.fixable && principalRef(d.principal) !== null);
  const refused: Refusal[] = denials
    .filter((d) => !fixable.includes(d))
    .map((d) => ({ denial: d, reason: refusalReason(d) }));
  if (fixable.length === 0) {
    const lines = refused.map(
      (r) =>
        `${r.denial.action ?? r.denial.operation ?? "a call"}: ${r.reason}; who can fix it: ${r.denial.fixer}`,
    );
    throw new GatehouseError(
      "DENIAL_NOT_REQUESTABLE",
      `no request can fix ${denials.length === 1 ? "this denial" : "these denials"}: ${lines.join(" | ")}`,
    );
  }
  const refs = fixable.map((d) => principalRef(d.principal)!);
  const keys = new Set(refs.map((r) => `${r.accountId}/${r.type}/${r.name}`));
  if (keys.size > 1)
    throw new GatehouseError(
      "DENIAL_MIXED_PRINCIPALS",
      `the denials are for ${[...keys].join(", ")}; paste the errors of one role or user at a time`,
    );
  const ref = refs[0]!;
  const target = findTarget(ref, targets);
  if (!target)
    throw new GatehouseError(
      "DENIAL_TARGET_UNKNOWN",
      `${ref.type} ${ref.name} in account ${ref.accountId} is not a ${ref.type} Gatehouse manages (or you may not ask for it); its own administrators can fix the denial`,
    );

  // action → resources, in AWS's spelling of the action (the message may lower-case it).
  const byAction = new Map<string, Set<string>>();
  const dependent = new Set<string>();
  for (const d of fixable) {
    const facts = await lookup(d.action!);
    const action = facts?.name ?? d.action!;
    const resources = byAction.get(action) ?? new Set<string>();
    resources.add(facts?.wildcardOnly ? "*" : resourceArn(d.resource, ref));
    byAction.set(action, resources);
    for (const dep of facts?.dependentActions ?? []) dependent.add(dep);
  }
  for (const a of byAction.keys()) dependent.delete(a);
  // Actions that share the same resources share a statement; `*` swallows the rest of an action's list.
  const groups = new Map<string, string[]>();
  for (const [action, resources] of byAction) {
    const list = resources.has("*") ? ["*"] : [...resources].sort();
    const key = JSON.stringify(list);
    groups.set(key, [...(groups.get(key) ?? []), action]);
  }
  if (dependent.size) {
    const key = JSON.stringify(["*"]);
    groups.set(key, [...(groups.get(key) ?? []), ...dependent]);
  }
  const Statement = [...groups.entries()].map(([key, actions], i) => {
    const resources = JSON.parse(key) as string[];
    return {
      Sid: `FromDenial${i + 1}`,
      Effect: "Allow" as const,
      Action: [...new Set(actions)].sort(),
      Resource: resources.length === 1 ? resources[0]! : resources,
    };
  });
  return {
    target,
    actions: [...new Set([...byAction.keys(), ...dependent])].sort(),
    dependent: [...dependent].sort(),
    policy: { Version: "2012-10-17", Statement },
    denials: fixable,
    refused,
  };
}
