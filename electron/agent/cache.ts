// The credential cache: per role, in memory. Served while valid, refreshed in the background inside the
// refresh window, one broker call per role however many callers wait, errors never cached, and never an
// expired credential: when the broker is unreachable the cache serves what is still valid, then fails.

export interface CachedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** ISO 8601. */
  expiration: string;
}

export interface CacheOptions {
  /** Refresh in the background when less than this remains. */
  refreshWindowMs: number;
  /** Never hand out credentials with less than this left (callers need time to use them). */
  minValidityMs?: number;
  now?: () => number;
}

export type CacheDecision = "fresh" | "refresh-in-background" | "fetch";

/** Pure policy: what to do with a cached entry at time `now`. */
export function decide(
  expiresAt: number | undefined,
  now: number,
  refreshWindowMs: number,
  minValidityMs: number,
): CacheDecision {
  if (expiresAt === undefined || expiresAt - now <= minValidityMs) return "fetch";
  if (expiresAt - now <= refreshWindowMs) return "refresh-in-background";
  return "fresh";
}

export class CredentialCache {
  private readonly entries = new Map<string, CachedCredentials>();
  private readonly inflight = new Map<string, Promise<CachedCredentials>>();
  private readonly now: () => number;
  private readonly minValidityMs: number;
  /** Bumped by clear(): a fetch begun before (another person's, after a sign-out) must not fill the cache. */
  private generation = 0;

  constructor(
    private readonly fetch: (key: string) => Promise<CachedCredentials>,
    private readonly opts: CacheOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.minValidityMs = opts.minValidityMs ?? 60_000;
  }

  /** One fetch per key at a time; a failed fetch is not remembered. */
  private refresh(key: string): Promise<CachedCredentials> {
    const running = this.inflight.get(key);
    if (running) return running;
    const generation = this.generation;
    const p: Promise<CachedCredentials> = this.fetch(key)
      .then((c) => {
        if (!c.accessKeyId || !c.secretAccessKey || !c.sessionToken)
          throw new Error("the broker returned empty credentials");
        if (generation === this.generation) this.entries.set(key, c);
        return c;
      })
      .finally(() => {
        if (this.inflight.get(key) === p) this.inflight.delete(key);
      });
    this.inflight.set(key, p);
    return p;
  }

  async get(key: string): Promise<CachedCredentials> {
    const cached = this.entries.get(key);
    const expiresAt = cached ? Date.parse(cached.expiration) : undefined;
    const decision = decide(expiresAt, this.now(), this.opts.refreshWindowMs, this.minValidityMs);
    if (decision === "fresh") return cached!;
    if (decision === "refresh-in-background") {
      // The caller gets what is still valid now; a failure of the background refresh is retried by the next caller.
      this.refresh(key).catch(() => undefined);
      return cached!;
    }
    try {
      return await this.refresh(key);
    } catch (e) {
      this.entries.delete(key);
      throw e;
    }
  }

  /** What is cached (for status), without secrets. */
  list(): { key: string; expiration: string }[] {
    return [...this.entries].map(([key, c]) => ({ key, expiration: c.expiration }));
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
    this.inflight.clear();
  }
}
