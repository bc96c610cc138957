// One module per kind of access. The request service keeps the state machine, approvals, leases,
// scheduling, audit and webhook; a kind says what its targets may be, checks a request before any IAM
// call, makes its one IAM change, reverts it at expiry and names what it grants.

import type { FastifyBaseLogger } from "fastify";
import type { Person } from "../../shared/access.ts";
import { GatehouseError } from "../../shared/errors.ts";
import type { CreateRequest, RequestKind } from "../../shared/requests.ts";
import type { AccessIndex } from "../access-index.ts";
import type { AwsGateway } from "../aws.ts";
import type { BrokerConfig } from "../config.ts";
import type { Coordination } from "../replica.ts";
import type { NewTarget, RequestsStore, TargetRow } from "../requests-store.ts";
import type { Store, SyncedRole, SyncedUser } from "../store.ts";

/** What a kind may use: the broker's parts and the checks every kind shares. */
export interface KindContext {
  readonly config: BrokerConfig;
  readonly store: Store;
  readonly requests: RequestsStore;
  readonly aws: AwsGateway;
  readonly index: AccessIndex;
  readonly co: Coordination;
  readonly log: FastifyBaseLogger;
  /**
   * Lint a policy: errors refuse it, and so does whatever can change access (REFUSED_CODES) unless
   * break-glass is on; returns the break-glass reasons (empty for an ordinary policy). `existing`: a
   * document IAM already holds (a managed or group policy) is judged by its risk only, not its errors.
   */
  checkPolicy(text: string, existing?: boolean): Promise<string[]>;
  /** Refused unless break-glass (then a reason): a target that is one of Gatehouse's own roles. */
  checkProtected(arn: string, what: string): string[];
  /** Tell other replicas a role, user or grant changed (failures are logged, not thrown). */
  publish(topic: string, key: string): void;
  /** Re-read the touched role or user in the background (one after another per ARN). */
  rereadSoon(t: TargetRow): void;
  /** Re-read the touched role or user now. */
  reread(t: TargetRow): Promise<void>;
}

/** A request's target as the create call resolved it from the synced copy. */
export interface ResolvedTarget {
  target: NewTarget;
  role?: SyncedRole;
  user?: SyncedUser;
}

/** What revert found at expiry. */
export interface Reverted {
  /**
   * Changed or removed outside Gatehouse while it was applied: reported (event, audit, webhook) once.
   * With `settled` the target still ends expired (nothing of Gatehouse's is left to remove); without it,
   * it stays applied until someone resolves it.
   */
  drift?: { why: string; detail: Record<string, unknown> };
  settled: boolean;
  /** Recorded with the expiry (e.g. alreadyGone). */
  detail?: Record<string, unknown>;
}

export interface KindModule {
  readonly kind: RequestKind;
  /** The IAM entities the kind can be granted on. */
  readonly targetTypes: readonly ("role" | "user")[];
  /** Why a target of the other type cannot take this kind (BAD_REQUEST's message). */
  wrongType(type: "role" | "user", input: string): string;
  /**
   * Check the request against the synced copy (never IAM) and fill in each target's row; returns the
   * break-glass reasons. Throws GatehouseError (POLICY_REFUSED, QUOTA_EXCEEDED, POLICY_NOT_FOUND …).
   */
  validate(
    ctx: KindContext,
    person: Person,
    body: CreateRequest,
    id: string,
    targets: ResolvedTarget[],
  ): Promise<string[]>;
  /** Fields of request.create's audit row naming what is granted. */
  createDetail?(targets: NewTarget[]): Record<string, unknown>;
  /** An approver's edit of the policy (only kinds that carry a document); returns break-glass reasons. */
  checkEdit?(ctx: KindContext, targets: TargetRow[], policy: string): Promise<string[]>;
  /** The one IAM change, idempotent (an apply resumed after a crash runs it again). */
  apply(ctx: KindContext, t: TargetRow): Promise<void>;
  /** In the transaction that moves the target to applied. */
  inAppliedTransaction?(ctx: KindContext, t: TargetRow): void;
  /** After applied: the broker's copy and indexes updated. */
  afterApply(ctx: KindContext, t: TargetRow, expiresAt: string | null): void;
  /** At expiry: undo the change, or report that it was changed outside Gatehouse. */
  revert(ctx: KindContext, t: TargetRow): Promise<Reverted>;
  /** In the transaction that moves the target to expired. */
  inExpiredTransaction?(ctx: KindContext, t: TargetRow): void;
  /** After expired: the broker's copy updated. */
  afterRevert?(ctx: KindContext, t: TargetRow): Promise<void>;
  /** Remove a drifted grant as it now is (resolve → delete); returns whether it was already gone. */
  removeDrifted?(ctx: KindContext, t: TargetRow): Promise<boolean>;
  /**
   * Whether the synced copy still shows an applied grant (false: removed outside Gatehouse; undefined:
   * the copy cannot tell). Kinds without it are checked for drift at expiry only.
   */
  held?(ctx: KindContext, t: TargetRow): boolean | undefined;
  /** A target that stays applied in the broker after a start (role-access grants into the index). */
  restore?(ctx: KindContext, t: TargetRow): void;
  /** What a target grants, for the audit rows, the UI and the webhook. */
  describe(t: Grantee): Described;
  /**
   * What the webhook's text calls the thing granted ("managed policy", "IAM group"), named by describe().
   * Absent where the target's ARN says it all (role access) or the name is Gatehouse's own (inline policy).
   */
  readonly grantNoun?: string;
}

/** A target as far as describe() needs it: a stored row, a request's target or a new one. */
export type Grantee = Pick<TargetRow, "arn" | "policyName" | "policyArn" | "groupName">;

export interface Described {
  /** What is granted, short: the inline policy's name, the managed policy's ARN, the group's name. */
  name: string;
  /** One line for people: "AttachRolePolicy ReadOnlyAccess on arn:…". */
  summary: string;
  /** The fields audit rows carry about it (policyName, policyArn, groupName). */
  detail: Record<string, unknown>;
}

export const isNoSuchEntity = (e: unknown): boolean => {
  const name = (e as { name?: string }).name;
  return name === "NoSuchEntity" || name === "NoSuchEntityException";
};

/** States in which a target holds (or is about to hold) its grant: what quotas count besides IAM's copy. */
const HOLDING = ["pending", "approved", "applying", "applied"] as const;

/** Gatehouse's open grants of one kind on one role or user (pending to applied). */
export function openGrants(ctx: KindContext, kind: KindModule["kind"], arn: string): TargetRow[] {
  return ctx.requests.targetsIn([...HOLDING]).filter((t) => t.kind === kind && t.arn === arn);
}

/** Lint a document IAM already holds, naming which one in the refusal and in the break-glass reasons. */
export async function checkNamed(ctx: KindContext, what: string, document: string): Promise<string[]> {
  try {
    return (await ctx.checkPolicy(document, true)).map((r) => `${what}: ${r}`);
  } catch (e) {
    if (e instanceof GatehouseError) throw new GatehouseError(e.code, `${what}: ${e.message}`);
    throw e;
  }
}
