// The emulator's world: accounts with their roles, users, access keys and issued sessions, with
// sorted views for paging and an optional JSON state file that survives restarts.

import { createHash, randomBytes } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { GatehouseError } from "../../shared/errors.ts";

export interface Tag {
  Key: string;
  Value: string;
}

export interface Role {
  name: string;
  path: string;
  id: string;
  createDate: string;
  description?: string;
  maxSessionDuration: number;
  tags: Tag[];
  trustPolicy: string;
  /** Inline policies in the order they were put: name → JSON text. */
  inlinePolicies: Record<string, string>;
  managedPolicies: string[];
}

export interface AccessKey {
  id: string;
  secret: string;
  status: "Active" | "Inactive";
  createDate: string;
}

export interface User {
  name: string;
  path: string;
  id: string;
  createDate: string;
  tags: Tag[];
  inlinePolicies: Record<string, string>;
  managedPolicies: string[];
  accessKeys: AccessKey[];
  /** Names of the IAM groups the user is in, in the order they were added. */
  groups: string[];
}

export interface Group {
  name: string;
  path: string;
  id: string;
  createDate: string;
  inlinePolicies: Record<string, string>;
  managedPolicies: string[];
}

export interface PolicyVersion {
  versionId: string;
  document: string;
  createDate: string;
}

/** A customer-managed policy of one account; AWS-managed ones come from the dataset (managed-policies.ts). */
export interface CustomerPolicy {
  name: string;
  path: string;
  id: string;
  description?: string;
  createDate: string;
  updateDate: string;
  defaultVersionId: string;
  versions: PolicyVersion[];
}

/** Per-account IAM quotas that GetAccountSummary reports and the attach/add calls enforce. */
export interface Quotas {
  attachedPoliciesPerRole: number;
  attachedPoliciesPerUser: number;
  attachedPoliciesPerGroup: number;
  groupsPerUser: number;
  groups: number;
  policies: number;
}

export const DEFAULT_QUOTAS: Quotas = {
  attachedPoliciesPerRole: 10,
  attachedPoliciesPerUser: 10,
  attachedPoliciesPerGroup: 10,
  groupsPerUser: 10,
  groups: 300,
  policies: 1500,
};

export interface Account {
  id: string;
  name: string;
  roles: Map<string, Role>;
  users: Map<string, User>;
  groups: Map<string, Group>;
  /** Customer-managed policies by lower-cased name. */
  policies: Map<string, CustomerPolicy>;
  quotas: Quotas;
  /** Membership of the AWS Organization, when the world has one. */
  org?: OrgMembership;
}

export type AccountStatus = "ACTIVE" | "SUSPENDED" | "PENDING_CLOSURE";

export interface OrgMembership {
  email: string;
  status: AccountStatus;
  /** The root or OU the account sits in. */
  parentId: string;
  tags: Tag[];
}

export interface OrgUnit {
  id: string;
  name: string;
  parentId: string;
  tags: Tag[];
}

/** An AWS Organization: its management account, one root, OUs; accounts point at their parent. */
export interface Organization {
  id: string;
  managementAccountId: string;
  rootId: string;
  units: Map<string, OrgUnit>;
  /** Accounts allowed to read the organisation besides the management account. */
  delegatedAdministrators: string[];
}

export interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Epoch milliseconds. */
  expiration: number;
  account: string;
  roleName: string;
  rolePath: string;
  roleId: string;
  sessionName: string;
  sourceIdentity?: string;
  tags: Tag[];
  transitiveTagKeys: string[];
  /** Issued to a caller that was itself a role session (role chaining). */
  chained: boolean;
  sessionPolicy?: string;
  /** Epoch milliseconds when the credentials were issued (aws:TokenIssueTime). */
  issuedAt?: number;
}

export const roleArn = (account: string, r: Pick<Role, "path" | "name">) =>
  `arn:aws:iam::${account}:role${r.path}${r.name}`;
export const userArn = (account: string, u: Pick<User, "path" | "name">) =>
  `arn:aws:iam::${account}:user${u.path}${u.name}`;
export const groupArn = (account: string, g: Pick<Group, "path" | "name">) =>
  `arn:aws:iam::${account}:group${g.path}${g.name}`;
export const customerPolicyArn = (account: string, p: Pick<CustomerPolicy, "path" | "name">) =>
  `arn:aws:iam::${account}:policy${p.path}${p.name}`;
export const assumedRoleArn = (s: Pick<Session, "account" | "roleName" | "sessionName">) =>
  `arn:aws:sts::${s.account}:assumed-role/${s.roleName}/${s.sessionName}`;

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
function idFrom(bytes: Buffer, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ID_ALPHABET[bytes[i % bytes.length]! % 32];
  return out;
}
/** Stable ids for fixture entities, so that two runs of one fixture agree. */
export function stableId(prefix: string, ...parts: string[]): string {
  return prefix + idFrom(createHash("sha256").update(parts.join("\0")).digest(), 17);
}
export function randomAccessKeyId(prefix: "AKIA" | "ASIA"): string {
  return prefix + idFrom(randomBytes(16), 16);
}
export function randomSecret(): string {
  return randomBytes(30).toString("base64").slice(0, 40);
}

export interface StateFileV1 {
  version: 1;
  accounts: {
    id: string;
    name: string;
    roles: Role[];
    users: User[];
    /** Absent in state files written before groups and customer-managed policies existed. */
    groups?: Group[];
    policies?: CustomerPolicy[];
    quotas?: Quotas;
    org?: OrgMembership;
  }[];
  sessions: Session[];
  organization?: Omit<Organization, "units"> & { units: OrgUnit[] };
}

export class World {
  readonly accounts = new Map<string, Account>();
  readonly sessions = new Map<string, Session>();
  organization: Organization | undefined;
  private readonly keyIndex = new Map<string, { account: string; user: string }>();
  private readonly sorted = new Map<string, { roles?: Role[]; users?: User[] }>();
  private statePath: string | undefined;

  addAccount(id: string, name: string): Account {
    const account: Account = {
      id,
      name,
      roles: new Map(),
      users: new Map(),
      groups: new Map(),
      policies: new Map(),
      quotas: { ...DEFAULT_QUOTAS },
    };
    this.accounts.set(id, account);
    return account;
  }

  putRole(account: Account, role: Role): void {
    account.roles.set(role.name.toLowerCase(), role);
    this.sorted.delete(account.id);
  }

  deleteRole(account: Account, name: string): void {
    account.roles.delete(name.toLowerCase());
    this.sorted.delete(account.id);
  }

  putGroup(account: Account, group: Group): void {
    account.groups.set(group.name.toLowerCase(), group);
  }

  putPolicy(account: Account, policy: CustomerPolicy): void {
    account.policies.set(policy.name.toLowerCase(), policy);
  }

  putUser(account: Account, user: User): void {
    account.users.set(user.name.toLowerCase(), user);
    for (const k of user.accessKeys)
      this.keyIndex.set(k.id, { account: account.id, user: user.name.toLowerCase() });
    this.sorted.delete(account.id);
  }

  /** Roles of an account sorted by name (AWS pages in a stable order). */
  sortedRoles(account: Account): Role[] {
    const entry = this.sorted.get(account.id) ?? {};
    entry.roles ??= [...account.roles.values()].sort((a, b) => cmp(a.name, b.name));
    this.sorted.set(account.id, entry);
    return entry.roles;
  }

  sortedUsers(account: Account): User[] {
    const entry = this.sorted.get(account.id) ?? {};
    entry.users ??= [...account.users.values()].sort((a, b) => cmp(a.name, b.name));
    this.sorted.set(account.id, entry);
    return entry.users;
  }

  findAccessKey(id: string): { account: Account; user: User; key: AccessKey } | undefined {
    const hit = this.keyIndex.get(id);
    if (!hit) return undefined;
    const account = this.accounts.get(hit.account);
    const user = account?.users.get(hit.user);
    const key = user?.accessKeys.find((k) => k.id === id);
    return account && user && key ? { account, user, key } : undefined;
  }

  /** Forget sessions long past expiry so the map does not grow without bound. */
  pruneSessions(now: number): void {
    for (const [id, s] of this.sessions) if (s.expiration < now - 3_600_000) this.sessions.delete(id);
  }

  attachStateFile(path: string): void {
    this.statePath = path;
  }

  /** Write the whole world atomically (temp file + rename) after a change, when a state file is set. */
  persist(): void {
    if (!this.statePath) return;
    const state: StateFileV1 = {
      version: 1,
      accounts: [...this.accounts.values()].map((a) => ({
        id: a.id,
        name: a.name,
        roles: [...a.roles.values()],
        users: [...a.users.values()],
        groups: [...a.groups.values()],
        policies: [...a.policies.values()],
        quotas: a.quotas,
        ...(a.org ? { org: a.org } : {}),
      })),
      sessions: [...this.sessions.values()],
      ...(this.organization
        ? { organization: { ...this.organization, units: [...this.organization.units.values()] } }
        : {}),
    };
    const tmp = `${this.statePath}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
    renameSync(tmp, this.statePath);
  }

  static fromStateFile(path: string): World {
    let state: StateFileV1;
    try {
      state = JSON.parse(readFileSync(path, "utf8")) as StateFileV1;
    } catch (e) {
      throw new GatehouseError("BAD_STATE_FILE", `cannot read state file ${path}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (state.version !== 1 || !Array.isArray(state.accounts)) {
      throw new GatehouseError("BAD_STATE_FILE", `state file ${path} is not a version 1 emulator state`);
    }
    const world = new World();
    for (const a of state.accounts) {
      const account = world.addAccount(a.id, a.name);
      for (const r of a.roles) world.putRole(account, r);
      for (const u of a.users) world.putUser(account, { ...u, groups: u.groups ?? [] });
      for (const g of a.groups ?? []) world.putGroup(account, g);
      for (const p of a.policies ?? []) world.putPolicy(account, p);
      if (a.quotas) account.quotas = { ...DEFAULT_QUOTAS, ...a.quotas };
      if (a.org) account.org = a.org;
    }
    if (state.organization) {
      const o = state.organization;
      world.organization = { ...o, units: new Map(o.units.map((u) => [u.id, u])) };
    }
    for (const s of state.sessions ?? []) world.sessions.set(s.accessKeyId, s);
    return world;
  }
}

function cmp(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}
