// The directory answers kept per person: least recently used first out, bounded by persons and by group
// names in all, each answer fresh for a while and usable while the directory fails up to a maximum age.

export interface GroupCachePolicy {
  maxEntries: number;
  /** Group names kept over all entries (an entry also counts one for itself). */
  maxGroups: number;
  freshMs: number;
  maxStaleMs: number;
}

interface Entry {
  groups: readonly string[];
  at: number;
}

export type Freshness = "fresh" | "stale" | "expired";

export class GroupCache {
  // A Map iterates in insertion order: re-inserting on every hit keeps the least recently used first.
  private readonly entries = new Map<string, Entry>();
  private weight = 0;

  constructor(
    private readonly policy: GroupCachePolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** The entry for `key` and how old it is, counted as a use. */
  get(key: string): { groups: readonly string[]; freshness: Freshness } | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const age = this.now() - e.at;
    const freshness: Freshness =
      age < this.policy.freshMs ? "fresh" : age < this.policy.maxStaleMs ? "stale" : "expired";
    if (freshness === "expired") {
      this.delete(key);
      return { groups: e.groups, freshness };
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    return { groups: e.groups, freshness };
  }

  set(key: string, groups: readonly string[]): void {
    this.delete(key);
    const w = groups.length + 1;
    // An answer larger than the whole budget is not kept (the next request asks again), rather than
    // emptying the cache of everyone else.
    if (w > this.policy.maxGroups) return;
    this.entries.set(key, { groups, at: this.now() });
    this.weight += w;
    for (const [k] of this.entries) {
      if (this.entries.size <= this.policy.maxEntries && this.weight <= this.policy.maxGroups) break;
      this.delete(k);
    }
  }

  delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.weight -= e.groups.length + 1;
  }

  stats(): { entries: number; groups: number } {
    return { entries: this.entries.size, groups: this.weight - this.entries.size };
  }
}
