// The access review as an admin route: GET /v1/admin/access-report[?format=csv&unusedDays=N] — every
// person's roles and why, every role's people, last use and unused access. Admins only; each read audited.

import type { FastifyInstance, FastifyRequest } from "fastify";
import { accessReportCsv, accessReportQuerySchema } from "../../shared/access-report.ts";
import { GatehouseError } from "../../shared/errors.ts";
import { type AccessReportDeps, accessReport } from "../access-report/service.ts";
import { parse, principalOf } from "../http.ts";
import type { Store } from "../store.ts";

export interface AccessReportRoutesDeps extends AccessReportDeps {
  store: Pick<Store, "appendAudit">;
  isAdmin(groups: readonly string[]): boolean;
}

export async function accessReportRoutes(app: FastifyInstance, deps: AccessReportRoutesDeps): Promise<void> {
  const admin = (req: FastifyRequest) => {
    const p = principalOf(req);
    if (!deps.isAdmin(p.groups)) {
      deps.store.appendAudit({
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

  app.get("/v1/admin/access-report", async (req, reply) => {
    const p = admin(req);
    const q = parse(accessReportQuerySchema, req.query, "query");
    const report = accessReport(deps, q.unusedDays !== undefined ? { unusedDays: q.unusedDays } : {});
    // Who looked at everyone's access is itself something an auditor asks.
    deps.store.appendAudit({
      actor: p.email,
      action: "access.report",
      target: null,
      outcome: "ok",
      detail: {
        format: q.format ?? "json",
        unusedDays: report.unusedDays,
        people: report.totals.people,
        roles: report.totals.roles,
        requestId: req.id,
      },
    });
    if (q.format === "csv") {
      const day = report.generatedAt.slice(0, 10);
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="gatehouse-access-${day}.csv"`)
        .send(accessReportCsv(report.people));
    }
    return report;
  });
}
