// An administrator's way into every account (for `doctor` diagnoses and `init --apply`): its own
// credentials (a profile or keys) in its own account, and a role such as OrganizationAccountAccessRole
// assumed in the others.

import { IAMClient } from "@aws-sdk/client-iam";
import { OrganizationsClient } from "@aws-sdk/client-organizations";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import type { BrokerConfig } from "../config.ts";

export interface AdminOptions {
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** A profile of the shared AWS config/credentials files. */
  profile?: string;
  /** The role assumed in accounts other than the administrator's own. */
  roleName: string;
}

/** IAM in any account as the administrator: its own account directly, others through `roleName`. */
export class AdminAccess {
  private readonly sts: STSClient;
  private own: Promise<string> | undefined;
  private readonly clients = new Map<string, IAMClient>();
  private org: OrganizationsClient | undefined;
  constructor(
    private readonly config: BrokerConfig,
    private readonly opts: AdminOptions,
  ) {
    this.sts = new STSClient(this.clientConfig(opts.credentials));
  }
  private clientConfig(credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider | undefined) {
    return {
      region: this.config.aws.region,
      ...(this.config.aws.endpoint ? { endpoint: this.config.aws.endpoint } : {}),
      ...(credentials ? { credentials } : {}),
      ...(this.opts.profile && !credentials ? { profile: this.opts.profile } : {}),
      maxAttempts: this.config.sync.max_attempts,
    };
  }
  /** The administrator's own account. */
  account(): Promise<string> {
    this.own ??= this.sts.send(new GetCallerIdentityCommand({})).then((r) => r.Account ?? "");
    return this.own;
  }

  async iam(account: string): Promise<IAMClient> {
    this.own ??= this.sts.send(new GetCallerIdentityCommand({})).then((r) => r.Account ?? "");
    const own = await this.own;
    let client = this.clients.get(account);
    if (client) return client;
    if (account === own) client = new IAMClient(this.clientConfig(this.opts.credentials));
    else {
      const out = await this.sts.send(
        new AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${account}:role/${this.opts.roleName}`,
          RoleSessionName: "gatehouse-doctor",
        }),
      );
      const c = out.Credentials!;
      client = new IAMClient(
        this.clientConfig({
          accessKeyId: c.AccessKeyId!,
          secretAccessKey: c.SecretAccessKey!,
          sessionToken: c.SessionToken!,
        }),
      );
    }
    this.clients.set(account, client);
    return client;
  }
  /** AWS Organizations as the administrator (the management account or a delegated administrator). */
  organizations(): OrganizationsClient {
    this.org ??= new OrganizationsClient({
      ...this.clientConfig(this.opts.credentials),
      region: "us-east-1",
    });
    return this.org;
  }

  destroy() {
    this.org?.destroy();
    this.sts.destroy();
    for (const c of this.clients.values()) c.destroy();
  }
}
