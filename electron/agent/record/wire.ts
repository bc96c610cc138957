// What an AWS request and its answer say on the wire, for the recording proxy: service and region from the
// SigV4 scope, the operation from the Query `Action=` or the JSON target header, the parameters, the error.
// Pure: no I/O.

import type { IncomingHttpHeaders } from "node:http";

export interface WireRequest {
  method: string;
  host: string;
  /** Path and query, as on the request line. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface WireCall {
  /** The SigV4 signing name ("iam"), else the host's first label. */
  service: string;
  region: string | null;
  /** The operation; null when the protocol (REST) does not name it and no rule below tells it. */
  api: string | null;
  /** Top-level parameters as strings (Query fields, JSON string fields): to fill in resource ARNs. */
  params: Record<string, string>;
}

const SCOPE = /Credential=[^/,\s]+\/\d{8}\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request/;
/** Parameters beyond this many are not read: a recording needs the names, not bulk data. */
const MAX_PARAMS = 200;
const MAX_PARSED_BODY = 1024 * 1024;

function header(h: IncomingHttpHeaders, name: string): string {
  const v = h[name];
  return (Array.isArray(v) ? v[0] : v) ?? "";
}

function formParams(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  for (const [k, v] of new URLSearchParams(text)) {
    if (++n > MAX_PARAMS) break;
    // A Map-like object with no prototype: a parameter named __proto__ is just a parameter.
    if (!Object.hasOwn(out, k)) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true });
  }
  return out;
}

function jsonParams(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  try {
    const raw: unknown = JSON.parse(text);
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return out;
    let n = 0;
    for (const [k, v] of Object.entries(raw)) {
      if (++n > MAX_PARAMS) break;
      if (typeof v === "string")
        Object.defineProperty(out, k, { value: v, enumerable: true, writable: true });
    }
  } catch {
    // Not JSON after all: no parameters.
  }
  return out;
}

/** S3's REST operations from method and path (virtual-hosted or path style): the common ones only. */
function s3Operation(method: string, host: string, url: URL): string | null {
  const virtual = /^(.+)\.s3[.-]/.test(host);
  const parts = url.pathname.split("/").filter(Boolean);
  const bucket = virtual || parts.length > 0;
  const key = virtual ? parts.length > 0 : parts.length > 1;
  const q = url.searchParams;
  if (!bucket) return method === "GET" ? "ListBuckets" : null;
  if (!key) {
    if (q.has("location")) return "GetBucketLocation";
    if (q.has("policy"))
      return { GET: "GetBucketPolicy", PUT: "PutBucketPolicy", DELETE: "DeleteBucketPolicy" }[method] ?? null;
    if (q.has("versions")) return "ListObjectVersions";
    if (q.has("delete") && method === "POST") return "DeleteObjects";
    return (
      {
        GET: q.get("list-type") === "2" ? "ListObjectsV2" : "ListObjects",
        HEAD: "HeadBucket",
        PUT: "CreateBucket",
        DELETE: "DeleteBucket",
      }[method] ?? null
    );
  }
  if (q.has("uploads") && method === "POST") return "CreateMultipartUpload";
  if (q.has("uploadId"))
    return (
      {
        PUT: "UploadPart",
        POST: "CompleteMultipartUpload",
        DELETE: "AbortMultipartUpload",
        GET: "ListParts",
      }[method] ?? null
    );
  if (q.has("tagging"))
    return (
      { GET: "GetObjectTagging", PUT: "PutObjectTagging", DELETE: "DeleteObjectTagging" }[method] ?? null
    );
  return { GET: "GetObject", HEAD: "HeadObject", PUT: "PutObject", DELETE: "DeleteObject" }[method] ?? null;
}

export function describeRequest(req: WireRequest): WireCall {
  const url = new URL(req.url, "https://placeholder.invalid");
  const scope =
    SCOPE.exec(header(req.headers, "authorization")) ??
    SCOPE.exec(`Credential=${url.searchParams.get("X-Amz-Credential") ?? ""}`);
  const host = req.host.toLowerCase();
  // Unsigned (anonymous S3) requests: the host says it, S3's virtual-hosted names being BUCKET.s3.REGION….
  const service = scope?.[2] ?? (/(^|\.)s3[.-]/.test(host) ? "s3" : (host.split(".")[0] ?? "unknown"));
  const region = scope?.[1] ?? null;
  const type = header(req.headers, "content-type");
  const parsable = req.body.length <= MAX_PARSED_BODY;
  let params: Record<string, string> = {};
  let api: string | null = null;
  const target = header(req.headers, "x-amz-target");
  if (target) {
    api = target.slice(target.lastIndexOf(".") + 1) || null;
    if (parsable) params = jsonParams(req.body.toString("utf8"));
  } else if (type.startsWith("application/x-www-form-urlencoded") || url.searchParams.has("Action")) {
    params = {
      ...formParams(url.search.slice(1)),
      ...(parsable && type.startsWith("application/x-www-form-urlencoded")
        ? formParams(req.body.toString("utf8"))
        : {}),
    };
    api = params.Action ?? null;
  } else if (service === "s3") {
    api = s3Operation(req.method, host, url);
  }
  if (api !== null && !/^[A-Za-z0-9]{1,128}$/.test(api)) api = null;
  return { service, region, api, params };
}

/** AWS's error code and message from an error answer: Query/REST XML, JSON `__type`, or the header. */
export function describeError(
  status: number,
  headers: IncomingHttpHeaders,
  body: Buffer,
): { code: string | null; message: string | null } {
  if (status < 400) return { code: null, message: null };
  const text = body.subarray(0, MAX_PARSED_BODY).toString("utf8");
  const xmlCode = /<Code>([^<]{1,256})<\/Code>/.exec(text)?.[1];
  const xmlMessage = /<Message>([^<]{0,4096})<\/Message>/.exec(text)?.[1];
  if (xmlCode) return { code: xmlCode, message: xmlMessage ? unescapeXml(xmlMessage) : null };
  try {
    const j = JSON.parse(text) as { __type?: unknown; message?: unknown; Message?: unknown };
    const type = typeof j.__type === "string" ? j.__type : header(headers, "x-amzn-errortype");
    const message =
      typeof j.message === "string" ? j.message : typeof j.Message === "string" ? j.Message : null;
    const code = type ? type.split(":")[0]!.split("#").pop()! : null;
    return { code: code || null, message };
  } catch {
    const h = header(headers, "x-amzn-errortype");
    return { code: h ? h.split(":")[0]! : `HTTP${status}`, message: null };
  }
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}
