// Permission-request routes: create, list (mine or to approve), show, approve, reject, cancel, retry,
// and resolve a target whose policy drifted.

import type { FastifyInstance } from "fastify";
import { z } from "zod";
import {
  approveRequestSchema,
  createRequestSchema,
  listRequestsQuerySchema,
  rejectRequestSchema,
  resolveTargetSchema,
} from "../../shared/requests.ts";
import { parse, principalOf } from "../http.ts";
import type { RequestService } from "../requests.ts";

const idParams = (p: unknown) => (p as { id: string }).id;
const targetParams = z.object({
  id: z.string().min(1).max(100),
  n: z
    .string()
    .regex(/^\d{1,3}$/, "a target number")
    .transform(Number),
});

export async function requestRoutes(app: FastifyInstance, deps: { requests: RequestService }): Promise<void> {
  const { requests } = deps;

  app.post("/v1/requests", async (req, reply) => {
    const p = principalOf(req);
    const body = parse(createRequestSchema, req.body, "body");
    const out = await requests.create(p, body);
    return reply.status(201).send(out);
  });

  app.get("/v1/requests", async (req) => {
    const p = principalOf(req);
    const q = parse(listRequestsQuerySchema, req.query, "query");
    return { requests: requests.list(p, q.role) };
  });

  app.get("/v1/requests/:id", async (req) => requests.get(principalOf(req), idParams(req.params)));

  app.post("/v1/requests/:id/approve", async (req) => {
    const p = principalOf(req);
    const body = parse(approveRequestSchema, req.body ?? {}, "body");
    return requests.approve(p, idParams(req.params), body);
  });

  app.post("/v1/requests/:id/reject", async (req) => {
    const p = principalOf(req);
    const body = parse(rejectRequestSchema, req.body, "body");
    return requests.reject(p, idParams(req.params), body.reason);
  });

  app.post("/v1/requests/:id/cancel", async (req) => requests.cancel(principalOf(req), idParams(req.params)));

  app.post("/v1/requests/:id/retry", async (req) => requests.retry(principalOf(req), idParams(req.params)));

  app.post("/v1/requests/:id/targets/:n/resolve", async (req) => {
    const p = principalOf(req);
    const { id, n } = parse(targetParams, req.params, "path");
    const body = parse(resolveTargetSchema, req.body, "body");
    return requests.resolve(p, id, n, body);
  });
}
