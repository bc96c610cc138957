// Issuing access: STS credentials for a person on a role they may use (session name and source
// identity from their e-mail, session tags naming them), and federated console sign-in URLs.

import type { Person } from "../shared/access.ts";
import type { ConsoleResponse, CredentialsResponse, Role } from "../shared/api.ts";
import { GatehouseError } from "../shared/errors.ts";
import { parseRoleRef, roleRefString } from "../shared/roles.ts";
import type { AccessIndex, RoleGrant } from "./access-index.ts";
import type { AwsGateway, IssuedCredentials } from "./aws.ts";
import type { BrokerConfig } from "./config.ts";

const CHAINED_LIMIT = 3600;

/** A RoleSessionName / SourceIdentity from an e-mail: AWS's character set, 2–64 characters. */
export function sessionNameFor(email: string): string {
  let s = email.replace(/[^\w+=,.@-]/g, "-").slice(0, 64);
  if (s.length < 2) s = `${s}--`.slice(0, 2);
  return s;
}

export function toApiRole(grant: RoleGrant): Role {
  const { entry, level } = grant;
  const r = entry.role;
  return {
    ref: roleRefString(entry.accountName, r.name),
    accountId: r.accountId,
    accountName: entry.accountName,
    roleName: r.name,
    arn: r.arn,
    description: r.description ?? null,
    cliOnly: level === "cli",
    maxSessionDuration: r.maxSessionDuration,
    tags: Object.fromEntries(r.tags.map((t) => [t.Key, t.Value])),
  };
}

export class AccessIssuer {
  constructor(
    private readonly config: BrokerConfig,
    private readonly index: AccessIndex,
    private readonly aws: AwsGateway,
  ) {}

  /** The role, if the person may use it. A role they may not use is answered exactly like a missing one. */
  resolve(person: Person, input: string): RoleGrant {
    const ref = parseRoleRef(input);
    const grant = ref ? this.index.find(person, ref) : undefined;
    if (!grant) throw new GatehouseError("ROLE_NOT_FOUND", `no role "${input}" that you may use`);
    return grant;
  }

  private limits(grant: RoleGrant): { cap: number; why: string } {
    const roleMax = grant.entry.role.maxSessionDuration;
    if (this.aws.chained && roleMax > CHAINED_LIMIT) {
      return { cap: CHAINED_LIMIT, why: "role chaining through the central role limits sessions to 1 hour" };
    }
    return { cap: roleMax, why: `the role's MaxSessionDuration is ${roleMax} seconds` };
  }

  private assume(person: Person, grant: RoleGrant, duration: number): Promise<IssuedCredentials> {
    const name = sessionNameFor(person.email);
    return this.aws.assumeWorkRole({
      roleArn: grant.entry.role.arn,
      sessionName: name,
      sourceIdentity: name,
      tags: [{ Key: "gatehouse-user", Value: person.email.slice(0, 256) }],
      durationSeconds: duration,
    });
  }

  async credentials(person: Person, role: string, durationSeconds?: number): Promise<CredentialsResponse> {
    const grant = this.resolve(person, role);
    const requested = durationSeconds ?? this.config.credentials.default_duration_seconds;
    const { cap, why } = this.limits(grant);
    const duration = Math.min(requested, cap);
    const c = await this.assume(person, grant, duration);
    return {
      role: toApiRole(grant),
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expiration: c.expiration.toISOString(),
      durationSeconds: duration,
      clamped: requested > cap ? `shortened from ${requested} to ${duration} seconds: ${why}` : null,
    };
  }

  /** The console URL a destination may use: the configured console's host or one of its subdomains. */
  private destination(region: string | undefined, destination: string | undefined): string {
    const base = new URL(this.config.aws.console_url);
    if (destination) {
      const d = new URL(destination);
      const ok = d.protocol === base.protocol && (d.host === base.host || d.host.endsWith(`.${base.host}`));
      if (!ok) throw new GatehouseError("BAD_REQUEST", `destination must be on ${base.host}`);
      return d.toString();
    }
    if (region) base.searchParams.set("region", region);
    return base.toString();
  }

  async console(
    person: Person,
    role: string,
    region?: string,
    destination?: string,
  ): Promise<ConsoleResponse> {
    const grant = this.resolve(person, role);
    if (grant.level !== "console") {
      throw new GatehouseError(
        "CONSOLE_NOT_ALLOWED",
        `${toApiRole(grant).ref} is for the CLI only; use its credentials instead`,
      );
    }
    const target = this.destination(region, destination);
    const { cap } = this.limits(grant);
    const c = await this.assume(person, grant, cap);
    const session = JSON.stringify({
      sessionId: c.accessKeyId,
      sessionKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
    });
    const federation = this.config.aws.federation_url;
    let token: string;
    try {
      const res = await fetch(`${federation}?Action=getSigninToken&Session=${encodeURIComponent(session)}`, {
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json()) as { SigninToken?: string };
      if (!res.ok || !body.SigninToken) throw new Error(`getSigninToken answered ${res.status}`);
      token = body.SigninToken;
    } catch (e) {
      throw new GatehouseError("AWS_UNAVAILABLE", `console sign-in token: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const url = new URL(federation);
    url.searchParams.set("Action", "login");
    url.searchParams.set("Issuer", "gatehouse");
    url.searchParams.set("Destination", target);
    url.searchParams.set("SigninToken", token);
    return {
      role: toApiRole(grant),
      url: url.toString(),
      expiresAt: c.expiration.toISOString(),
      sessionDurationSeconds: cap,
    };
  }
}
