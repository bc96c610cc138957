// Permission-request routes: create, list (mine or to approve), show, approve, reject, cancel, retry,
// and resolve a target whose policy drifted; every refusal of one of them is audited (SECURITY 36).

import type { FastifyError, FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { GatehouseError } from "../../shared/errors.ts";
import {
  approveRequestSchema,
  createRequestSchema,
  listRequestsQuerySchema,
  rejectRequestSchema,
  resolveTargetSchema,
} from "../../shared/requests.ts";
import { parse, principalOf } from "../http.ts";
import type { RequestService } from "../requests.ts";
import type { Store } from "../store.ts";

const idParams = (p: unknown) => (p as { id: string }).id;
const targetParams = z.object({
  id: z.string().min(1).max(100),
  n: z
    .string()
    .regex(/^\d{1,3}$/, "a target number")
    .transform(Number),
});

/** The audit action of each route, the same names the successful rows use. */
const ACTIONS: Record<string, string> = {
  "POST /v1/requests": "request.create",
  "GET /v1/requests": "request.list",
  "GET /v1/requests/:id": "request.read",
  "POST /v1/requests/:id/approve": "request.approve",
  "POST /v1/requests/:id/reject": "request.reject",
  "POST /v1/requests/:id/cancel": "request.cancel",
  "POST /v1/requests/:id/retry": "request.retry",
  "POST /v1/requests/:id/targets/:n/resolve": "request.resolve",
};

const text = (v: unknown, max: number) => (typeof v === "string" ? v.slice(0, max) : undefined);

/**
 * One denied row for a refused call: who, which route, which request (or what a refused creation
 * asked for), and the code: refused creations (POLICY_REFUSED…), lost approvals (409), other people's
 * requests (404), so that the audit answers "who tried what".
 */
function denialRow(req: FastifyRequest, err: FastifyError | GatehouseError) {
  const status = err instanceof GatehouseError ? err.status : (err.statusCode ?? 500);
  const action = ACTIONS[`${req.method} ${req.routeOptions.url}`];
  if (!req.principal || !action || status < 400 || status >= 500) return undefined;
  const code =
    err instanceof GatehouseError ? err.code : status === 415 ? "UNSUPPORTED_MEDIA_TYPE" : "BAD_REQUEST";
  const params = (req.params ?? {}) as { id?: unknown; n?: unknown };
  const id = text(params.id, 100);
  const n = text(params.n, 3);
  const body = (req.body ?? {}) as { kind?: unknown; targets?: unknown };
  const asked =
    action === "request.create"
      ? {
          kind: text(body.kind, 32),
          targets: Array.isArray(body.targets)
            ? body.targets.slice(0, 100).map((t) => text(t, 2048) ?? "?")
            : undefined,
        }
      : {};
  return {
    actor: req.principal.email,
    action,
    target: id ? (n ? `${id}/${n}` : id) : null,
    outcome: "denied" as const,
    detail: { code, status, message: err.message.slice(0, 2000), ...asked, requestId: req.id },
  };
}

export async function requestRoutes(
  scope: FastifyInstance,
  deps: { requests: RequestService; store: Store },
): Promise<void> {
  // Its own plugin, so that the denial hook sees these routes only.
  await scope.register(async (app) => routes(app, deps));
}

async function routes(app: FastifyInstance, deps: { requests: RequestService; store: Store }): Promise<void> {
  const { requests, store } = deps;

  app.addHook("onError", async (req, _reply, err) => {
    const row = denialRow(req, err);
    if (!row) return;
    try {
      store.appendAudit(row);
    } catch (e) {
      // The answer stays the refusal; a failed audit write is the store's own alarm (logged, 503 elsewhere).
      req.log.error({ err: (e as Error).message, action: row.action }, "denial not audited");
    }
  });

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
