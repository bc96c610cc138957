// Liveness, readiness and Prometheus metrics (no authentication; nothing secret is exposed).

import type { FastifyInstance } from "fastify";
import type { Metrics } from "../metrics.ts";

export async function healthRoutes(
  app: FastifyInstance,
  deps: { metrics: Metrics; ready(): boolean; storeUp?(): boolean; auditProblem(): string | null },
): Promise<void> {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    const audit = deps.auditProblem();
    if (audit) return reply.status(503).send({ status: "audit-tampered", detail: audit });
    // A load balancer sends nobody to a broker that cannot reach its database.
    if (deps.storeUp && !deps.storeUp())
      return reply
        .status(503)
        .send({ status: "store-unavailable", detail: "the database cannot be reached" });
    if (deps.ready()) return { status: "ready" };
    return reply.status(503).send({ status: "starting", detail: "the first sync has not finished" });
  });
  app.get("/metrics", async (_req, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
