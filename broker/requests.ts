// Permission requests: create (lint and size checked before any IAM call), approve/reject/cancel/retry,
// apply exactly once through the spoke role, role-access grants, and the expiry scheduler.

import { randomBytes } from "node:crypto";
import {
  GetUserCommand,
  GetUserPolicyCommand,
  ListAttachedUserPoliciesCommand,
  type ListAttachedUserPoliciesCommandOutput,
  ListGroupsForUserCommand,
  type ListGroupsForUserCommandOutput,
  ListUserPoliciesCommand,
} from "@aws-sdk/client-iam";
import type { FastifyBaseLogger } from "fastify";
import { type Person, personPrincipals } from "../shared/access.ts";
import { GatehouseError } from "../shared/errors.ts";
import { lintPolicy, REFUSED_CODES } from "../shared/policy-lint.ts";
import {
  type ApproveRequest,
  type CreateRequest,
  expirySeconds,
  MAX_EXPIRY_SECONDS,
  MIN_EXPIRY_SECONDS,
  type PermissionRequest,
  type RequestKind,
  type ResolveTarget,
} from "../shared/requests.ts";
import { parseRoleRef } from "../shared/roles.ts";
import type { AccessIndex } from "./access-index.ts";
import { type AwsGateway, fromAwsError } from "./aws.ts";
import type { BrokerConfig } from "./config.ts";
import { type KindContext, type KindModule, kindModule } from "./kinds/index.ts";
import { decode } from "./kinds/inline-policy.ts";
import type { Grantee, ResolvedTarget } from "./kinds/types.ts";
import { cancelOpenRequestsOf } from "./people/cancel.ts";
import { type Coordination, SOLO } from "./replica.ts";
import type { RequestsStore, TargetRow } from "./requests-store.ts";
import type { Store, SyncedRole } from "./store.ts";
import type { Syncer } from "./sync.ts";
import { APPROVERS_TAG, approversOf, lintOptionsOf, protectedArns } from "./targets.ts";
import type { NotifyKind, Webhook } from "./webhook.ts";

export { APPROVERS_TAG };

const SYSTEM = "gatehouse";
const EXPIRING_NOTICE_MS = 3600_000;
/** How long before a sync began reading a grant must have been applied for the sync to judge it. */
const HELD_MARGIN_MS = 5 * 60_000;

const pretty = (text: string) => {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
};

/** A line diff (LCS) of two policies as pretty JSON: "- " removed, "+ " added, "  " kept. */
export function policyDiff(before: string, after: string): string {
  const a = pretty(before).split("\n");
  const b = pretty(after).split("\n");
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(`  ${a[i++]}`);
      j++;
    } else if (j < b.length && (i >= a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) out.push(`+ ${b[j++]}`);
    else out.push(`- ${a[i++]}`);
  }
  return out.join("\n");
}

export interface RequestServiceDeps {
  config: BrokerConfig;
  store: Store;
  requests: RequestsStore;
  aws: AwsGateway;
  syncer: Syncer;
  index: AccessIndex;
  webhook: Webhook;
  log: FastifyBaseLogger;
  isAdmin(groups: readonly string[]): boolean;
  /** Several brokers on one database (broker/replica.ts); alone when absent. */
  coordination?: Coordination;
}

export class RequestService {
  private timer: NodeJS.Timeout | undefined;
  private started: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly protectedArns: string[];
  private readonly lower: boolean;
  /** What kind modules use of the broker (broker/kinds/types.ts). */
  private readonly ctx: KindContext;

  constructor(private readonly d: RequestServiceDeps) {
    const c = d.config;
    this.protectedArns = protectedArns(c);
    this.lower = c.oidc.force_groups_lowercase;
    this.ctx = {
      config: d.config,
      store: d.store,
      requests: d.requests,
      aws: d.aws,
      index: d.index,
      co: d.coordination ?? SOLO,
      log: d.log,
      checkPolicy: (text, existing) => this.checkPolicy(text, existing),
      checkProtected: (arn, what) => this.checkProtected(arn, what),
      publish: (topic, key) => this.publish(topic, key),
      rereadSoon: (t) => this.rereadSoon(t),
      reread: (t) => this.reread(t),
    };
    // Notifications wait in the broker database's outbox, so a restart loses none.
    d.webhook.attach({
      outbox: d.requests.outbox,
      maxAttempts: c.requests.webhook_max_attempts,
      maxAgeMs: c.requests.webhook_max_age_seconds * 1000,
      backoffMs: c.requests.webhook_backoff_ms,
      audit: (action, detail, ok) => this.audit(SYSTEM, action, null, detail, ok),
    });
  }

  private get rc() {
    return this.d.config.requests;
  }

  // ---- targets, approvers, checks -------------------------------------------------------------

  private resolveTarget(input: string, mod: KindModule): ResolvedTarget {
    const accounts = this.d.config.aws.accounts;
    const user = /^arn:aws[a-z-]*:iam::(\d{12}):user\//.exec(input);
    const named = /^(?:([^/]+)\/)?user\/([\w+=,.@-]{1,64})$/.exec(input);
    if (user || named) {
      const u = user ? this.d.store.getUser(input) : this.userNamed(input, named![1], named![2]!);
      if (!u || !accounts.some((a) => a.id === u.accountId))
        throw new GatehouseError("BAD_REQUEST", `no synced IAM user ${input}`);
      if (!mod.targetTypes.includes("user"))
        throw new GatehouseError("BAD_REQUEST", mod.wrongType("user", input));
      return {
        user: u,
        target: {
          arn: u.arn,
          accountId: u.accountId,
          type: "user",
          name: u.name,
          policyName: null,
          policy: null,
        },
      };
    }
    const ref = parseRoleRef(input);
    let role: SyncedRole | undefined;
    if (ref?.kind === "arn") role = this.d.store.getRole(ref.arn);
    else if (ref) {
      const acct = accounts.find((a) => a.id === ref.account || a.name === ref.account);
      role = acct ? this.d.store.roleNamed(acct.id, ref.role) : undefined;
    }
    if (!role || !accounts.some((a) => a.id === role.accountId))
      throw new GatehouseError("BAD_REQUEST", `no synced role or user "${input}"`);
    if (!mod.targetTypes.includes("role"))
      throw new GatehouseError("BAD_REQUEST", mod.wrongType("role", input));
    return {
      role,
      target: {
        arn: role.arn,
        accountId: role.accountId,
        type: "role",
        name: role.name,
        policyName: null,
        policy: null,
      },
    };
  }

  /** A user by `account/user/NAME` (account name or id), or `user/NAME` when one account has that user. */
  private userNamed(input: string, account: string | undefined, name: string) {
    const accounts = this.d.config.aws.accounts.filter(
      (a) => account === undefined || a.id === account || a.name === account,
    );
    const ids = new Set(accounts.map((a) => a.id));
    const found = this.d.store.loadUsers().filter((u) => ids.has(u.accountId) && u.name === name);
    if (found.length > 1)
      throw new GatehouseError(
        "BAD_REQUEST",
        `"${input}" names users in ${found.length} accounts; write account/user/${name} or the user's ARN`,
      );
    return found[0];
  }

  /**
   * Lint a policy: errors refuse it, and so does whatever can change access (REFUSED_CODES: escalation,
   * access tags, Gatehouse's roles; SECURITY 25, 31) unless break-glass is on. Returns the break-glass
   * reasons (empty for an ordinary policy): with them the request needs an admin among its approvers.
   */
  private async checkPolicy(text: string, existing = false): Promise<string[]> {
    const lint = await lintPolicy(text, lintOptionsOf(this.d.config));
    const line = (f: { code: string; path: string; message: string }) =>
      `${f.code} at ${f.path || "policy"}: ${f.message}`;
    const refused = lint.findings.filter((f) => (REFUSED_CODES as readonly string[]).includes(f.code));
    if (refused.length && !this.rc.break_glass)
      throw new GatehouseError(
        "POLICY_REFUSED",
        `refused (risk ${lint.risk}): ${refused.map(line).join("; ")}`,
      );
    // A document IAM already holds (a managed policy, a group's policy) was valid when IAM took it: lint
    // errors (sizes of inline policies, services our catalogue lacks) say nothing about it, only its risk.
    if (existing) return refused.map(line);
    const errors = lint.findings.filter(
      (f) => f.severity === "error" && !(REFUSED_CODES as readonly string[]).includes(f.code),
    );
    if (errors.length)
      throw new GatehouseError("POLICY_REFUSED", `the policy has errors: ${errors.map(line).join("; ")}`);
    return refused.map(line);
  }

  /** Refused unless break-glass (then a reason): a target that is one of Gatehouse's own roles. */
  private checkProtected(arn: string, what: string): string[] {
    if (!this.protectedArns.includes(arn)) return [];
    if (!this.rc.break_glass)
      throw new GatehouseError("POLICY_REFUSED", `${arn} is a Gatehouse role; ${what} not requestable`);
    return [`PROTECTED_ROLE at targets: ${arn} is a Gatehouse role`];
  }

  private mayApprove(person: Person, t: { type: "role" | "user"; arn: string; accountId: string }): boolean {
    const set = approversOf(this.d.config, this.d.store, t);
    return personPrincipals(person, this.lower).some((p) => set.has(p));
  }

  private isRequester(person: Person, r: PermissionRequest): boolean {
    return person.email.toLowerCase() === r.requester.email.toLowerCase();
  }

  /** Admins approve break-glass requests too: such a request waits for one of them (SECURITY 31). */
  private mayApproveTarget(
    person: Person,
    r: PermissionRequest,
    t: { type: "role" | "user"; arn: string; accountId: string },
  ): boolean {
    return this.mayApprove(person, t) || (r.breakGlass === true && this.d.isAdmin(person.groups));
  }

  private mayApproveAny(person: Person, r: PermissionRequest): boolean {
    return !this.isRequester(person, r) && r.targets.some((t) => this.mayApproveTarget(person, r, t));
  }

  private load(person: Person, id: string): PermissionRequest {
    const r = this.d.requests.get(id);
    if (
      !r ||
      !(this.isRequester(person, r) || this.mayApproveAny(person, r) || this.d.isAdmin(person.groups))
    )
      throw new GatehouseError("REQUEST_NOT_FOUND", `no request ${id} that you may see`);
    return r;
  }

  private audit(
    actor: string,
    action: string,
    target: string | null,
    detail: Record<string, unknown>,
    ok = true,
  ) {
    // Every row about a break-glass request says so (SECURITY 31), whoever writes it.
    const requestId = action.startsWith("request.") && target ? target.split("/")[0]! : undefined;
    const marked = requestId && this.d.requests.isBreakGlass(requestId) ? { breakGlass: true } : {};
    this.d.store.appendAudit({
      actor,
      action,
      target,
      outcome: ok ? "ok" : "error",
      detail: { ...detail, ...marked },
    });
  }

  private notify(
    kind: NotifyKind,
    r: { id: string; requester: string; kind: RequestKind; breakGlass?: boolean },
    actor: string,
    targets: readonly Grantee[],
    detail?: string,
  ) {
    // Every message about a break-glass request says so, not only the first.
    const breakGlass = r.breakGlass ?? this.d.requests.isBreakGlass(r.id);
    // The ARNs say whose access changes; for a managed policy or a group only the name says what it is.
    const mod = kindModule(r.kind);
    const names = mod.grantNoun
      ? [...new Set(targets.map((t) => mod.describe(t).name).filter((v) => v !== ""))]
      : [];
    this.d.webhook.notify({
      kind,
      requestId: r.id,
      requester: r.requester,
      actor,
      targets: targets.map((t) => t.arn),
      ...(detail ? { detail } : {}),
      ...(breakGlass ? { breakGlass } : {}),
      ...(mod.grantNoun && names.length ? { granted: { kind: r.kind, what: mod.grantNoun, names } } : {}),
    });
  }

  // ---- the API ----------------------------------------------------------------------------------

  async create(person: Person, body: CreateRequest): Promise<PermissionRequest> {
    const mod = kindModule(body.kind);
    const expiry = expirySeconds(body.expiry, this.rc.allow_permanent);
    const id = randomBytes(8).toString("hex");
    const resolved = body.targets.map((t) => this.resolveTarget(t, mod));
    const breakGlass = await mod.validate(this.ctx, person, body, id, resolved);
    this.d.requests.create(
      {
        id,
        kind: body.kind,
        requester: { email: person.email, groups: [...person.groups] },
        justification: body.justification,
        expirySeconds: expiry,
        policy: body.policy ?? null,
        createdAt: new Date().toISOString(),
        targets: resolved.map((r) => r.target),
        breakGlass: breakGlass.length ? breakGlass : null,
      },
      person.email,
    );
    const arns = resolved.map((r) => r.target.arn);
    this.audit(person.email, "request.create", id, {
      kind: body.kind,
      targets: arns,
      ...mod.createDetail?.(resolved.map((r) => r.target)),
      expirySeconds: expiry,
      ...(breakGlass.length ? { breakGlass: true, breakGlassReasons: breakGlass } : {}),
    });
    this.notify(
      "new",
      { id, requester: person.email, kind: body.kind, breakGlass: breakGlass.length > 0 },
      person.email,
      resolved.map((r) => r.target),
      body.justification,
    );
    return this.d.requests.get(id)!;
  }

  list(person: Person, role: "requester" | "approver" = "requester"): PermissionRequest[] {
    if (role === "requester") return this.d.requests.list({ requester: person.email });
    return this.d.requests.list({ pending: true }).filter(
      (r) =>
        this.mayApproveAny(person, r) &&
        // Still waiting for this person: a target they may approve and have not approved yet.
        r.targets.some(
          (t) =>
            t.state === "pending" &&
            this.mayApproveTarget(person, r, t) &&
            !r.approvals.some(
              (a) =>
                a.target === t.n &&
                !a.supersededAt &&
                a.approver.toLowerCase() === person.email.toLowerCase(),
            ),
        ),
    );
  }

  get(person: Person, id: string): PermissionRequest {
    return this.load(person, id);
  }

  async approve(person: Person, id: string, body: ApproveRequest): Promise<PermissionRequest> {
    const r = this.load(person, id);
    // SECURITY 24: whatever groups the requester is in, their own request is not theirs to approve.
    if (this.isRequester(person, r)) {
      throw new GatehouseError("SELF_APPROVAL", "you may not approve your own request");
    }
    const mine = r.targets.filter((t) => this.mayApproveTarget(person, r, t));
    if (mine.length === 0) throw new GatehouseError("NOT_AN_APPROVER", `you may not approve request ${id}`);
    const pending = mine.filter((t) => t.state === "pending");
    if (pending.length === 0)
      throw new GatehouseError("ILLEGAL_TRANSITION", `request ${id} has no pending target you may approve`);
    let editReasons: string[] = [];
    if (body.policy !== undefined) {
      const mod = kindModule(r.kind);
      if (!mod.checkEdit)
        throw new GatehouseError("BAD_REQUEST", "only inline-policy requests have a policy to edit");
      const rows = pending.map((t) => this.d.requests.target(id, t.n)!);
      editReasons = await mod.checkEdit(this.ctx, rows, body.policy);
    }
    const breakGlass = r.breakGlass === true || editReasons.length > 0;
    const admin = this.d.isAdmin(person.groups);
    let expiresAt: string | null = null;
    if (body.expiresAt) {
      const at = new Date(body.expiresAt).getTime();
      const ahead = (at - Date.now()) / 1000;
      if (ahead < MIN_EXPIRY_SECONDS - 60 || ahead > MAX_EXPIRY_SECONDS)
        throw new GatehouseError("BAD_REQUEST", "expiresAt must be 1 hour to 90 days from now");
      expiresAt = new Date(at).toISOString();
    }
    // A second approval by the same person does not count twice (unless it carries an edit, which
    // replaces every earlier approval of the target, theirs included).
    const approvedBy = (t: { n: number }) =>
      r.approvals.some(
        (a) => a.target === t.n && !a.supersededAt && a.approver.toLowerCase() === person.email.toLowerCase(),
      );
    const edits = (t: (typeof pending)[number]) =>
      (body.policy !== undefined && t.policy !== null && body.policy !== t.policy) ||
      (expiresAt !== null && expiresAt !== t.expiresAt);
    if (pending.every((t) => approvedBy(t) && !edits(t))) {
      throw new GatehouseError(
        "ALREADY_APPROVED",
        `you have already approved request ${id}; it needs ${this.rc.approvals_required} approvals from different approvers`,
      );
    }
    // Marked before any approval of the edit is recorded, so no concurrent approval can apply it unmarked.
    if (editReasons.length) this.d.requests.markBreakGlass(id, editReasons);
    const ready: number[] = [];
    const reset: Grantee[] = [];
    let recorded = 0;
    let lost: unknown;
    for (const t of pending) {
      if (approvedBy(t) && !edits(t)) continue;
      const diff =
        body.policy !== undefined && t.policy !== null && body.policy !== t.policy
          ? policyDiff(t.policy, body.policy)
          : null;
      // An edit (policy or expiry) after earlier approvals resets them: they approved something else.
      const edited = edits(t);
      let count: number;
      try {
        count = this.d.requests.approve(
          id,
          t.n,
          { approver: person.email, comment: body.comment ?? null, diff, expiresAt, admin },
          {
            patch: { ...(diff ? { policy: body.policy! } : {}), ...(expiresAt ? { expiresAt } : {}) },
            resetEarlier: edited,
          },
        );
      } catch (e) {
        // The lint above awaited: a concurrent approval may have moved this target meanwhile.
        if (
          e instanceof GatehouseError &&
          (e.code === "ILLEGAL_TRANSITION" || e.code === "ALREADY_APPROVED") &&
          pending.length > 1
        ) {
          lost = e;
          continue;
        }
        throw e;
      }
      recorded++;
      const earlier = t.approvals;
      if (edited && earlier > 0) reset.push(t);
      this.audit(person.email, "request.approve", `${id}/${t.n}`, {
        arn: t.arn,
        diff,
        expiresAt,
        approvals: count,
        required: this.rc.approvals_required,
        ...(edited && earlier > 0 ? { resetApprovals: earlier } : {}),
        ...(breakGlass ? { admin } : {}),
      });
      // SECURITY 31: enough approvals are not enough for break-glass; one of them must be an admin's.
      const waitsForAdmin = breakGlass && this.d.requests.adminApprovals(id, t.n) === 0;
      if (waitsForAdmin && count >= this.rc.approvals_required)
        this.d.requests.event(id, t.n, person.email, "awaiting-admin", { approvals: count });
      if (count >= this.rc.approvals_required && !waitsForAdmin) {
        try {
          this.d.requests.move(id, t.n, "approve", person.email, {}, { approvals: count });
          ready.push(t.n);
        } catch (e) {
          // A concurrent approval moved it first; that one applies it.
          if (!(e instanceof GatehouseError && e.code === "ILLEGAL_TRANSITION")) throw e;
        }
      }
    }
    if (recorded === 0 && lost) throw lost;
    if (reset.length)
      this.notify(
        "edited",
        { id, requester: r.requester.email, kind: r.kind, breakGlass },
        person.email,
        reset,
        "edited after earlier approvals; they must approve again",
      );
    if (ready.length)
      this.notify(
        "approved",
        { id, requester: r.requester.email, kind: r.kind, breakGlass },
        person.email,
        ready.map((n) => r.targets[n]!),
      );
    await Promise.all(ready.map((n) => this.apply(id, n, person.email)));
    return this.d.requests.get(id)!;
  }

  reject(person: Person, id: string, reason: string): PermissionRequest {
    const r = this.load(person, id);
    if (this.isRequester(person, r))
      throw new GatehouseError("SELF_APPROVAL", "cancel your own request instead");
    const mine = r.targets.filter((t) => this.mayApproveTarget(person, r, t) && t.state === "pending");
    if (mine.length === 0) {
      if (!r.targets.some((t) => this.mayApproveTarget(person, r, t)))
        throw new GatehouseError("NOT_AN_APPROVER", `you may not reject request ${id}`);
      throw new GatehouseError("ILLEGAL_TRANSITION", `request ${id} has no pending target you may reject`);
    }
    for (const t of mine) this.d.requests.move(id, t.n, "reject", person.email, {}, { reason });
    this.audit(person.email, "request.reject", id, { reason, targets: mine.map((t) => t.arn) });
    this.notify("rejected", { id, requester: r.requester.email, kind: r.kind }, person.email, mine, reason);
    return this.d.requests.get(id)!;
  }

  cancel(person: Person, id: string): PermissionRequest {
    const r = this.load(person, id);
    if (!this.isRequester(person, r))
      throw new GatehouseError("FORBIDDEN", "only the requester may cancel a request");
    const open = r.targets.filter((t) => ["pending", "approved", "failed"].includes(t.state));
    if (open.length === 0)
      throw new GatehouseError("ILLEGAL_TRANSITION", `request ${id} has nothing left to cancel`);
    for (const t of open) this.d.requests.move(id, t.n, "cancel", person.email);
    this.audit(person.email, "request.cancel", id, { targets: open.map((t) => t.arn) });
    return this.d.requests.get(id)!;
  }

  /**
   * A disabled person's open requests (pending, approved but not applied, failed) are cancelled, so nobody
   * approves or applies them later; what is already applied expires as it would. Returns the ids.
   */
  cancelAllOf(email: string, actor: string, reason: string): string[] {
    const cancelled = cancelOpenRequestsOf(this.d.requests, email, actor, reason);
    for (const c of cancelled)
      this.audit(actor, "request.cancel", c.id, { reason, targets: c.targets, personDisabled: true });
    return cancelled.map((c) => c.id);
  }

  async retry(person: Person, id: string): Promise<PermissionRequest> {
    const r = this.load(person, id);
    const failed = r.targets.filter((t) => t.state === "failed");
    if (failed.length === 0)
      throw new GatehouseError("ILLEGAL_TRANSITION", `request ${id} has no failed target`);
    for (const t of failed) this.d.requests.move(id, t.n, "retry", person.email);
    this.audit(person.email, "request.retry", id, { targets: failed.map((t) => t.arn) });
    await Promise.all(failed.map((t) => this.apply(id, t.n, person.email)));
    return this.d.requests.get(id)!;
  }

  /**
   * Settle a target whose policy was changed outside Gatehouse (drift found at expiry). Approvers of the
   * target (never the requester) and admins may: `delete` removes the inline policy as it now is; `keep`
   * leaves it in IAM and Gatehouse stops managing it. Either way the target ends expired.
   */
  async resolve(person: Person, id: string, n: number, body: ResolveTarget): Promise<PermissionRequest> {
    const r = this.load(person, id);
    const t = this.d.requests.target(id, n);
    if (!t) throw new GatehouseError("REQUEST_NOT_FOUND", `request ${id} has no target ${n}`);
    const admin = this.d.isAdmin(person.groups);
    if (!admin && (this.isRequester(person, r) || !this.mayApprove(person, t))) {
      throw new GatehouseError(
        "FORBIDDEN",
        "only an approver of this target (not its requester) or an admin may resolve it",
      );
    }
    if (t.state !== "applied" || !t.drift)
      throw new GatehouseError(
        "ILLEGAL_TRANSITION",
        `target ${n} of ${id} is ${t.state}${t.drift ? "" : " with no drift"}; only a drifted applied target is resolved`,
      );
    const target = `${id}/${n}`;
    const mod = kindModule(t.kind);
    const what = mod.describe(t);
    let alreadyGone = false;
    if (body.action === "delete") {
      try {
        if (!mod.removeDrifted)
          throw new GatehouseError("ILLEGAL_TRANSITION", `a ${t.kind} target has nothing to delete`);
        alreadyGone = await mod.removeDrifted(this.ctx, t);
      } catch (e) {
        const err = e instanceof GatehouseError ? e : fromAwsError(e, `removing ${what.name} from ${t.arn}`);
        this.audit(
          person.email,
          "request.resolve",
          target,
          { action: body.action, arn: t.arn, code: err.code, message: err.message },
          false,
        );
        throw err;
      }
    }
    const note =
      body.action === "delete"
        ? `drift resolved by ${person.email}: ${what.name} deleted from ${t.arn}${alreadyGone ? " (it was already gone)" : ""}`
        : `drift resolved by ${person.email}: ${what.name} kept in IAM on ${t.arn}; Gatehouse no longer manages it`;
    this.d.requests.move(
      id,
      n,
      "expire",
      person.email,
      { note },
      {
        resolution: body.action,
        ...(body.comment ? { comment: body.comment } : {}),
        ...(alreadyGone ? { alreadyGone } : {}),
      },
    );
    this.audit(person.email, "request.resolve", target, {
      action: body.action,
      arn: t.arn,
      ...what.detail,
      drift: t.drift,
      ...(body.comment ? { comment: body.comment } : {}),
      ...(alreadyGone ? { alreadyGone } : {}),
    });
    this.notify("resolved", { id, requester: t.requester, kind: t.kind }, person.email, [t], note);
    if (body.action === "delete")
      await this.reread(t).catch((e) =>
        this.d.log.warn({ err: (e as Error).message }, "re-read after resolving drift failed"),
      );
    return this.d.requests.get(id)!;
  }

  // ---- apply and expiry -------------------------------------------------------------------------

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  private get co(): Coordination {
    return this.d.coordination ?? SOLO;
  }

  /** Tell other replicas; a failure only delays them until their next sync, so it is logged, not thrown. */
  private publish(topic: string, key: string): void {
    try {
      this.co.publish(topic, key);
    } catch (e) {
      this.d.log.warn({ err: (e as Error).message, topic, key }, "change not published to other replicas");
    }
  }

  /**
   * Apply one approved target. Only the caller that moves it approved→applying talks to IAM. The lease
   * `apply:<id>/<n>` is taken before that move and held (renewed) until the end: a replica that gets the
   * lease and finds the target still 'applying' knows its applier died (resumeOrphans).
   */
  apply(id: string, n: number, actor: string): Promise<void> {
    const key = `apply:${id}/${n}`;
    // The lease is this replica's whoever here holds it: an attempt under way here is not joined twice,
    // and a losing attempt must not release the winner's lease.
    if (this.applyingHere.has(key) || !this.co.claim(key)) return Promise.resolve();
    try {
      this.d.requests.move(id, n, "apply", actor);
    } catch (e) {
      this.co.release(key);
      if (e instanceof GatehouseError && e.code === "ILLEGAL_TRANSITION") return Promise.resolve();
      throw e;
    }
    this.applyingHere.add(key);
    return this.track(
      this.co
        .hold(key, () => this.applyClaimed(id, n, actor))
        .then(() => undefined)
        .finally(() => this.applyingHere.delete(key)),
    );
  }

  private readonly applyingHere = new Set<string>();

  private async applyClaimed(id: string, n: number, actor: string): Promise<void> {
    const t = this.d.requests.target(id, n)!;
    const now = new Date();
    const expiresAt =
      t.expiresAt ??
      (t.expirySeconds === null ? null : new Date(now.getTime() + t.expirySeconds * 1000).toISOString());
    const who = { id, requester: t.requester, kind: t.kind };
    try {
      // Defence in depth (SECURITY 31): whatever path led here, break-glass applies only after an admin.
      if (this.d.requests.isBreakGlass(id) && this.d.requests.adminApprovals(id, n) === 0)
        throw new GatehouseError("FORBIDDEN", "a break-glass request applies only once an admin approved it");
      const mod = kindModule(t.kind);
      await mod.apply(this.ctx, t);
      // A grant's change row commits with the move, so no replica misses it.
      this.d.store.transaction(() => {
        this.d.requests.move(id, n, "applied", SYSTEM, {
          appliedAt: now.toISOString(),
          appliedPolicy: t.policy,
          expiresAt,
          error: null,
        });
        mod.inAppliedTransaction?.(this.ctx, t);
      });
      mod.afterApply(this.ctx, t, expiresAt);
      this.audit(actor, "request.apply", `${id}/${n}`, {
        arn: t.arn,
        policyName: t.policyName,
        ...mod.describe(t).detail,
        expiresAt,
      });
      this.notify("applied", who, actor, [t]);
    } catch (e) {
      const err = e instanceof GatehouseError ? e : new GatehouseError("INTERNAL", (e as Error).message);
      this.d.requests.move(id, n, "fail", SYSTEM, { error: { code: err.code, message: err.message } });
      this.audit(
        actor,
        "request.apply",
        `${id}/${n}`,
        { arn: t.arn, code: err.code, message: err.message },
        false,
      );
      this.notify("failed", who, actor, [t], err.code);
    }
  }

  /** Re-reads of one role or user run one after another, so the last one to finish is the newest. */
  private readonly rereads = new Map<string, Promise<void>>();

  private rereadSoon(t: TargetRow): void {
    const prev = this.rereads.get(t.arn) ?? Promise.resolve();
    const next = prev.then(() =>
      this.reread(t).catch((e) =>
        this.d.log.warn({ err: (e as Error).message, arn: t.arn }, "re-read after apply failed"),
      ),
    );
    this.rereads.set(t.arn, next);
    void this.track(next).finally(() => {
      if (this.rereads.get(t.arn) === next) this.rereads.delete(t.arn);
    });
  }

  /** Re-read the touched role or user so the change shows at once, not after the next sync. */
  private async reread(t: TargetRow): Promise<void> {
    if (t.type === "role") {
      await this.d.syncer.syncRole(t.accountId, t.name);
      return;
    }
    const iam = this.d.aws.iam(t.accountId);
    try {
      await this.d.aws.throttle(t.accountId);
      const { User: u } = await iam.send(new GetUserCommand({ UserName: t.name }));
      const names: string[] = [];
      let marker: string | undefined;
      do {
        await this.d.aws.throttle(t.accountId);
        const page = await iam.send(new ListUserPoliciesCommand({ UserName: t.name, Marker: marker }));
        names.push(...(page.PolicyNames ?? []));
        marker = page.IsTruncated ? page.Marker : undefined;
      } while (marker);
      const inline: Record<string, string> = {};
      for (const name of names) {
        await this.d.aws.throttle(t.accountId);
        const p = await iam.send(new GetUserPolicyCommand({ UserName: t.name, PolicyName: name }));
        inline[name] = decode(p.PolicyDocument);
      }
      // Attachments and groups too: managed-policy and group-membership requests change them.
      const attached: string[] = [];
      marker = undefined;
      do {
        await this.d.aws.throttle(t.accountId);
        const page: ListAttachedUserPoliciesCommandOutput = await iam.send(
          new ListAttachedUserPoliciesCommand({ UserName: t.name, Marker: marker }),
        );
        attached.push(...(page.AttachedPolicies ?? []).map((p) => p.PolicyArn ?? ""));
        marker = page.IsTruncated ? page.Marker : undefined;
      } while (marker);
      const groups: string[] = [];
      marker = undefined;
      do {
        await this.d.aws.throttle(t.accountId);
        const page: ListGroupsForUserCommandOutput = await iam.send(
          new ListGroupsForUserCommand({ UserName: t.name, Marker: marker }),
        );
        groups.push(...(page.Groups ?? []).map((g) => g.GroupName ?? ""));
        marker = page.IsTruncated ? page.Marker : undefined;
      } while (marker);
      this.d.store.upsertUser({
        arn: u?.Arn ?? t.arn,
        accountId: t.accountId,
        name: u?.UserName ?? t.name,
        path: u?.Path ?? "/",
        userId: u?.UserId ?? "",
        tags: (u?.Tags ?? []).map((x) => ({ Key: x.Key ?? "", Value: x.Value ?? "" })),
        inlinePolicies: inline,
        managedPolicies: attached,
        groups,
      });
      this.publish("user", t.arn);
    } catch (e) {
      throw fromAwsError(e, `re-reading user ${t.name} in ${t.accountId}`);
    }
  }

  private async expireOne(t: TargetRow, now: Date): Promise<void> {
    const who = { id: t.requestId, requester: t.requester, kind: t.kind };
    const target = `${t.requestId}/${t.n}`;
    // Catching up after downtime: how late the expiry is (beyond one scheduler interval) is recorded.
    const lateSeconds = Math.floor((now.getTime() - Date.parse(t.expiresAt!)) / 1000);
    const late = lateSeconds > this.rc.expiry_check_seconds ? { lateSeconds } : {};
    const mod = kindModule(t.kind);
    const what = mod.describe(t);
    const r = await mod.revert(this.ctx, t);
    // Reported once: a drifted target that stays applied is skipped by later ticks (its revert says so),
    // and drift a sync already reported is not reported again when the expiry meets it.
    if (r.drift && !t.drift) {
      if (!r.settled) this.d.requests.patch(t.requestId, t.n, { drift: r.drift.why });
      this.d.requests.event(t.requestId, t.n, SYSTEM, "drift", r.drift.detail);
      this.audit(SYSTEM, "request.drift", target, { arn: t.arn, ...what.detail }, false);
      this.notify("drift", who, SYSTEM, [t], r.drift.why);
    }
    if (!r.settled) return;
    this.d.store.transaction(() => {
      this.d.requests.move(t.requestId, t.n, "expire", SYSTEM, r.drift ? { drift: r.drift.why } : {}, {
        ...r.detail,
        ...late,
      });
      mod.inExpiredTransaction?.(this.ctx, t);
    });
    this.audit(SYSTEM, "request.expire", target, { arn: t.arn, ...what.detail, ...r.detail, ...late });
    this.notify("expired", who, SYSTEM, [t]);
    await mod.afterRevert?.(this.ctx, t);
  }

  /**
   * After a sync stored an account: an applied grant its copy no longer shows (detached or removed
   * outside Gatehouse) is drift, reported once while it is still granted. Only grants applied well before
   * the sync began reading are judged, so a read that raced the apply (or IAM's eventual consistency)
   * is not mistaken for a removal.
   */
  watchHeld(accountId: string, readSince: Date): void {
    try {
      for (const t of this.d.requests.targetsIn(["applied"])) {
        if (t.accountId !== accountId || t.drift || !t.appliedAt) continue;
        if (Date.parse(t.appliedAt) > readSince.getTime() - HELD_MARGIN_MS) continue;
        const mod = kindModule(t.kind);
        if (mod.held?.(this.ctx, t) !== false) continue;
        const what = mod.describe(t);
        const why = `${what.summary}: gone from IAM (seen by the sync of ${readSince.toISOString()}); removed outside Gatehouse while granted`;
        this.d.requests.patch(t.requestId, t.n, { drift: why });
        this.d.requests.event(t.requestId, t.n, SYSTEM, "drift", { ...what.detail, seenBy: "sync" });
        this.audit(SYSTEM, "request.drift", `${t.requestId}/${t.n}`, { arn: t.arn, ...what.detail }, false);
        this.notify("drift", { id: t.requestId, requester: t.requester, kind: t.kind }, SYSTEM, [t], why);
      }
    } catch (e) {
      // A sync must not fail for this; the expiry finds the same drift.
      this.d.log.warn({ err: (e as Error).message, accountId }, "drift check after sync failed");
    }
  }

  /** Remove every policy and grant whose expiry has passed (also what was missed while the broker was down). */
  async expireDue(now = new Date()): Promise<number> {
    let done = 0;
    for (const t of this.d.requests.due(now)) {
      try {
        // One replica expires a target: the lease is taken before IAM is touched, and the target read
        // again under it (another replica may have expired it since `due` was read).
        const r = await this.co.hold(`expire:${t.requestId}/${t.n}`, async () => {
          const fresh = this.d.requests.target(t.requestId, t.n);
          if (fresh?.state !== "applied") return false;
          await this.expireOne(fresh, now);
          return true;
        });
        if (r.ran && r.value) done++;
      } catch (e) {
        // Left applied: the next tick tries again.
        this.d.log.warn(
          { err: (e as Error).message, request: t.requestId, n: t.n },
          "expiry failed; will retry",
        );
        this.audit(
          SYSTEM,
          "request.expire",
          `${t.requestId}/${t.n}`,
          { arn: t.arn, message: (e as Error).message },
          false,
        );
      }
    }
    return done;
  }

  /**
   * After a start: grants back into the index, targets the broker stopped applying resumed (Put*Policy
   * is idempotent under its fixed name), approved ones applied, then the expiry catch-up.
   */
  async recover(): Promise<void> {
    this.loadGrants();
    await this.resumeOrphans("broker restarted mid-apply");
    await this.expireDue();
  }

  /** Every applied role-access grant into the index (at start, or after missing other replicas' changes). */
  loadGrants(): void {
    for (const t of this.d.requests.targetsIn(["applied"])) kindModule(t.kind).restore?.(this.ctx, t);
  }

  /** One grant again as the database has it (another replica applied or expired it). */
  reloadGrant(id: string, n: number): void {
    const t = this.d.requests.target(id, n);
    if (t) kindModule(t.kind).restore?.(this.ctx, t);
  }

  /**
   * Targets whose applier died: 'applying' ones whose `apply:` lease this replica can take (so nobody
   * alive holds it) are resumed; 'approved' ones nobody took (the approving broker died before applying)
   * are applied — each by the one replica that wins its lease and the approved→applying move.
   */
  async resumeOrphans(reason = "its broker stopped mid-apply"): Promise<void> {
    for (const t of this.d.requests.targetsIn(["applying"])) {
      const key = `apply:${t.requestId}/${t.n}`;
      // This replica is applying it (the lease is already its own), or a live other one is, renewing it.
      if (this.applyingHere.has(key) || !this.co.claim(key)) continue;
      if (this.d.requests.target(t.requestId, t.n)?.state !== "applying") {
        this.co.release(key);
        continue;
      }
      this.d.requests.move(t.requestId, t.n, "resume", SYSTEM, {}, { reason, replica: this.co.id });
    }
    await Promise.all(
      this.d.requests.targetsIn(["approved"]).map((t) => this.apply(t.requestId, t.n, SYSTEM)),
    );
  }

  /** Tell the webhook once about each target that expires within the hour. */
  warnExpiring(now = new Date()): void {
    for (const t of this.d.requests.due(new Date(now.getTime() + EXPIRING_NOTICE_MS))) {
      if (Date.parse(t.expiresAt!) <= now.getTime() || this.d.requests.hasEvent(t.requestId, t.n, "expiring"))
        continue;
      // Written once across replicas: the lease is kept (not released) until the event is there for all.
      if (!this.co.claim(`expiring:${t.requestId}/${t.n}`)) continue;
      if (this.d.requests.hasEvent(t.requestId, t.n, "expiring")) continue;
      this.d.requests.event(t.requestId, t.n, SYSTEM, "expiring", { expiresAt: t.expiresAt });
      this.notify(
        "expiring",
        { id: t.requestId, requester: t.requester, kind: t.kind },
        SYSTEM,
        [t],
        `at ${t.expiresAt}`,
      );
    }
  }

  /** Recovery and expiry catch-up once, then expiry checks on a timer. Calling it again joins the first. */
  start(): Promise<void> {
    if (this.started) return this.started;
    // Deliveries a stopped broker left in the outbox go out now (or when their back-off ends).
    this.d.webhook.start();
    const tick = () => {
      // A database outage must not escape a timer (it would end the process); the next tick retries.
      try {
        this.warnExpiring();
      } catch (e) {
        this.d.log.warn({ err: (e as Error).message }, "expiring notices failed; will retry");
      }
      this.track(this.expireDue()).catch((e) =>
        this.d.log.warn({ err: (e as Error).message }, "expiry tick failed"),
      );
    };
    this.timer = setInterval(tick, this.rc.expiry_check_seconds * 1000);
    this.timer.unref();
    this.started = this.track(this.recover()).catch((e) => {
      this.d.log.error({ err: (e as Error).message }, "request recovery failed");
    });
    return this.started;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.inFlight]);
    // What is still undelivered stays in the outbox for the next start.
    await this.d.webhook.stop();
  }
}
