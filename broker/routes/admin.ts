// Admin routes (members of the configured admin groups): sync status and runs, the audit log, and
// access-tag changes made outside Gatehouse (listed; a held one accepted).

import type { FastifyInstance, FastifyRequest } from "fastify";
import { auditQuerySchema, tagChangeIdSchema, tagChangesQuerySchema } from "../../shared/api.ts";
import { GatehouseError } from "../../shared/errors.ts";
import { parse, principalOf } from "../http.ts";
import type { Store } from "../store.ts";
import type { Syncer } from "../sync.ts";
import type { TagWatch } from "../tag-watch.ts";

export interface AdminRoutesDeps {
  store: Store;
  syncer: Syncer;
  tagWatch: TagWatch;
  isAdmin(groups: readonly string[]): boolean;
}

export async function adminRoutes(app: FastifyInstance, deps: AdminRoutesDeps): Promise<void> {
  const { store, syncer } = deps;
  const admin = (req: FastifyRequest) => {
    const p = principalOf(req);
    if (!deps.isAdmin(p.groups)) {
      store.appendAudit({
        actor: p.email,
        action: "admin.denied",
        target: req.routeOptions.url ?? req.url,
        outcome: "denied",
        detail: { requestId: req.id },
      });
      throw new GatehouseError("FORBIDDEN", "this route is for Gatehouse administrators");
    }
    return p;
  };

  app.get("/v1/sync", async (req) => {
    admin(req);
    return { inProgress: syncer.inProgress, accounts: store.syncStatuses() };
  });

  app.post("/v1/sync", async (req) => {
    const p = admin(req);
    const result = await syncer.syncAll();
    store.appendAudit({
      actor: p.email,
      action: "sync.run",
      target: null,
      outcome: result.failed === 0 ? "ok" : "error",
      detail: { ok: result.ok, failed: result.failed, durationMs: result.durationMs, requestId: req.id },
    });
    return { inProgress: false, accounts: result.accounts };
  });

  app.get("/v1/audit", async (req) => {
    const p = admin(req);
    const q = parse(auditQuerySchema, req.query, "query");
    const entries = store.listAudit({
      ...(q.actor ? { actor: q.actor.toLowerCase() } : {}),
      ...(q.action ? { action: q.action } : {}),
      ...(q.since ? { since: q.since } : {}),
      ...(q.after !== undefined ? { afterSeq: q.after } : {}),
      limit: q.limit ?? 100,
    });
    store.appendAudit({
      actor: p.email,
      action: "audit.read",
      target: null,
      outcome: "ok",
      detail: { requestId: req.id },
    });
    return { entries };
  });

  app.get("/v1/admin/tag-changes", async (req) => {
    admin(req);
    const q = parse(tagChangesQuerySchema, req.query, "query");
    return {
      mode: deps.tagWatch.mode,
      changes: deps.tagWatch.list({ ...(q.state ? { state: q.state } : {}), limit: q.limit ?? 100 }),
    };
  });

  app.post("/v1/admin/tag-changes/:id/accept", async (req) => {
    const p = admin(req);
    const { id } = parse(tagChangeIdSchema, req.params, "params");
    return { change: deps.tagWatch.accept(id, p.email, { requestId: req.id }) };
  });
}
