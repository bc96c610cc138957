// The agent's local endpoint: HTTP over a Unix socket (0600, in the 0700 home; a named pipe on Windows),
// never a TCP port. One agent per home: a live socket refuses a second agent, a stale one is cleaned.

import { existsSync, unlinkSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect } from "node:net";
import { z } from "zod";
import { decodeDenialRequestSchema, targetsQuerySchema } from "../../shared/api.ts";
import { ERRORS, GatehouseError } from "../../shared/errors.ts";
import {
  approveRequestSchema,
  createRequestSchema,
  rejectRequestSchema,
  resolveTargetSchema,
} from "../../shared/requests.ts";
import type { Agent } from "./agent.ts";
import { browserHeader } from "./browser-headers.ts";

const MAX_BODY = 16 * 1024;
const roleBody = z.strictObject({ role: z.string().min(3).max(2048), region: z.string().max(32).optional() });

/** Whether an agent answers on the socket. */
export function socketAlive(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (alive: boolean) => {
      s.destroy();
      resolve(alive);
    };
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
    s.setTimeout(timeoutMs, () => done(false));
  });
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new GatehouseError("PAYLOAD_TOO_LARGE"));
      else chunks.push(c);
    });
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      if (!text) return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new GatehouseError("BAD_REQUEST", "the body is not JSON"));
      }
    });
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

const REQUEST_ROUTE =
  /^(GET|POST) \/v1\/requests\/([A-Za-z0-9_-]{1,100})(?:\/(approve|reject|cancel|retry|targets\/(\d{1,3})\/resolve))?$/;

/** GET /v1/requests/:id, POST /v1/requests/:id/{approve,reject,cancel,retry,targets/:n/resolve}, to the broker. */
async function requestRoute(agent: Agent, req: IncomingMessage, res: ServerResponse, route: string) {
  const m = REQUEST_ROUTE.exec(route);
  const [, method, id, action, target] = m ?? [];
  if (!m || !id || (method === "GET") !== (action === undefined))
    throw new GatehouseError("NOT_FOUND", `no route ${route}`);
  if (action === undefined) return send(res, 200, await agent.broker.request(id));
  const raw = await readJson(req);
  if (action === "approve") {
    const body = approveRequestSchema.safeParse(raw);
    if (!body.success)
      throw new GatehouseError("BAD_REQUEST", body.error.issues[0]?.message ?? "not an approval");
    return send(res, 200, await agent.broker.actOnRequest(id, "approve", body.data));
  }
  if (action === "reject") {
    const body = rejectRequestSchema.safeParse(raw);
    if (!body.success) throw new GatehouseError("BAD_REQUEST", 'send {"reason": "…"}');
    return send(res, 200, await agent.broker.actOnRequest(id, "reject", body.data));
  }
  if (target !== undefined) {
    const body = resolveTargetSchema.safeParse(raw);
    if (!body.success) throw new GatehouseError("BAD_REQUEST", 'send {"action": "delete" | "keep"}');
    return send(res, 200, await agent.broker.resolveTarget(id, Number(target), body.data));
  }
  return send(res, 200, await agent.broker.actOnRequest(id, action as "cancel" | "retry"));
}

export interface Endpoint {
  server: Server;
  path: string;
  close(): Promise<void>;
}

export interface EndpointHooks {
  /** Route sign-in URLs to a function instead of the browser while one login runs. */
  setOpener(open: ((url: string) => void) | undefined): void;
}

export async function startEndpoint(
  agent: Agent,
  path: string,
  hooks: EndpointHooks,
  onShutdown?: () => void,
): Promise<Endpoint> {
  if (process.platform !== "win32" && existsSync(path)) {
    if (await socketAlive(path))
      throw new GatehouseError("AGENT_RUNNING", `an agent already answers on ${path}`);
    unlinkSync(path);
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    // Nothing a web page sends may reach the agent (a browser cannot open a Unix socket, but a proxy could).
    // Like the exec server: the header's presence is enough, whatever its value (SECURITY 5, 38).
    if (browserHeader(req.rawHeaders)) throw new GatehouseError("FORBIDDEN_ORIGIN");
    const url = new URL(req.url ?? "/", "http://agent");
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case "GET /v1/status":
        return send(res, 200, await agent.status());
      case "GET /v1/me":
        // Who the broker says one is, and its lint options (`request show` lints with them).
        return send(res, 200, await agent.broker.me());
      case "GET /v1/roles":
        return send(res, 200, { roles: await agent.roles(url.searchParams.get("refresh") === "1") });
      case "POST /v1/credentials": {
        const body = roleBody.safeParse(await readJson(req));
        if (!body.success) throw new GatehouseError("BAD_REQUEST", 'send {"role": "account/role"}');
        const c = await agent.credentials(body.data.role);
        // Exactly the credential_process format, so the CLI shim prints it as it comes.
        return send(res, 200, {
          Version: 1,
          AccessKeyId: c.accessKeyId,
          SecretAccessKey: c.secretAccessKey,
          SessionToken: c.sessionToken,
          Expiration: c.expiration,
        });
      }
      case "POST /v1/console": {
        const body = roleBody.safeParse(await readJson(req));
        if (!body.success)
          throw new GatehouseError("BAD_REQUEST", 'send {"role": "account/role", "region"?: …}');
        const out = await agent.console(body.data.role, body.data.region);
        return send(res, 200, { url: out.url, expiresAt: out.expiresAt, role: out.role.ref });
      }
      case "POST /v1/login": {
        const { noBrowser } = z
          .strictObject({ noBrowser: z.boolean().optional() })
          .parse(await readJson(req));
        if (!noBrowser) return send(res, 200, await agent.login());
        // Streamed as JSON lines: the URL for the person to open, then the outcome.
        res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
        hooks.setOpener((url) => res.write(`${JSON.stringify({ event: "url", url })}\n`));
        try {
          const who = await agent.login();
          res.end(`${JSON.stringify({ event: "done", ...who })}\n`);
        } catch (e) {
          const err =
            e instanceof GatehouseError ? e : new GatehouseError("SIGNIN_FAILED", (e as Error).message);
          res.end(`${JSON.stringify({ event: "error", code: err.code, detail: err.message })}\n`);
        } finally {
          hooks.setOpener(undefined);
        }
        return;
      }
      case "POST /v1/logout":
        await agent.logout();
        return send(res, 200, { signedIn: false });
      case "POST /v1/config/generate": {
        const { dryRun } = z.strictObject({ dryRun: z.boolean().optional() }).parse(await readJson(req));
        if (dryRun) {
          const r = agent.renderAwsConfig(await agent.roles(true));
          return send(res, 200, { path: r.path, changed: r.before !== r.after, content: r.after });
        }
        return send(res, 200, await agent.writeAwsConfig());
      }
      case "POST /v1/requests": {
        const body = createRequestSchema.safeParse(await readJson(req));
        if (!body.success)
          throw new GatehouseError("BAD_REQUEST", body.error.issues[0]?.message ?? "not a request");
        return send(res, 201, await agent.broker.createRequest(body.data));
      }
      case "POST /v1/denials/decode": {
        const body = decodeDenialRequestSchema.safeParse(await readJson(req));
        if (!body.success)
          throw new GatehouseError("BAD_REQUEST", body.error.issues[0]?.message ?? "not an encoded message");
        return send(res, 200, await agent.broker.decodeDenial(body.data));
      }
      case "GET /v1/requests": {
        const role = url.searchParams.get("role");
        if (role !== null && role !== "approver" && role !== "requester")
          throw new GatehouseError("BAD_REQUEST", "role is requester or approver");
        return send(res, 200, { requests: await agent.broker.requests(role ?? undefined) });
      }
      case "GET /v1/targets": {
        const q = targetsQuerySchema.safeParse({
          q: url.searchParams.get("q") ?? undefined,
          limit: url.searchParams.get("limit") ?? undefined,
        });
        if (!q.success) throw new GatehouseError("BAD_REQUEST", "limit is a number from 1 to 500");
        return send(res, 200, { targets: await agent.broker.targets(q.data.q ?? "", q.data.limit) });
      }
      case "POST /v1/shutdown":
        send(res, 200, { stopping: true });
        onShutdown?.();
        return;
      default:
        return requestRoute(agent, req, res, route);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const err =
        e instanceof GatehouseError
          ? e
          : new GatehouseError("INTERNAL", "the agent failed; see its log", { cause: e });
      if (!res.headersSent)
        send(res, err.status, { code: err.code, title: ERRORS[err.code].title, detail: err.message });
      else res.end();
    });
  });

  // The socket is created 0600 from the start (no window where another user could connect).
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } finally {
    process.umask(oldMask);
  }
  return {
    server,
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
