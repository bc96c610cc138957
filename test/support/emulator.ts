// Starts the real emulator (a real HTTP server on loopback) for a test file, with SDK clients for it.

import { IAMClient } from "@aws-sdk/client-iam";
import { STSClient } from "@aws-sdk/client-sts";
import { DEMO_FIXTURE } from "../../dev/aws/command.ts";
import { loadFixture } from "../../dev/aws/fixture.ts";
import { type Emulator, startEmulator } from "../../dev/aws/server.ts";

export const DEMO_KEY = { accessKeyId: "AKIAGATEHOUSEDEMO001", secretAccessKey: "gatehouse-demo-secret" };

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export async function startDemoEmulator(): Promise<Emulator> {
  return startEmulator({ world: loadFixture(DEMO_FIXTURE) });
}

const clientConfig = (endpoint: string, credentials: Credentials, maxAttempts = 3) => ({
  endpoint,
  region: "us-east-1",
  credentials,
  maxAttempts,
  retryMode: "standard" as const,
});

export const sts = (e: { url: string }, c: Credentials = DEMO_KEY, maxAttempts?: number) =>
  new STSClient(clientConfig(e.url, c, maxAttempts));
export const iam = (e: { url: string }, c: Credentials = DEMO_KEY, maxAttempts?: number) =>
  new IAMClient(clientConfig(e.url, c, maxAttempts));
