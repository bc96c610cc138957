// `gatehouse export ROLE`: credentials as lines a shell evaluates, or as credential_process JSON.

import type { CredentialsResponse } from "../../shared/api.ts";
import { GatehouseError } from "../../shared/errors.ts";

export type ExportFormat = "sh" | "fish" | "powershell" | "json";
export const EXPORT_FORMATS: readonly ExportFormat[] = ["sh", "fish", "powershell", "json"];

type Credentials = Pick<
  CredentialsResponse,
  "accessKeyId" | "secretAccessKey" | "sessionToken" | "expiration"
>;

/** The JS SDK prefers AWS_PROFILE to keys in the environment, so exported keys would silently lose. */
const UNSET = ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"];

/** POSIX sh: inside single quotes nothing is special; a quote closes, is escaped, and reopens. */
export function quoteSh(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** fish: inside single quotes only \\ and \' are escapes. */
export function quoteFish(value: string): string {
  return `'${value.replace(/[\\']/g, "\\$&")}'`;
}

/** PowerShell: single-quoted, a quote doubled; the typographic single quotes also end a string there. */
export function quotePowerShell(value: string): string {
  return `'${value.replace(/['\u2018\u2019\u201A\u201B]/g, "$&$&")}'`;
}

/**
 * `region` (AWS_REGION and AWS_DEFAULT_REGION, from regionVariables) is added only when the caller's
 * shell has neither, so an exported session never overrides a region the person chose.
 */
export function formatExport(
  creds: Credentials,
  format: ExportFormat,
  role: string,
  region: Record<string, string> = {},
): string {
  const expires = Date.parse(creds.expiration);
  if (Number.isNaN(expires))
    throw new GatehouseError("INTERNAL", "The agent returned credentials without a valid expiration.");
  const expiration = new Date(expires).toISOString();

  // JSON is credential_process output, a format with no place for a region.
  if (format === "json")
    return `${JSON.stringify(
      {
        Version: 1,
        AccessKeyId: creds.accessKeyId,
        SecretAccessKey: creds.secretAccessKey,
        SessionToken: creds.sessionToken,
        Expiration: expiration,
      },
      null,
      2,
    )}\n`;

  const vars: [string, string][] = [
    ["AWS_ACCESS_KEY_ID", creds.accessKeyId],
    ["AWS_SECRET_ACCESS_KEY", creds.secretAccessKey],
    ["AWS_SESSION_TOKEN", creds.sessionToken],
    ["AWS_CREDENTIAL_EXPIRATION", expiration],
    // As a quoted variable rather than a comment: a role reference then cannot break out of the line.
    ["GATEHOUSE_ROLE", role],
    ...Object.entries(region),
  ];
  // No shell can hold a NUL in a variable; every other character survives the quoting below.
  for (const [name, value] of vars)
    if (value.includes("\0"))
      throw new GatehouseError("BAD_ARGUMENT", `${name} holds a character a shell cannot take.`);

  switch (format) {
    case "sh":
      return lines([`unset ${UNSET.join(" ")}`, ...vars.map(([n, v]) => `export ${n}=${quoteSh(v)}`)]);
    case "fish":
      return lines([
        ...UNSET.map((n) => `set -e ${n}`),
        ...vars.map(([n, v]) => `set -gx ${n} ${quoteFish(v)}`),
      ]);
    case "powershell":
      return lines([
        ...UNSET.map((n) => `Remove-Item Env:${n} -ErrorAction SilentlyContinue`),
        ...vars.map(([n, v]) => `$Env:${n} = ${quotePowerShell(v)}`),
      ]);
    default:
      throw new GatehouseError(
        "BAD_ARGUMENT",
        `Unknown export format: use one of ${EXPORT_FORMATS.join(", ")}.`,
      );
  }
}

function lines(items: string[]): string {
  return `${items.join("\n")}\n`;
}
