// The demo's load balancer (dev/lb.ts) in front of small real HTTP servers standing in for brokers: round
// robin over the ready ones, headers and Host passed through, bodies streamed both ways, a broker whose
// /readyz fails or that goes down skipped, clear problem+json when none is left, and hostile requests;
// then in front of two real brokers.

import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type LoadBalancer, startLoadBalancer } from "../../dev/lb.ts";
import { startTestBroker } from "../support/broker.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { signTokens, startTestIssuer } from "../support/test-issuer.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  rawHeaders: string[];
}

interface Backend {
  name: string;
  url: string;
  /** What /readyz answers. */
  readyStatus: number;
  seen: Seen[];
  server: Server;
  close(): Promise<void>;
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

/** A stand-in broker: /readyz as told, /echo returns the body's hash, /slow streams, /crash drops the socket. */
async function backend(name: string): Promise<Backend> {
  const b = { name, readyStatus: 200, seen: [] as Seen[] } as Backend;
  b.server = createServer((req, res) => {
    if (req.url === "/readyz") {
      res.writeHead(b.readyStatus, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: b.readyStatus === 200 ? "ready" : "starting" }));
      return;
    }
    b.seen.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders });
    if (req.url === "/crash") {
      req.socket.destroy();
      return;
    }
    if (req.url === "/slow") {
      // The first chunk now, the rest only when the test says so through the header-named release.
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first;");
      slowRelease.push(() => res.end("last"));
      return;
    }
    const hash = createHash("sha256");
    let bytes = 0;
    req.on("data", (c: Buffer) => {
      hash.update(c);
      bytes += c.length;
    });
    req.on("end", () => {
      res.setHeader("set-cookie", ["a=1", "b=2"]);
      res.setHeader("x-served-by", name);
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ name, bytes, sha256: hash.digest("hex") }));
    });
  });
  b.server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => b.server.listen(0, "127.0.0.1", () => r()));
  b.url = `http://127.0.0.1:${(b.server.address() as AddressInfo).port}`;
  b.close = () =>
    new Promise<void>((r) => {
      if (!b.server.listening) return r();
      b.server.close(() => r());
      b.server.closeAllConnections();
    });
  open.push(b);
  return b;
}
const slowRelease: (() => void)[] = [];

async function lbFor(backends: Backend[], checkIntervalMs = 1000): Promise<LoadBalancer> {
  const lb = await startLoadBalancer({
    backends: backends.map((b) => ({ url: b.url, name: b.name })),
    checkIntervalMs,
  });
  open.push(lb);
  return lb;
}

async function call(url: string, init: RequestInit = {}) {
  const r = await fetch(url, init);
  const text = await r.text();
  return {
    status: r.status,
    headers: r.headers,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
  };
}

describe("dev/lb.ts round robin", () => {
  it("alternates between ready brokers and says which one answered", async () => {
    const [one, two] = [await backend("broker-1"), await backend("broker-2")];
    const lb = await lbFor([one, two]);
    const served: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await call(`${lb.url}/v1/roles`);
      expect(r.status).toBe(201);
      expect(r.headers.get("x-gatehouse-backend")).toBe(r.headers.get("x-served-by"));
      served.push(r.headers.get("x-gatehouse-backend")!);
    }
    expect(served).toEqual(["broker-1", "broker-2", "broker-1", "broker-2", "broker-1", "broker-2"]);
    expect(lb.backends().map((b) => b.served)).toEqual([3, 3]);
    expect(one.seen).toHaveLength(3);
    expect(two.seen).toHaveLength(3);
  });

  it("passes Host, Authorization and other headers through unchanged; response headers come back", async () => {
    const one = await backend("broker-1");
    const lb = await lbFor([one]);
    // node:http, since fetch may not set Host.
    const r = await new Promise<{ status: number; headers: IncomingMessage["headers"] }>(
      (resolve, reject) => {
        const req = request(
          `${lb.url}/v1/credentials?x=1`,
          {
            method: "POST",
            headers: {
              host: "gatehouse.example.com",
              authorization: "Bearer abc.def.ghi",
              "content-type": "application/json",
              "x-request-id": "r-42",
            },
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers }));
          },
        );
        req.on("error", reject);
        req.end(JSON.stringify({ role: "staging/Developer" }));
      },
    );
    expect(r.status).toBe(201);
    const seen = one.seen[0]!;
    expect(seen.method).toBe("POST");
    expect(seen.url).toBe("/v1/credentials?x=1");
    expect(seen.headers.host).toBe("gatehouse.example.com");
    expect(seen.headers.authorization).toBe("Bearer abc.def.ghi");
    expect(seen.headers["content-type"]).toBe("application/json");
    expect(seen.headers["x-request-id"]).toBe("r-42");
    expect(r.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    expect(r.headers["content-type"]).toBe("application/json");
  });

  it("streams a large request body to the broker and a slow response back as it comes", async () => {
    const one = await backend("broker-1");
    const lb = await lbFor([one]);
    const body = randomBytes(8 * 1024 * 1024);
    const r = await call(`${lb.url}/upload`, { method: "PUT", body });
    expect(r.json()).toEqual({
      name: "broker-1",
      bytes: body.length,
      sha256: createHash("sha256").update(body).digest("hex"),
    });

    // The first chunk reaches the client while the broker still holds the rest.
    const first = await new Promise<string>((resolve, reject) => {
      const req = request(`${lb.url}/slow`, (res) => {
        res.setEncoding("utf8");
        let got = "";
        res.on("data", (d: string) => {
          got += d;
          if (got === "first;") resolve(got);
        });
        res.on("end", () => expect(got).toBe("first;last"));
      });
      req.on("error", reject);
      req.end();
    });
    expect(first).toBe("first;");
    slowRelease.shift()!();
  });
});

describe("dev/lb.ts health", () => {
  it("skips a broker whose /readyz is not 200, and uses it again once it is", async () => {
    const [one, two] = [await backend("broker-1"), await backend("broker-2")];
    one.readyStatus = 503;
    const lb = await lbFor([one, two]);
    expect(lb.backends().map((b) => b.ready)).toEqual([false, true]);
    expect(lb.backends()[0]!.reason).toBe("/readyz: HTTP 503 starting");
    for (let i = 0; i < 4; i++)
      expect((await call(`${lb.url}/x`)).headers.get("x-gatehouse-backend")).toBe("broker-2");
    expect(one.seen).toHaveLength(0);

    one.readyStatus = 200;
    await lb.checkNow();
    const names = new Set<string>();
    for (let i = 0; i < 4; i++) names.add((await call(`${lb.url}/x`)).headers.get("x-gatehouse-backend")!);
    expect(names).toEqual(new Set(["broker-1", "broker-2"]));
  });

  it("a broker going down is skipped at once, before its next health check, and no request fails", async () => {
    const [one, two] = [await backend("broker-1"), await backend("broker-2")];
    // A long interval: only the refused connection can take broker-1 out during this test.
    const lb = await lbFor([one, two], 60_000);
    for (let i = 0; i < 4; i++) expect((await call(`${lb.url}/x`)).status).toBe(201);
    await one.close();
    const after: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await call(`${lb.url}/x`, { method: "POST", body: `body-${i}` });
      expect(r.status).toBe(201);
      expect(r.json().bytes).toBe(`body-${i}`.length);
      after.push(r.headers.get("x-gatehouse-backend")!);
    }
    expect(new Set(after)).toEqual(new Set(["broker-2"]));
    expect(lb.backends()[0]).toMatchObject({ name: "broker-1", ready: false });
  });

  it("the periodic check notices a stopped broker within about a second", async () => {
    const [one, two] = [await backend("broker-1"), await backend("broker-2")];
    const changes: string[] = [];
    const lb = await startLoadBalancer({
      backends: [one, two].map((b) => ({ url: b.url, name: b.name })),
      checkIntervalMs: 200,
      onHealthChange: (b) => changes.push(`${b.name} ${b.ready ? "ready" : "down"}`),
    });
    open.push(lb);
    await one.close();
    const t0 = Date.now();
    while (lb.backends()[0]!.ready && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
    expect(lb.backends()[0]!.ready).toBe(false);
    expect(lb.backends()[0]!.reason).toMatch(/^\/readyz: /);
    expect(changes).toContain("broker-1 down");
  });

  it("answers 503 NO_BROKER_READY as problem+json when no broker is ready, naming why", async () => {
    const [one, two] = [await backend("broker-1"), await backend("broker-2")];
    one.readyStatus = 503;
    await two.close();
    const lb = await lbFor([one, two]);
    const r = await call(`${lb.url}/v1/credentials`, { method: "POST", body: "{}" });
    expect(r.status).toBe(503);
    expect(r.headers.get("content-type")).toBe("application/problem+json");
    const p = r.json();
    expect(p).toMatchObject({ status: 503, code: "NO_BROKER_READY" });
    expect(p.detail).toContain("broker-1 /readyz: HTTP 503");
    expect(p.detail).toContain("broker-2 /readyz:");
    expect(one.seen).toHaveLength(0);
  });

  it("answers 502 BROKER_REPLICA_FAILED when the broker drops the connection before answering", async () => {
    const one = await backend("broker-1");
    const lb = await lbFor([one]);
    const r = await call(`${lb.url}/crash`, { method: "POST", body: "x" });
    expect(r.status).toBe(502);
    expect(r.json()).toMatchObject({ status: 502, code: "BROKER_REPLICA_FAILED" });
    // The load balancer itself is fine afterwards.
    expect((await call(`${lb.url}/x`)).status).toBe(201);
  });
});

describe("dev/lb.ts against hostile requests", () => {
  it("listens on loopback only", async () => {
    const lb = await lbFor([await backend("broker-1")]);
    expect(lb.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("headers named in Connection and other hop-by-hop headers are not forwarded", async () => {
    const one = await backend("broker-1");
    const lb = await lbFor([one]);
    const reply = await raw(
      lb.port,
      "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close, X-Internal\r\nX-Internal: secret\r\nKeep-Alive: 5\r\nTE: trailers\r\nX-Kept: yes\r\n\r\n",
    );
    expect(reply).toMatch(/^HTTP\/1\.1 201/);
    const h = one.seen[0]!.headers;
    expect(h["x-internal"]).toBeUndefined();
    expect(h["keep-alive"]).toBeUndefined();
    expect(h.te).toBeUndefined();
    expect(h["x-kept"]).toBe("yes");
  });

  it("an absolute-form request target still goes to a broker, never to the host it names", async () => {
    const one = await backend("broker-1");
    const lb = await lbFor([one]);
    const reply = await raw(
      lb.port,
      "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n",
    );
    expect(reply).toMatch(/^HTTP\/1\.1 201/);
    expect(reply).toContain("x-gatehouse-backend: broker-1");
    expect(one.seen).toHaveLength(1);
  });

  it("a request with both Content-Length and Transfer-Encoding (smuggling) is refused before any broker", async () => {
    const one = await backend("broker-1");
    const lb = await lbFor([one]);
    const reply = await raw(
      lb.port,
      "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect(one.seen.map((s) => s.url)).not.toContain("/smuggled");
  });
});

/** Send raw bytes on a new connection; everything the server sends back until it closes (or 3 s). */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let out = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      out += d;
    });
    s.on("error", reject);
    s.on("close", () => resolve(out));
    s.setTimeout(3000, () => s.destroy());
    s.write(bytes);
  });
}

describe("dev/lb.ts in front of real brokers", () => {
  it("issues credentials through either broker, and through the other alone once one stops", async () => {
    const emulator = await startDemoEmulator();
    open.push(emulator);
    const issuer = await startTestIssuer();
    open.push(issuer);
    const brokers = [
      await startTestBroker({ issuer: issuer.issuer, awsUrl: emulator.url }),
      await startTestBroker({ issuer: issuer.issuer, awsUrl: emulator.url }),
    ];
    for (const b of brokers) open.push({ close: () => b.stop() });
    for (const b of brokers) b.markReady();
    const lb = await startLoadBalancer({
      backends: brokers.map((b, i) => ({ url: b.url, name: `broker-${i + 1}` })),
      checkIntervalMs: 60_000,
    });
    open.push(lb);
    expect(lb.backends().map((b) => b.ready)).toEqual([true, true]);
    const { alice } = await signTokens(issuer, {
      alice: { email: "alice@example.com", groups: ["engineers"] },
    });
    const issue = async () => {
      const r = await call(`${lb.url}/v1/credentials`, {
        method: "POST",
        headers: { authorization: `Bearer ${alice}`, "content-type": "application/json" },
        body: JSON.stringify({ role: "staging/Developer" }),
      });
      expect(r.status, r.text).toBe(200);
      expect(r.json().accessKeyId).toMatch(/^ASIA/);
      return r.headers.get("x-gatehouse-backend");
    };
    expect(new Set([await issue(), await issue()])).toEqual(new Set(["broker-1", "broker-2"]));

    // A refused token comes back as the broker said it, problem+json and all.
    const refused = await call(`${lb.url}/v1/roles`, { headers: { authorization: "Bearer nope" } });
    expect(refused.status).toBe(401);
    expect(refused.json().code).toBe("UNAUTHENTICATED");
    expect(refused.headers.get("www-authenticate")).toContain("Bearer");

    await brokers[0]!.stop();
    for (let i = 0; i < 4; i++) expect(await issue()).toBe("broker-2");
  });
});
