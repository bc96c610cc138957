// Routes people use: who am I, my roles, credentials for a role, a console URL for a role.

import type { FastifyInstance } from "fastify";
import { consoleRequestSchema, credentialsRequestSchema, targetsQuerySchema } from "../../shared/api.ts";
import { GatehouseError } from "../../shared/errors.ts";
import type { AccessIndex } from "../access-index.ts";
import type { BrokerConfig } from "../config.ts";
import { parse, principalOf } from "../http.ts";
import { type AccessIssuer, toApiRole } from "../issue.ts";
import type { Store } from "../store.ts";
import { assertMayListTargets, isApprover, lintOptionsOf, searchTargets } from "../targets.ts";

export interface AccessRoutesDeps {
  config: BrokerConfig;
  index: AccessIndex;
  issuer: AccessIssuer;
  store: Store;
  isAdmin(groups: readonly string[]): boolean;
}

export async function accessRoutes(app: FastifyInstance, deps: AccessRoutesDeps): Promise<void> {
  const { index, issuer, store } = deps;

  app.get("/v1/me", async (req) => {
    const p = principalOf(req);
    return {
      email: p.email,
      groups: p.groups,
      admin: deps.isAdmin(p.groups),
      approver: isApprover(deps.config, store, p),
      // So that the desktop's lint flags what this broker refuses (its roles, access tags) as you type.
      lint: lintOptionsOf(deps.config),
      requests: {
        approvalsRequired: deps.config.requests.approvals_required,
        allowPermanent: deps.config.requests.allow_permanent,
      },
    };
  });

  /** Roles and IAM users a permission request may name (`?q=staging dev&limit=50`). */
  app.get("/v1/targets", async (req) => {
    const p = principalOf(req);
    const q = parse(targetsQuerySchema, req.query, "query");
    const admin = deps.isAdmin(p.groups);
    try {
      assertMayListTargets(deps.config, store, p, admin);
    } catch (e) {
      audited(store, p.email, "targets.list", "/v1/targets", e, req.id);
      throw e;
    }
    return { targets: searchTargets({ config: deps.config, store, index }, p, q.q ?? "", q.limit, admin) };
  });

  app.get("/v1/roles", async (req) => {
    const p = principalOf(req);
    return { roles: index.rolesFor(p).map(toApiRole) };
  });

  app.post("/v1/credentials", async (req) => {
    const p = principalOf(req);
    const body = parse(credentialsRequestSchema, req.body, "body");
    try {
      const out = await issuer.credentials(p, body.role, body.durationSeconds);
      store.appendAudit({
        actor: p.email,
        action: "credentials.issue",
        target: out.role.arn,
        outcome: "ok",
        detail: {
          durationSeconds: out.durationSeconds,
          accessKeyId: out.accessKeyId,
          clamped: out.clamped,
          requestId: req.id,
        },
      });
      return out;
    } catch (e) {
      if (!(e instanceof GatehouseError && UNWRITABLE.has(e.code)))
        audited(store, p.email, "credentials.issue", body.role, e, req.id);
      throw e;
    }
  });

  app.post("/v1/console", async (req) => {
    const p = principalOf(req);
    const body = parse(consoleRequestSchema, req.body, "body");
    try {
      const out = await issuer.console(p, body.role, body.region, body.destination);
      store.appendAudit({
        actor: p.email,
        action: "console.url",
        target: out.role.arn,
        outcome: "ok",
        detail: {
          sessionDurationSeconds: out.sessionDurationSeconds,
          region: body.region ?? null,
          requestId: req.id,
        },
      });
      return out;
    } catch (e) {
      if (!(e instanceof GatehouseError && UNWRITABLE.has(e.code)))
        audited(store, p.email, "console.url", body.role, e, req.id);
      throw e;
    }
  });
}

/** The audit cannot be written: auditing the failure would fail the same way (and nothing was handed out). */
const UNWRITABLE = new Set(["AUDIT_UNAVAILABLE", "STORE_UNAVAILABLE"]);

/** Denials and failures are audited too (the role as the person named it; never a secret). */
function audited(
  store: Store,
  actor: string,
  action: string,
  target: string,
  e: unknown,
  requestId: string,
): void {
  const code = e instanceof GatehouseError ? e.code : "INTERNAL";
  const denied = code === "ROLE_NOT_FOUND" || code === "CONSOLE_NOT_ALLOWED" || code === "FORBIDDEN";
  store.appendAudit({
    actor,
    action,
    target,
    outcome: denied ? "denied" : "error",
    detail: { code, requestId },
  });
}
