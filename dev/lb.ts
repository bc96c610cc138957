// A small round-robin HTTP load balancer for the replicated demo (`npm start -- --postgres`): on loopback in
// front of several brokers, it sends each request to the next broker whose /readyz answered 200 at its last
// check (once a second), as a real load balancer configured per docs/deploy/replicas.md would.
//
// Requests and responses are streamed, never buffered whole; Host and every end-to-end header pass through
// unchanged (only hop-by-hop headers, which belong to one connection, are not forwarded). A broker that
// refuses the connection is marked down at once and the request goes to the next ready one: the body sent
// so far is kept (up to REPLAY_LIMIT) for exactly that, since a refused connection received none of it.
// With no broker ready the answer is a problem+json 503 NO_BROKER_READY; a broker failing mid-answer
// gives 502 BROKER_REPLICA_FAILED.

import {
  Agent,
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { ERRORS, type ErrorCode } from "../shared/errors.ts";

/** Bytes of a request body kept to resend it to another broker when the first refuses the connection. */
const REPLAY_LIMIT = 1024 * 1024;

/** RFC 9110 §7.6.1: headers that describe one connection, not the message; never forwarded. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** A failed connect: the broker received nothing, so the request may go to another one. */
const REFUSED = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH"]);

export interface BackendState {
  /** The broker's base URL, e.g. http://127.0.0.1:7431. */
  url: string;
  /** Name used in logs and the X-Gatehouse-Backend response header. */
  name: string;
  ready: boolean;
  /** Why it is not ready (the /readyz status or the connection error), for the demo's output. */
  reason?: string;
  /** Requests this broker answered. */
  served: number;
}

export interface LoadBalancerOptions {
  backends: { url: string; name?: string }[];
  /** Default 0: a free port. */
  port?: number;
  /** Health-check period; default 1000 ms. */
  checkIntervalMs?: number;
  /** Called once per proxied request with the broker that answered (the demo prints it). */
  onServed?: (e: { backend: string; method: string; path: string; status: number }) => void;
  /** Called when a broker becomes ready or stops being ready. */
  onHealthChange?: (b: BackendState) => void;
}

export interface LoadBalancer {
  url: string;
  port: number;
  backends(): BackendState[];
  /** Run one health check of every broker now (tests; the timer runs them every interval anyway). */
  checkNow(): Promise<void>;
  close(): Promise<void>;
}

function forwardedHeaders(req: IncomingMessage): OutgoingHttpHeaders {
  // Headers named in Connection are hop-by-hop too (RFC 9110 §7.6.1).
  const named = new Set(
    String(req.headers.connection ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined && !HOP_BY_HOP.has(k) && !named.has(k)) out[k] = v;
  return out;
}

function sendProblem(res: ServerResponse, code: ErrorCode, detail: string): void {
  if (res.headersSent) {
    // The broker's status line is already out: all that is left is to cut the response short.
    res.destroy();
    return;
  }
  const { status, title } = ERRORS[code];
  const body = JSON.stringify({
    type: `https://gatehouse.dev/problems/${code}`,
    title,
    status,
    detail,
    code,
  });
  res.writeHead(status, {
    "content-type": "application/problem+json",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  });
  res.end(body);
}

export async function startLoadBalancer(opts: LoadBalancerOptions): Promise<LoadBalancer> {
  if (opts.backends.length === 0) throw new Error("startLoadBalancer: at least one backend is needed");
  const states: BackendState[] = opts.backends.map((b, i) => ({
    url: b.url.replace(/\/+$/, ""),
    name: b.name ?? `broker-${i + 1}`,
    ready: false,
    reason: "not checked yet",
    served: 0,
  }));
  const interval = opts.checkIntervalMs ?? 1000;
  // One keep-alive pool for the proxied traffic, as a real balancer keeps connections to its targets.
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  let next = 0;

  const setHealth = (b: BackendState, ready: boolean, reason?: string) => {
    const changed = b.ready !== ready;
    b.ready = ready;
    b.reason = ready ? undefined : reason;
    if (changed) opts.onHealthChange?.({ ...b });
  };

  const checkOne = async (b: BackendState) => {
    try {
      const r = await fetch(`${b.url}/readyz`, {
        signal: AbortSignal.timeout(Math.max(200, interval - 100)),
      });
      const text = await r.text();
      if (r.status === 200) return setHealth(b, true);
      let status = `HTTP ${r.status}`;
      try {
        const j = JSON.parse(text) as { status?: string; code?: string };
        status = `${status} ${j.code ?? j.status ?? ""}`.trim();
      } catch {
        // Not JSON: the status line says enough.
      }
      setHealth(b, false, `/readyz: ${status}`);
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
      setHealth(b, false, `/readyz: ${cause}`);
    }
  };
  let checking: Promise<void> | undefined;
  const checkNow = () => {
    checking ??= Promise.all(states.map(checkOne)).then(() => {
      checking = undefined;
    });
    return checking;
  };

  /** The next ready broker after the last one used, skipping `tried`; undefined when none is left. */
  const pick = (tried: Set<BackendState>): BackendState | undefined => {
    for (let i = 0; i < states.length; i++) {
      const b = states[(next + i) % states.length]!;
      if (b.ready && !tried.has(b)) {
        next = (next + i + 1) % states.length;
        return b;
      }
    }
    return undefined;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const headers = forwardedHeaders(req);
    const tried = new Set<BackendState>();
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let replayable = true;
    let ended = false;
    let upstream: ReturnType<typeof request> | undefined;
    let answered = false;
    let retriedStale = false;

    req.on("data", (chunk: Buffer) => {
      if (replayable) {
        keptBytes += chunk.length;
        if (keptBytes > REPLAY_LIMIT) {
          replayable = false;
          kept.length = 0;
        } else kept.push(chunk);
      }
      if (upstream && !upstream.write(chunk)) {
        req.pause();
        upstream.once("drain", () => req.resume());
      }
    });
    req.on("end", () => {
      ended = true;
      upstream?.end();
    });
    // The client went away: stop the broker's work on its behalf too.
    res.on("close", () => {
      if (!res.writableFinished) upstream?.destroy();
    });

    const attempt = () => {
      const b = pick(tried);
      if (!b) {
        req.resume();
        const why = states.map((s) => `${s.name} ${s.ready ? "refused the connection" : s.reason}`);
        return sendProblem(res, "NO_BROKER_READY", `no broker is ready: ${why.join("; ")}`);
      }
      tried.add(b);
      const target = new URL(b.url);
      const up = request({
        agent,
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers,
      });
      upstream = up;
      up.on("response", (r) => {
        answered = true;
        b.served++;
        const out: OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(r.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
        out["x-gatehouse-backend"] = b.name;
        res.writeHead(r.statusCode ?? 502, r.statusMessage, out);
        r.pipe(res);
        r.on("error", () => res.destroy());
        opts.onServed?.({
          backend: b.name,
          method: req.method ?? "GET",
          path: req.url ?? "/",
          status: r.statusCode ?? 0,
        });
      });
      up.on("error", (e: NodeJS.ErrnoException) => {
        if (answered) return res.destroy();
        // A reset of a pooled keep-alive socket before any answer is the broker having closed it (it
        // stopped, or its idle timer ran): Node's documented case for sending the request again.
        // Once per request, and possibly to the same broker (on a new connection).
        if (e.code === "ECONNRESET" && up.reusedSocket && replayable && !retriedStale) {
          retriedStale = true;
          tried.delete(b);
          return attempt();
        }
        if (e.code && REFUSED.has(e.code)) {
          // Down since its last check: take it out now rather than in up to a second.
          setHealth(b, false, `connection: ${e.code}`);
          if (replayable) return attempt();
        }
        req.resume();
        sendProblem(
          res,
          "BROKER_REPLICA_FAILED",
          `${b.name} failed before answering (${e.code ?? e.message})`,
        );
      });
      for (const chunk of kept) up.write(chunk);
      if (ended) up.end();
    };
    attempt();
  };

  const server: Server = createServer(handle);
  // Longer than the clients' idle time, as in front of any keep-alive service.
  server.keepAliveTimeout = 30_000;
  await checkNow();
  const timer = setInterval(() => void checkNow(), interval);
  timer.unref();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    backends: () => states.map((s) => ({ ...s })),
    checkNow,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
