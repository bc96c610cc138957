// The broker's accounts: the hand-written list, or AWS Organizations re-read before every sync, kept
// in `config.aws.accounts` (the live list every reader uses) and in the account-name map of the index.

import type { AwsGateway } from "./aws.ts";
import type { AccountConfig, BrokerConfig } from "./config.ts";
import { type Discovery, discoverAccounts } from "./organizations.ts";

export interface DiscoveryStatus {
  at: string;
  ok: boolean;
  accounts: number;
  skipped: Discovery["skipped"];
  error: { code: string; message: string } | null;
}

export class AccountDirectory {
  /** `aws.accounts` as written: with Organizations, overrides of a discovered account's name or spoke role. */
  private readonly overrides: Map<string, AccountConfig>;
  private status: DiscoveryStatus | undefined;

  constructor(
    private readonly config: BrokerConfig,
    private readonly aws: AwsGateway,
    /** The index's id → name map, updated in place. */
    private readonly names: Map<string, string>,
  ) {
    this.overrides = new Map(config.aws.accounts.map((a) => [a.id, { ...a }]));
    if (this.fromOrganizations) this.replace([]);
  }

  get fromOrganizations(): boolean {
    return this.config.aws.accounts_from === "organizations";
  }

  get lastDiscovery(): DiscoveryStatus | undefined {
    return this.status;
  }

  list(): readonly AccountConfig[] {
    return this.config.aws.accounts;
  }

  /**
   * Re-read the organisation (a no-op for a hand-written list). On failure the previous list stays, so
   * a throttled or denied ListAccounts never empties the broker; the error is kept for the admin view.
   */
  async refresh(): Promise<DiscoveryStatus | undefined> {
    if (!this.fromOrganizations) return undefined;
    const at = new Date().toISOString();
    try {
      const found = await discoverAccounts(this.aws.organizations(), this.config.aws.organizations!);
      this.replace(
        found.accounts.map((a) => {
          const o = this.overrides.get(a.id);
          return {
            id: a.id,
            name: o?.name ?? a.name,
            ...(o?.spoke_role_name ? { spoke_role_name: o.spoke_role_name } : {}),
          };
        }),
      );
      this.status = { at, ok: true, accounts: found.accounts.length, skipped: found.skipped, error: null };
    } catch (e) {
      const err = e as { code?: string; message?: string };
      this.status = {
        at,
        ok: false,
        accounts: this.config.aws.accounts.length,
        skipped: this.status?.skipped ?? [],
        error: { code: err.code ?? "INTERNAL", message: err.message ?? String(e) },
      };
    }
    return this.status;
  }

  private replace(list: AccountConfig[]): void {
    const live = this.config.aws.accounts;
    live.splice(0, live.length, ...list);
    this.names.clear();
    for (const a of list) this.names.set(a.id, a.name);
  }
}
