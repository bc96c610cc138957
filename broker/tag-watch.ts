// The tag watch (SECURITY 32): each sync compares every role's and user's access tags with what the
// previous sync saw, audits a change made outside Gatehouse (and, under alert/hold, tells the webhook),
// holds what a change adds under `hold` until an admin accepts it, and reports a tag on Gatehouse's own
// roles as an incident. Its state lives in the broker's database, so a restart keeps what is held.

import { normalizePrincipal, parseAccessValue, type Tag } from "../shared/access.ts";
import type { AccessTags, TagChange } from "../shared/api.ts";
import { GatehouseError } from "../shared/errors.ts";
import type { BrokerConfig } from "./config.ts";
import { isOwnRole, ownRoleNames } from "./own-roles.ts";
import type { Store, SyncedRole, SyncedUser, TagState } from "./store.ts";
import type { Notification } from "./webhook.ts";

const ACTOR = "gatehouse-sync";

// ---- pure comparison of access tags ------------------------------------------------------------

/** The access tags among `tags`, canonical: lower-cased keys, each principal once, sorted. */
export function accessTagsOf(tags: readonly Tag[], keys: ReadonlySet<string>, lower: boolean): AccessTags {
  const out: Record<string, Set<string>> = {};
  for (const t of tags) {
    const key = t.Key.toLowerCase();
    if (!keys.has(key)) continue;
    const items = out[key] ?? new Set<string>();
    for (const p of parseAccessValue(t.Value, lower)) items.add(p);
    if (items.size) out[key] = items;
  }
  return Object.fromEntries(
    Object.keys(out)
      .sort()
      .map((k) => [k, [...out[k]!].sort()]),
  );
}

/**
 * Stored tags in today's canonical form: turning `force_groups_lowercase` on must not look like every
 * group being removed and another added (which `hold` would then hold).
 */
export function renormalize(t: AccessTags, lower: boolean): AccessTags {
  const out: AccessTags = {};
  for (const [k, items] of Object.entries(t))
    out[k] = [...new Set(items.map((p) => normalizePrincipal(p, lower)))].sort();
  return out;
}

export const isEmpty = (t: AccessTags): boolean => Object.keys(t).length === 0;
export const sameTags = (a: AccessTags, b: AccessTags): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The principals of `a` that `b` lacks, key by key. */
export function minus(a: AccessTags, b: AccessTags): AccessTags {
  const out: AccessTags = {};
  for (const [k, items] of Object.entries(a)) {
    const other = new Set(b[k] ?? []);
    const left = items.filter((p) => !other.has(p));
    if (left.length) out[k] = left;
  }
  return out;
}

/** The principals in both: what `hold` serves while a change waits (its removals apply, its additions wait). */
export function both(a: AccessTags, b: AccessTags): AccessTags {
  return minus(a, minus(a, b));
}

/** A role's tags with its access tags replaced by `served` (what the access index is given). */
export function withAccessTags(tags: readonly Tag[], keys: ReadonlySet<string>, served: AccessTags): Tag[] {
  return [
    ...tags.filter((t) => !keys.has(t.Key.toLowerCase())),
    ...Object.entries(served).map(([Key, items]) => ({ Key, Value: items.join(":") })),
  ];
}

const summary = (t: AccessTags) =>
  isEmpty(t)
    ? "none"
    : Object.entries(t)
        .map(([k, v]) => `${k}=${v.join(":")}`)
        .join(" ");

// ---- the watch --------------------------------------------------------------------------------

export interface TagWatchHooks {
  notify(n: Notification): void;
  /** A gatehouse access tag found on one of Gatehouse's own roles (new or changed since the last sync). */
  onIncident?(accountId: string): void;
  /** After each account: own roles carrying access tags, changes held (for gauges). */
  onCounts?(accountId: string, ownTagged: number): void;
  onChange?(change: TagChange): void;
  /** A role's served tags changed outside a sync (an accepted change): re-index it. */
  reindex?(arn: string): void;
  warn?(detail: Record<string, unknown>, msg: string): void;
}

type Mode = BrokerConfig["access"]["external_tag_changes"];

/** What each setting of access.external_tag_changes does with a change (every one is audited). */
const MODES: Record<Mode, { notify: boolean; hold: boolean }> = {
  trust: { notify: false, hold: false },
  alert: { notify: true, hold: false },
  hold: { notify: true, hold: true },
};

type Entity = { type: "role"; e: SyncedRole } | { type: "user"; e: SyncedUser };

export class TagWatch {
  readonly mode: Mode;
  private readonly keys: ReadonlySet<string>;
  private readonly lower: boolean;
  private readonly own: ReadonlySet<string>;
  /** Roles whose served access tags differ from IAM's (a change is held): ARN → served. */
  private readonly held = new Map<string, AccessTags>();

  constructor(
    config: BrokerConfig,
    private readonly store: Store,
    private readonly hooks: TagWatchHooks,
  ) {
    this.mode = config.access.external_tag_changes;
    this.keys = new Set(
      [...config.access.tag_keys, ...config.access.cli_only_tag_keys].map((k) => k.toLowerCase()),
    );
    this.lower = config.oidc.force_groups_lowercase;
    this.own = ownRoleNames(config);
    this.load();
  }

  /** Read what is held from the database (at start, so a restart keeps serving the previous tags). */
  load(accountId?: string): void {
    for (const [arn] of this.held) if (!accountId || arn.split(":")[4] === accountId) this.held.delete(arn);
    for (const s of this.store.tagStates(accountId))
      if (s.type === "role" && !sameTags(s.observed, s.served)) this.held.set(s.arn, s.served);
  }

  get heldCount(): number {
    return this.held.size;
  }

  /** The role as the access index should see it: its held access tags in place of IAM's. */
  effective(role: SyncedRole): SyncedRole {
    const served = this.held.get(role.arn);
    return served ? { ...role, tags: withAccessTags(role.tags, this.keys, served) } : role;
  }

  /**
   * Compare one account's roles and users (a complete sync of it) with the previous sync, record and
   * report what changed, and return the roles as the index should see them.
   */
  observeAccount(
    accountId: string,
    roles: readonly SyncedRole[],
    users: readonly SyncedUser[],
  ): SyncedRole[] {
    const entities: Entity[] = [
      ...roles.map((e) => ({ type: "role" as const, e })),
      ...users.map((e) => ({ type: "user" as const, e })),
    ];
    this.observe(accountId, entities, true);
    return roles.map((r) => this.effective(r));
  }

  /** The same for one role re-read on its own (after Gatehouse changed it). */
  observeRole(role: SyncedRole): SyncedRole {
    this.observe(role.accountId, [{ type: "role", e: role }], false);
    return this.effective(role);
  }

  private observe(accountId: string, entities: Entity[], complete: boolean): void {
    const notes: Notification[] = [];
    const changes: TagChange[] = [];
    let incidents = 0;
    let ownTagged = 0;
    const now = new Date();
    this.store.transaction(() => {
      // A whole account is read at once; a single re-read asks for its own rows only.
      const states = new Map(
        (complete
          ? this.store.tagStates(accountId)
          : entities.flatMap(({ e }) => this.store.tagState(e.arn) ?? [])
        ).map((s) => [
          s.arn,
          { ...s, observed: renormalize(s.observed, this.lower), served: renormalize(s.served, this.lower) },
        ]),
      );
      const baseline = this.store.hasTagBaseline(accountId);
      // Written together at the end (one statement per few hundred rows, not one per role): an account's
      // first sync stores 1,000 states, each a round trip on PostgreSQL. Each ARN comes once per pass.
      const puts: TagState[] = [];
      for (const { type, e } of entities) {
        const observed = accessTagsOf(e.tags, this.keys, this.lower);
        const entityId = type === "role" ? e.roleId : e.userId;
        const prev = states.get(e.arn);
        const put = (served: AccessTags) =>
          puts.push({ arn: e.arn, accountId, type, entityId, observed, served });
        if (type === "role" && isOwnRole(this.own, e)) {
          if (!isEmpty(observed)) ownTagged++;
          // Once per new or changed tag, not every sync; the gauge says it is still there.
          if (!isEmpty(observed) && (!prev || !sameTags(prev.observed, observed))) {
            incidents++;
            const row = this.store.appendAudit({
              actor: ACTOR,
              action: "own_role.tagged",
              target: e.arn,
              outcome: "denied",
              detail: { accountId, role: e.name, tags: observed, before: prev?.observed ?? null },
            });
            notes.push({
              kind: "own-role-tagged",
              requestId: `audit-${row.seq}`,
              requester: "-",
              actor: ACTOR,
              targets: [e.arn],
              detail: `INCIDENT: Gatehouse's own role carries access tags (${summary(observed)}); it is never served`,
            });
            this.hooks.warn?.({ arn: e.arn, tags: observed }, "access tag on Gatehouse's own role");
          }
          put({});
          continue;
        }
        if (!prev) {
          // Nothing to compare with: the account's first sync, or an untagged newcomer, is no change. A role
          // created tagged after the first sync is compared with nothing, or creating one would skip a hold.
          if (!baseline || isEmpty(observed)) {
            put(observed);
            continue;
          }
        }
        const before = prev?.served ?? {};
        const recreated = prev !== undefined && prev.entityId !== "" && prev.entityId !== entityId;
        if (prev && sameTags(prev.observed, observed)) {
          if (!MODES[this.mode].hold && !sameTags(prev.served, observed)) {
            // No longer holding (the configuration changed): what waited is served now.
            this.release(e.arn, "access.external_tag_changes is not hold", now);
            put(observed);
          } else if (recreated) put(prev.served);
          continue;
        }
        for (const c of this.store.tagChanges({ arn: e.arn, state: "held" }))
          this.store.setTagChangeState(c.id, "superseded", ACTOR, now);
        if (sameTags(before, observed)) {
          // Back to what is served: the held change is withdrawn, nothing else to report.
          this.store.appendAudit({
            actor: ACTOR,
            action: "access_tags.withdrawn",
            target: e.arn,
            outcome: "ok",
            detail: { accountId, tags: observed },
          });
          put(observed);
          continue;
        }
        const holding = MODES[this.mode].hold && type === "role";
        const served = holding ? both(before, observed) : observed;
        const added = minus(observed, served);
        const change = this.store.addTagChange({
          arn: e.arn,
          accountId,
          type,
          name: e.name,
          before,
          after: observed,
          added: minus(observed, before),
          removed: minus(before, observed),
          recreated,
          mode: this.mode,
          state: isEmpty(added) ? "applied" : "held",
          detectedAt: now.toISOString(),
          decidedBy: null,
          decidedAt: null,
        });
        changes.push(change);
        put(served);
        this.store.appendAudit({
          actor: ACTOR,
          action: change.state === "held" ? "access_tags.held" : "access_tags.changed",
          target: e.arn,
          outcome: "ok",
          detail: {
            change: change.id,
            accountId,
            before,
            after: observed,
            added: change.added,
            removed: change.removed,
            recreated,
            mode: this.mode,
          },
        });
        if (MODES[this.mode].notify)
          notes.push({
            kind: change.state === "held" ? "tags-held" : "tags-changed",
            requestId: `tag-change-${change.id}`,
            requester: "-",
            actor: ACTOR,
            targets: [e.arn],
            detail: `access tags changed outside Gatehouse: ${summary(before)} → ${summary(observed)}${
              change.state === "held" ? " (held until an admin accepts it)" : ""
            }${recreated ? " (deleted and created again)" : ""}`,
          });
      }
      this.store.putTagStates(puts);
      if (complete) this.store.setTagBaseline(accountId, now);
    });
    if (complete) this.load(accountId);
    else
      for (const { type, e } of entities) {
        const s = this.store.tagState(e.arn);
        if (type === "role" && s && !sameTags(s.observed, s.served)) this.held.set(e.arn, s.served);
        else this.held.delete(e.arn);
      }
    for (let i = 0; i < incidents; i++) this.hooks.onIncident?.(accountId);
    if (complete) this.hooks.onCounts?.(accountId, ownTagged);
    for (const c of changes) this.hooks.onChange?.(c);
    for (const n of notes) this.hooks.notify(n);
  }

  /** Serve what a held change (if any) of `arn` waits for, marking it applied. Inside observe's transaction. */
  private release(arn: string, why: string, now: Date): void {
    for (const c of this.store.tagChanges({ arn, state: "held" })) {
      this.store.setTagChangeState(c.id, "applied", ACTOR, now);
      this.store.appendAudit({
        actor: ACTOR,
        action: "access_tags.released",
        target: arn,
        outcome: "ok",
        detail: { change: c.id, why },
      });
    }
  }

  list(filter: { state?: TagChange["state"]; limit?: number } = {}): TagChange[] {
    return this.store.tagChanges(filter);
  }

  /**
   * An admin accepts a held change: what it adds is served from now on (audited). Only the change still
   * held can be accepted: a superseded one names tags IAM no longer has.
   */
  accept(id: number, actor: string, detail: Record<string, unknown> = {}): TagChange {
    const now = new Date();
    const accepted = this.store.transaction(() => {
      const c = this.store.getTagChange(id);
      if (!c) throw new GatehouseError("TAG_CHANGE_NOT_FOUND", `no access-tag change ${id}`);
      if (c.state !== "held")
        throw new GatehouseError("TAG_CHANGE_NOT_HELD", `access-tag change ${id} is ${c.state}, not held`);
      const s = this.store.tagState(c.arn);
      if (s) this.store.putTagState({ ...s, served: c.after });
      this.store.setTagChangeState(id, "accepted", actor, now);
      this.store.appendAudit({
        actor,
        action: "access_tags.accepted",
        target: c.arn,
        outcome: "ok",
        detail: { change: id, before: c.before, after: c.after, added: c.added, ...detail },
      });
      return { ...c, state: "accepted" as const, decidedBy: actor, decidedAt: now.toISOString() };
    });
    this.held.delete(accepted.arn);
    this.hooks.reindex?.(accepted.arn);
    return accepted;
  }
}
