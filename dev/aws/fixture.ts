// Fixture files (YAML) that describe an organisation for the emulator, and a generator of large ones.

import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { z } from "zod";
import { GatehouseError } from "../../shared/errors.ts";
import { AwsError } from "./errors.ts";
import { findManagedPolicy } from "./iam-policies.ts";
import { type Account, type Organization, type Role, stableId, type Tag, type User, World } from "./model.ts";
import { orgId } from "./organizations.ts";
import { parsePolicy } from "./policy.ts";

const FIXED_DATE = "2024-01-01T00:00:00Z";
const policyDoc = z.union([z.string(), z.record(z.string(), z.unknown())]);
const tags = z.record(z.string(), z.string()).default({});
const path = z
  .string()
  .regex(/^(\/|\/[\u0021-\u007E]+\/)$/, "a path starts and ends with /")
  .default("/");
const name = z.string().regex(/^[\w+=,.@-]{1,64}$/, "1-64 characters of [A-Za-z0-9_+=,.@-]");

const roleSchema = z.strictObject({
  name,
  path,
  description: z.string().max(1000).optional(),
  max_session_duration: z.number().int().min(3600).max(43200).default(3600),
  tags,
  trust: policyDoc,
  policies: z.record(z.string(), policyDoc).default({}),
  managed_policies: z.array(z.string().startsWith("arn:aws:iam::")).default([]),
});

const userSchema = z.strictObject({
  name,
  path,
  tags,
  policies: z.record(z.string(), policyDoc).default({}),
  managed_policies: z.array(z.string().startsWith("arn:aws:iam::")).default([]),
  /** IAM groups of the same account the user is in. */
  groups: z.array(z.string()).default([]),
  access_keys: z
    .array(z.strictObject({ id: z.string().regex(/^AKIA[A-Z0-9]{12,124}$/), secret: z.string().min(8) }))
    .default([]),
});

const groupSchema = z.strictObject({
  name: z.string().regex(/^[\w+=,.@-]{1,128}$/, "1-128 characters of [A-Za-z0-9_+=,.@-]"),
  path,
  policies: z.record(z.string(), policyDoc).default({}),
  managed_policies: z.array(z.string().startsWith("arn:aws:iam::")).default([]),
});

/** A customer-managed policy: its ARN is arn:aws:iam::ACCOUNT:policy{path}{name}. */
const customerPolicySchema = z.strictObject({
  name: z.string().regex(/^[\w+=,.@-]{1,128}$/, "1-128 characters of [A-Za-z0-9_+=,.@-]"),
  path,
  description: z.string().max(1000).optional(),
  document: policyDoc,
});

const quota = (max: number) => z.number().int().min(1).max(max).optional();
/** IAM quotas that can be raised through Service Quotas (GetAccountSummary reports them). */
const quotasSchema = z.strictObject({
  attached_policies_per_role: quota(20),
  attached_policies_per_user: quota(20),
  attached_policies_per_group: quota(20),
  groups_per_user: quota(10),
  groups: quota(500),
  policies: quota(5000),
});

const accountIdSchema = z.string().regex(/^\d{12}$/, "an account id is 12 digits");

interface UnitInput {
  name: string;
  tags: Record<string, string>;
  accounts: string[];
  units: UnitInput[];
}
// An OU: a name, tags, the accounts directly in it and nested OUs (AWS allows five levels).
const unitSchema: z.ZodType<UnitInput, unknown> = z.lazy(() =>
  z.strictObject({
    name: z.string().regex(/^[\s\S]{1,128}$/, "an OU name is 1-128 characters"),
    tags,
    accounts: z.array(accountIdSchema).default([]),
    units: z.array(unitSchema).default([]),
  }),
);

const fixtureSchema = z.strictObject({
  /** An AWS Organization over the accounts; accounts not placed in an OU sit in the root. */
  organization: z
    .strictObject({
      management_account: accountIdSchema,
      delegated_administrators: z.array(accountIdSchema).default([]),
      units: z.array(unitSchema).default([]),
    })
    .optional(),
  accounts: z
    .array(
      z.strictObject({
        id: accountIdSchema,
        name: z.string().min(1),
        /** Organizations only: the account's e-mail, state and tags. */
        email: z.email().optional(),
        status: z.enum(["ACTIVE", "SUSPENDED", "PENDING_CLOSURE"]).optional(),
        tags: z.record(z.string(), z.string()).optional(),
        roles: z.array(roleSchema).default([]),
        users: z.array(userSchema).default([]),
        groups: z.array(groupSchema).default([]),
        policies: z.array(customerPolicySchema).default([]),
        quotas: quotasSchema.optional(),
      }),
    )
    .min(1),
});

export type Fixture = z.infer<typeof fixtureSchema>;

const toTags = (t: Record<string, string>): Tag[] =>
  Object.entries(t).map(([Key, Value]) => ({ Key, Value }));
const toText = (d: string | Record<string, unknown>) => (typeof d === "string" ? d : JSON.stringify(d));

function checkPolicy(text: string, kind: "identity" | "trust", where: string): string {
  try {
    parsePolicy(text, kind);
  } catch (e) {
    if (e instanceof AwsError) throw new GatehouseError("BAD_FIXTURE", `${where}: ${e.message}`);
    throw e;
  }
  return text;
}

export function worldFromFixture(fixture: Fixture): World {
  const world = new World();
  for (const a of fixture.accounts) {
    if (world.accounts.has(a.id)) throw new GatehouseError("BAD_FIXTURE", `account ${a.id} is listed twice`);
    const account = world.addAccount(a.id, a.name);
    const q = a.quotas ?? {};
    account.quotas = {
      attachedPoliciesPerRole: q.attached_policies_per_role ?? account.quotas.attachedPoliciesPerRole,
      attachedPoliciesPerUser: q.attached_policies_per_user ?? account.quotas.attachedPoliciesPerUser,
      attachedPoliciesPerGroup: q.attached_policies_per_group ?? account.quotas.attachedPoliciesPerGroup,
      groupsPerUser: q.groups_per_user ?? account.quotas.groupsPerUser,
      groups: q.groups ?? account.quotas.groups,
      policies: q.policies ?? account.quotas.policies,
    };
    for (const p of a.policies) {
      const where = `account ${a.id} policy ${p.name}`;
      if (account.policies.has(p.name.toLowerCase()))
        throw new GatehouseError("BAD_FIXTURE", `${where} is listed twice`);
      world.putPolicy(account, {
        name: p.name,
        path: p.path,
        id: stableId("ANPA", a.id, p.name),
        ...(p.description !== undefined ? { description: p.description } : {}),
        createDate: FIXED_DATE,
        updateDate: FIXED_DATE,
        defaultVersionId: "v1",
        versions: [
          {
            versionId: "v1",
            document: checkPolicy(toText(p.document), "identity", where),
            createDate: FIXED_DATE,
          },
        ],
      });
    }
    const checkAttached = (arns: string[], where: string, quota: number) => {
      for (const arn of arns)
        if (!findManagedPolicy(account, arn))
          throw new GatehouseError("BAD_FIXTURE", `${where}: managed policy ${arn} does not exist`);
      if (new Set(arns).size !== arns.length)
        throw new GatehouseError("BAD_FIXTURE", `${where}: a managed policy is listed twice`);
      if (arns.length > quota)
        throw new GatehouseError("BAD_FIXTURE", `${where}: more than ${quota} managed policies attached`);
      return arns;
    };
    for (const g of a.groups) {
      const where = `account ${a.id} group ${g.name}`;
      if (account.groups.has(g.name.toLowerCase()))
        throw new GatehouseError("BAD_FIXTURE", `${where} is listed twice`);
      const inline: Record<string, string> = {};
      for (const [n, d] of Object.entries(g.policies))
        inline[n] = checkPolicy(toText(d), "identity", `${where} policy ${n}`);
      world.putGroup(account, {
        name: g.name,
        path: g.path,
        id: stableId("AGPA", a.id, g.name),
        createDate: FIXED_DATE,
        inlinePolicies: inline,
        managedPolicies: checkAttached(g.managed_policies, where, account.quotas.attachedPoliciesPerGroup),
      });
    }
    const checkGroups = (names: string[], where: string) => {
      if (new Set(names.map((n) => n.toLowerCase())).size !== names.length)
        throw new GatehouseError("BAD_FIXTURE", `${where}: a group is listed twice`);
      if (names.length > account.quotas.groupsPerUser)
        throw new GatehouseError(
          "BAD_FIXTURE",
          `${where}: in more than ${account.quotas.groupsPerUser} groups`,
        );
      return names;
    };
    for (const r of a.roles) {
      const where = `account ${a.id} role ${r.name}`;
      if (account.roles.has(r.name.toLowerCase()))
        throw new GatehouseError("BAD_FIXTURE", `${where} is listed twice`);
      const inline: Record<string, string> = {};
      for (const [n, d] of Object.entries(r.policies))
        inline[n] = checkPolicy(toText(d), "identity", `${where} policy ${n}`);
      world.putRole(account, {
        name: r.name,
        path: r.path,
        id: stableId("AROA", a.id, r.name),
        createDate: FIXED_DATE,
        ...(r.description !== undefined ? { description: r.description } : {}),
        maxSessionDuration: r.max_session_duration,
        tags: toTags(r.tags),
        trustPolicy: checkPolicy(toText(r.trust), "trust", `${where} trust policy`),
        inlinePolicies: inline,
        managedPolicies: checkAttached(r.managed_policies, where, account.quotas.attachedPoliciesPerRole),
      });
    }
    for (const u of a.users) {
      const where = `account ${a.id} user ${u.name}`;
      if (account.users.has(u.name.toLowerCase()))
        throw new GatehouseError("BAD_FIXTURE", `${where} is listed twice`);
      const inline: Record<string, string> = {};
      for (const [n, d] of Object.entries(u.policies))
        inline[n] = checkPolicy(toText(d), "identity", `${where} policy ${n}`);
      for (const k of u.access_keys) {
        if (world.findAccessKey(k.id))
          throw new GatehouseError("BAD_FIXTURE", `access key ${k.id} is listed twice`);
      }
      world.putUser(account, {
        name: u.name,
        path: u.path,
        id: stableId("AIDA", a.id, u.name),
        createDate: FIXED_DATE,
        tags: toTags(u.tags),
        inlinePolicies: inline,
        managedPolicies: checkAttached(u.managed_policies, where, account.quotas.attachedPoliciesPerUser),
        groups: checkGroups(u.groups, where).map((n) => {
          const g = account.groups.get(n.toLowerCase());
          if (!g)
            throw new GatehouseError(
              "BAD_FIXTURE",
              `${where}: group ${n} is not one of the account's groups`,
            );
          return g.name;
        }),
        accessKeys: u.access_keys.map((k) => ({
          id: k.id,
          secret: k.secret,
          status: "Active",
          createDate: FIXED_DATE,
        })),
      });
    }
  }
  if (fixture.organization) addOrganization(world, fixture);
  else {
    const a = fixture.accounts.find((x) => x.email ?? x.status ?? x.tags);
    if (a) {
      throw new GatehouseError(
        "BAD_FIXTURE",
        `account ${a.id}: email, status and tags describe organisation membership; add an organization section`,
      );
    }
  }
  return world;
}

/** Build the organisation: ids from names (stable across runs), every account a member. */
function addOrganization(world: World, fixture: Fixture): void {
  const spec = fixture.organization!;
  const fail = (m: string) => {
    throw new GatehouseError("BAD_FIXTURE", `organization: ${m}`);
  };
  if (!world.accounts.has(spec.management_account))
    fail(`management_account ${spec.management_account} is not one of the accounts`);
  const o: Organization = {
    id: orgId("o", spec.management_account),
    managementAccountId: spec.management_account,
    rootId: orgId("r", spec.management_account),
    units: new Map(),
    delegatedAdministrators: spec.delegated_administrators,
  };
  const parentOf = new Map<string, string>();
  const walk = (units: UnitInput[], parentId: string, path: string, depth: number) => {
    if (depth > 5) fail(`${path}: OUs nest at most five levels deep`);
    const names = new Set<string>();
    for (const u of units) {
      const where = `${path}/${u.name}`;
      if (names.has(u.name)) fail(`${where} is listed twice under the same parent`);
      names.add(u.name);
      const id = orgId("ou", o.rootId, where);
      o.units.set(id, { id, name: u.name, parentId, tags: toTags(u.tags) });
      for (const a of u.accounts) {
        if (!world.accounts.has(a)) fail(`${where}: account ${a} is not one of the accounts`);
        if (parentOf.has(a)) fail(`${where}: account ${a} is already in another OU`);
        parentOf.set(a, id);
      }
      walk(u.units, id, where, depth + 1);
    }
  };
  walk(spec.units, o.rootId, "Root", 1);
  for (const d of spec.delegated_administrators)
    if (!world.accounts.has(d)) fail(`delegated administrator ${d} is not one of the accounts`);
  for (const a of fixture.accounts) {
    world.accounts.get(a.id)!.org = {
      email: a.email ?? `aws+${a.id}@example.com`,
      status: a.status ?? "ACTIVE",
      parentId: parentOf.get(a.id) ?? o.rootId,
      tags: toTags(a.tags ?? {}),
    };
  }
  world.organization = o;
}

/** What the central role needs to discover accounts from AWS Organizations. */
export const READ_ORGANIZATION = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Action: [
        "organizations:DescribeOrganization",
        "organizations:ListRoots",
        "organizations:ListOrganizationalUnitsForParent",
        "organizations:ListAccountsForParent",
        "organizations:ListTagsForResource",
      ],
      Resource: "*",
    },
  ],
});

/** A fixture given as an object (tests build organisations in code): parsed as strictly as a file. */
export function worldFromObject(raw: unknown): World {
  const parsed = fixtureSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new GatehouseError("BAD_FIXTURE", `${issue.path.join(".")}: ${issue.message}`);
  }
  return worldFromFixture(parsed.data);
}

/** Read a fixture file; YAML errors and schema errors name the file and the line. */
export function loadFixture(file: string): World {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new GatehouseError("BAD_FIXTURE", `cannot read fixture ${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0]?.line;
    throw new GatehouseError(
      "BAD_FIXTURE",
      `${file}${line ? `:${line}` : ""}: ${(first.message.split("\n")[0] ?? "").replace(/:$/, "")}`,
    );
  }
  const parsed = fixtureSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.join(".");
    const node = doc.getIn(issue.path as (string | number)[], true) as
      | { range?: [number, number] }
      | undefined;
    const line = node?.range ? text.slice(0, node.range[0]).split("\n").length : undefined;
    throw new GatehouseError("BAD_FIXTURE", `${file}${line ? `:${line}` : ""}: ${where}: ${issue.message}`);
  }
  return worldFromFixture(parsed.data);
}

export interface GenerateOptions {
  accounts: number;
  roles: number;
  users: number;
  /** OUs of an AWS Organization over the accounts (0: no organisation). */
  ous?: number;
}

/** Environments and the suspension rule of generated organisation accounts (tests filter on them). */
export const GENERATED_ENVS: readonly string[] = ["prod", "staging", "dev"];
export const generatedSuspended = (index: number) => index % 40 === 39;

/**
 * The OU tree of a generated organisation: a quarter of the OUs at the top ("Workloads-N"), the rest
 * ("Team-N") nested under them in turn; account i sits in OU i mod N, tagged env and team, and
 * every 40th account is suspended. The central account is the management account, in the root.
 */
function generateOrganization(world: World, ous: number): void {
  const o: Organization = {
    id: orgId("o", CENTRAL_ACCOUNT),
    managementAccountId: CENTRAL_ACCOUNT,
    rootId: orgId("r", CENTRAL_ACCOUNT),
    units: new Map(),
    delegatedAdministrators: [],
  };
  const top = Math.max(1, Math.ceil(ous / 4));
  const ids: string[] = [];
  for (let i = 0; i < ous; i++) {
    const isTop = i < top;
    const parentId = isTop ? o.rootId : ids[i % top]!;
    const name = isTop ? `Workloads-${i}` : `Team-${i}`;
    const id = orgId("ou", o.rootId, `gen/${i}`);
    o.units.set(id, { id, name, parentId, tags: [{ Key: "kind", Value: isTop ? "workloads" : "team" }] });
    ids.push(id);
  }
  let index = 0;
  for (const a of world.accounts.values()) {
    if (a.id === CENTRAL_ACCOUNT) {
      a.org = { email: "aws+central@example.com", status: "ACTIVE", parentId: o.rootId, tags: [] };
      continue;
    }
    const i = index++;
    a.org = {
      email: `aws+${a.id}@example.com`,
      status: generatedSuspended(i) ? "SUSPENDED" : "ACTIVE",
      parentId: ids.length > 0 ? ids[i % ids.length]! : o.rootId,
      tags: [
        { Key: "env", Value: GENERATED_ENVS[Math.floor(i / 2) % GENERATED_ENVS.length]! },
        { Key: "team", Value: GENERATED_GROUPS[i % GENERATED_GROUPS.length]! },
      ],
    };
  }
  world.organization = o;
  // The management account's central role reads the organisation (accounts_from: organizations).
  const central = world.accounts.get(CENTRAL_ACCOUNT)?.roles.get("gatehousecentral");
  if (central) central.inlinePolicies.ReadOrganization = READ_ORGANIZATION;
}

export const CENTRAL_ACCOUNT = "111111111111";
export const DEMO_KEY = { id: "AKIAGATEHOUSEDEMO001", secret: "gatehouse-demo-secret" };
/** The groups a generated organisation tags its roles and users with. */
export const GENERATED_GROUPS: readonly string[] = [
  "engineers",
  "data",
  "platform-admins",
  "approvers",
  "finance",
  "security",
  "sre",
  "analytics",
];
const SPOKE_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "ReadAndChangeIam",
      Effect: "Allow",
      Action: [
        "iam:GetAccountAuthorizationDetails",
        "iam:Get*",
        "iam:List*",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:TagUser",
        "iam:UntagUser",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:PutUserPolicy",
        "iam:DeleteUserPolicy",
        "iam:AttachRolePolicy",
        "iam:DetachRolePolicy",
        "iam:AttachUserPolicy",
        "iam:DetachUserPolicy",
        "iam:AddUserToGroup",
        "iam:RemoveUserFromGroup",
      ],
      Resource: "*",
    },
    { Sid: "DecodeDenials", Effect: "Allow", Action: "sts:DecodeAuthorizationMessage", Resource: "*" },
  ],
});

/** The central account every organisation starts with: the broker's user and the central role. */
export function addCentralAccount(world: World): Account {
  const central = world.addAccount(CENTRAL_ACCOUNT, "central");
  const brokerUser: User = {
    name: "gatehouse-broker",
    path: "/",
    id: stableId("AIDA", CENTRAL_ACCOUNT, "gatehouse-broker"),
    createDate: FIXED_DATE,
    tags: [],
    inlinePolicies: {
      AssumeCentral: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Action: ["sts:AssumeRole", "sts:TagSession"],
            Resource: `arn:aws:iam::${CENTRAL_ACCOUNT}:role/GatehouseCentral`,
          },
        ],
      }),
    },
    managedPolicies: [],
    accessKeys: [{ id: DEMO_KEY.id, secret: DEMO_KEY.secret, status: "Active", createDate: FIXED_DATE }],
    groups: [],
  };
  world.putUser(central, brokerUser);
  world.putRole(central, {
    name: "GatehouseCentral",
    path: "/",
    id: stableId("AROA", CENTRAL_ACCOUNT, "GatehouseCentral"),
    createDate: FIXED_DATE,
    description: "Gatehouse central role: assumes the spoke role in every account",
    maxSessionDuration: 3600,
    tags: [],
    trustPolicy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${CENTRAL_ACCOUNT}:user/gatehouse-broker` },
          Action: ["sts:AssumeRole", "sts:TagSession"],
        },
      ],
    }),
    inlinePolicies: {
      AssumeSpokes: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Action: ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
            Resource: "arn:aws:iam::*:role/*",
          },
        ],
      }),
    },
    managedPolicies: [],
  });
  return central;
}

/** A trust policy that lets GatehouseCentral assume a role, with tags and source identity. */
export function trustCentral(): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${CENTRAL_ACCOUNT}:role/GatehouseCentral` },
        Action: ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
      },
    ],
  });
}

/** Build a large organisation: the central account plus N spokes with M roles and K users each. */
export function generateWorld(opts: GenerateOptions): World {
  const world = new World();
  addCentralAccount(world);
  for (let a = 0; a < opts.accounts; a++) {
    const id = String(200000000000 + a);
    const account = world.addAccount(id, `account-${String(a).padStart(4, "0")}`);
    world.putRole(account, {
      name: "GatehouseSpoke",
      path: "/",
      id: stableId("AROA", id, "GatehouseSpoke"),
      createDate: FIXED_DATE,
      maxSessionDuration: 3600,
      tags: [],
      trustPolicy: trustCentral(),
      inlinePolicies: { GatehouseSpoke: SPOKE_POLICY },
      managedPolicies: [],
    });
    for (let r = 0; r < opts.roles; r++) {
      const roleName = `role-${String(r).padStart(5, "0")}`;
      const g1 = GENERATED_GROUPS[(a + r) % GENERATED_GROUPS.length]!;
      const g2 = GENERATED_GROUPS[(a * 7 + r * 3) % GENERATED_GROUPS.length]!;
      const role: Role = {
        name: roleName,
        path: r % 10 === 0 ? "/team/" : "/",
        id: stableId("AROA", id, roleName),
        createDate: FIXED_DATE,
        description: `Generated role ${r} in ${id}`,
        maxSessionDuration: r % 3 === 0 ? 43200 : 3600,
        tags: [
          {
            Key: r % 5 === 0 ? "gatehouse-authorized-cli-only" : "gatehouse-authorized",
            Value: `${g1}:${g2}`,
          },
          { Key: "team", Value: g1 },
        ],
        trustPolicy: trustCentral(),
        inlinePolicies: {
          [`${roleName}-s3`]: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Action: ["s3:GetObject", "s3:ListBucket"],
                Resource: `arn:aws:s3:::bucket-${r}/*`,
              },
            ],
          }),
        },
        managedPolicies: r % 4 === 0 ? ["arn:aws:iam::aws:policy/ReadOnlyAccess"] : [],
      };
      world.putRole(account, role);
    }
    for (let u = 0; u < opts.users; u++) {
      const userName = `user-${String(u).padStart(5, "0")}`;
      world.putUser(account, {
        name: userName,
        path: "/",
        id: stableId("AIDA", id, userName),
        createDate: FIXED_DATE,
        tags: [{ Key: "gatehouse-authorized", Value: GENERATED_GROUPS[u % GENERATED_GROUPS.length]! }],
        inlinePolicies: {},
        managedPolicies: [],
        accessKeys: [],
        groups: [],
      });
    }
  }
  if (opts.ous !== undefined && opts.ous > 0) generateOrganization(world, opts.ous);
  return world;
}

export function parseGenerateSpec(spec: string): GenerateOptions {
  const out: GenerateOptions = { accounts: 3, roles: 10, users: 2 };
  for (const part of spec.split(",").filter(Boolean)) {
    const m = /^(accounts|roles|users|ous)=(\d{1,7})$/.exec(part.trim());
    if (!m) {
      throw new GatehouseError(
        "BAD_ARGUMENT",
        `--generate expects accounts=N,roles=M,users=K[,ous=J]; got "${part}"`,
      );
    }
    out[m[1] as keyof GenerateOptions] = Number(m[2]);
  }
  return out;
}
