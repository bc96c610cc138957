// Helpers for tests against the emulator with the official SDK clients: role ARNs of the demo
// organisation, assume-role chains, and assertions on AWS-shaped errors.

import {
  AssumeRoleCommand,
  type AssumeRoleCommandInput,
  type AssumeRoleCommandOutput,
} from "@aws-sdk/client-sts";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { expect } from "vitest";
import { type Credentials, DEMO_KEY, sts } from "./emulator.ts";

export const CENTRAL = "111111111111";
/** Error codes that @aws-sdk/client-sts and client-iam model as `<Code>Exception` classes. */
const MODELED = new Set([
  "MalformedPolicyDocument",
  "PackedPolicyTooLarge",
  "NoSuchEntity",
  "EntityAlreadyExists",
  "DeleteConflict",
  "LimitExceeded",
  "InvalidInput",
  "UnmodifiableEntity",
  "ConcurrentModification",
]);
export const PROD = "222222222222";
export const STAGING = "333333333333";
export const CENTRAL_ROLE = `arn:aws:iam::${CENTRAL}:role/GatehouseCentral`;
export const spokeRole = (account: string) => `arn:aws:iam::${account}:role/GatehouseSpoke`;
export const workRole = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;

/** The error an SDK call failed with (fails the test if it succeeded). */
export async function failure(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/**
 * Assert an AWS error by its wire code (the XML `Code`), the SDK's `name` and the HTTP status. The
 * SDK names errors that the service model declares by their shape (`NoSuchEntity` →
 * `NoSuchEntityException`); undeclared codes keep their own name.
 */
export async function expectAwsError(
  p: Promise<unknown>,
  code: string,
  status: number,
  message?: string | RegExp,
): Promise<Error & Record<string, unknown>> {
  const e = await failure(p);
  const name = MODELED.has(code) ? `${code}Exception` : code;
  const httpStatus = (e.$metadata as { httpStatusCode?: number } | undefined)?.httpStatusCode;
  expect({ name: e.name, Code: e.Code, status: httpStatus }).toEqual({ name, Code: code, status });
  if (message !== undefined) expect(e.message).toMatch(message);
  return e;
}

export function credentialsOf(out: AssumeRoleCommandOutput): Credentials {
  const c = out.Credentials!;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}

export async function assumeRole(
  e: { url: string },
  caller: Credentials,
  input: Partial<AssumeRoleCommandInput> & { RoleArn: string },
): Promise<AssumeRoleCommandOutput> {
  return sts(e, caller, 1).send(new AssumeRoleCommand({ RoleSessionName: "test-session", ...input }));
}

/** The broker user → GatehouseCentral (one hop: not role chaining). */
export async function centralCredentials(e: { url: string }, sessionName = "central"): Promise<Credentials> {
  return credentialsOf(
    await assumeRole(e, DEMO_KEY, { RoleArn: CENTRAL_ROLE, RoleSessionName: sessionName }),
  );
}

/** GatehouseCentral → a role in another account (role chaining). */
export async function viaCentral(
  e: { url: string },
  roleArn: string,
  sessionName = "alice",
): Promise<Credentials> {
  const central = await centralCredentials(e);
  return credentialsOf(await assumeRole(e, central, { RoleArn: roleArn, RoleSessionName: sessionName }));
}

/** Sign a Query-protocol request by hand (for what the SDK will not send) and send it with fetch. */
export async function signedFetch(
  url: string,
  body: string,
  opts: {
    credentials?: Credentials;
    service?: string;
    signingDate?: Date;
    headers?: Record<string, string>;
  } = {},
): Promise<Response> {
  const u = new URL(url);
  const request = new HttpRequest({
    method: "POST",
    protocol: u.protocol,
    hostname: u.hostname,
    port: Number(u.port),
    path: "/",
    headers: {
      host: u.host,
      "content-type": "application/x-www-form-urlencoded; charset=utf-8",
      ...opts.headers,
    },
    body,
  });
  const signer = new SignatureV4({
    credentials: opts.credentials ?? DEMO_KEY,
    region: "us-east-1",
    service: opts.service ?? "sts",
    sha256: Hash.bind(null, "sha256"),
  });
  const signed = await signer.sign(request, opts.signingDate ? { signingDate: opts.signingDate } : {});
  return fetch(url, { method: "POST", headers: signed.headers, body });
}
