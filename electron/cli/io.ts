// What every CLI command shares: the agent client typed for TypeScript, coded errors, parsing of flags.

import { type ParseArgsConfig, parseArgs } from "node:util";
import { GatehouseError } from "../../shared/errors.ts";
import { visible, visibleJson } from "../../shared/visible-text.ts";
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

/**
 * Output for the terminal. Text from requesters, approvers, the IdP or IAM (justifications, reasons,
 * e-mails, group names, descriptions, policies, broker errors) is shown, never executed: every control
 * character and escape sequence is printed escaped (SECURITY 34). Single-line fields go through `one`
 * first, so that a newline in them cannot start a forged line; `print` and `printError` are the last pass
 * over everything written.
 */
export const one = (text: string): string => visible(text);

export function print(text: string): void {
  process.stdout.write(visible(text, { lines: true }));
}

export function printError(line: string): void {
  process.stderr.write(`${visible(line, { lines: true })}\n`);
}

/** JSON on stdout; JSON.stringify leaves C1 controls and bidi overrides raw, visibleJson does not. */
export function printJson(value: unknown): void {
  process.stdout.write(`${visibleJson(value)}\n`);
}

/** The one line (and exit code) a failure ends a command with. */
export function report(e: unknown, role?: string): number {
  if (e instanceof UsageError) {
    printError(`gatehouse: ${e.message} [BAD_ARGUMENT]`);
    return 2;
  }
  if (e instanceof AgentError || e instanceof GatehouseError) {
    printError(`gatehouse: ${one(explain(e.code, e.message, role))} [${one(e.code)}]`);
    return 1;
  }
  printError(`gatehouse: ${one((e as Error).message ?? String(e))} [INTERNAL]`);
  return 1;
}

/** Print a command's usage (for --help) and end it successfully. */
export function helped(usage: string): number {
  print(`${usage}\n`);
  return 0;
}
