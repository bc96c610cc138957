// SigV4 checking: find the caller's key, re-sign the request with @smithy/signature-v4 and compare,
// then resolve the caller's identity (IAM user or assumed-role session) and its policies.

import { timingSafeEqual } from "node:crypto";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { AwsError } from "./errors.ts";
import { findManagedPolicy } from "./managed-policies.ts";
import {
  type Account,
  assumedRoleArn,
  type Role,
  roleArn,
  type Session,
  type User,
  userArn,
  type World,
} from "./model.ts";
import { type Policy, parsePolicy } from "./policy.ts";

export interface Caller {
  kind: "user" | "session";
  account: Account;
  /** The caller's ARN as GetCallerIdentity reports it. */
  arn: string;
  /** The ARN that trust policies name: the user, or the role behind a session. */
  principalArn: string;
  userId: string;
  user?: User;
  session?: Session;
  role?: Role;
  policies: Policy[];
  /** Session policy: when present, it must allow an action too. */
  sessionPolicy?: Policy;
}

export interface SignedRequest {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
  body: string;
}

export interface Authenticated {
  caller: Caller;
  service: string;
  region: string;
  accessKeyId: string;
}

const MAX_SKEW_MS = 5 * 60 * 1000;
const AUTH_RE =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;

const invalidToken = () =>
  new AwsError("InvalidClientTokenId", 403, "The security token included in the request is invalid.");

function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

function fmt(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

/** The service named in the credential scope, read before the signature is checked (for routing and errors). */
export function scopeService(authorization: string | undefined): string | undefined {
  return authorization ? AUTH_RE.exec(authorization.trim())?.[4] : undefined;
}

export async function authenticate(req: SignedRequest, world: World, now: number): Promise<Authenticated> {
  const header = req.headers.authorization;
  if (!header)
    throw new AwsError("MissingAuthenticationToken", 403, "Request is missing Authentication Token");
  const m = AUTH_RE.exec(header.trim());
  if (!m) {
    throw new AwsError(
      "IncompleteSignature",
      400,
      "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters for AWS4-HMAC-SHA256.",
    );
  }
  const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = m as unknown as string[];
  const amzDate = req.headers["x-amz-date"];
  const signingDate = amzDate ? parseAmzDate(amzDate) : undefined;
  if (!signingDate) {
    throw new AwsError(
      "IncompleteSignature",
      400,
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  }
  const signed = signedHeaderList!.split(";");
  if (!signed.includes("host"))
    throw new AwsError(
      "IncompleteSignature",
      400,
      "'Host' must be a 'SignedHeader' in the AWS Authorization.",
    );
  const skew = signingDate.getTime() - now;
  if (skew < -MAX_SKEW_MS) {
    throw new AwsError(
      "SignatureDoesNotMatch",
      403,
      `Signature expired: ${amzDate} is now earlier than ${fmt(new Date(now - MAX_SKEW_MS))} (${fmt(new Date(now))} - 5 min.)`,
    );
  }
  if (skew > MAX_SKEW_MS) {
    throw new AwsError(
      "SignatureDoesNotMatch",
      403,
      `Signature not yet current: ${amzDate} is still later than ${fmt(new Date(now + MAX_SKEW_MS))} (${fmt(new Date(now))} + 5 min.)`,
    );
  }

  const resolved = resolveKey(world, accessKeyId!, req.headers["x-amz-security-token"]);
  const token = signed.includes("x-amz-security-token") ? req.headers["x-amz-security-token"] : undefined;

  const headers: Record<string, string> = {};
  for (const name of signed) {
    const value = req.headers[name];
    if (value === undefined) throw signatureMismatch();
    headers[name] = value;
  }
  const [hostname, port] = (headers.host ?? "").split(":");
  const request = new HttpRequest({
    method: req.method,
    protocol: "http:",
    hostname: hostname ?? "",
    ...(port ? { port: Number(port) } : {}),
    path: req.path,
    query: req.query,
    headers,
    body: req.body,
  });
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: accessKeyId!,
      secretAccessKey: resolved.secret,
      ...(token ? { sessionToken: token } : {}),
    },
    region: region!,
    service: service!,
    sha256: Hash.bind(null, "sha256"),
    applyChecksum: signed.includes("x-amz-content-sha256"),
    uriEscapePath: true,
  });
  const resigned = await signer.sign(request, {
    signingDate,
    signingRegion: region!,
    signingService: service!,
    signableHeaders: new Set(signed),
  });
  const expected = /Signature=([0-9a-f]{64})/.exec(String(resigned.headers.authorization))?.[1] ?? "";
  if (
    scopeDate !== amzDate!.slice(0, 8) ||
    !timingSafeEqual(Buffer.from(expected), Buffer.from(signature!))
  ) {
    throw signatureMismatch();
  }
  if (resolved.session && resolved.session.expiration <= now) {
    throw new AwsError("ExpiredToken", 403, "The security token included in the request is expired");
  }
  return { caller: resolved.caller, service: service!, region: region!, accessKeyId: accessKeyId! };
}

function signatureMismatch(): AwsError {
  return new AwsError(
    "SignatureDoesNotMatch",
    403,
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
  );
}

/** Identity policies of a role, user or group: inline, then attached managed ones that still exist. */
function policiesOf(
  account: Account,
  holder: { inlinePolicies: Record<string, string>; managedPolicies: string[] },
  out: Policy[] = [],
): Policy[] {
  for (const text of Object.values(holder.inlinePolicies)) out.push(parsePolicy(text, "identity"));
  for (const arn of holder.managedPolicies) {
    const p = findManagedPolicy(account, arn);
    if (!p) continue;
    if (p.customer) {
      out.push(parsePolicy(p.document, "identity"));
      continue;
    }
    // AWS-managed documents never change within a run, and some (ReadOnlyAccess: 90 kB) cost to parse.
    let parsed = awsParsed.get(arn);
    if (!parsed) {
      parsed = parsePolicy(p.document, "identity");
      awsParsed.set(arn, parsed);
    }
    out.push(parsed);
  }
  return out;
}
const awsParsed = new Map<string, Policy>();

/** A user's effective identity policies: its own and those of every group it is in, as IAM counts them. */
function userPolicies(account: Account, user: User): Policy[] {
  const out = policiesOf(account, user);
  for (const name of user.groups) {
    const g = account.groups.get(name.toLowerCase());
    if (g) policiesOf(account, g, out);
  }
  return out;
}

function resolveKey(
  world: World,
  accessKeyId: string,
  token: string | undefined,
): { secret: string; caller: Caller; session?: Session } {
  if (accessKeyId.startsWith("ASIA")) {
    const session = world.sessions.get(accessKeyId);
    if (!session || token === undefined || !safeEqual(token, session.sessionToken)) throw invalidToken();
    const account = world.accounts.get(session.account);
    if (!account) throw invalidToken();
    const role = account.roles.get(session.roleName.toLowerCase());
    // A deleted role leaves its sessions without permissions, as in AWS.
    const policies = role && role.id === session.roleId ? policiesOf(account, role) : [];
    const caller: Caller = {
      kind: "session",
      account,
      arn: assumedRoleArn(session),
      principalArn: roleArn(session.account, { path: session.rolePath, name: session.roleName }),
      userId: `${session.roleId}:${session.sessionName}`,
      session,
      ...(role ? { role } : {}),
      policies,
      ...(session.sessionPolicy ? { sessionPolicy: parsePolicy(session.sessionPolicy, "session") } : {}),
    };
    return { secret: session.secretAccessKey, caller, session };
  }
  const hit = world.findAccessKey(accessKeyId);
  if (hit?.key.status !== "Active") throw invalidToken();
  if (token !== undefined) throw invalidToken();
  const arn = userArn(hit.account.id, hit.user);
  return {
    secret: hit.key.secret,
    caller: {
      kind: "user",
      account: hit.account,
      arn,
      principalArn: arn,
      userId: hit.user.id,
      user: hit.user,
      policies: userPolicies(hit.account, hit.user),
    },
  };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
