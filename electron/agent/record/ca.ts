// A certificate authority made in memory for one recording: its private key is a non-extractable WebCrypto
// key that never touches disk and dies with the process; only its certificate is handed to the child.

// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill.
import "reflect-metadata";
import { randomBytes, webcrypto } from "node:crypto";
import { createSecureContext, rootCertificates, type SecureContext } from "node:tls";
import * as x509 from "@peculiar/x509";

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

export interface RecordingCa {
  /** The CA certificate (PEM): what the child must trust. */
  certPem: string;
  /** The CA and the system's roots: a bundle for AWS_CA_BUNDLE / SSL_CERT_FILE that keeps other hosts working. */
  bundlePem: string;
  /** A TLS context for `host`, signed by this CA (made once per host). */
  contextFor(host: string): Promise<SecureContext>;
}

function pem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${b64.trimEnd()}\n-----END ${label}-----\n`;
}

export async function createRecordingCa(): Promise<RecordingCa> {
  // extractable: false — even this process cannot write the CA's key anywhere.
  const keys = (await crypto.subtle.generateKey(ALG, false, ["sign", "verify"])) as CryptoKeyPair;
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString("hex"),
    name: `CN=Gatehouse recording ${randomBytes(4).toString("hex")}, O=Gatehouse`,
    keys,
    signingAlgorithm: ALG,
    // Valid for the recording's day only: a leaked certificate is useless without the key anyway.
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 86_400_000),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = `${ca.toString("pem")}\n`;
  // One leaf key for every host: a recording talks to a handful of hosts, and signing is the slow part.
  const leafKeys = (await crypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const leafKeyPem = pem(await crypto.subtle.exportKey("pkcs8", leafKeys.privateKey), "PRIVATE KEY");
  const contexts = new Map<string, Promise<SecureContext>>();

  async function leaf(host: string): Promise<SecureContext> {
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomBytes(16).toString("hex"),
      subject: `CN=${host}`,
      issuer: ca.subject,
      publicKey: leafKeys.publicKey,
      signingKey: keys.privateKey,
      signingAlgorithm: ALG,
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + 86_400_000),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: "dns", value: host }]),
        await x509.AuthorityKeyIdentifierExtension.create(ca, false, crypto),
      ],
    });
    return createSecureContext({ key: leafKeyPem, cert: `${cert.toString("pem")}\n${certPem}` });
  }

  return {
    certPem,
    bundlePem: `${certPem}${rootCertificates.join("\n")}\n`,
    contextFor(host) {
      let ctx = contexts.get(host);
      if (!ctx) {
        ctx = leaf(host);
        contexts.set(host, ctx);
        ctx.catch(() => contexts.delete(host));
      }
      return ctx;
    },
  };
}
