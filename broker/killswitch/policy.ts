// The kill switch's deny policy: one Gatehouse-owned inline policy per role, one statement per revoked
// person, denying everything their sessions issued before the revocation may do. Pure, no I/O.

import { createHash } from "node:crypto";
import { policySize, ROLE_INLINE_LIMIT } from "../../shared/policy-lint.ts";

/** The inline policy's name on every role: requests name theirs `gatehouse-<id>-<n>`, never this. */
export const REVOKED_SESSIONS_POLICY = "GatehouseRevokedSessions";

/** One revoked person's sessions on one role. */
export interface RevokedStatement {
  revocationId: string;
  /** What the broker put in SourceIdentity when it issued their sessions (issue.ts sessionNameFor). */
  sourceIdentity: string;
  /** Sessions issued before this whole second are denied (aws:TokenIssueTime, ISO 8601, seconds). */
  denyBefore: string;
}

/**
 * The deny threshold for a revocation at `revokedAt`: the next whole second. AWS (and the emulator)
 * write aws:TokenIssueTime in whole seconds, so a session issued in the revocation's own second reads
 * as issued at its start; rounding up catches it. The price: after `people enable`, sessions issued
 * within that same second are denied too, so enabling waits for the threshold (see KillSwitch.restore).
 */
export function denyBeforeOf(revokedAt: Date): string {
  const s = Math.ceil(revokedAt.getTime() / 1000) * 1000;
  return new Date(s).toISOString().replace(".000Z", "Z");
}

/** A Sid IAM accepts (alphanumeric), stable for one revocation, without the e-mail in it. */
export function statementId(revocationId: string): string {
  return `Revoked${createHash("sha256").update(revocationId).digest("hex").slice(0, 20)}`;
}

export function statementOf(s: RevokedStatement) {
  return {
    Sid: statementId(s.revocationId),
    Effect: "Deny",
    Action: "*",
    Resource: "*",
    Condition: {
      // Ignoring case: the IdP may send one person's e-mail in different cases over time, and the broker
      // puts it in SourceIdentity as the token had it.
      StringEqualsIgnoreCase: { "aws:SourceIdentity": s.sourceIdentity },
      DateLessThan: { "aws:TokenIssueTime": s.denyBefore },
    },
  };
}

export function documentOf(statements: readonly RevokedStatement[]): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: statements.map(statementOf) });
}

/**
 * The document that fits beside the role's other inline policies (IAM's 10,240 characters per role,
 * white space not counted), taking statements in the order given (oldest revocation first) and
 * leaving out those that do not fit: they are reported and retried, never dropped silently.
 */
export function fitDocument<S extends RevokedStatement>(
  statements: readonly S[],
  otherPolicies: Record<string, string>,
): { document: string | null; included: S[]; left: S[]; budget: number } {
  let used = 0;
  for (const [name, doc] of Object.entries(otherPolicies))
    if (name !== REVOKED_SESSIONS_POLICY) used += policySize(doc);
  const budget = ROLE_INLINE_LIMIT - used;
  const included: S[] = [];
  const left: S[] = [];
  for (const s of statements) {
    if (policySize(documentOf([...included, s])) <= budget) included.push(s);
    else left.push(s);
  }
  return { document: included.length > 0 ? documentOf(included) : null, included, left, budget };
}

/** Whether an inline policy is the kill switch's own (lint and requests leave it alone). */
export function isRevokedSessionsPolicy(name: string): boolean {
  return name === REVOKED_SESSIONS_POLICY;
}
