// The broker's way into AWS: its base identity → optional central role → spoke role per account,
// cached ahead of expiry, with per-account request-rate caps and one mapping of SDK errors.

import { IAMClient } from "@aws-sdk/client-iam";
import { OrganizationsClient } from "@aws-sdk/client-organizations";
import {
  AssumeRoleCommand,
  DecodeAuthorizationMessageCommand,
  GetCallerIdentityCommand,
  STSClient,
} from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity } from "@smithy/types";
import { GatehouseError } from "../shared/errors.ts";
import { type BrokerConfig, spokeRoleArn } from "./config.ts";

const REFRESH_BEFORE_MS = 5 * 60 * 1000;
const BROKER_SESSION_SECONDS = 3600;

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface AssumeWorkRole {
  roleArn: string;
  sessionName: string;
  sourceIdentity: string;
  tags: { Key: string; Value: string }[];
  durationSeconds: number;
}

/** AWS SDK errors → Gatehouse codes, keeping the original as `cause`. */
export function fromAwsError(e: unknown, what: string): GatehouseError {
  if (e instanceof GatehouseError) return e;
  const err = e as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
    code?: string;
  };
  const status = err.$metadata?.httpStatusCode;
  const name = err.name ?? "Error";
  const transient =
    name === "Throttling" ||
    name === "ThrottlingException" ||
    name === "TooManyRequestsException" ||
    name === "ServiceUnavailable" ||
    name === "TimeoutError" ||
    (status !== undefined && status >= 500) ||
    ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND"].includes(err.code ?? "");
  return new GatehouseError(
    transient ? "AWS_UNAVAILABLE" : "AWS_DENIED",
    `${what}: ${name}: ${err.message ?? "failed"}`,
    {
      cause: e,
    },
  );
}

class Bucket {
  private tokens: number;
  private at = Date.now();
  private queue: Promise<void> = Promise.resolve();
  constructor(private readonly perSecond: number) {
    this.tokens = Math.max(1, perSecond);
  }
  /** Wait for a token; callers are served in order. */
  take(): Promise<void> {
    const next = this.queue.then(async () => {
      for (;;) {
        const now = Date.now();
        this.tokens = Math.min(
          Math.max(1, this.perSecond),
          this.tokens + ((now - this.at) / 1000) * this.perSecond,
        );
        this.at = now;
        if (this.tokens >= 1) {
          this.tokens -= 1;
          return;
        }
        await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) / this.perSecond) * 1000)));
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}

type Cached =
  | { creds: IssuedCredentials; pending?: undefined }
  | { creds?: undefined; pending: Promise<IssuedCredentials> };

export interface AwsGatewayHooks {
  onStsCall?(kind: "central" | "spoke" | "work", outcome: "ok" | "error"): void;
}

export class AwsGateway {
  private readonly baseSts: STSClient;
  private readonly centralSts: STSClient;
  private readonly cache = new Map<string, Cached>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly iamClients = new Map<string, IAMClient>();
  private readonly stsClients = new Map<string, STSClient>();
  private readonly baseCreds: AwsCredentialIdentity | undefined;
  private orgClient: OrganizationsClient | undefined;

  constructor(
    private readonly config: BrokerConfig,
    private readonly hooks: AwsGatewayHooks = {},
  ) {
    const base = config.aws.base_identity;
    const baseCreds =
      base.type === "static"
        ? {
            accessKeyId: base.access_key_id,
            secretAccessKey: base.secret_access_key ?? process.env[base.secret_access_key_env ?? ""] ?? "",
          }
        : undefined;
    if (baseCreds && !baseCreds.secretAccessKey) {
      throw new GatehouseError(
        "CONFIG_INVALID",
        `aws.base_identity: environment variable ${base.type === "static" ? base.secret_access_key_env : ""} is not set`,
      );
    }
    this.baseCreds = baseCreds;
    this.baseSts = new STSClient(this.clientConfig(baseCreds));
    this.centralSts = config.aws.central_role_arn
      ? new STSClient(this.clientConfig(() => this.central()))
      : this.baseSts;
  }

  private clientConfig(
    credentials: AwsCredentialIdentity | (() => Promise<AwsCredentialIdentity>) | undefined,
  ) {
    return {
      region: this.config.aws.region,
      ...(this.config.aws.endpoint ? { endpoint: this.config.aws.endpoint } : {}),
      ...(credentials ? { credentials } : {}),
      maxAttempts: this.config.sync.max_attempts,
      retryMode: "standard" as const,
    };
  }

  /** Who the base identity is (GetCallerIdentity). */
  async callerIdentity(): Promise<{ arn: string; account: string }> {
    try {
      const out = await this.baseSts.send(new GetCallerIdentityCommand({}));
      return { arn: out.Arn ?? "", account: out.Account ?? "" };
    } catch (e) {
      throw fromAwsError(e, "GetCallerIdentity of the base identity");
    }
  }

  /** An IAM client acting as the central role (doctor reads the central role's own policies with it). */
  centralIam(): IAMClient {
    let client = this.iamClients.get("central");
    if (!client) {
      client = new IAMClient(this.clientConfig(() => this.central()));
      this.iamClients.set("central", client);
    }
    return client;
  }

  /** Whether credentials for work roles come from a role session (and so are capped at one hour). */
  get chained(): boolean {
    return this.config.aws.central_role_arn !== undefined;
  }

  private async cached(key: string, fetch: () => Promise<IssuedCredentials>): Promise<IssuedCredentials> {
    const hit = this.cache.get(key);
    if (hit?.creds && hit.creds.expiration.getTime() - Date.now() > REFRESH_BEFORE_MS) return hit.creds;
    if (hit?.pending) return hit.pending;
    const pending = fetch().then(
      (creds) => {
        this.cache.set(key, { creds });
        return creds;
      },
      (e) => {
        this.cache.delete(key);
        throw e;
      },
    );
    this.cache.set(key, { pending });
    return pending;
  }

  private async assume(
    client: STSClient,
    kind: "central" | "spoke" | "work",
    input: ConstructorParameters<typeof AssumeRoleCommand>[0],
  ): Promise<IssuedCredentials> {
    try {
      const out = await client.send(new AssumeRoleCommand(input));
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
        throw new GatehouseError("AWS_DENIED", `AssumeRole ${input.RoleArn} returned no credentials`);
      }
      this.hooks.onStsCall?.(kind, "ok");
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: c.Expiration,
      };
    } catch (e) {
      this.hooks.onStsCall?.(kind, "error");
      throw fromAwsError(e, `AssumeRole ${input.RoleArn}`);
    }
  }

  /** The central role's credentials (the broker's own identity when no central role is set). */
  central(): Promise<IssuedCredentials> {
    const arn = this.config.aws.central_role_arn;
    if (!arn) throw new GatehouseError("INTERNAL", "no central role configured");
    return this.cached("central", () =>
      this.assume(this.baseSts, "central", {
        RoleArn: arn,
        RoleSessionName: this.config.aws.broker_session_name,
        DurationSeconds: BROKER_SESSION_SECONDS,
      }),
    );
  }

  /**
   * The identity that reads AWS Organizations: `aws.organizations.role_arn` assumed through the central
   * role, else the central role itself (else the base identity). Organizations lives in us-east-1.
   */
  organizations(): OrganizationsClient {
    if (!this.orgClient) {
      const roleArn = this.config.aws.organizations?.role_arn;
      const credentials = roleArn
        ? () =>
            this.cached("organizations", () =>
              this.assume(this.centralSts, "spoke", {
                RoleArn: roleArn,
                RoleSessionName: this.config.aws.broker_session_name,
                DurationSeconds: BROKER_SESSION_SECONDS,
              }),
            )
        : this.config.aws.central_role_arn
          ? () => this.central()
          : this.baseCreds;
      this.orgClient = new OrganizationsClient({ ...this.clientConfig(credentials), region: "us-east-1" });
    }
    return this.orgClient;
  }

  spoke(accountId: string): Promise<IssuedCredentials> {
    const account = this.config.aws.accounts.find((a) => a.id === accountId);
    if (!account) throw new GatehouseError("INTERNAL", `account ${accountId} is not configured`);
    return this.cached(`spoke:${accountId}`, () =>
      this.assume(this.centralSts, "spoke", {
        RoleArn: spokeRoleArn(this.config, account),
        RoleSessionName: this.config.aws.broker_session_name,
        DurationSeconds: BROKER_SESSION_SECONDS,
      }),
    );
  }

  /** Credentials for a person: AssumeRole on a work role with their session name, source identity and tags. */
  assumeWorkRole(req: AssumeWorkRole): Promise<IssuedCredentials> {
    return this.assume(this.centralSts, "work", {
      RoleArn: req.roleArn,
      RoleSessionName: req.sessionName,
      SourceIdentity: req.sourceIdentity,
      Tags: req.tags,
      DurationSeconds: req.durationSeconds,
    });
  }

  /** An IAM client acting through the account's spoke role. */
  iam(accountId: string): IAMClient {
    let client = this.iamClients.get(accountId);
    if (!client) {
      client = new IAMClient(this.clientConfig(() => this.spoke(accountId)));
      this.iamClients.set(accountId, client);
    }
    return client;
  }

  /**
   * sts:DecodeAuthorizationMessage through the account's spoke role: the decoded JSON text. A message AWS
   * will not decode (forged, altered, expired, or another account's) is DENIAL_UNDECODABLE.
   */
  async decodeAuthorizationMessage(accountId: string, encoded: string): Promise<string> {
    let client = this.stsClients.get(accountId);
    if (!client) {
      client = new STSClient(this.clientConfig(() => this.spoke(accountId)));
      this.stsClients.set(accountId, client);
    }
    await this.throttle(accountId);
    try {
      const out = await client.send(new DecodeAuthorizationMessageCommand({ EncodedMessage: encoded }));
      if (!out.DecodedMessage)
        throw new GatehouseError("AWS_DENIED", "DecodeAuthorizationMessage returned nothing");
      return out.DecodedMessage;
    } catch (e) {
      if ((e as { name?: string }).name === "InvalidAuthorizationMessageException")
        throw new GatehouseError(
          "DENIAL_UNDECODABLE",
          `AWS refused to decode the message in account ${accountId}: it is not one AWS encoded there, or it was altered or has expired`,
          { cause: e },
        );
      throw fromAwsError(e, `DecodeAuthorizationMessage in ${accountId}`);
    }
  }

  /** Wait for the account's request-rate cap before an IAM call. */
  throttle(accountId: string): Promise<void> {
    let b = this.buckets.get(accountId);
    if (!b) {
      b = new Bucket(this.config.sync.requests_per_second);
      this.buckets.set(accountId, b);
    }
    return b.take();
  }

  destroy(): void {
    this.baseSts.destroy();
    if (this.centralSts !== this.baseSts) this.centralSts.destroy();
    for (const c of this.iamClients.values()) c.destroy();
    for (const c of this.stsClients.values()) c.destroy();
    this.orgClient?.destroy();
  }
}
