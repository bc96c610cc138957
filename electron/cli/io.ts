// What every CLI command shares: the agent client typed for TypeScript, coded errors, parsing of flags.

import { type ParseArgsConfig, parseArgs } from "node:util";
import { GatehouseError } from "../../shared/errors.ts";
import { AgentError, callAgent, explain } from "./agent-client.mjs";

export class UsageError extends Error {}

/** Strict flag parsing; a bad flag is a usage error (exit 2) naming the command's usage. */
export function flags<T extends ParseArgsConfig["options"]>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n${usage}`);
  }
}

export async function agent<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  onLine?: (line: unknown) => void,
): Promise<T> {
  return (await callAgent(method, path, body, process.env, onLine)) as T;
}

export interface CredentialProcessOutput {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
}

export async function credentialsFor(role: string) {
  const c = await agent<CredentialProcessOutput>("POST", "/v1/credentials", { role });
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    sessionToken: c.SessionToken,
    expiration: c.Expiration,
  };
}

/** The one line (and exit code) a failure ends a command with. */
export function report(e: unknown, role?: string): number {
  if (e instanceof UsageError) {
    console.error(`gatehouse: ${e.message} [BAD_ARGUMENT]`);
    return 2;
  }
  if (e instanceof AgentError || e instanceof GatehouseError) {
    console.error(`gatehouse: ${explain(e.code, e.message, role)} [${e.code}]`);
    return 1;
  }
  console.error(`gatehouse: ${(e as Error).message ?? String(e)} [INTERNAL]`);
  return 1;
}

/** Print a command's usage (for --help) and end it successfully. */
export function helped(usage: string): number {
  console.log(usage);
  return 0;
}
