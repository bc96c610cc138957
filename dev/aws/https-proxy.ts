// Lets the emulator stand in for *.amazonaws.com: an HTTPS proxy (CONNECT) that terminates TLS with
// certificates from a local development CA, for tools that cannot be pointed at an endpoint (the AWS
// CLI v2.9's assume-role profiles call STS on its public host). Clients trust DIR/ca.pem.

// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import type { Socket } from "node:net";
import { join } from "node:path";
import { createSecureContext, type SecureContext, TLSSocket } from "node:tls";
import * as x509 from "@peculiar/x509";
import { isLoopback } from "./server.ts";

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const HOST_RE = /^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com$/;
const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

interface Ca {
  cert: x509.X509Certificate;
  key: CryptoKey;
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${b64.trimEnd()}\n-----END ${label}-----\n`;
}
function fromPem(pem: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""), "base64"));
}

/** Load the CA kept in `dir`, or make one (valid ten years) and keep it there. */
async function loadOrCreateCa(dir: string): Promise<Ca> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certPath = join(dir, "ca.pem");
  const keyPath = join(dir, "ca-key.pem");
  if (existsSync(certPath) && existsSync(keyPath)) {
    const key = await crypto.subtle.importKey("pkcs8", fromPem(readFileSync(keyPath, "utf8")), ALG, true, [
      "sign",
    ]);
    return { cert: new x509.X509Certificate(readFileSync(certPath, "utf8")), key };
  }
  const keys = (await crypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: "CN=Gatehouse development AWS emulator CA, O=Gatehouse dev",
    keys,
    signingAlgorithm: ALG,
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + 10 * 365 * 86_400_000),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  writeFileSync(keyPath, toPem(await crypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY"), {
    mode: 0o600,
  });
  writeFileSync(certPath, `${cert.toString("pem")}\n`);
  return { cert, key: keys.privateKey };
}

async function leafContext(ca: Ca, host: string): Promise<SecureContext> {
  const keys = (await crypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${host}`,
    issuer: ca.cert.subject,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: ALG,
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + 30 * 86_400_000),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: host }]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false, crypto),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return createSecureContext({
    key: toPem(await crypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY"),
    cert: `${cert.toString("pem")}\n${ca.cert.toString("pem")}\n`,
  });
}

/** Make `server` answer CONNECT for *.amazonaws.com:443 from loopback; returns the CA file's path. */
export async function enableHttpsProxy(server: Server, dir: string): Promise<string> {
  const ca = await loadOrCreateCa(dir);
  const contexts = new Map<string, Promise<SecureContext>>();
  server.on("connect", (req, socket: Socket, head: Buffer) => {
    const target = /^([^:]+):(\d+)$/.exec(req.url ?? "");
    const host = target?.[1]?.toLowerCase() ?? "";
    if (!isLoopback(socket) || target?.[2] !== "443" || !HOST_RE.test(host)) {
      socket.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    let ctx = contexts.get(host);
    if (!ctx) {
      ctx = leafContext(ca, host);
      contexts.set(host, ctx);
    }
    ctx.then(
      (secureContext) => {
        socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (head.length > 0) socket.unshift(head);
        const tls = new TLSSocket(socket, { isServer: true, secureContext });
        tls.on("error", () => socket.destroy());
        server.emit("connection", tls);
      },
      () => socket.end("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n"),
    );
  });
  return join(dir, "ca.pem");
}
