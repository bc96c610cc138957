// A recording: the CSM listener and (optionally) the HTTPS proxy started together, the calls they see mapped to
// IAM actions as they come (a `call` event each, for the tray), and at the end the least-privilege policy.

import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseDenials } from "../../../shared/denials/parse.ts";
import type { CallOutcome, RecordedCall, Recording } from "../../../shared/recording.ts";
import { actionsForCall, servicePrefix } from "./actions.ts";
import { type CsmCall, type CsmListener, startCsmListener } from "./csm.ts";
import type { ProxyCall, RecordingProxy } from "./proxy.ts";
import { resourcesFor } from "./resources/index.ts";

export interface RecordingOptions {
  /** Listen for client-side monitoring (default true): the AWS CLI, botocore, Go v1, JS v2, Java v1. */
  csm?: boolean;
  /** Also run the HTTPS proxy: JS v3, Go v2, Terraform. */
  proxy?: boolean;
  /** Where the proxy sends AWS calls instead of their host (see ProxyOptions.upstream). */
  upstream?: string;
  /** The role's account and partition, to fill in resource ARNs from parameters. */
  accountId?: string;
  partition?: string;
}

/** Error codes that mean "not authorized", whatever the status. */
const DENIED = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "AuthorizationError",
  "AuthorizationErrorException",
  "Forbidden",
  "ForbiddenException",
]);
/** 403s that are about the credentials or the signature, not permissions: no policy fixes them. */
const NOT_A_DENIAL = new Set([
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "ExpiredTokenException",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "RequestExpired",
  "IncompleteSignature",
]);

export function outcomeOf(status: number | null, errorCode: string | null): CallOutcome {
  if (errorCode && DENIED.has(errorCode)) return "denied";
  if (status === 403 && !(errorCode && NOT_A_DENIAL.has(errorCode))) return "denied";
  if (status === null || status >= 300 || errorCode) return "error";
  return "allowed";
}

export interface RecordingEvents {
  call: [RecordedCall];
}

export interface ActiveRecording extends EventEmitter<RecordingEvents> {
  /** Variables to add to the recorded command's environment. */
  readonly env: Record<string, string>;
  /** The calls so far. */
  readonly calls: readonly RecordedCall[];
  /** Stop listening (after the datagrams already sent are read) and give the result. Idempotent. */
  stop(meta: { role: string; command: string[]; exitCode: number }): Promise<Recording>;
}

/** How long after the command ends datagrams may still be on their way (they are sent after each call). */
const DRAIN_IDLE_MS = 150;
const DRAIN_MAX_MS = 1500;

export async function startRecording(opts: RecordingOptions = {}): Promise<ActiveRecording> {
  const startedAt = new Date().toISOString();
  const calls: RecordedCall[] = [];
  const pending = new Set<Promise<void>>();
  let ignored = 0;
  let lastEvent = Date.now();
  const emitter = new EventEmitter<RecordingEvents>();
  /** Proxy calls not yet matched by a CSM datagram for the same call (an SDK that does both). */
  const unmatched = new Map<string, number>();

  const add = (source: RecordedCall["source"], c: CsmCall | ProxyCall, params: Record<string, string>) => {
    lastEvent = Date.now();
    const p = (async () => {
      const [mapped, prefix] = await Promise.all([
        actionsForCall(c.service, c.api!),
        servicePrefix(c.service),
      ]);
      if (source === "csm") {
        const key = `${prefix}/${c.api}/${c.status}`;
        const n = unmatched.get(key) ?? 0;
        if (n > 0) {
          unmatched.set(key, n - 1);
          return;
        }
      }
      const outcome = outcomeOf(c.status, c.errorCode);
      const resources = new Set(
        opts.accountId
          ? resourcesFor(prefix, {
              api: c.api!,
              params,
              partition: opts.partition ?? "aws",
              accountId: opts.accountId,
              region: c.region,
            })
          : [],
      );
      // A denial names the resource it was about: the policy can then be that narrow too.
      if (outcome === "denied" && c.errorMessage)
        for (const d of parseDenials(c.errorMessage))
          if (d.resource?.startsWith("arn:")) resources.add(d.resource);
      const call: RecordedCall = {
        source,
        service: c.service,
        api: c.api!,
        region: c.region,
        status: c.status,
        errorCode: c.errorCode,
        errorMessage: c.errorMessage,
        outcome,
        actions: mapped.actions,
        mapping: mapped.mapping,
        dependent: mapped.dependent,
        resources: mapped.actions.every((a) => mapped.wildcardOnly.includes(a)) ? [] : [...resources].sort(),
        at: new Date().toISOString(),
      };
      if (source === "proxy") {
        const key = `${prefix}/${c.api}/${c.status}`;
        unmatched.set(key, (unmatched.get(key) ?? 0) + 1);
      }
      calls.push(call);
      emitter.emit("call", call);
    })();
    pending.add(p);
    p.finally(() => pending.delete(p)).catch(() => {});
  };

  const onIgnored = () => {
    ignored++;
  };
  let csm: CsmListener | undefined;
  let proxy: RecordingProxy | undefined;
  let caDir: string | undefined;
  const env: Record<string, string> = {};
  try {
    if (opts.proxy) {
      // Loaded only for the proxy: X.509 and TLS are not needed to listen for CSM.
      const [{ createRecordingCa }, { startRecordingProxy }] = await Promise.all([
        import("./ca.ts"),
        import("./proxy.ts"),
      ]);
      const ca = await createRecordingCa();
      proxy = await startRecordingProxy({
        ca,
        onCall: (c) => add("proxy", c, c.params),
        onIgnored,
        ...(opts.upstream ? { upstream: opts.upstream } : {}),
      });
      // The certificate only (public); the key stays a non-extractable key in this process.
      caDir = mkdtempSync(join(tmpdir(), "gatehouse-record-"));
      const bundle = join(caDir, "ca-bundle.pem");
      writeFileSync(bundle, ca.bundlePem, { mode: 0o600 });
      Object.assign(env, {
        HTTPS_PROXY: proxy.url,
        https_proxy: proxy.url,
        // The credential endpoint of `gatehouse exec` is on loopback: never through the proxy.
        NO_PROXY: "127.0.0.1,localhost,::1",
        no_proxy: "127.0.0.1,localhost,::1",
        AWS_CA_BUNDLE: bundle,
        NODE_EXTRA_CA_CERTS: bundle,
        SSL_CERT_FILE: bundle,
        // Node 22.21+/24.5+ send fetch and https through HTTPS_PROXY by themselves with this.
        NODE_USE_ENV_PROXY: "1",
      });
    }
    if (opts.csm !== false) {
      csm = await startCsmListener({ onCall: (c) => add("csm", c, {}), onIgnored });
      Object.assign(env, csm.env);
    }
  } catch (e) {
    await proxy?.close();
    if (caDir) rmSync(caDir, { recursive: true, force: true });
    throw e;
  }

  let result: Promise<Recording> | undefined;
  async function finish(meta: { role: string; command: string[]; exitCode: number }): Promise<Recording> {
    const deadline = Date.now() + DRAIN_MAX_MS;
    while (Date.now() < deadline && (pending.size > 0 || Date.now() - lastEvent < DRAIN_IDLE_MS))
      await new Promise((r) => setTimeout(r, 25));
    await Promise.allSettled([...pending]);
    await csm?.close();
    await proxy?.close();
    if (caDir) rmSync(caDir, { recursive: true, force: true });
    return summarize(calls, { ...meta, startedAt, ignored });
  }

  return Object.assign(emitter, {
    env,
    calls,
    stop(meta: { role: string; command: string[]; exitCode: number }) {
      result ??= finish(meta);
      return result;
    },
  });
}

/** The least-privilege policy for every call, allowed or denied; the result as the CLI and the tray show it. */
export function summarize(
  calls: readonly RecordedCall[],
  meta: { role: string; command: string[]; exitCode: number; startedAt: string; ignored: number },
): Recording {
  const byAction = new Map<string, Set<string>>();
  const dependent = new Set<string>();
  const guessed = new Set<string>();
  for (const c of calls) {
    for (const a of c.actions) {
      const set = byAction.get(a) ?? new Set<string>();
      if (c.resources.length === 0) set.add("*");
      for (const r of c.resources) set.add(r);
      byAction.set(a, set);
      if (c.mapping === "guess") guessed.add(a);
    }
    for (const d of c.dependent) dependent.add(d);
  }
  for (const a of byAction.keys()) dependent.delete(a);
  const groups = new Map<string, string[]>();
  const put = (resources: string[], action: string) => {
    const key = JSON.stringify(resources);
    groups.set(key, [...(groups.get(key) ?? []), action]);
  };
  for (const [action, resources] of byAction) put(resources.has("*") ? ["*"] : [...resources].sort(), action);
  for (const d of dependent) put(["*"], d);
  const Statement = [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, actions], i) => {
      const resources = JSON.parse(key) as string[];
      return {
        Sid: `Recorded${i + 1}`,
        Effect: "Allow" as const,
        Action: [...new Set(actions)].sort(),
        Resource: resources.length === 1 ? resources[0]! : resources,
      };
    });
  return {
    role: meta.role,
    command: meta.command,
    exitCode: meta.exitCode,
    startedAt: meta.startedAt,
    endedAt: new Date().toISOString(),
    calls: [...calls],
    ignored: meta.ignored,
    policy: { Version: "2012-10-17", Statement },
    guessed: [...guessed].sort(),
  };
}
