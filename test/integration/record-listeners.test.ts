// The recording's listeners, really started: CSM datagrams over UDP, and the HTTPS proxy attacked — no or a wrong
// password, a peer that is not the child, plain HTTP, a forged TLS trust — and used with the real JS SDK v3 on
// the emulator. Secrets in datagrams never reach the result; the CA's certificate file is gone after stop.

import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer, type Server } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ActiveRecording, startRecording } from "../../electron/agent/record/recording.ts";
import { recordingSchema } from "../../shared/recording.ts";
import { ROOT } from "../support/e2e.ts";
import { DEMO_KEY, startDemoEmulator } from "../support/emulator.ts";

const V3_SCRIPT = `${ROOT}/test/support/iam-v3-script.mjs`;

let emulator: Awaited<ReturnType<typeof startDemoEmulator>>;
beforeAll(async () => {
  emulator = await startDemoEmulator();
});
afterAll(() => emulator?.close());

const meta = { role: "staging/Developer", command: ["test"], exitCode: 0 };

function send(port: number, payload: unknown): Promise<void> {
  const s = createSocket("udp4");
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload));
  return new Promise((resolve, reject) =>
    s.send(data, port, "127.0.0.1", (e) => {
      s.close();
      e ? reject(e) : resolve();
    }),
  );
}

describe("client-side monitoring", () => {
  it("ApiCall datagrams become calls; attempts with keys and tokens leave no trace; junk is counted", async () => {
    const rec = await startRecording({ csm: true });
    expect(rec.env).toMatchObject({ AWS_CSM_ENABLED: "true", AWS_CSM_HOST: "127.0.0.1" });
    const port = Number(rec.env.AWS_CSM_PORT);
    const seen: string[] = [];
    rec.on("call", (c) => seen.push(`${c.api}:${c.outcome}`));
    await send(port, {
      Version: 1,
      Type: "ApiCallAttempt",
      Service: "IAM",
      Api: "ListUsers",
      AccessKey: "ASIASECRETACCESSKEY1",
      SessionToken: "session-token-that-must-not-leak",
      HttpStatusCode: 403,
    });
    await send(port, {
      Version: 1,
      Type: "ApiCall",
      Service: "IAM",
      Api: "ListUsers",
      FinalHttpStatusCode: 403,
      FinalAwsException: "AccessDenied",
      FinalAwsExceptionMessage:
        "User: arn:aws:sts::333333333333:assumed-role/Developer/a is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::333333333333:user/ because no identity-based policy allows the iam:ListUsers action",
      AccessKey: "ASIASECRETACCESSKEY1",
      SessionToken: "session-token-that-must-not-leak",
    });
    await send(port, { Type: "ApiCall", Service: "IAM", Api: "ListRoles", FinalHttpStatusCode: 200 });
    await send(port, Buffer.from("not json"));
    const result = await rec.stop(meta);
    expect(seen).toEqual(["ListUsers:denied", "ListRoles:allowed"]);
    expect(result.ignored).toBe(1);
    recordingSchema.parse(result);
    const text = JSON.stringify(result);
    expect(text).not.toContain("ASIASECRETACCESSKEY1");
    expect(text).not.toContain("session-token-that-must-not-leak");
    // Stop is idempotent and the socket is closed: a late datagram changes nothing.
    await send(port, { Type: "ApiCall", Service: "IAM", Api: "GetUser", FinalHttpStatusCode: 200 }).catch(
      () => {},
    );
    expect(await rec.stop(meta)).toBe(result);
  });
});

describe("the recording proxy", () => {
  let rec: ActiveRecording;
  let tcp: Server;
  let tcpPort = 0;
  const proxyUrl = () => new URL(rec.env.HTTPS_PROXY!);

  beforeAll(async () => {
    rec = await startRecording({
      csm: false,
      proxy: true,
      upstream: emulator.url,
      accountId: "111111111111",
    });
    // A non-AWS host the child may reach through the tunnel: echoes what it gets.
    tcp = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", () => r()));
    tcpPort = (tcp.address() as { port: number }).port;
  });
  afterAll(async () => {
    await rec?.stop(meta);
    tcp?.close();
  });

  function connectVia(
    target: string,
    auth?: string,
  ): Promise<{ status: number; socket: import("node:net").Socket }> {
    const u = proxyUrl();
    return new Promise((resolve, reject) => {
      const req = httpRequest({
        host: "127.0.0.1",
        port: Number(u.port),
        method: "CONNECT",
        path: target,
        headers: auth ? { "proxy-authorization": `Basic ${Buffer.from(auth).toString("base64")}` } : {},
      });
      req.on("connect", (res, socket) => resolve({ status: res.statusCode ?? 0, socket }));
      req.on("error", reject);
      req.end();
    });
  }

  it("the child's environment: the proxy with its password, the CA bundle, loopback never proxied", () => {
    const env = rec.env;
    expect(env.HTTPS_PROXY).toMatch(/^http:\/\/gatehouse:[0-9a-f]{48}@127\.0\.0\.1:\d+$/);
    expect(env.NO_PROXY).toContain("127.0.0.1");
    for (const k of ["AWS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"])
      expect(existsSync(env[k]!)).toBe(true);
    const bundle = readFileSync(env.AWS_CA_BUNDLE!, "utf8");
    expect(bundle).toContain("BEGIN CERTIFICATE");
    // The CA's key never touches disk.
    expect(bundle).not.toContain("PRIVATE KEY");
  });

  it.each([
    ["no password", undefined],
    ["a wrong password", "gatehouse:0000"],
    ["the right password under another user name", () => `other:${proxyUrl().password}`],
  ])("CONNECT with %s → 407", async (_name, auth) => {
    const r = await connectVia("iam.amazonaws.com:443", typeof auth === "function" ? auth() : auth).catch(
      () => ({ status: 407, socket: undefined }),
    );
    expect(r.status).toBe(407);
    r.socket?.destroy();
  });

  it("plain-HTTP proxying is refused: not an open relay", async () => {
    const u = proxyUrl();
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        { host: "127.0.0.1", port: Number(u.port), path: "http://example.com/", method: "GET" },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(405);
  });

  it("a non-AWS host is tunnelled untouched (no TLS of ours in between)", async () => {
    const u = proxyUrl();
    const { status, socket } = await connectVia(`127.0.0.1:${tcpPort}`, `gatehouse:${u.password}`);
    expect(status).toBe(200);
    const echoed = await new Promise<string>((resolve) => {
      socket.once("data", (d) => resolve(d.toString()));
      socket.write("hello");
    });
    expect(echoed).toBe("hello");
    socket.destroy();
  });

  it("an AWS host gets a certificate only the recording's CA vouches for", async () => {
    const u = proxyUrl();
    const tryTls = async (ca?: string) => {
      const { socket } = await connectVia("iam.amazonaws.com:443", `gatehouse:${u.password}`);
      return new Promise<string>((resolve) => {
        const tls = tlsConnect({ socket, servername: "iam.amazonaws.com", ...(ca ? { ca } : {}) });
        tls.once("secureConnect", () => {
          resolve("trusted");
          tls.destroy();
        });
        tls.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      });
    };
    expect(await tryTls()).toMatch(/UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED|UNABLE_TO_VERIFY/);
    expect(await tryTls(readFileSync(rec.env.AWS_CA_BUNDLE!, "utf8"))).toBe("trusted");
  });

  it("the real JS SDK v3 (a child trusting the CA by NODE_EXTRA_CA_CERTS): each call recorded with its parameters", async () => {
    const before = rec.calls.length;
    // Asynchronously: the proxy runs in this process and must keep answering.
    const child = await new Promise<{ stdout: string }>((resolve) =>
      execFile(
        process.execPath,
        [V3_SCRIPT, "NoSuchRoleHere"],
        {
          env: {
            ...process.env,
            ...rec.env,
            AWS_ACCESS_KEY_ID: DEMO_KEY.accessKeyId,
            AWS_SECRET_ACCESS_KEY: DEMO_KEY.secretAccessKey,
          },
          timeout: 60_000,
        },
        (_e, stdout) => resolve({ stdout }),
      ),
    );
    // The answers reached the SDK as the emulator gave them (the demo key's user may not read IAM).
    expect(child.stdout).toContain("DENIED ListRoles AccessDenied");
    expect(child.stdout).toContain("DENIED GetRole NoSuchRoleHere AccessDenied");
    await new Promise((r) => setTimeout(r, 50));
    const calls = rec.calls.slice(before);
    expect(calls.map((c) => `${c.service}:${c.api}:${c.outcome}:${c.status}`)).toEqual([
      "iam:ListRoles:denied:403",
      "iam:ListUsers:denied:403",
      "iam:GetRole:denied:403",
    ]);
    expect(calls[2]!.errorCode).toBe("AccessDenied");
    expect(calls[2]!.errorMessage).toContain("is not authorized to perform: iam:GetRole");
    expect(calls[2]!.resources).toEqual(["arn:aws:iam::111111111111:role/NoSuchRoleHere"]);
  }, 60_000);

  it("after stop the CA bundle is deleted and the proxy is gone", async () => {
    const bundle = rec.env.AWS_CA_BUNDLE!;
    const port = Number(proxyUrl().port);
    await rec.stop(meta);
    expect(existsSync(bundle)).toBe(false);
    await expect(
      new Promise((resolve, reject) => {
        const req = httpRequest({
          host: "127.0.0.1",
          port,
          method: "CONNECT",
          path: "iam.amazonaws.com:443",
        });
        req.on("connect", resolve);
        req.on("error", reject);
        req.end();
      }),
    ).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});
