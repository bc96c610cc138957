// The agent core: the person's session, their roles, the credential cache and console URLs, and the
// managed AWS config block, as one object that the local endpoint, the CLI and the tray app all drive.

import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Role } from "../../shared/api.ts";
import { GatehouseError } from "../../shared/errors.ts";
import { parseRoleRef } from "../../shared/roles.ts";
import { VERSION } from "../../shared/version.ts";
import {
  applyManagedBlock,
  profileName,
  renderManagedBlock,
  retargetManagedBlock,
  writeAwsConfig,
} from "./aws-config.ts";
import type { BrokerClient } from "./broker-client.ts";
import { type CachedCredentials, CredentialCache } from "./cache.ts";
import { cliCommand } from "./cli-path.ts";
import type { Settings } from "./settings.ts";

const ROLES_TTL_MS = 60_000;

export interface AgentSession {
  accessToken(opts?: { interactive?: boolean }): Promise<string>;
  login(): Promise<{ email: string; groups: string[] }>;
  logout(): Promise<void>;
  status(): { signedIn: boolean; email?: string; groups?: string[]; accessTokenExpiresAt?: string };
  invalidate(): void;
}

export interface AgentStatus {
  signedIn: boolean;
  email: string | null;
  groups: string[];
  brokerUrl: string;
  brokerReachable: boolean | null;
  roles: number | null;
  cached: { role: string; expiration: string }[];
  pid: number;
  /** The agent's release, which `gatehouse doctor` compares with the CLI's. */
  version: string;
  /** Why the agent signed the person out by itself (the broker said they are disabled), until they sign in. */
  signedOutReason: string | null;
}

/** A role matches a reference when the reference names it by ref, account id and name, or ARN. */
export function findRole(roles: readonly Role[], input: string): Role | undefined {
  const ref = parseRoleRef(input);
  if (!ref) return undefined;
  if (ref.kind === "arn") return roles.find((r) => r.arn === ref.arn);
  return roles.find(
    (r) => r.roleName === ref.role && (r.accountName === ref.account || r.accountId === ref.account),
  );
}

export function awsConfigPath(settings: Settings, env: NodeJS.ProcessEnv = process.env): string {
  return settings.awsConfigFile ?? env.AWS_CONFIG_FILE ?? join(homedir(), ".aws", "config");
}

export class Agent {
  readonly cache: CredentialCache;
  private rolesCache: { at: number; roles: Role[] } | undefined;
  private rolesInflight: Promise<Role[]> | undefined;
  private brokerReachable: boolean | null = null;
  private signedOutReason: string | null = null;
  private disabling: Promise<void> | undefined;

  constructor(
    readonly settings: Settings,
    readonly session: AgentSession,
    readonly broker: BrokerClient,
    private readonly opts: { command?: string; env?: NodeJS.ProcessEnv; signedInMarker?: string } = {},
  ) {
    this.cache = new CredentialCache(
      async (arn) => {
        const c = await this.reachable(this.broker.credentials(arn));
        return {
          accessKeyId: c.accessKeyId,
          secretAccessKey: c.secretAccessKey,
          sessionToken: c.sessionToken,
          expiration: c.expiration,
        };
      },
      { refreshWindowMs: settings.refreshWindowSeconds * 1000 },
    );
    broker.onPersonDisabled?.((message) => this.personDisabled(message));
  }

  /**
   * The broker refuses this person (offboarded): forget everything that could still reach AWS or the
   * broker — cached credentials, the role list, the access and refresh tokens — and show them signed out.
   */
  personDisabled(message: string): Promise<void> {
    // Several calls in flight all hear it: one sign-out is enough.
    if (this.disabling) return this.disabling;
    if (this.signedOutReason && !this.session.status().signedIn) return Promise.resolve();
    this.signedOutReason = `signed out: ${message}`;
    // Dropped at once, before the sign-out's round trip to the IdP: nothing is served from here on.
    this.cache.clear();
    this.rolesCache = undefined;
    this.disabling ??= this.logout()
      .catch(() => undefined)
      .finally(() => {
        this.disabling = undefined;
      });
    return this.disabling;
  }

  /** Remember whether the broker answered, for status. */
  private async reachable<T>(p: Promise<T>): Promise<T> {
    try {
      const v = await p;
      this.brokerReachable = true;
      return v;
    } catch (e) {
      if (e instanceof GatehouseError && e.code === "BROKER_UNREACHABLE") this.brokerReachable = false;
      throw e;
    }
  }

  /** The person's roles, cached for a minute; one broker call at a time. */
  async roles(refresh = false): Promise<Role[]> {
    if (!refresh && this.rolesCache) {
      // A list over a minute old is still served at once and refreshed behind the caller: a warm
      // credential_process call never waits on the broker for the list.
      if (Date.now() - this.rolesCache.at >= ROLES_TTL_MS) this.fetchRoles().catch(() => undefined);
      return this.rolesCache.roles;
    }
    return this.fetchRoles();
  }

  private fetchRoles(): Promise<Role[]> {
    this.rolesInflight ??= this.reachable(this.broker.roles())
      .then(async (roles) => {
        const before = this.rolesCache?.roles.map((r) => r.arn).join("\n");
        this.rolesCache = { at: Date.now(), roles };
        if (this.settings.manageAwsConfig && before !== roles.map((r) => r.arn).join("\n")) {
          await this.writeAwsConfig(roles).catch(() => undefined);
        }
        return roles;
      })
      .finally(() => {
        this.rolesInflight = undefined;
      });
    return this.rolesInflight;
  }

  async resolve(input: string): Promise<Role> {
    let roles: Role[];
    try {
      roles = await this.roles();
    } catch (e) {
      // The broker is down and the list is over a minute old: it still names the roles, so credentials
      // cached for them keep being served until they expire (the cache never serves expired ones).
      if (!(e instanceof GatehouseError && e.code === "BROKER_UNREACHABLE") || !this.rolesCache) throw e;
      roles = this.rolesCache.roles;
    }
    let role = findRole(roles, input);
    // A role granted a moment ago is not in a minute-old list yet: look once more before saying no.
    if (!role) role = findRole(await this.roles(true), input);
    if (!role)
      throw new GatehouseError("ROLE_NOT_FOUND", `no access to ${input} (gatehouse roles lists yours)`);
    return role;
  }

  async credentials(input: string): Promise<CachedCredentials & { role: Role }> {
    const role = await this.resolve(input);
    return { ...(await this.cache.get(role.arn)), role };
  }

  async console(input: string, region?: string): Promise<{ url: string; expiresAt: string; role: Role }> {
    const role = await this.resolve(input);
    const out = await this.reachable(this.broker.console(role.arn, region));
    return { url: out.url, expiresAt: out.expiresAt, role };
  }

  async login(): Promise<{ email: string; groups: string[] }> {
    let who = await this.session.login();
    // The broker's view is the one that counts (namespaced claims, groups from a directory); the token's own
    // claims are shown when the broker cannot be asked.
    try {
      const me = await this.broker.me();
      who = { email: me.email, groups: me.groups };
    } catch (e) {
      // Signed in at the IdP but refused by the broker (e-mail not verified, wrong domain, wrong token kind):
      // the person hears why now, not at their first AWS call.
      if (e instanceof GatehouseError && e.code === "UNAUTHENTICATED")
        throw new GatehouseError(
          "SIGNIN_FAILED",
          `signed in at the IdP, but the broker refuses it: ${e.message}`,
          {
            cause: e,
          },
        );
    }
    if (this.opts.signedInMarker)
      writeFileSync(this.opts.signedInMarker, `${new Date().toISOString()}\n`, { mode: 0o600 });
    this.signedOutReason = null;
    this.rolesCache = undefined;
    this.cache.clear();
    if (this.settings.manageAwsConfig) await this.roles().catch(() => undefined);
    return who;
  }

  async logout(): Promise<void> {
    await this.session.logout();
    if (this.opts.signedInMarker) rmSync(this.opts.signedInMarker, { force: true });
    this.rolesCache = undefined;
    this.cache.clear();
  }

  async status(): Promise<AgentStatus> {
    // After a restart the session knows of a stored sign-in only once it has read it.
    await this.session.accessToken({ interactive: false }).catch(() => undefined);
    const s = this.session.status();
    return {
      signedIn: s.signedIn,
      email: s.email ?? null,
      groups: s.groups ?? [],
      brokerUrl: this.settings.brokerUrl,
      brokerReachable: this.brokerReachable,
      roles: this.rolesCache?.roles.length ?? null,
      cached: this.cache.list().map((c) => ({
        role: this.rolesCache?.roles.find((r) => r.arn === c.key)?.ref ?? c.key,
        expiration: c.expiration,
      })),
      pid: process.pid,
      version: VERSION,
      signedOutReason: s.signedIn ? null : this.signedOutReason,
    };
  }

  /** The host (the tray app) moved the command-line tool: profiles run this from now on. */
  setCliCommand(command: string): void {
    this.opts.command = command;
  }

  /** What generated profiles run: cli-path.ts, unless the host named a command. */
  cliCommand(): string {
    return this.opts.command ?? cliCommand(this.settings, this.opts.env);
  }

  /**
   * When the command moved (the app installed elsewhere, the tool put on PATH), point the managed block's
   * profiles at the new one at once, without asking the broker: a stale path would break every profile.
   */
  retargetAwsConfig(): { path: string; changed: boolean } {
    const path = awsConfigPath(this.settings, this.opts.env);
    const before = existsSync(path) ? readFileSync(path, "utf8") : "";
    const after = retargetManagedBlock(before, this.cliCommand());
    if (after !== before) writeAwsConfig(path, after);
    return { path, changed: after !== before };
  }

  /** The managed block for these roles, applied to the AWS config file's current text. */
  renderAwsConfig(roles: readonly Role[]): { path: string; before: string; after: string } {
    const path = awsConfigPath(this.settings, this.opts.env);
    const before = existsSync(path) ? readFileSync(path, "utf8") : "";
    const profiles = roles.map((r) => ({
      name: profileName(this.settings.profileTemplate, {
        account: r.accountName,
        accountId: r.accountId,
        role: r.roleName,
      }),
      // An account name with spaces cannot sit in a credential_process line unquoted; its id can.
      role: /\s/.test(r.ref) ? `${r.accountId}/${r.roleName}` : r.ref,
      region: this.settings.region,
    }));
    const block = renderManagedBlock(profiles, { command: this.cliCommand() });
    return { path, before, after: applyManagedBlock(before, block) };
  }

  async writeAwsConfig(
    roles?: readonly Role[],
  ): Promise<{ path: string; changed: boolean; profiles: number }> {
    const list = roles ?? (await this.roles(true));
    const { path, before, after } = this.renderAwsConfig(list);
    if (after !== before) writeAwsConfig(path, after);
    return { path, changed: after !== before, profiles: list.length };
  }
}
