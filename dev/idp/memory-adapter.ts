// oidc-provider storage for one development IdP: a Map in this process, private to that IdP (oidc-provider's
// own quick-start adapter is a module-wide store and warns on every start), shared across key rotations.

import type { Adapter, AdapterPayload } from "oidc-provider";

interface Entry {
  payload: AdapterPayload;
  expiresAt: number;
}

const SWEEP_EVERY_MS = 60_000;

export interface MemoryStore {
  adapter(model: string): Adapter;
  close(): void;
}

export function createMemoryStore(): MemoryStore {
  const entries = new Map<string, Entry>();
  const byGrant = new Map<string, Set<string>>();
  // Secondary indexes map to the entry's full key ("Session:<id>").
  const sessionByUid = new Map<string, string>();
  const byUserCode = new Map<string, string>();

  const live = (key: string): AdapterPayload | undefined => {
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.payload;
  };

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [key, entry] of entries) if (entry.expiresAt <= now) entries.delete(key);
    for (const [grantId, keys] of byGrant) {
      for (const key of keys) if (!entries.has(key)) keys.delete(key);
      if (keys.size === 0) byGrant.delete(grantId);
    }
    for (const index of [sessionByUid, byUserCode]) {
      for (const [value, key] of index) if (!entries.has(key)) index.delete(value);
    }
  }, SWEEP_EVERY_MS);
  sweep.unref();

  return {
    close: () => clearInterval(sweep),
    adapter(model: string): Adapter {
      const key = (id: string) => `${model}:${id}`;
      return {
        async upsert(id, payload, expiresIn) {
          const expiresAt =
            typeof expiresIn === "number" ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY;
          entries.set(key(id), { payload, expiresAt });
          if (model === "Session" && typeof payload["uid"] === "string")
            sessionByUid.set(payload["uid"], key(id));
          if (typeof payload["userCode"] === "string") byUserCode.set(payload["userCode"], key(id));
          const grantId = payload["grantId"];
          if (typeof grantId === "string") {
            const keys = byGrant.get(grantId) ?? new Set<string>();
            keys.add(key(id));
            byGrant.set(grantId, keys);
          }
        },
        async find(id) {
          return live(key(id));
        },
        async findByUid(uid) {
          const k = sessionByUid.get(uid);
          return k === undefined ? undefined : live(k);
        },
        async findByUserCode(userCode) {
          const k = byUserCode.get(userCode);
          return k === undefined ? undefined : live(k);
        },
        async consume(id) {
          const payload = live(key(id));
          if (payload) payload["consumed"] = Math.floor(Date.now() / 1000);
        },
        async destroy(id) {
          entries.delete(key(id));
        },
        async revokeByGrantId(grantId) {
          for (const k of byGrant.get(grantId) ?? []) entries.delete(k);
          byGrant.delete(grantId);
        },
      };
    },
  };
}
