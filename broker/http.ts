// HTTP plumbing shared by the broker's routes: RFC 9457 problem+json errors with stable codes,
// zod parsing of inputs, and the bearer-token hook.

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import { ERRORS, type ErrorCode, GatehouseError } from "../shared/errors.ts";
import type { Principal, TokenVerifier } from "./auth.ts";
import { isWriteFailure } from "./store.ts";

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export function problem(
  reply: FastifyReply,
  req: FastifyRequest,
  code: ErrorCode,
  detail: string,
  issues?: { path: string; message: string }[],
) {
  const { status, title } = ERRORS[code];
  // RFC 6750: a refused bearer token says so in WWW-Authenticate.
  if (code === "UNAUTHENTICATED")
    reply.header("www-authenticate", 'Bearer realm="gatehouse", error="invalid_token"');
  return reply
    .status(status)
    .type("application/problem+json")
    .send({
      type: `https://gatehouse.dev/problems/${code}`,
      title,
      status,
      detail,
      code,
      instance: req.id,
      ...(issues ? { issues } : {}),
    });
}

/** Parse an input with its schema; a mismatch is a 400 BAD_REQUEST listing the issues. */
export function parse<T extends z.ZodType>(schema: T, input: unknown, where: string): z.infer<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({
    path: i.path.map(String).join(".") || where,
    message: i.message,
  }));
  throw Object.assign(
    new GatehouseError(
      "BAD_REQUEST",
      `invalid ${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
    ),
    { issues },
  );
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | GatehouseError, req, reply) => {
    if (err instanceof GatehouseError) {
      if (err.status >= 500) req.log.warn({ code: err.code, err: err.message }, "request failed");
      return problem(
        reply,
        req,
        err.code,
        err.message,
        (err as GatehouseError & { issues?: { path: string; message: string }[] }).issues,
      );
    }
    const code = err.code;
    if (code === "FST_ERR_CTP_INVALID_MEDIA_TYPE")
      return problem(reply, req, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
    if (code === "FST_ERR_CTP_BODY_TOO_LARGE")
      return problem(reply, req, "PAYLOAD_TOO_LARGE", "the body is larger than the broker accepts");
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      // Malformed JSON, forbidden __proto__ / constructor.prototype keys, empty bodies and the like.
      return problem(reply, req, "BAD_REQUEST", err.message);
    }
    // The database cannot write (full disk, the database_max_mb cap, I/O; PostgreSQL's 53xxx/58xxx): say so
    // with a code, not INTERNAL.
    if (isWriteFailure(code)) {
      req.log.error({ code, err: err.message }, "the database cannot be written");
      return problem(
        reply,
        req,
        "STORE_UNAVAILABLE",
        `the broker's database cannot be written (${code}); the change was not completed`,
      );
    }
    req.log.error({ err }, "unexpected error");
    return problem(
      reply,
      req,
      "INTERNAL",
      "an unexpected error happened; the request id names it in the broker's log",
    );
  });
  app.setNotFoundHandler((req, reply) =>
    problem(reply, req, "NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`),
  );
}

/** A preHandler that requires a valid access token and puts its principal on the request. */
export function requireAuth(verifier: TokenVerifier) {
  return async (req: FastifyRequest) => {
    req.principal = await verifier.verify(req.headers.authorization);
  };
}

export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new GatehouseError("UNAUTHENTICATED");
  return req.principal;
}
