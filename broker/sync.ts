// Sync: every configured account's roles and users (with tags and inline policies) read through the
// spoke role, with bounded account concurrency and a per-account rate cap. One account failing does
// not stop the others; its previous data keeps serving; each account's result is recorded.

import {
  GetAccountAuthorizationDetailsCommand,
  type GetAccountAuthorizationDetailsCommandOutput,
  GetAccountSummaryCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
  type ListRolesCommandOutput,
} from "@aws-sdk/client-iam";
import { GatehouseError } from "../shared/errors.ts";
import type { AccessIndex } from "./access-index.ts";
import type { AccountDirectory, DiscoveryStatus } from "./accounts.ts";
import { type AwsGateway, fromAwsError } from "./aws.ts";
import type { BrokerConfig } from "./config.ts";
import type { Coordination } from "./replica.ts";
import type {
  AccountIam,
  AccountSyncStatus,
  Store,
  SyncedGroup,
  SyncedPolicy,
  SyncedRole,
  SyncedUser,
} from "./store.ts";
import type { TagWatch } from "./tag-watch.ts";

export interface SyncHooks {
  onAccountSynced?(accountId: string, seconds: number, ok: boolean): void;
  /** An account's roles and users were stored as read from `readSince` on (requests look for drift). */
  onAccountStored?(accountId: string, readSince: Date): void;
}

export interface SyncResult {
  accounts: AccountSyncStatus[];
  ok: number;
  failed: number;
  durationMs: number;
  /** With accounts from AWS Organizations: how reading the organisation went before this sync. */
  discovery?: DiscoveryStatus;
}

const decode = (doc: string | undefined) => (doc ? decodeURIComponent(doc) : "");

/**
 * The account's quotas that requests check. A spoke without iam:GetAccountSummary (or any failure) is
 * not a failed sync: IAM's defaults are assumed and the reason kept for doctor and status.
 */
async function fetchQuotas(
  aws: AwsGateway,
  accountId: string,
): Promise<Pick<AccountIam, "quotas" | "quotasError">> {
  try {
    await aws.throttle(accountId);
    const { SummaryMap: m = {} } = await aws.iam(accountId).send(new GetAccountSummaryCommand({}));
    const q = (key: keyof typeof m, fallback: number) => m[key] ?? fallback;
    return {
      quotas: {
        attachedPoliciesPerRole: q("AttachedPoliciesPerRoleQuota", 10),
        attachedPoliciesPerUser: q("AttachedPoliciesPerUserQuota", 10),
        groupsPerUser: q("GroupsPerUserQuota", 10),
      },
      quotasError: null,
    };
  } catch (e) {
    return { quotas: null, quotasError: fromAwsError(e, `GetAccountSummary in ${accountId}`).message };
  }
}

export const quotasUnknown = (why: string | null | undefined) =>
  `the account's IAM quotas are unknown (${why ?? "not read"}); managed-policy and group-membership requests assume IAM's defaults (10 attached policies per role or user, 10 groups per user)`;

/** Fetch one account's roles, users, groups, customer-managed policies and quotas through its spoke role. */
export async function fetchAccount(
  aws: AwsGateway,
  accountId: string,
): Promise<{ roles: SyncedRole[]; users: SyncedUser[]; iam: AccountIam }> {
  const iam = aws.iam(accountId);
  const roles = new Map<string, SyncedRole>();
  const users: SyncedUser[] = [];
  const groups: SyncedGroup[] = [];
  const policies: SyncedPolicy[] = [];
  let marker: string | undefined;
  do {
    await aws.throttle(accountId);
    let page: GetAccountAuthorizationDetailsCommandOutput;
    try {
      page = await iam.send(
        new GetAccountAuthorizationDetailsCommand({
          Filter: ["Role", "User", "Group", "LocalManagedPolicy"],
          MaxItems: 1000,
          Marker: marker,
        }),
      );
    } catch (e) {
      throw fromAwsError(e, `GetAccountAuthorizationDetails in ${accountId}`);
    }
    for (const r of page.RoleDetailList ?? []) {
      if (!r.Arn || !r.RoleName) continue;
      roles.set(r.RoleName, {
        arn: r.Arn,
        accountId,
        name: r.RoleName,
        path: r.Path ?? "/",
        roleId: r.RoleId ?? "",
        maxSessionDuration: 3600,
        tags: (r.Tags ?? []).map((t) => ({ Key: t.Key ?? "", Value: t.Value ?? "" })),
        inlinePolicies: Object.fromEntries(
          (r.RolePolicyList ?? []).map((p) => [p.PolicyName ?? "", decode(p.PolicyDocument)]),
        ),
        managedPolicies: (r.AttachedManagedPolicies ?? []).map((p) => p.PolicyArn ?? ""),
      });
    }
    for (const u of page.UserDetailList ?? []) {
      if (!u.Arn || !u.UserName) continue;
      users.push({
        arn: u.Arn,
        accountId,
        name: u.UserName,
        path: u.Path ?? "/",
        userId: u.UserId ?? "",
        tags: (u.Tags ?? []).map((t) => ({ Key: t.Key ?? "", Value: t.Value ?? "" })),
        inlinePolicies: Object.fromEntries(
          (u.UserPolicyList ?? []).map((p) => [p.PolicyName ?? "", decode(p.PolicyDocument)]),
        ),
        managedPolicies: (u.AttachedManagedPolicies ?? []).map((p) => p.PolicyArn ?? ""),
        groups: u.GroupList ?? [],
      });
    }
    for (const g of page.GroupDetailList ?? []) {
      if (!g.Arn || !g.GroupName) continue;
      groups.push({
        name: g.GroupName,
        arn: g.Arn,
        inlinePolicies: Object.fromEntries(
          (g.GroupPolicyList ?? []).map((p) => [p.PolicyName ?? "", decode(p.PolicyDocument)]),
        ),
        managedPolicies: (g.AttachedManagedPolicies ?? []).map((p) => p.PolicyArn ?? ""),
      });
    }
    for (const p of page.Policies ?? []) {
      if (!p.Arn || !p.PolicyName) continue;
      const v =
        p.PolicyVersionList?.find((x) => x.IsDefaultVersion) ??
        p.PolicyVersionList?.find((x) => x.VersionId === p.DefaultVersionId);
      policies.push({ arn: p.Arn, name: p.PolicyName, document: decode(v?.Document) });
    }
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  // GetAccountAuthorizationDetails leaves out descriptions and session limits; ListRoles has them.
  marker = undefined;
  do {
    await aws.throttle(accountId);
    let page: ListRolesCommandOutput;
    try {
      page = await iam.send(new ListRolesCommand({ MaxItems: 1000, Marker: marker }));
    } catch (e) {
      throw fromAwsError(e, `ListRoles in ${accountId}`);
    }
    for (const r of page.Roles ?? []) {
      const role = r.RoleName ? roles.get(r.RoleName) : undefined;
      if (!role) continue;
      if (r.Description) role.description = r.Description;
      if (r.MaxSessionDuration) role.maxSessionDuration = r.MaxSessionDuration;
    }
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return {
    roles: [...roles.values()],
    users,
    iam: { accountId, groups, policies, ...(await fetchQuotas(aws, accountId)) },
  };
}

export class Syncer {
  private running: Promise<SyncResult> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /**
   * Roles re-read by syncRole while a sync of their account was fetching, by account. The sync's
   * pages may predate the change that syncRole saw; storing them as read would undo a change made
   * through Gatehouse until the next sync, so these newer reads win over the sync's.
   */
  private readonly reread = new Map<string, Map<string, SyncedRole>>();

  constructor(
    private readonly config: BrokerConfig,
    private readonly aws: AwsGateway,
    private readonly store: Store,
    private readonly index: AccessIndex,
    /** Compares access tags with the previous sync; the index is given the tags it serves. */
    private readonly watch: TagWatch,
    private readonly hooks: SyncHooks = {},
    private readonly directory?: AccountDirectory,
    /** Several brokers on one database: each account is synced by one of them at a time. */
    private readonly coordination?: Coordination,
  ) {}

  get inProgress(): boolean {
    return this.running !== undefined;
  }

  /** Sync every account; a call while one runs joins it. */
  syncAll(): Promise<SyncResult> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<SyncResult> {
    const started = Date.now();
    // Organizations is re-read on every sync, so a new account appears without editing the config; an
    // account that left the organisation (or the filters) stops being served.
    const before = new Set(this.config.aws.accounts.map((a) => a.id));
    const discovery = await this.directory?.refresh();
    for (const a of this.config.aws.accounts) before.delete(a.id);
    if (discovery?.ok) {
      for (const id of before) {
        this.store.transaction(() => {
          this.store.replaceAccount(id, [], []);
          this.coordination?.publish("account", id);
        });
        this.index.replaceAccount(id, []);
      }
    }
    const queue = [...this.config.aws.accounts];
    const results: AccountSyncStatus[] = [];
    const worker = async () => {
      for (let a = queue.shift(); a; a = queue.shift()) {
        const r = await this.syncLeased(a.id, a.name);
        if (r) results.push(r);
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(this.config.sync.account_concurrency, queue.length) }, worker),
    );
    results.sort((x, y) => x.accountId.localeCompare(y.accountId));
    return {
      accounts: results,
      ok: results.filter((r) => r.state === "ok").length,
      failed: results.filter((r) => r.state === "error").length,
      durationMs: Date.now() - started,
      ...(discovery ? { discovery } : {}),
    };
  }

  /**
   * Sync one account under its lease `sync:<account>`, so two replicas never sync it at once; an account
   * another live replica is syncing is skipped (its last stored status is reported).
   */
  private async syncLeased(accountId: string, name: string): Promise<AccountSyncStatus | undefined> {
    if (!this.coordination) return this.syncAccount(accountId, name);
    const r = await this.coordination.hold(`sync:${accountId}`, () => this.syncAccount(accountId, name));
    if (r.ran) return r.value;
    return this.store.syncStatuses().find((s) => s.accountId === accountId);
  }

  async syncAccount(accountId: string, name: string): Promise<AccountSyncStatus> {
    const started = Date.now();
    const previous = this.store.syncStatuses().find((s) => s.accountId === accountId);
    const reread = new Map<string, SyncedRole>();
    this.reread.set(accountId, reread);
    try {
      const { roles: read, users, iam } = await fetchAccount(this.aws, accountId);
      const roles = read.map((r) => reread.get(r.name) ?? r);
      const names = new Set(read.map((r) => r.name));
      for (const r of reread.values()) if (!names.has(r.name)) roles.push(r);
      // Tag changes first (recorded, audited, held): the index is then given what it may serve.
      const served = this.watch.observeAccount(accountId, roles, users);
      // One transaction, then the index: readers see the old account or the new one, never half.
      // The change row commits with the account's rows: other replicas reload exactly what was stored.
      this.store.transaction(() => {
        this.store.replaceAccount(accountId, roles, users);
        this.store.putAccountIam(iam);
        this.coordination?.publish("account", accountId);
      });
      this.index.replaceAccount(accountId, served);
      this.hooks.onAccountStored?.(accountId, new Date(started));
      const status: AccountSyncStatus = {
        accountId,
        name,
        state: "ok",
        lastAttemptAt: new Date(started).toISOString(),
        lastSuccessAt: new Date().toISOString(),
        error: null,
        roles: roles.length,
        users: users.length,
        durationMs: Date.now() - started,
        ...(iam.quotas ? {} : { warning: quotasUnknown(iam.quotasError) }),
      };
      this.store.putSyncStatus(status);
      this.hooks.onAccountSynced?.(accountId, status.durationMs! / 1000, true);
      return status;
    } catch (e) {
      const err = e instanceof GatehouseError ? e : fromAwsError(e, `sync of ${accountId}`);
      const status: AccountSyncStatus = {
        accountId,
        name,
        state: "error",
        lastAttemptAt: new Date(started).toISOString(),
        lastSuccessAt: previous?.lastSuccessAt ?? null,
        error: { code: err.code, message: err.message },
        roles: previous?.roles ?? 0,
        users: previous?.users ?? 0,
        durationMs: Date.now() - started,
      };
      this.store.putSyncStatus(status);
      this.hooks.onAccountSynced?.(accountId, status.durationMs! / 1000, false);
      return status;
    } finally {
      if (this.reread.get(accountId) === reread) this.reread.delete(accountId);
    }
  }

  /** Re-read one role at once (after Gatehouse changed it), so the change shows without waiting. */
  async syncRole(accountId: string, roleName: string): Promise<SyncedRole | undefined> {
    const iam = this.aws.iam(accountId);
    try {
      await this.aws.throttle(accountId);
      const { Role: r } = await iam.send(new GetRoleCommand({ RoleName: roleName }));
      if (!r?.Arn || !r.RoleName) return undefined;
      const names: string[] = [];
      let marker: string | undefined;
      do {
        await this.aws.throttle(accountId);
        const page = await iam.send(new ListRolePoliciesCommand({ RoleName: roleName, Marker: marker }));
        names.push(...(page.PolicyNames ?? []));
        marker = page.IsTruncated ? page.Marker : undefined;
      } while (marker);
      const inline: Record<string, string> = {};
      for (const n of names) {
        await this.aws.throttle(accountId);
        const p = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: n }));
        inline[n] = decode(p.PolicyDocument);
      }
      await this.aws.throttle(accountId);
      const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }));
      const role: SyncedRole = {
        arn: r.Arn,
        accountId,
        name: r.RoleName,
        path: r.Path ?? "/",
        roleId: r.RoleId ?? "",
        ...(r.Description ? { description: r.Description } : {}),
        maxSessionDuration: r.MaxSessionDuration ?? 3600,
        tags: (r.Tags ?? []).map((t) => ({ Key: t.Key ?? "", Value: t.Value ?? "" })),
        inlinePolicies: inline,
        managedPolicies: (attached.AttachedPolicies ?? []).map((p) => p.PolicyArn ?? ""),
      };
      const served = this.watch.observeRole(role);
      this.store.transaction(() => {
        this.store.upsertRole(role);
        this.coordination?.publish("role", role.arn);
      });
      this.index.upsertRole(served);
      this.reread.get(accountId)?.set(role.name, role);
      return role;
    } catch (e) {
      throw fromAwsError(e, `re-reading role ${roleName} in ${accountId}`);
    }
  }

  /** Load what the store holds (at start-up, before the first sync finishes; or one account another replica synced). */
  loadFromStore(onlyAccount?: string): void {
    indexStoredRoles(this.store, this.watch, this.index, onlyAccount);
  }

  /** Index one stored role again with the tags it may now serve (after an admin accepted a held change). */
  reindex(arn: string): void {
    const role = this.store.getRole(arn);
    if (role) this.index.upsertRole(this.watch.effective(role));
  }

  startPeriodic(onResult?: (r: SyncResult) => void): void {
    const tick = () => {
      this.syncAll().then(onResult, () => undefined);
    };
    this.timer = setInterval(tick, this.config.sync.interval_seconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/** Fill an index from the stored roles with the tags they may serve (a start; offline commands; one account). */
export function indexStoredRoles(
  store: Pick<Store, "loadRoles">,
  watch: Pick<TagWatch, "effective">,
  index: Pick<AccessIndex, "replaceAccount">,
  onlyAccount?: string,
): void {
  const byAccount = new Map<string, SyncedRole[]>();
  // One account: emptied too when it holds no role any more.
  if (onlyAccount !== undefined) byAccount.set(onlyAccount, []);
  for (const r of store.loadRoles()) {
    if (onlyAccount !== undefined && r.accountId !== onlyAccount) continue;
    const list = byAccount.get(r.accountId) ?? [];
    list.push(watch.effective(r));
    byAccount.set(r.accountId, list);
  }
  for (const [id, roles] of byAccount) index.replaceAccount(id, roles);
}
