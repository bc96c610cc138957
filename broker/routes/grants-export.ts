// GET /v1/admin/grants/export?format=terraform|cloudformation|json[&active=true][&account=ID|NAME…]
// [&expiredSince=DATE][&permanentOnly=true][&envelope=true]: the applied grants as IaC (grants-export/),
// the same as `gatehouse-broker grants export`. Admins only; each export audited (grants.export).

import type { FastifyInstance } from "fastify";
import { GatehouseError } from "../../shared/errors.ts";
import { grantsExportQuerySchema } from "../../shared/grants-export-schema.ts";
import type { BrokerConfig } from "../config.ts";
import type { Db } from "../db/index.ts";
import { type ExportFilter, exportGrants, parseSince, resolveAccounts } from "../grants-export/index.ts";
import { parse } from "../http.ts";
import type { Store } from "../store.ts";
import { adminGuard } from "./admin.ts";

export interface GrantsExportRoutesDeps {
  config: BrokerConfig;
  db: Db;
  store: Store;
  isAdmin(groups: readonly string[]): boolean;
}

export async function grantsExportRoutes(app: FastifyInstance, deps: GrantsExportRoutesDeps): Promise<void> {
  const admin = adminGuard(deps.store, deps.isAdmin);

  app.get("/v1/admin/grants/export", async (req, reply) => {
    const p = admin(req);
    const q = parse(grantsExportQuerySchema, req.query, "query");
    const format = q.format ?? "terraform";
    if (q.active && q.expiredSince !== undefined)
      throw new GatehouseError("BAD_REQUEST", "active and expiredSince exclude each other");
    const filter: ExportFilter =
      q.expiredSince !== undefined
        ? { mode: "expired-since", since: parseSince(q.expiredSince, "BAD_REQUEST") }
        : { mode: q.active ? "active" : "applied" };
    const given = q.account === undefined ? [] : Array.isArray(q.account) ? q.account : [q.account];
    // Read on each call: with accounts from Organizations the list changes between syncs.
    if (given.length) filter.accounts = resolveAccounts(given, deps.config.aws.accounts, "BAD_REQUEST");
    if (q.permanentOnly) filter.permanentOnly = true;
    const result = exportGrants(deps.db, {
      format,
      filter,
      accountNames: new Map(deps.config.aws.accounts.map((a) => [a.id, a.name])),
    });
    // What was granted, to whom, is exactly what an auditor asks who looked at.
    deps.store.appendAudit({
      actor: p.email,
      action: "grants.export",
      target: null,
      outcome: "ok",
      detail: { format, filter, grants: result.count, requestId: req.id },
    });
    if (q.envelope)
      return {
        format,
        fileName: result.fileName,
        generatedAt: result.generatedAt,
        count: result.count,
        text: result.text,
      };
    return reply
      .type(result.contentType)
      .header("content-disposition", `attachment; filename="${result.fileName}"`)
      .send(result.text);
  });
}
