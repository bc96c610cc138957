// The emulator's HTTP server: one endpoint for every service (chosen by the SigV4 scope), console
// federation, and a loopback-only admin API for fault injection and call logs.

import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { ZodError } from "zod";
import { AwsError } from "./errors.ts";
import { Faults } from "./faults.ts";
import { Federation } from "./federation.ts";
import type { CallContext, Handler } from "./handler.ts";
import { IAM_HANDLERS, IAM_NAMESPACE, IAM_VERSION } from "./iam.ts";
import type { World } from "./model.ts";
import { ORGANIZATIONS_HANDLERS, ORGANIZATIONS_TARGET_PREFIX } from "./organizations.ts";
import { Params, parseForm, xmlError, xmlResponse } from "./query.ts";
import { authenticate, scopeService } from "./sigv4.ts";
import { STS_HANDLERS, STS_NAMESPACE, STS_VERSION } from "./sts.ts";

const MAX_BODY = 1024 * 1024;
/** SigV4 failures as JSON services name them. */
const JSON_AUTH_CODES: Record<string, string> = {
  InvalidClientTokenId: "UnrecognizedClientException",
  SignatureDoesNotMatch: "InvalidSignatureException",
  ExpiredToken: "ExpiredTokenException",
  IncompleteSignature: "IncompleteSignatureException",
};

interface Service {
  namespace: string;
  version: string;
  handlers: Record<string, Handler>;
}
const SERVICES: Record<string, Service> = {
  sts: { namespace: STS_NAMESPACE, version: STS_VERSION, handlers: STS_HANDLERS },
  iam: { namespace: IAM_NAMESPACE, version: IAM_VERSION, handlers: IAM_HANDLERS },
};

export interface CallRecord {
  seq: number;
  time: string;
  service: string;
  action: string;
  account: string | null;
  caller: string | null;
  status: number;
  error: string | null;
}

export interface EmulatorOptions {
  world: World;
  host?: string;
  port?: number;
  /** Keep at most this many call records (oldest dropped). */
  callLogLimit?: number;
}

export interface Emulator {
  url: string;
  port: number;
  world: World;
  faults: Faults;
  calls: CallRecord[];
  server: Server;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      if (size > MAX_BODY) return;
      size += c.length;
      if (size > MAX_BODY) {
        // Keep reading (and dropping) the rest: destroying the socket would reset the connection
        // before the client sees the 413.
        chunks.length = 0;
        reject(new HttpError(413, "Request body too large"));
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    // A client that goes away mid-body made a bad request; it is no fault of the emulator.
    req.on("error", () => reject(new HttpError(400, "The request body was not received in full")));
  });
}

export function isLoopback(socket: Socket): boolean {
  const a = socket.remoteAddress ?? "";
  return a === "127.0.0.1" || a === "::1" || a === "::ffff:127.0.0.1";
}

export async function startEmulator(opts: EmulatorOptions): Promise<Emulator> {
  const { world } = opts;
  const faults = new Faults();
  const federation = new Federation(world);
  const calls: CallRecord[] = [];
  const limit = opts.callLogLimit ?? 100_000;
  let seq = 0;
  let lastPrune = Date.now();

  const record = (r: Omit<CallRecord, "seq" | "time">) => {
    calls.push({ seq: ++seq, time: new Date().toISOString(), ...r });
    if (calls.length > limit) calls.splice(0, calls.length - limit);
  };

  async function query(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const requestId = randomUUID();
    const serviceName = scopeService(req.headers.authorization) ?? "sts";
    const service = SERVICES[serviceName];
    const namespace = service?.namespace ?? STS_NAMESPACE;
    let action = "";
    let caller: string | null = null;
    let account: string | null = null;
    const send = (status: number, body: string) => {
      res.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": requestId });
      res.end(body);
    };
    try {
      const body = req.method === "POST" ? await readBody(req) : "";
      const params = parseForm(req.method === "POST" ? body : url.search.slice(1));
      action = params.Action ?? "";
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      const queryObj: Record<string, string> = {};
      for (const [k, v] of url.searchParams) queryObj[k] = v;
      const now = Date.now();
      const auth = await authenticate(
        { method: req.method ?? "GET", path: url.pathname, query: queryObj, headers, body },
        world,
        now,
      );
      caller = auth.caller.arn;
      account = auth.caller.account.id;
      if (!service) throw new AwsError("UnrecognizedClientException", 400, `Unknown service ${serviceName}`);
      if (!action) throw new AwsError("MissingAction", 400, "Missing Action");
      const handler = Object.hasOwn(service.handlers, action) ? service.handlers[action] : undefined;
      if (!handler || params.Version !== service.version) {
        throw new AwsError(
          "InvalidAction",
          400,
          `Could not find operation ${action} for version ${params.Version ?? "NO_VERSION_SPECIFIED"}`,
        );
      }
      const f = faults.get();
      if (f.latencyMs > 0) await new Promise((r) => setTimeout(r, f.latencyMs));
      faults.check(account, action, Date.now());
      const ctx: CallContext = {
        params: new Params(params),
        caller: auth.caller,
        world,
        now,
        mutated: false,
      };
      const result = handler(ctx);
      if (ctx.mutated) world.persist();
      if (now - lastPrune > 60_000) {
        lastPrune = now;
        world.pruneSessions(now);
      }
      send(200, xmlResponse(action, namespace, result, requestId));
      record({ service: serviceName, action, account, caller, status: 200, error: null });
    } catch (e) {
      const err =
        e instanceof AwsError
          ? e
          : e instanceof HttpError
            ? new AwsError(e.status === 413 ? "RequestEntityTooLarge" : "InvalidRequest", e.status, e.message)
            : new AwsError(
                "InternalFailure",
                500,
                "The request processing has failed because of an unknown error.",
                "Receiver",
              );
      if (!(e instanceof AwsError) && !(e instanceof HttpError)) console.error("emulator: internal error", e);
      send(err.status, xmlError(err, namespace, requestId));
      record({ service: serviceName, action, account, caller, status: err.status, error: err.code });
    }
  }

  /**
   * JSON 1.1 services (`X-Amz-Target: Prefix.Action`, application/x-amz-json-1.1): AWS Organizations.
   * Errors are `{"__type", "Message"}` with the service's own names for the shared faults.
   */
  async function json11(req: IncomingMessage, res: ServerResponse, url: URL, target: string): Promise<void> {
    const requestId = randomUUID();
    const serviceName = scopeService(req.headers.authorization) ?? "organizations";
    const action = target.startsWith(ORGANIZATIONS_TARGET_PREFIX)
      ? target.slice(ORGANIZATIONS_TARGET_PREFIX.length)
      : "";
    let caller: string | null = null;
    let account: string | null = null;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": requestId });
      res.end(JSON.stringify(body));
    };
    try {
      const body = await readBody(req);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      const now = Date.now();
      const auth = await authenticate(
        { method: req.method ?? "POST", path: url.pathname, query: {}, headers, body },
        world,
        now,
      );
      caller = auth.caller.arn;
      account = auth.caller.account.id;
      const handler = Object.hasOwn(ORGANIZATIONS_HANDLERS, action)
        ? ORGANIZATIONS_HANDLERS[action]
        : undefined;
      if (serviceName !== "organizations" || !handler) {
        throw new AwsError("UnknownOperationException", 400, `Unknown operation ${target}`);
      }
      let input: unknown;
      try {
        input = body === "" ? {} : JSON.parse(body);
      } catch {
        throw new AwsError("SerializationException", 400, "The request body is not valid JSON");
      }
      if (input === null || typeof input !== "object" || Array.isArray(input)) {
        throw new AwsError("SerializationException", 400, "The request body must be a JSON object");
      }
      const f = faults.get();
      if (f.latencyMs > 0) await new Promise((r) => setTimeout(r, f.latencyMs));
      faults.check(account, action, Date.now());
      const result = handler({ input: input as Record<string, unknown>, caller: auth.caller, world });
      send(200, result);
      record({ service: serviceName, action, account, caller, status: 200, error: null });
    } catch (e) {
      let err =
        e instanceof AwsError
          ? e
          : e instanceof HttpError
            ? new AwsError(e.status === 413 ? "RequestEntityTooLarge" : "InvalidRequest", e.status, e.message)
            : new AwsError(
                "ServiceException",
                500,
                "AWS Organizations can't complete your request.",
                "Receiver",
              );
      if (!(e instanceof AwsError) && !(e instanceof HttpError)) console.error("emulator: internal error", e);
      // The shared faults and the identity-policy check speak the Query services' codes.
      if (err.code === "Throttling") err = new AwsError("TooManyRequestsException", 400, "Rate exceeded");
      else if (err.code === "ServiceUnavailable")
        err = new AwsError("ServiceException", 500, err.message, "Receiver");
      else if (err.code === "AccessDenied") err = new AwsError("AccessDeniedException", 400, err.message);
      else if (JSON_AUTH_CODES[err.code])
        err = new AwsError(JSON_AUTH_CODES[err.code]!, err.status, err.message);
      const reason = (e as { reason?: string }).reason;
      send(err.status, {
        __type: err.code,
        Message: err.message,
        ...(err.code === "TooManyRequestsException" ? { Type: "organizations" } : {}),
        ...(reason ? { Reason: reason } : {}),
      });
      record({ service: serviceName, action, account, caller, status: err.status, error: err.code });
    }
  }

  async function admin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (!isLoopback(req.socket)) return json(403, { error: "admin endpoint is only served to loopback" });
    const route = `${req.method} ${url.pathname}`;
    try {
      switch (route) {
        case "GET /__admin/faults":
          return json(200, faults.get());
        case "PUT /__admin/faults":
          return json(200, faults.set(JSON.parse((await readBody(req)) || "{}")));
        case "GET /__admin/calls": {
          const since = Number(url.searchParams.get("since") ?? "0");
          return json(200, { calls: calls.filter((c) => c.seq > since) });
        }
        case "DELETE /__admin/calls":
          calls.length = 0;
          return json(200, { ok: true });
        case "POST /__admin/expire-session": {
          const { accessKeyId } = JSON.parse((await readBody(req)) || "{}") as { accessKeyId?: string };
          const s = accessKeyId ? world.sessions.get(accessKeyId) : undefined;
          if (!s) return json(404, { error: "no such session" });
          s.expiration = Date.now() - 1000;
          return json(200, { ok: true });
        }
        case "GET /__admin/accounts":
          return json(200, {
            accounts: [...world.accounts.values()].map((a) => ({
              id: a.id,
              name: a.name,
              roles: a.roles.size,
              users: a.users.size,
            })),
          });
        default:
          return json(404, { error: `no admin route ${route}` });
      }
    } catch (e) {
      if (e instanceof SyntaxError) return json(400, { error: "body is not JSON" });
      if (e instanceof ZodError) return json(400, { error: "invalid fault configuration", issues: e.issues });
      if (e instanceof HttpError) return json(e.status, { error: e.message });
      throw e;
    }
  }

  const server = createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://emulator");
    } catch {
      res.writeHead(400).end();
      return;
    }
    const done = (p: Promise<void> | void) =>
      Promise.resolve(p).catch((e) => {
        console.error("emulator: unhandled", e);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    if (url.pathname.startsWith("/__admin/")) return done(admin(req, res, url));
    if (url.pathname === "/federation" && req.method === "GET") {
      const reply = federation.handle(url.searchParams, Date.now());
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body);
      return;
    }
    if (url.pathname.startsWith("/console/") && req.method === "GET") {
      const reply = federation.consolePage(url.pathname.slice("/console/".length), Date.now());
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body);
      return;
    }
    if (url.pathname === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      return;
    }
    const target = req.headers["x-amz-target"];
    if (req.method === "POST" && typeof target === "string") return done(json11(req, res, url, target));
    if (req.method === "POST" || req.method === "GET") return done(query(req, res, url));
    res.writeHead(405, { allow: "GET, POST" }).end();
  });
  server.keepAliveTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? "127.0.0.1";
  const shownHost = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    world,
    faults,
    calls,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
