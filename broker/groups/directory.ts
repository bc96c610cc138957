// A directory as a group source: when to ask it (directory.when), the per-person cache, one lookup at a
// time per person, and what a failing directory means (the last answer up to its maximum age, then an
// error with a code — never an empty list that would look like "no groups").

import { GatehouseError } from "../../shared/errors.ts";
import { claimAt, claimLabel } from "../claims.ts";
import type { BrokerConfig } from "../config.ts";
import { claimPath } from "../providers/resolve.ts";
import { GroupCache } from "./cache.ts";
import type { GroupSource, GroupsQuery } from "./index.ts";

/** One directory's API, behind the caching and policy that all directories share. */
export interface DirectoryClient {
  /** The directory's name in messages and logs ("Microsoft Graph"). */
  readonly label: string;
  /** The claim naming the person in this directory when directory.user_claim is not set. */
  readonly defaultUserClaim: string;
  /** The claim's value as this directory's user key, or undefined when it cannot be one (never reaches a URL). */
  userKey(value: unknown): string | undefined;
  /** Every group of the person, as tags name them; GatehouseError codes for every failure. */
  lookup(userKey: string, maxGroups: number): Promise<string[]>;
}

export interface DirectorySourceDeps {
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** Each answer given: from the cache, a lookup, a stale entry during a failure, or an error. */
  onOutcome?(outcome: "cached" | "looked_up" | "stale" | "failed"): void;
}

type Settings = NonNullable<BrokerConfig["directory"]>;

/** Failures that say nothing about the person: a cached answer may stand in while they last. */
const SERVE_STALE = new Set(["IDP_UNAVAILABLE", "DIRECTORY_CREDENTIALS_REJECTED", "DIRECTORY_FORBIDDEN"]);

export class DirectorySource implements GroupSource {
  private readonly cache: GroupCache;
  private readonly inFlight = new Map<string, Promise<string[]>>();
  /** The user claim's keys; `["email"]` means the e-mail read from oidc.email_claim (wherever it is). */
  private readonly userClaim: string[];
  /**
   * After a failure that is the directory's or the broker's own (unreachable, credentials refused, a
   * permission missing), nobody asks it again before this time (ms), and the failure is answered
   * meanwhile: an outage is not hammered per request, nor a token endpoint with a wrong secret.
   */
  private quiet: { until: number; failure: GatehouseError } | undefined;
  /** Lookups started (each one a series of pages); for tests and metrics. */
  lookups = 0;

  constructor(
    private readonly client: DirectoryClient,
    private readonly settings: Settings,
    private readonly deps: DirectorySourceDeps,
  ) {
    this.userClaim = claimPath(settings.user_claim ?? client.defaultUserClaim);
    this.cache = new GroupCache({
      maxEntries: settings.max_entries,
      maxGroups: settings.max_cached_groups,
      freshMs: settings.cache_seconds * 1000,
      maxStaleMs: Math.max(settings.cache_seconds, settings.max_stale_seconds) * 1000,
    });
  }

  stats() {
    return { ...this.cache.stats(), lookups: this.lookups };
  }

  async groupsFor(q: GroupsQuery): Promise<string[]> {
    const when = this.settings.when;
    const ask =
      when === "always" || q.overage || (when === "no_groups_in_token" && q.tokenGroups === undefined);
    if (!ask) return q.tokenGroups ?? [];
    const isEmail = this.userClaim.length === 1 && this.userClaim[0] === "email";
    const raw = isEmail ? q.email : claimAt(q.claims, this.userClaim);
    const key = this.client.userKey(raw);
    if (key === undefined)
      throw new GatehouseError(
        "UNAUTHENTICATED",
        `access token rejected: no usable ${claimLabel(this.userClaim)} claim to look the person up in ${this.client.label}`,
      );
    const hit = this.cache.get(key);
    if (hit?.freshness === "fresh") {
      this.deps.onOutcome?.("cached");
      return [...hit.groups];
    }
    const usable = hit?.freshness === "stale" ? hit.groups : undefined;
    try {
      const groups = await this.lookup(key);
      this.deps.onOutcome?.("looked_up");
      return [...groups];
    } catch (e) {
      const code = e instanceof GatehouseError ? e.code : "INTERNAL";
      if (usable && SERVE_STALE.has(code)) {
        this.deps.onOutcome?.("stale");
        this.deps.log.warn(
          { directory: this.client.label, code, err: (e as Error).message },
          "group directory failed; serving the person's last groups",
        );
        return [...usable];
      }
      if (code === "DIRECTORY_USER_UNKNOWN") this.cache.delete(key);
      this.deps.onOutcome?.("failed");
      this.deps.log.warn(
        { directory: this.client.label, code, err: (e as Error).message },
        "group lookup failed",
      );
      throw e instanceof GatehouseError ? e : new GatehouseError("INTERNAL", undefined, { cause: e });
    }
  }

  /** One lookup per person at a time: whoever asks while one runs waits for its answer. */
  private lookup(key: string): Promise<string[]> {
    const running = this.inFlight.get(key);
    if (running) return running;
    if (this.quiet && Date.now() < this.quiet.until) {
      const { failure, until } = this.quiet;
      return Promise.reject(
        new GatehouseError(
          failure.code,
          `${failure.message} (not asked again before ${new Date(until).toISOString()})`,
          { cause: failure },
        ),
      );
    }
    this.lookups++;
    const p = this.client
      .lookup(key, this.settings.max_groups_per_person)
      .then(
        (groups) => {
          this.cache.set(key, groups);
          return groups;
        },
        (e: unknown) => {
          if (e instanceof GatehouseError && SERVE_STALE.has(e.code))
            this.quiet = { until: Date.now() + this.settings.retry_after_seconds * 1000, failure: e };
          throw e;
        },
      )
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }
}
