// The AWS Query protocol: form-encoded input (with `X.member.N` lists) and XML output with
// ResponseMetadata/RequestId, or an ErrorResponse.

import { AwsError, constraint } from "./errors.ts";

/** An XML map as AWS's Query protocol writes it: `<entry><key>…</key><value>…</value></entry>`. */
export class XmlEntries {
  constructor(readonly entries: readonly [string, string | number][]) {}
}

export type XmlValue =
  | XmlEntries
  | string
  | number
  | boolean
  | undefined
  | null
  | XmlValue[]
  | { [key: string]: XmlValue };

const XML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

export function toXml(name: string, value: XmlValue): string {
  if (value === undefined || value === null) return "";
  if (value instanceof XmlEntries) {
    let inner = "";
    for (const [k, v] of value.entries)
      inner += `<entry><key>${escapeXml(k)}</key><value>${v}</value></entry>`;
    return `<${name}>${inner}</${name}>`;
  }
  if (Array.isArray(value)) {
    let inner = "";
    for (const v of value) inner += toXml("member", v);
    return `<${name}>${inner}</${name}>`;
  }
  if (typeof value === "object") {
    let inner = "";
    for (const [k, v] of Object.entries(value)) inner += toXml(k, v);
    return `<${name}>${inner}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

export function xmlResponse(action: string, namespace: string, result: XmlValue, requestId: string): string {
  const body = result === undefined ? "" : toXml(`${action}Result`, result);
  return `<${action}Response xmlns="${namespace}">${body}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
}

export function xmlError(err: AwsError, namespace: string, requestId: string): string {
  return `<ErrorResponse xmlns="${namespace}"><Error><Type>${err.type}</Type><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}

/** Query parameters of one call, with typed readers that raise AWS's validation errors. */
export class Params {
  constructor(readonly raw: Record<string, string>) {}

  optional(name: string): string | undefined {
    return this.raw[name];
  }

  required(name: string): string {
    const v = this.raw[name];
    if (v === undefined) {
      const field = name.charAt(0).toLowerCase() + name.slice(1);
      throw new AwsError(
        "ValidationError",
        400,
        `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
      );
    }
    return v;
  }

  int(name: string, min: number, max: number): number | undefined {
    const v = this.raw[name];
    if (v === undefined) return undefined;
    const field = name.charAt(0).toLowerCase() + name.slice(1);
    if (!/^-?\d{1,12}$/.test(v)) throw constraint(field, v, "Member must be a number");
    const n = Number(v);
    if (n < min) throw constraint(field, v, `Member must have value greater than or equal to ${min}`);
    if (n > max) throw constraint(field, v, `Member must have value less than or equal to ${max}`);
    return n;
  }

  /** `Name.member.1`, `Name.member.2`, … as strings. */
  list(name: string): string[] | undefined {
    const out: string[] = [];
    for (let i = 1; ; i++) {
      const v = this.raw[`${name}.member.${i}`];
      if (v === undefined) break;
      out.push(v);
    }
    return out.length > 0 || this.raw[name] === "" ? out : undefined;
  }

  /** `Name.member.1.Key`, … as records. */
  structs(name: string): Record<string, string>[] | undefined {
    const byIndex = new Map<number, Record<string, string>>();
    const prefix = `${name}.member.`;
    for (const [k, v] of Object.entries(this.raw)) {
      if (!k.startsWith(prefix)) continue;
      const rest = k.slice(prefix.length);
      const dot = rest.indexOf(".");
      if (dot < 0) continue;
      const index = Number(rest.slice(0, dot));
      if (!Number.isInteger(index) || index < 1) continue;
      const entry = byIndex.get(index) ?? {};
      entry[rest.slice(dot + 1)] = v;
      byIndex.set(index, entry);
    }
    if (byIndex.size === 0) return this.raw[name] === "" ? [] : undefined;
    return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  }
}

export function parseForm(body: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of new URLSearchParams(body)) out[k] = v;
  return out;
}
