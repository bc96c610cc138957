// Admin routes (members of the configured admin groups): sync status and runs (all accounts or one),
// the Organisation view (accounts, sync state, doctor's findings), the audit log, and access-tag
// changes made outside Gatehouse (listed; a held one accepted).

import type { FastifyInstance, FastifyRequest } from "fastify";
import {
  auditQuerySchema,
  type DoctorFindingView,
  type Organisation,
  tagChangeIdSchema,
  tagChangesQuerySchema,
} from "../../shared/api.ts";
import { GatehouseError } from "../../shared/errors.ts";
import type { AccountDirectory } from "../accounts.ts";
import type { BrokerConfig } from "../config.ts";
import { parse, principalOf } from "../http.ts";
import { runDoctor } from "../onboarding/doctor.ts";
import type { Store } from "../store.ts";
import type { Syncer } from "../sync.ts";
import type { TagWatch } from "../tag-watch.ts";

export interface AdminRoutesDeps {
  config: BrokerConfig;
  accounts: AccountDirectory;
  store: Store;
  syncer: Syncer;
  tagWatch: TagWatch;
  isAdmin(groups: readonly string[]): boolean;
}

/** The caller, if they are an administrator; otherwise the refusal is audited and 403 FORBIDDEN. */
export function adminGuard(store: Store, isAdmin: (groups: readonly string[]) => boolean) {
  return (req: FastifyRequest) => {
    const p = principalOf(req);
    if (!isAdmin(p.groups)) {
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
}

export async function adminRoutes(app: FastifyInstance, deps: AdminRoutesDeps): Promise<void> {
  const { store, syncer } = deps;
  const admin = adminGuard(store, deps.isAdmin);

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

  app.post("/v1/sync/:accountId", async (req) => {
    const p = admin(req);
    const { accountId } = req.params as { accountId: string };
    const account = deps.accounts.list().find((a) => a.id === accountId);
    if (!account)
      throw new GatehouseError("NOT_FOUND", `no configured account ${String(accountId).slice(0, 20)}`);
    const status = await syncer.syncAccount(account.id, account.name);
    store.appendAudit({
      actor: p.email,
      action: "sync.account",
      target: account.id,
      outcome: status.state === "ok" ? "ok" : "error",
      detail: { requestId: req.id },
    });
    return status;
  });

  // Doctor's last findings: it reads every account, so it runs when an admin asks, not on each view.
  let doctor: { at: string; findings: DoctorFindingView[] } | undefined;
  let doctorRun: Promise<void> | undefined;
  const organisation = (): Organisation => {
    const statuses = new Map(store.syncStatuses().map((s) => [s.accountId, s]));
    const findings = doctor?.findings ?? [];
    const d = deps.accounts.lastDiscovery;
    return {
      accountsFrom: deps.config.aws.accounts_from,
      discovery: d ? { at: d.at, ok: d.ok, accounts: d.accounts, error: d.error } : null,
      accounts: deps.accounts.list().map((a) => ({
        id: a.id,
        name: a.name,
        sync: statuses.get(a.id) ?? null,
        findings: findings.filter((f) => f.account === a.id),
      })),
      findings: findings.filter((f) => !f.account || !deps.accounts.list().some((a) => a.id === f.account)),
      doctorAt: doctor?.at ?? null,
    };
  };

  app.get("/v1/organisation", async (req) => {
    admin(req);
    return organisation();
  });

  app.post("/v1/organisation/doctor", async (req) => {
    const p = admin(req);
    // One run at a time; a second admin's click joins the running one.
    doctorRun ??= runDoctor(deps.config)
      .then((r) => {
        doctor = { at: new Date().toISOString(), findings: r.findings };
      })
      .finally(() => {
        doctorRun = undefined;
      });
    await doctorRun;
    store.appendAudit({
      actor: p.email,
      action: "doctor.run",
      target: null,
      outcome: "ok",
      detail: { requestId: req.id },
    });
    return organisation();
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
