// AWS Client Side Monitoring: a UDP listener on loopback that reads the `ApiCall` datagrams the AWS CLI and
// botocore (and Go v1, JS v2, Java v1) send when AWS_CSM_ENABLED is set. Attempt datagrams carry the access
// key and session token: they are dropped unread, and no datagram is kept as it came.

import { createSocket, type Socket } from "node:dgram";
import { z } from "zod";
import { GatehouseError } from "../../../shared/errors.ts";

/** A CSM datagram is one JSON object; the SDKs cap theirs well below this. */
const MAX_DATAGRAM = 8192;

/** Only the fields a recording needs: everything else (AccessKey, SessionToken, UserAgent…) is never read. */
const apiCallSchema = z.object({
  Type: z.literal("ApiCall"),
  Service: z.string().min(1).max(128),
  Api: z.string().min(1).max(128),
  Region: z.string().max(64).optional(),
  FinalHttpStatusCode: z.number().int().min(100).max(599).optional(),
  FinalAwsException: z.string().max(256).optional(),
  FinalAwsExceptionMessage: z.string().max(4096).optional(),
  FinalSdkException: z.string().max(256).optional(),
  FinalSdkExceptionMessage: z.string().max(4096).optional(),
});

/** One API call as CSM reports it, after the SDK's retries. */
export interface CsmCall {
  service: string;
  api: string;
  region: string | null;
  status: number | null;
  errorCode: string | null;
  errorMessage: string | null;
}

export interface CsmListener {
  port: number;
  /** The child's environment to make its SDK report here. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Parse one datagram: the call, or undefined for attempt datagrams and anything malformed. */
export function parseCsmDatagram(data: Buffer): CsmCall | undefined | "malformed" {
  if (data.length > MAX_DATAGRAM) return "malformed";
  let raw: unknown;
  try {
    raw = JSON.parse(data.toString("utf8"));
  } catch {
    return "malformed";
  }
  if (typeof raw !== "object" || raw === null) return "malformed";
  // Attempts are expected and skipped without a look at their fields.
  if ((raw as { Type?: unknown }).Type === "ApiCallAttempt") return undefined;
  const r = apiCallSchema.safeParse(raw);
  if (!r.success) return "malformed";
  const d = r.data;
  return {
    service: d.Service,
    api: d.Api,
    region: d.Region ?? null,
    status: d.FinalHttpStatusCode ?? null,
    errorCode: d.FinalAwsException ?? d.FinalSdkException ?? null,
    errorMessage: d.FinalAwsExceptionMessage ?? d.FinalSdkExceptionMessage ?? null,
  };
}

export async function startCsmListener(handlers: {
  onCall: (call: CsmCall) => void;
  onIgnored: () => void;
}): Promise<CsmListener> {
  const socket: Socket = createSocket({ type: "udp4" });
  // Many calls in a burst must not be dropped by the kernel: ask for a larger receive buffer once bound.
  socket.on("message", (data, rinfo) => {
    if (rinfo.address !== "127.0.0.1") return handlers.onIgnored();
    const call = parseCsmDatagram(data);
    if (call === "malformed") handlers.onIgnored();
    else if (call) handlers.onCall(call);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", (e) =>
      reject(
        new GatehouseError("INTERNAL", `Cannot listen for AWS client-side monitoring: ${e.message}`, {
          cause: e,
        }),
      ),
    );
    socket.bind(0, "127.0.0.1", () => resolve());
  });
  socket.on("error", () => {});
  try {
    socket.setRecvBufferSize(4 * 1024 * 1024);
  } catch {
    // The kernel's limit is lower: the default buffer still holds hundreds of datagrams.
  }
  const port = socket.address().port;
  return {
    port,
    env: { AWS_CSM_ENABLED: "true", AWS_CSM_PORT: String(port), AWS_CSM_HOST: "127.0.0.1" },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
