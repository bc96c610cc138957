// The recording HTTPS proxy for SDKs without client-side monitoring (JS v3, Go v2 and so Terraform): CONNECT
// to an AWS host is answered with TLS from the recording's own CA, each request is read (service, operation,
// parameters), forwarded to the real endpoint, and its answer's status and error recorded. Other hosts are
// tunnelled untouched. Only the child may use it: the proxy URL carries a random password.

import { randomBytes, timingSafeEqual } from "node:crypto";
import {
  createServer,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { connect, type Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { GatehouseError } from "../../../shared/errors.ts";
import type { RecordingCa } from "./ca.ts";
import { describeError, describeRequest, type WireCall } from "./wire.ts";

/** Hosts whose calls are read (TLS terminated here); every other CONNECT is a plain tunnel. */
const AWS_HOST = /^([a-z0-9-]+\.)+(amazonaws\.com|amazonaws\.com\.cn|api\.aws)$/;
/** Request bodies are buffered to be read and re-sent; S3 uploads beyond this are refused, not truncated. */
const MAX_BODY = 64 * 1024 * 1024;
/** Hop-by-hop headers (RFC 9110 §7.6.1) and the proxy's own password stop here. */
const HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

export interface ProxyCall extends WireCall {
  status: number | null;
  errorCode: string | null;
  errorMessage: string | null;
}

export interface RecordingProxy {
  /** The proxy URL with its password, for the child's HTTPS_PROXY only. */
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface ProxyOptions {
  ca: RecordingCa;
  onCall: (call: ProxyCall) => void;
  onIgnored: () => void;
  /**
   * Send every AWS call here instead of the host it was for (a VPC endpoint, a local emulator): an http(s)
   * origin. The Host header is kept, so SigV4 signatures stay valid.
   */
  upstream?: string;
}

function isLoopback(socket: Socket): boolean {
  const a = socket.remoteAddress ?? "";
  return a === "127.0.0.1" || a === "::1" || a === "::ffff:127.0.0.1";
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function startRecordingProxy(opts: ProxyOptions): Promise<RecordingProxy> {
  const password = randomBytes(24).toString("hex");
  const expected = Buffer.from(`Basic ${Buffer.from(`gatehouse:${password}`).toString("base64")}`);
  const upstream = opts.upstream ? new URL(opts.upstream) : undefined;
  if (upstream && !/^https?:$/.test(upstream.protocol))
    throw new GatehouseError(
      "BAD_ARGUMENT",
      `the recording upstream must be an http(s) URL, not ${upstream.protocol}`,
    );
  // Keep-alive to the endpoint: a recorded command makes many small calls, and a new TLS handshake each would cost.
  const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 32 });
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 32 });

  const authorized = (req: IncomingMessage): boolean => {
    const got = Buffer.from(String(req.headers["proxy-authorization"] ?? ""));
    return got.length === expected.length && timingSafeEqual(got, expected);
  };

  // The decrypted side: requests that came through a terminated CONNECT, one host per TLS socket.
  const inner = createServer({ keepAliveTimeout: 30_000 }, (req, res) => void forward(req, res));

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = (req.socket as TLSSocket & { gatehouseHost?: string }).gatehouseHost ?? "";
    const body = await readBody(req, MAX_BODY).catch(() => undefined);
    if (!body) {
      opts.onIgnored();
      res
        .writeHead(413, { "content-type": "text/plain" })
        .end("Gatehouse recording: request too large to record\n");
      return;
    }
    const call = describeRequest({
      method: req.method ?? "GET",
      host,
      url: req.url ?? "/",
      headers: req.headers,
      body,
    });
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP.has(k)) headers[k] = v;
    headers.host = host;
    headers["content-length"] = String(body.length);
    const target = upstream
      ? { protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port || undefined }
      : { protocol: "https:", hostname: host, port: 443 };
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    const out = send(
      {
        ...target,
        method: req.method,
        path: req.url,
        headers,
        agent: target.protocol === "https:" ? httpsAgent : httpAgent,
        ...(target.protocol === "https:" && !upstream ? { servername: host } : {}),
      },
      (answer) => {
        const status = answer.statusCode ?? 502;
        const resHeaders: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(answer.headers))
          if (v !== undefined && !HOP.has(k)) resHeaders[k] = v;
        const chunks: Buffer[] = [];
        answer.on("data", (c: Buffer) => chunks.push(c));
        answer.on("end", () => {
          const payload = Buffer.concat(chunks);
          const error = describeError(status, answer.headers, payload);
          if (call.api) opts.onCall({ ...call, status, errorCode: error.code, errorMessage: error.message });
          else opts.onIgnored();
          resHeaders["content-length"] = String(payload.length);
          res.writeHead(status, resHeaders).end(payload);
        });
        answer.on("error", () => res.destroy());
      },
    );
    out.on("error", (e) => {
      if (call.api)
        opts.onCall({ ...call, status: null, errorCode: "NetworkingError", errorMessage: e.message });
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end("Gatehouse recording: the AWS endpoint could not be reached\n");
    });
    out.end(body);
  }

  const server = createServer((req, res) => {
    // Plain-HTTP proxying is not offered: the AWS endpoints are HTTPS, and an open relay helps nobody.
    res.writeHead(req.headers["proxy-authorization"] || isLoopback(req.socket) ? 405 : 403).end();
  });
  server.on("connect", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    // Small request/answer exchanges: Nagle's algorithm and delayed ACKs would add 40 ms to each call.
    socket.setNoDelay(true);
    if (!isLoopback(socket) || !authorized(req)) {
      socket.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="gatehouse"\r\ncontent-length: 0\r\n\r\n',
      );
      return;
    }
    const m = /^\[?([A-Za-z0-9.:-]+?)\]?:(\d{1,5})$/.exec(req.url ?? "");
    const host = m?.[1]?.toLowerCase() ?? "";
    const port = Number(m?.[2] ?? 0);
    if (!m || port < 1 || port > 65_535) {
      socket.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    if (!(port === 443 && AWS_HOST.test(host))) {
      const remote = connect(port, host, () => {
        socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (head.length) remote.write(head);
        remote.pipe(socket).pipe(remote);
      });
      remote.on("error", () => socket.end("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n"));
      return;
    }
    opts.ca.contextFor(host).then(
      (secureContext) => {
        socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (head.length) socket.unshift(head);
        const tls = new TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: ["http/1.1"] });
        (tls as TLSSocket & { gatehouseHost?: string }).gatehouseHost = host;
        tls.on("error", () => socket.destroy());
        inner.emit("connection", tls);
      },
      () => socket.end("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n"),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) =>
      reject(new GatehouseError("INTERNAL", `Cannot start the recording proxy: ${e.message}`, { cause: e })),
    );
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://gatehouse:${password}@127.0.0.1:${port}`,
    port,
    async close() {
      server.closeAllConnections();
      inner.closeAllConnections();
      httpsAgent.destroy();
      httpAgent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
