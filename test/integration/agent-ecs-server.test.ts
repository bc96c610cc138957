// The `gatehouse exec` credential server through a real listener: token, Host (DNS rebinding), browser
// headers, methods, loopback binding, and the real AWS SDK container provider fetching from it.

import { request } from "node:http";
import { connect } from "node:net";
import { networkInterfaces } from "node:os";
import { fromHttp } from "@aws-sdk/credential-provider-http";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkRequest,
  type EcsServer,
  isLoopbackAddress,
  type SessionCredentials,
  startEcsServer,
} from "../../electron/agent/ecs-server.ts";
import { GatehouseError } from "../../shared/errors.ts";

const CREDS: SessionCredentials = {
  accessKeyId: "ASIAGATEHOUSETEST0001",
  secretAccessKey: "secret/with+odd'chars$",
  sessionToken: "session-token-value",
  expiration: new Date(Date.now() + 3_600_000).toISOString(),
};

let server: EcsServer;
const logLines: string[] = [];
let served: () => Promise<SessionCredentials> = async () => CREDS;
let calls = 0;

beforeAll(async () => {
  server = await startEcsServer({
    getCredentials: () => {
      calls++;
      return served();
    },
    log: (line) => logLines.push(line),
  });
});

afterAll(async () => {
  await server.close();
});

interface Reply {
  status: number;
  body: string;
  json: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

/** One request with exactly the headers given; host: null sends none at all. */
function send(
  opts: { method?: string; path?: string; host?: string | null; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.host !== null) headers.Host = opts.host ?? `127.0.0.1:${server.port}`;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: server.port,
        method: opts.method ?? "GET",
        path: opts.path ?? "/",
        headers,
        setHost: false,
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () => {
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(body);
          } catch {}
          resolve({ status: res.statusCode ?? 0, body, json, headers: res.headers });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Bytes written straight to the socket, for what node:http will not send (two Host headers, HTTP/1.0). */
function sendRaw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, "127.0.0.1");
    let out = "";
    socket.setEncoding("utf8");
    socket.on("data", (d) => {
      out += d;
    });
    socket.on("end", () => resolve(out));
    socket.on("error", reject);
    socket.write(text.replaceAll("\n", "\r\n"));
  });
}

const auth = () => ({ Authorization: server.token });

function expectRefused(reply: Reply, status: number, code: string): void {
  expect(reply.status).toBe(status);
  expect(reply.json.code).toBe(code);
  expect(typeof reply.json.message).toBe("string");
  expect(reply.body).not.toContain(server.token);
  expect(reply.headers["content-type"]).toBe("application/json");
}

describe("the token", () => {
  it("is 32 random bytes, base64url, and a new one per server", async () => {
    expect(server.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(server.token, "base64url")).toHaveLength(32);
    const other = await startEcsServer({ getCredentials: async () => CREDS });
    try {
      expect(other.token).not.toBe(server.token);
      expect(other.port).not.toBe(server.port);
    } finally {
      await other.close();
    }
  });

  it("the raw token (as the SDKs send it) gets the container-credentials JSON", async () => {
    const reply = await send({ headers: auth() });
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("application/json");
    expect(reply.headers["cache-control"]).toBe("no-store");
    expect(reply.json).toEqual({
      AccessKeyId: CREDS.accessKeyId,
      SecretAccessKey: CREDS.secretAccessKey,
      Token: CREDS.sessionToken,
      Expiration: CREDS.expiration,
    });
    expect(reply.json.Expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it.each([
    ["no token", {}],
    ["an empty token", { Authorization: "" }],
    ["a wrong token of the right length", { Authorization: "x".repeat(43) }],
    ["a wrong token of another length", { Authorization: "nope" }],
    [
      "the token with its last character changed",
      () => ({ Authorization: `${server.token.slice(0, -1)}${server.token.endsWith("A") ? "B" : "A"}` }),
    ],
    ["Bearer <token>", () => ({ Authorization: `Bearer ${server.token}` })],
    ["the token with a suffix", () => ({ Authorization: `${server.token}x` })],
    ["the token as a query parameter", {}, () => `/?token=${server.token}`],
  ] as const)("%s → 403", async (_name, headers, path?: () => string) => {
    const reply = await send({
      headers: typeof headers === "function" ? headers() : headers,
      ...(path ? { path: path() } : {}),
    });
    expectRefused(reply, 403, "FORBIDDEN");
  });

  it("two Authorization headers → 403, even when one is right", async () => {
    const out = await sendRaw(
      `GET / HTTP/1.1\nHost: 127.0.0.1:${server.port}\nAuthorization: nope\nAuthorization: ${server.token}\nConnection: close\n\n`,
    );
    expect(out).toMatch(/^HTTP\/1\.1 403 /);
    expect(out).not.toContain(server.token);
  });
});

describe("Host header (DNS rebinding, aws-vault #578)", () => {
  it.each([
    ["localhost:PORT", (p: number) => `localhost:${p}`],
    ["evil.example:PORT", (p: number) => `evil.example:${p}`],
    ["127.0.0.1:OTHER", (p: number) => `127.0.0.1:${p === 65535 ? 1 : p + 1}`],
    ["127.0.0.1 without port", () => "127.0.0.1"],
    ["[::1]:PORT", (p: number) => `[::1]:${p}`],
    ["127.0.0.1:PORT with a trailing dot", (p: number) => `127.0.0.1.:${p}`],
    ["127.0.0.1:0PORT", (p: number) => `127.0.0.1:0${p}`],
    ["127.000.000.001:PORT", (p: number) => `127.000.000.001:${p}`],
    ["127.0.0.1:PORT@evil.example", (p: number) => `127.0.0.1:${p}@evil.example`],
  ])("Host %s → 403 even with a valid token", async (_name, host) => {
    const reply = await send({ host: host(server.port), headers: auth() });
    expectRefused(reply, 403, "FORBIDDEN");
  });

  it("no Host header → 403 even with a valid token", async () => {
    const reply = await send({ host: null, headers: auth() });
    expectRefused(reply, 403, "FORBIDDEN");
  });

  it("HTTP/1.0 without Host → 403", async () => {
    const out = await sendRaw(`GET / HTTP/1.0\nAuthorization: ${server.token}\n\n`);
    expect(out).toMatch(/^HTTP\/1\.1 403 /);
    expect(out).not.toContain(server.token);
  });

  it("two Host headers → 403, even when the first is right", async () => {
    const out = await sendRaw(
      `GET / HTTP/1.1\nHost: 127.0.0.1:${server.port}\nHost: evil.example\nAuthorization: ${server.token}\nConnection: close\n\n`,
    );
    expect(out).toMatch(/^HTTP\/1\.1 403 /);
  });

  it("an absolute-form request line for another host is refused", async () => {
    const out = await sendRaw(
      `GET http://evil.example/ HTTP/1.1\nHost: 127.0.0.1:${server.port}\nAuthorization: ${server.token}\nConnection: close\n\n`,
    );
    expect(out).toMatch(/^HTTP\/1\.1 404 /);
    expect(out).not.toContain(CREDS.secretAccessKey);
  });
});

describe("browser requests (Weep looked for 'referrer')", () => {
  it.each([
    ["Origin", { Origin: "https://evil.example" }],
    ["Origin: null", { Origin: "null" }],
    ["Origin of the server itself", () => ({ Origin: `http://127.0.0.1:${server.port}` })],
    ["Referer", { Referer: "https://evil.example/page" }],
    ["Referrer (misspelt)", { Referrer: "https://evil.example/page" }],
    ["Sec-Fetch-Site", { "Sec-Fetch-Site": "cross-site" }],
    ["Sec-Fetch-Mode", { "Sec-Fetch-Mode": "no-cors" }],
    ["Sec-Fetch-Dest", { "Sec-Fetch-Dest": "empty" }],
  ] as const)("%s → 403 even with a valid token and Host", async (_name, headers) => {
    const reply = await send({
      headers: { ...auth(), ...(typeof headers === "function" ? headers() : headers) },
    });
    expectRefused(reply, 403, "FORBIDDEN_ORIGIN");
  });

  it("browser headers are refused before the token is looked at", async () => {
    const reply = await send({ headers: { Origin: "https://evil.example", Authorization: "wrong" } });
    expectRefused(reply, 403, "FORBIDDEN_ORIGIN");
  });
});

describe("methods and routes", () => {
  it.each(["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])(
    "%s → 405 with Allow: GET",
    async (method) => {
      const reply = await send({ method, headers: auth() });
      expect(reply.status).toBe(405);
      expect(reply.headers.allow).toBe("GET");
      if (method !== "HEAD") expectRefused(reply, 405, "METHOD_NOT_ALLOWED");
    },
  );

  it("a POST without the token is refused as unauthenticated, not as a wrong method", async () => {
    expectRefused(await send({ method: "POST" }), 403, "FORBIDDEN");
  });

  it.each([
    "/role/arn:aws:iam::111111111111:role/Admin",
    "/credentials?role=arn:aws:iam::111111111111:role/Admin",
    "//",
  ])("no route takes a role (aws-vault #878): GET %s → 404", async (path) => {
    const reply = await send({ path, headers: auth() });
    expectRefused(reply, 404, "NOT_FOUND");
    expect(reply.body).not.toContain(CREDS.secretAccessKey);
  });
});

describe("credentials from the caller", () => {
  it("every request asks the caller, which decides freshness", async () => {
    const before = calls;
    await send({ headers: auth() });
    await send({ headers: auth() });
    expect(calls - before).toBe(2);
  });

  it("refused requests never reach the caller", async () => {
    const before = calls;
    await send({});
    await send({ host: "evil.example", headers: auth() });
    await send({ headers: { ...auth(), Origin: "https://x.example" } });
    expect(calls).toBe(before);
  });

  it("expired credentials are never served", async () => {
    served = async () => ({ ...CREDS, expiration: new Date(Date.now() - 1000).toISOString() });
    try {
      const reply = await send({ headers: auth() });
      expectRefused(reply, 500, "INTERNAL");
      expect(reply.body).not.toContain(CREDS.secretAccessKey);
    } finally {
      served = async () => CREDS;
    }
  });

  it("empty keys are never served", async () => {
    served = async () => ({ ...CREDS, sessionToken: "" });
    try {
      expectRefused(await send({ headers: auth() }), 500, "INTERNAL");
    } finally {
      served = async () => CREDS;
    }
  });

  it("a coded failure goes out with its code and fixed title, not its message", async () => {
    served = async () => {
      throw new GatehouseError("NOT_SIGNED_IN", "refresh failed for alice: internal detail");
    };
    try {
      const reply = await send({ headers: auth() });
      expectRefused(reply, 401, "NOT_SIGNED_IN");
      expect(reply.json.message).toBe("Not signed in: run gatehouse login.");
      expect(reply.body).not.toContain("internal detail");
    } finally {
      served = async () => CREDS;
    }
  });

  it("any other failure is INTERNAL, its message kept out of the body", async () => {
    served = async () => {
      throw new Error("socket /home/alice/.gatehouse/agent.sock: ECONNRESET");
    };
    try {
      const reply = await send({ headers: auth() });
      expectRefused(reply, 500, "INTERNAL");
      expect(reply.body).not.toContain("agent.sock");
    } finally {
      served = async () => CREDS;
    }
  });
});

describe("loopback only", () => {
  it("the URL is http://127.0.0.1:PORT/", () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
  });

  /** Resolves with the connect error code, or "connected". */
  const tryConnect = (host: string) =>
    new Promise<string>((resolve) => {
      const s = connect(server.port, host);
      s.on("connect", () => {
        s.destroy();
        resolve("connected");
      });
      s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    });

  it("listens on 127.0.0.1 only: not 127.0.0.2, not ::1, not the machine's other addresses", async () => {
    expect(await tryConnect("127.0.0.1")).toBe("connected");
    expect(await tryConnect("127.0.0.2")).not.toBe("connected");
    expect(await tryConnect("::1")).not.toBe("connected");
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal && a.family === "IPv4")
      .map((a) => a!.address);
    for (const address of others) expect(await tryConnect(address)).not.toBe("connected");
  });

  it("a peer that is not loopback is refused before anything else", () => {
    const token = Buffer.from("t".repeat(43));
    const good = {
      method: "GET",
      url: "/",
      rawHeaders: ["Host", "127.0.0.1:4000", "Authorization", "t".repeat(43)],
    };
    expect(checkRequest({ ...good, remoteAddress: "127.0.0.1" }, { port: 4000, token })).toBeNull();
    for (const remoteAddress of ["10.1.2.3", "::ffff:192.168.1.7", "fe80::1", "169.254.170.2", undefined])
      expect(checkRequest({ ...good, remoteAddress }, { port: 4000, token })?.reason).toBe(
        "peer not loopback",
      );
  });

  it.each([
    ["127.0.0.1", true],
    ["127.5.6.7", true],
    ["::ffff:127.0.0.1", true],
    ["::1", true],
    ["128.0.0.1", false],
    ["::ffff:10.0.0.1", false],
    ["::2", false],
    ["", false],
  ])("isLoopbackAddress(%j) is %s", (address, loopback) => {
    expect(isLoopbackAddress(address)).toBe(loopback);
  });
});

describe("the real AWS SDK container provider", () => {
  it("fromHttp with the server's URL and token gets the credentials", async () => {
    const creds = await fromHttp({
      awsContainerCredentialsFullUri: server.url,
      awsContainerAuthorizationToken: server.token,
    })();
    expect(creds.accessKeyId).toBe(CREDS.accessKeyId);
    expect(creds.secretAccessKey).toBe(CREDS.secretAccessKey);
    expect(creds.sessionToken).toBe(CREDS.sessionToken);
    expect(creds.expiration?.toISOString()).toBe(CREDS.expiration);
  });

  it("fromHttp with a wrong token fails", async () => {
    await expect(
      fromHttp({
        awsContainerCredentialsFullUri: server.url,
        awsContainerAuthorizationToken: "wrong",
        maxRetries: 0,
      })(),
    ).rejects.toThrow(/403/);
  });

  it("the SDK's default chain finds the server from AWS_CONTAINER_* variables alone", async () => {
    const saved = { ...process.env };
    try {
      for (const k of Object.keys(process.env)) if (k.startsWith("AWS_")) delete process.env[k];
      // No shared files: the chain must not find credentials anywhere but the server.
      process.env.AWS_CONFIG_FILE = "/nonexistent/gatehouse-test/config";
      process.env.AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/gatehouse-test/credentials";
      process.env.AWS_EC2_METADATA_DISABLED = "true";
      process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = server.url;
      process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = server.token;
      const creds = await defaultProvider()();
      expect(creds.accessKeyId).toBe(CREDS.accessKeyId);
      expect(creds.sessionToken).toBe(CREDS.sessionToken);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});

describe("the token stays secret", () => {
  it("no log line holds the token or a secret, and there are log lines", () => {
    expect(logLines.length).toBeGreaterThan(10);
    for (const line of logLines) {
      expect(line).not.toContain(server.token);
      expect(line).not.toContain(CREDS.secretAccessKey);
      expect(line).not.toContain(CREDS.sessionToken);
    }
    expect(logLines.some((l) => /403 FORBIDDEN \(bad host\)/.test(l))).toBe(true);
  });

  it("after close, connections are refused", async () => {
    const s = await startEcsServer({ getCredentials: async () => CREDS });
    await s.close();
    await s.close();
    await expect(fetch(s.url, { headers: { Authorization: s.token } })).rejects.toThrow();
  });
});
