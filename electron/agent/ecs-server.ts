// The ECS-style credential server behind `gatehouse exec`: one role, one token, loopback only.

import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { isIPv4, isIPv6 } from "node:net";
import type { CredentialsResponse } from "../../shared/api.ts";
import { ERRORS, type ErrorCode, GatehouseError, isGatehouseError } from "../../shared/errors.ts";
import { browserHeader } from "./browser-headers.ts";

export type SessionCredentials = Pick<
  CredentialsResponse,
  "accessKeyId" | "secretAccessKey" | "sessionToken" | "expiration"
>;

/** The body the AWS SDKs' container provider (fromHttp, botocore, the Go SDK) expects. */
export interface ContainerCredentials {
  AccessKeyId: string;
  SecretAccessKey: string;
  Token: string;
  Expiration: string;
}

export interface EcsServerOptions {
  /** Called on every request: the caller (the agent's cache) decides when to refresh. */
  getCredentials: () => Promise<SessionCredentials>;
  /** One line per request and per failure; never the token. */
  log?: (line: string) => void;
}

export interface EcsServer {
  /** `http://127.0.0.1:PORT/`: what AWS_CONTAINER_CREDENTIALS_FULL_URI is set to. */
  url: string;
  /** What AWS_CONTAINER_AUTHORIZATION_TOKEN is set to; the SDKs send it raw in Authorization. */
  token: string;
  port: number;
  close(): Promise<void>;
}

/** Facts about a request that the checks look at; plain data so the checks are testable apart from I/O. */
export interface RequestFacts {
  remoteAddress: string | undefined;
  method: string | undefined;
  url: string | undefined;
  /** Node's `rawHeaders`: name, value, name, value… (duplicates kept, unlike `headers`). */
  rawHeaders: string[];
}

export interface Refusal {
  status: number;
  code: ErrorCode;
  message: string;
  /** For the log only: which check refused. */
  reason: string;
}

const TOKEN_BYTES = 32;

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (isIPv4(v4)) return v4.split(".")[0] === "127";
  return isIPv6(address) && (address === "::1" || address === "0:0:0:0:0:0:0:1");
}

function headerValues(rawHeaders: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    if (rawHeaders[i]!.toLowerCase() === name) values.push(rawHeaders[i + 1]!);
  return values;
}

function refuse(code: ErrorCode, message: string, reason: string): Refusal {
  return { status: ERRORS[code].status, code, message, reason };
}

/**
 * Every check a request must pass, in order; null when it may have credentials. The order matters: the
 * cheap origin checks come before the token so a web page learns nothing about it, not even by timing.
 */
export function checkRequest(req: RequestFacts, expected: { port: number; token: Buffer }): Refusal | null {
  if (!isLoopbackAddress(req.remoteAddress))
    return refuse("FORBIDDEN", "Only local processes may ask for credentials.", "peer not loopback");

  // Exact Host, once: a DNS-rebinding page reaches 127.0.0.1 under its own host name (aws-vault #578).
  const hosts = headerValues(req.rawHeaders, "host");
  if (hosts.length !== 1 || hosts[0] !== `127.0.0.1:${expected.port}`)
    return refuse("FORBIDDEN", `The Host header must be 127.0.0.1:${expected.port}.`, "bad host");

  // SDKs never send these; browsers always send at least one of them (Weep looked for "referrer").
  const browser = browserHeader(req.rawHeaders);
  if (browser) return refuse("FORBIDDEN_ORIGIN", ERRORS.FORBIDDEN_ORIGIN.title, `browser header ${browser}`);

  // The SDKs send the token raw, so "Bearer <token>" is a different, wrong value; the length is public.
  const auth = headerValues(req.rawHeaders, "authorization");
  const given = auth.length === 1 ? Buffer.from(auth[0]!, "utf8") : undefined;
  if (!given || given.length !== expected.token.length || !timingSafeEqual(given, expected.token))
    return refuse("FORBIDDEN", "A valid authorization token is required.", "bad token");

  if (req.method !== "GET") return refuse("METHOD_NOT_ALLOWED", "Only GET is allowed.", "method");
  const path = (req.url ?? "").split("?")[0];
  if (path !== "/") return refuse("NOT_FOUND", "The only route is GET /.", "path");
  return null;
}

/** The container-credentials body; refuses empty keys and credentials already expired. */
export function toContainerCredentials(creds: SessionCredentials, now: number): ContainerCredentials {
  if (!creds.accessKeyId || !creds.secretAccessKey || !creds.sessionToken)
    throw new GatehouseError("INTERNAL", "The agent returned incomplete credentials.");
  const expires = Date.parse(creds.expiration);
  if (Number.isNaN(expires))
    throw new GatehouseError("INTERNAL", "The agent returned credentials without a valid expiration.");
  if (expires <= now)
    throw new GatehouseError("INTERNAL", "The agent returned credentials that had expired.");
  return {
    AccessKeyId: creds.accessKeyId,
    SecretAccessKey: creds.secretAccessKey,
    Token: creds.sessionToken,
    Expiration: new Date(expires).toISOString(),
  };
}

function send(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...extra,
  });
  res.end(text);
}

export async function startEcsServer(opts: EcsServerOptions): Promise<EcsServer> {
  const log = opts.log ?? (() => {});
  const token = randomBytes(TOKEN_BYTES).toString("base64url");
  const expected = { port: 0, token: Buffer.from(token, "utf8") };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // A body is never wanted; drain it so keep-alive connections stay usable.
    req.resume();
    const routeForLog = (req.url ?? "").split("?")[0] === "/" ? "/" : "(other path)";
    const refusal = checkRequest(
      {
        remoteAddress: req.socket.remoteAddress,
        method: req.method,
        url: req.url,
        rawHeaders: req.rawHeaders,
      },
      expected,
    );
    if (refusal) {
      log(`ecs-server: ${req.method} ${routeForLog} ${refusal.status} ${refusal.code} (${refusal.reason})`);
      send(
        res,
        refusal.status,
        { code: refusal.code, message: refusal.message },
        refusal.code === "METHOD_NOT_ALLOWED" ? { allow: "GET" } : {},
      );
      return;
    }
    try {
      const body = toContainerCredentials(await opts.getCredentials(), Date.now());
      log(`ecs-server: GET / 200 (expires ${body.Expiration})`);
      send(res, 200, body);
    } catch (e) {
      // Clients get the stable code and its fixed title, never the underlying message (aws-vault sent err.Error()).
      const code: ErrorCode = isGatehouseError(e) ? e.code : "INTERNAL";
      log(`ecs-server: GET / ${ERRORS[code].status} ${code}: ${e instanceof Error ? e.message : String(e)}`);
      send(res, ERRORS[code].status, { code, message: ERRORS[code].title });
    }
  };

  // requireHostHeader off: a request without Host gets our 403 like any other bad Host, not Node's 400.
  const server = createServer({ requireHostHeader: false }, (req, res) => {
    void handle(req, res);
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string")
    throw new GatehouseError("INTERNAL", "The credential server has no TCP address.");
  expected.port = address.port;
  const url = `http://127.0.0.1:${address.port}/`;
  log(`ecs-server: listening on ${url}`);

  let closing: Promise<void> | undefined;
  return {
    url,
    token,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // SDKs keep connections alive; without this, close would wait for them to time out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
