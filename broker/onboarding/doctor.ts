// `gatehouse-broker doctor`: every link base identity → central role → spoke role → work roles, read
// (never written) and judged with the shared policy evaluator; each broken link named with its fix.

import { existsSync } from "node:fs";
import {
  GetAccountAuthorizationDetailsCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  type IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
} from "@aws-sdk/client-iam";
import type { GatehouseError } from "../../shared/errors.ts";
import {
  type Context,
  evaluate,
  evaluateTrust,
  MalformedPolicyError,
  type Policy,
  parsePolicy,
} from "../../shared/policy/evaluate.ts";
import { AwsGateway, fromAwsError } from "../aws.ts";
import { type AccountConfig, type BrokerConfig, spokeRoleArn, spokeRoleName } from "../config.ts";
import { type DatabaseConfig, type Db, isPostgresUrl, openConfiguredDb } from "../db/index.ts";
import { discoverAccounts } from "../organizations.ts";
import { openStore, type Store } from "../store.ts";
import { AdminAccess, type AdminOptions } from "./admin.ts";
import {
  centralAccountId,
  centralNeeds,
  centralTrust,
  type Need,
  type PolicyDocument,
  spokeNeeds,
  spokeRoleNames,
  spokeTrust,
  workRoleTrust,
} from "./policies.ts";

export type FindingStatus = "ok" | "error" | "warn" | "info";

export interface DoctorFinding {
  check: "base" | "central" | "organizations" | "spoke" | "work-role" | "sync";
  status: FindingStatus;
  account?: string;
  role?: string;
  message: string;
  /** The policy statement or tag that fixes it, as text to paste. */
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  findings: DoctorFinding[];
}

export interface DoctorOptions {
  /**
   * An administrator that may read IAM in every account (credentials in the management account, and
   * `roleName` to assume in the others, e.g. OrganizationAccountAccessRole): lets doctor say *why* a
   * spoke cannot be assumed (missing, trusting the wrong principal) instead of only that it cannot.
   */
  admin?: AdminOptions;
  concurrency?: number;
}

interface RoleInfo {
  name: string;
  arn: string;
  trust: string;
  inline: Record<string, string>;
  managed: string[];
  tags: { Key: string; Value: string }[];
}

const SAMPLE = "gatehouse-doctor-sample";
const decode = (doc: string | undefined) => (doc ? decodeURIComponent(doc) : "");
const show = (d: PolicyDocument | PolicyDocument["Statement"][number]) => JSON.stringify(d);

function parse(text: string, kind: "identity" | "trust"): Policy | undefined {
  try {
    return parsePolicy(text, kind);
  } catch (e) {
    if (e instanceof MalformedPolicyError) return undefined;
    throw e;
  }
}

/** The ARN a trust policy names for a caller: an assumed-role session is named by its role. */
export function principalArnOf(callerArn: string): string {
  const m = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : callerArn;
}

function identityPolicies(role: RoleInfo): Policy[] {
  return Object.values(role.inline).flatMap((t) => parse(t, "identity") ?? []);
}

/** The actions of a need that the role's own policies do not allow on the need's resources in `account`. */
function missing(role: RoleInfo, need: Need, account: string, resourceFor?: (r: string) => string): string[] {
  const policies = identityPolicies(role);
  const out: string[] = [];
  for (const action of need.actions) {
    for (const r of need.resources) {
      const resource = resourceFor
        ? resourceFor(r)
        : r
            .replace("ACCOUNT", account)
            .replace("arn:aws:iam::*:", `arn:aws:iam::${account}:`)
            .replace(/\/\*$/, `/${SAMPLE}`);
      if (evaluate(policies, { action, resource, context: {} }) !== "allow") {
        out.push(action);
        break;
      }
    }
  }
  return out;
}

function needStatement(need: Need, account: string, actions = need.actions) {
  return {
    Sid: need.sid,
    Effect: "Allow" as const,
    Action: actions,
    Resource: need.resources.map((r) => r.replace("ACCOUNT", account)),
  };
}

/** Every principal a trust policy names (AWS principals only). */
function trustPrincipals(trust: Policy): string[] {
  const out: string[] = [];
  for (const st of trust.Statement) {
    if (st.Effect !== "Allow" || !st.Principal) continue;
    if (st.Principal === "*") out.push("*");
    else {
      const aws = st.Principal.AWS;
      if (aws !== undefined) out.push(...(Array.isArray(aws) ? aws : [aws]));
    }
  }
  return out;
}

/** Whether a trust policy lets `who` do `action` (naming it, or its whole account). */
function trusts(
  trust: Policy,
  who: { arn: string; account: string },
  action: string,
  ctx: Context = {},
): boolean {
  const r = evaluateTrust(trust, who, action, ctx);
  return r === "specific" || r === "account";
}

async function pool<T>(items: T[], n: number, f: (t: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(n, queue.length) }, async () => {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) await f(t);
    }),
  );
}

/** Every role of an account with trust, inline policies and tags (GetAccountAuthorizationDetails). */
export async function readRoles(iam: IAMClient): Promise<RoleInfo[]> {
  const roles: RoleInfo[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(
      new GetAccountAuthorizationDetailsCommand({ Filter: ["Role"], MaxItems: 1000, Marker: marker }),
    );
    for (const r of page.RoleDetailList ?? []) {
      if (!r.RoleName || !r.Arn) continue;
      roles.push({
        name: r.RoleName,
        arn: r.Arn,
        trust: decode(r.AssumeRolePolicyDocument),
        inline: Object.fromEntries(
          (r.RolePolicyList ?? []).map((p) => [p.PolicyName ?? "", decode(p.PolicyDocument)]),
        ),
        managed: (r.AttachedManagedPolicies ?? []).map((p) => p.PolicyArn ?? ""),
        tags: (r.Tags ?? []).map((t) => ({ Key: t.Key ?? "", Value: t.Value ?? "" })),
      });
    }
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return roles;
}

async function readRole(iam: IAMClient, name: string): Promise<RoleInfo> {
  const { Role: r } = await iam.send(new GetRoleCommand({ RoleName: name }));
  const names: string[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(new ListRolePoliciesCommand({ RoleName: name, Marker: marker }));
    names.push(...(page.PolicyNames ?? []));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  const inline: Record<string, string> = {};
  for (const n of names) {
    inline[n] = decode(
      (await iam.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: n }))).PolicyDocument,
    );
  }
  const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name }));
  return {
    name,
    arn: r?.Arn ?? "",
    trust: decode(r?.AssumeRolePolicyDocument),
    inline,
    managed: (attached.AttachedPolicies ?? []).map((p) => p.PolicyArn ?? ""),
    tags: (r?.Tags ?? []).map((t) => ({ Key: t.Key ?? "", Value: t.Value ?? "" })),
  };
}

const accessTagProblems = (value: string): string | undefined => {
  if (value.trim() === "") return "is empty";
  const items = value.split(":");
  if (items.some((i) => i === "")) return "has an empty item (a leading, trailing or doubled ':')";
  if (items.some((i) => i !== i.trim())) return "has spaces around an item (items are matched exactly)";
  if (/[,;|]/.test(value)) return "separates items with ',', ';' or '|' (Gatehouse separates them with ':')";
  return undefined;
};

/** Run every check. Throws only when doctor cannot run at all (bad configuration). */
export async function runDoctor(input: BrokerConfig, opts: DoctorOptions = {}): Promise<DoctorReport> {
  // A private copy: the account list is replaced by what Organizations says, without touching the caller's.
  const config: BrokerConfig = structuredClone(input);
  const findings: DoctorFinding[] = [];
  const add = (f: DoctorFinding) => findings.push(f);
  const aws = new AwsGateway(config);
  const admin = opts.admin ? new AdminAccess(config, opts.admin) : undefined;
  const concurrency = opts.concurrency ?? config.sync.account_concurrency;
  try {
    // 1. Base identity.
    let base: { arn: string; account: string };
    try {
      base = await aws.callerIdentity();
      add({ check: "base", status: "ok", message: `the broker runs as ${base.arn}` });
    } catch (e) {
      add({
        check: "base",
        status: "error",
        message: `the base identity cannot sign in to AWS: ${(e as Error).message}`,
        fix: "check aws.base_identity (the key id, the secret or its environment variable, or the instance/task role)",
      });
      return { ok: false, findings };
    }
    const baseArn = principalArnOf(base.arn);

    // 2. Central role.
    const centralArn = config.aws.central_role_arn;
    const centralAccount = centralAccountId(config);
    let central: RoleInfo | undefined;
    let centralAssumed = false;
    if (centralArn && centralAccount) {
      const centralName = centralArn.split("/").pop()!;
      try {
        await aws.central();
        centralAssumed = true;
      } catch (e) {
        add({
          check: "central",
          status: "error",
          role: centralName,
          account: centralAccount,
          message: `${baseArn} cannot assume the central role ${centralArn}: ${(e as Error).message}`,
          fix: `the trust policy of ${centralName} in ${centralAccount} needs ${show(centralTrust(baseArn).Statement[0]!)}, and ${baseArn}'s own policy needs {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"${centralArn}"}`,
        });
      }
      try {
        if (centralAssumed) central = await readRole(aws.centralIam(), centralName);
      } catch {
        // Without GatehouseDoctorReadsItself the central role cannot read itself; an admin still can.
      }
      if (!central && admin) {
        try {
          central = await readRole(await admin.iam(centralAccount), centralName);
        } catch (e) {
          add({
            check: "central",
            status: "error",
            role: centralName,
            account: centralAccount,
            message: `the central role ${centralArn} cannot be read: ${fromAwsError(e, "GetRole").message}`,
            fix: "create it (gatehouse-broker init) or correct aws.central_role_arn",
          });
        }
      }
      if (!central && !admin && centralAssumed) {
        add({
          check: "central",
          status: "warn",
          role: centralName,
          account: centralAccount,
          message:
            "the central role's own policies cannot be read, so its permissions are judged by trying AssumeRole only",
          fix: `add to ${centralName}: {"Sid":"GatehouseDoctorReadsItself","Effect":"Allow","Action":["iam:GetRole","iam:ListRolePolicies","iam:GetRolePolicy","iam:ListAttachedRolePolicies"],"Resource":"${centralArn}"} (or run doctor with --profile ADMIN)`,
        });
      }
      if (central) {
        const trust = parse(central.trust, "trust");
        if (!trust || !trusts(trust, { arn: baseArn, account: base.account }, "sts:AssumeRole")) {
          add({
            check: "central",
            status: "error",
            role: centralName,
            account: centralAccount,
            message: `the central role's trust policy does not let the broker (${baseArn}) assume it`,
            fix: `add to the trust policy of ${centralName}: ${show(centralTrust(baseArn).Statement[0]!)}`,
          });
        } else if (centralAssumed) {
          add({
            check: "central",
            status: "ok",
            role: centralName,
            account: centralAccount,
            message: `trusts ${baseArn}`,
          });
        }
        const sample = config.aws.accounts[0]?.id ?? centralAccount;
        for (const need of centralNeeds(config)) {
          // The spoke need is checked per account below, against each account's own spoke ARN.
          if (need.sid === "GatehouseAssumeSpokes") continue;
          const gaps = missing(central, need, sample);
          if (gaps.length === 0) continue;
          add({
            check: "central",
            status: central.managed.length > 0 ? "warn" : "error",
            role: centralName,
            account: centralAccount,
            message: `the central role may not ${gaps.join(", ")} (needed for ${need.feature})${
              central.managed.length > 0
                ? `; its managed policies (${central.managed.join(", ")}) were not evaluated`
                : ""
            }`,
            fix: `add to ${centralName}'s policy: ${show(needStatement(need, sample, gaps))}`,
          });
        }
      }
    }
    const centralWho =
      centralArn && centralAccount
        ? { arn: centralArn, account: centralAccount }
        : { arn: baseArn, account: base.account };

    // 3. Accounts (from Organizations when configured).
    let ouOf = new Map<string, string>();
    if (config.aws.accounts_from === "organizations") {
      const overrides = new Map(input.aws.accounts.map((a) => [a.id, a]));
      try {
        const found = await discoverAccounts(aws.organizations(), config.aws.organizations!);
        config.aws.accounts = found.accounts.map((a) => {
          const o = overrides.get(a.id);
          return {
            id: a.id,
            name: o?.name ?? a.name,
            ...(o?.spoke_role_name ? { spoke_role_name: o.spoke_role_name } : {}),
          };
        });
        ouOf = new Map(found.accounts.map((a) => [a.id, a.ouPath || "Root"]));
        add({
          check: "organizations",
          status: "ok",
          message: `${found.accounts.length} accounts in scope, ${found.skipped.length} left out`,
        });
        for (const s of found.skipped) {
          add({
            check: "organizations",
            status: "info",
            account: s.id,
            message: `${s.name} (${s.ouPath || "Root"}) left out: ${
              {
                suspended: "suspended",
                "excluded-ou": "in an excluded OU",
                "outside-included-ous": "outside the included OUs",
                "tag-filter": "its tags do not pass the filters",
              }[s.reason]
            }`,
          });
        }
        for (const id of overrides.keys()) {
          if (!found.accounts.some((a) => a.id === id)) {
            add({
              check: "organizations",
              status: "warn",
              account: id,
              message: `aws.accounts lists ${id} but Organizations does not put it in scope, so the entry is unused`,
              fix: "remove the entry, or widen aws.organizations.include_ous / the tag filters",
            });
          }
        }
      } catch (e) {
        const err = e as GatehouseError;
        add({
          check: "organizations",
          status: "error",
          message: `cannot read the organisation: ${err.message}`,
          fix:
            err.code === "CONFIG_INVALID"
              ? "correct aws.organizations"
              : `add to ${centralArn ?? baseArn}'s policy: ${show(needStatement(centralNeeds(config).at(-1)!, centralAccount ?? "*"))}`,
        });
        config.aws.accounts = [];
      }
    }

    // 4. Each account: spoke, then work roles.
    const ownRoles = new Set([...(centralArn ? [centralArn] : [])]);
    for (const a of config.aws.accounts) ownRoles.add(spokeRoleArn(config, a));
    const keys = { authorized: config.access.tag_keys, cliOnly: config.access.cli_only_tag_keys };
    const admins = new Set(
      config.access.admin_groups.map((g) => (config.oidc.force_groups_lowercase ? g.toLowerCase() : g)),
    );
    const spokeNeed = centralNeeds(config).find((n) => n.sid === "GatehouseAssumeSpokes")!;

    const checkAccount = async (account: AccountConfig) => {
      const id = account.id;
      const name = spokeRoleName(config, account);
      const arn = spokeRoleArn(config, account);
      const where = `${id} (${account.name}${ouOf.has(id) ? `, OU ${ouOf.get(id)}` : ""})`;
      const err = (
        role: string | undefined,
        message: string,
        fix: string,
        check: DoctorFinding["check"] = "spoke",
      ) => add({ check, status: "error", account: id, ...(role ? { role } : {}), message, fix });
      if (central) {
        const gaps = missing(central, spokeNeed, id, () => arn);
        if (gaps.length > 0) {
          err(
            name,
            `the central role may not ${gaps.join(", ")} on the spoke ${arn}`,
            `add to ${central.name}'s policy: ${show({ ...needStatement(spokeNeed, id), Action: spokeNeed.actions, Resource: `arn:aws:iam::*:role/${name}` })}`,
            "central",
          );
        }
      }
      let roles: RoleInfo[] | undefined;
      let assumeError: string | undefined;
      try {
        roles = await readRoles(aws.iam(id));
      } catch (e) {
        assumeError = (e as Error).message;
      }
      if (!roles && admin) {
        try {
          roles = await readRoles(await admin.iam(id));
        } catch (e) {
          err(
            name,
            `neither the broker nor the administrator can read IAM in ${where}: ${(e as Error).message}`,
            "check --profile and --admin-role",
          );
          return;
        }
      }
      if (!roles) {
        err(
          name,
          `the central role cannot assume the spoke ${arn} in ${where}: ${assumeError}; the role is missing, its trust does not name the central role, or the central role may not assume it`,
          "run doctor with --profile ADMIN (and --admin-role) to tell which",
        );
        return;
      }
      const spoke = roles.find((r) => r.name === name);
      if (!spoke) {
        const looksLikeSpoke = roles.filter((r) => {
          if (spokeRoleNames(config).includes(r.name) || /spoke/i.test(r.name)) return true;
          const t = parse(r.trust, "trust");
          return (
            t !== undefined &&
            trusts(t, centralWho, "sts:AssumeRole") &&
            evaluate(identityPolicies(r), {
              action: "iam:GetAccountAuthorizationDetails",
              resource: "*",
              context: {},
            }) === "allow"
          );
        });
        if (looksLikeSpoke.length > 0) {
          const other = looksLikeSpoke[0]!.name;
          err(
            name,
            `${where} has no role ${name}; its spoke seems to be named ${other} here, and aws.accounts does not override the name for this account`,
            `under aws.accounts add { id: "${id}", name: ${account.name}, spoke_role_name: ${other} } (or rename the role to ${name})`,
          );
        } else {
          err(
            name,
            `${where} has no spoke role ${name}${ouOf.has(id) ? " although the OU filter includes it" : ""}`,
            `create it with gatehouse-broker init (the StackSet deploys it to every account of the OU${ouOf.has(id) ? ` ${ouOf.get(id)}` : "s"}), trusting ${centralWho.arn}`,
          );
        }
        return;
      }
      let spokeOk = true;
      const trust = parse(spoke.trust, "trust");
      const fixTrust = show(spokeTrust(config).Statement[0]!);
      if (!trust || !trusts(trust, centralWho, "sts:AssumeRole")) {
        spokeOk = false;
        const own = trust
          ? trustPrincipals(trust).find(
              (p) => p === id || p.startsWith(`arn:aws:iam::${id}:`) || p === `arn:aws:iam::${id}:root`,
            )
          : undefined;
        err(
          name,
          own
            ? `the trust policy of ${name} in ${where} names its own account (${own}) instead of the central role ${centralWho.arn} in the central account ${centralWho.account}: put the central account's id, not the spoke's`
            : `the trust policy of ${name} in ${where} does not let the central role ${centralWho.arn} assume it`,
          `trust policy of ${name}: ${fixTrust}`,
        );
      } else if (!trusts(trust, centralWho, "sts:TagSession")) {
        spokeOk = false;
        err(
          name,
          `the trust policy of ${name} in ${where} allows sts:AssumeRole but not sts:TagSession for the central role`,
          `trust policy of ${name}: ${fixTrust}`,
        );
      }
      for (const need of spokeNeeds(config)) {
        const gaps = missing(spoke, need, id);
        if (gaps.length === 0) continue;
        spokeOk = false;
        add({
          check: "spoke",
          status: spoke.managed.length > 0 ? "warn" : "error",
          account: id,
          role: name,
          message: `${name} in ${where} may not ${gaps.join(", ")} (needed for ${need.feature})${
            spoke.managed.length > 0
              ? `; its managed policies (${spoke.managed.join(", ")}) were not evaluated`
              : ""
          }`,
          fix: `add to ${name}'s policy: ${show(needStatement(need, id, gaps))}`,
        });
      }
      if (spokeOk)
        add({
          check: "spoke",
          status: "ok",
          account: id,
          role: name,
          message: `${name} in ${where}: trusted by the central role, permissions for every feature`,
        });

      const workFix = show(workRoleTrust(config).Statement[0]!);
      for (const r of roles) {
        const access = r.tags.filter((t) => keys.authorized.includes(t.Key) || keys.cliOnly.includes(t.Key));
        if (access.length === 0) continue;
        const role = r.name;
        if (ownRoles.has(r.arn) || r.name === name) {
          err(
            role,
            `Gatehouse's own role ${role} in ${where} carries access tags (${access.map((t) => t.Key).join(", ")}): it is never handed out, and a tag on it is an incident (SECURITY 32)`,
            `remove the tags ${access.map((t) => t.Key).join(", ")} from ${role}`,
            "work-role",
          );
          continue;
        }
        const t = parse(r.trust, "trust");
        for (const action of ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]) {
          if (!t || !trusts(t, centralWho, action)) {
            err(
              role,
              `${role} in ${where} is tagged for Gatehouse but its trust policy does not allow ${action} for ${centralWho.arn}: it would show in people's lists and then fail`,
              `trust policy of ${role}: ${workFix}`,
              "work-role",
            );
            break;
          }
        }
        for (const tag of access) {
          const problem = accessTagProblems(tag.Value);
          if (problem) {
            err(
              role,
              `${role} in ${where}: tag ${tag.Key}="${tag.Value}" ${problem}`,
              `tag ${tag.Key}=group-a:group-b:someone@example.com`,
              "work-role",
            );
          }
          const items = tag.Value.split(":").map((i) =>
            config.oidc.force_groups_lowercase ? i.toLowerCase() : i,
          );
          const both = items.filter((i) => admins.has(i));
          if (both.length > 0) {
            add({
              check: "work-role",
              status: "warn",
              account: id,
              role,
              message: `${role} in ${where} is tagged (${tag.Key}) for ${both.join(", ")}, which is also in access.admin_groups: Gatehouse administrators should not need a tag to reach a work role`,
              fix: `remove ${both.join(", ")} from the tag ${tag.Key}, or from access.admin_groups if it is not meant to administer Gatehouse`,
            });
          }
        }
        const hasConsole = access.some((x) => keys.authorized.includes(x.Key));
        const hasCli = access.some((x) => keys.cliOnly.includes(x.Key));
        if (hasConsole && hasCli) {
          add({
            check: "work-role",
            status: "warn",
            account: id,
            role,
            message: `${role} in ${where} carries both a console tag and a cli-only tag; the console tag wins for anyone it names`,
            fix: `keep one of ${access.map((x) => x.Key).join(" and ")}`,
          });
        }
      }
    };
    await pool(config.aws.accounts, concurrency, checkAccount);

    // 5. Sync status, from the broker's database when there is one (never created here).
    const store = openStoreIfThere(config, (message) =>
      add({ check: "sync", status: "warn", message, fix: "check database: and that PostgreSQL is up" }),
    );
    if (store) {
      try {
        const statuses = new Map(store.syncStatuses().map((s) => [s.accountId, s]));
        for (const a of config.aws.accounts) {
          const s = statuses.get(a.id);
          if (!s) {
            add({
              check: "sync",
              status: "info",
              account: a.id,
              message: `${a.name} has not been synced yet`,
            });
          } else if (s.state === "ok") {
            add({
              check: "sync",
              status: "ok",
              account: a.id,
              message: `${a.name} last synced ${ago(s.lastSuccessAt)}: ${s.roles} roles, ${s.users} users`,
            });
            if (s.warning)
              add({
                check: "sync",
                status: "warn",
                account: a.id,
                message: `${a.name}: ${s.warning}`,
                fix: "allow iam:GetAccountSummary to the spoke role (see `gatehouse-broker init`)",
              });
          } else {
            add({
              check: "sync",
              status: "error",
              account: a.id,
              message: `${a.name}: the last sync ${ago(s.lastAttemptAt)} failed: ${plain(s.error?.code, s.error?.message)}${s.lastSuccessAt ? `; last good sync ${ago(s.lastSuccessAt)}` : ""}`,
              fix: "the spoke findings above say what to change; then POST /v1/sync or wait for the next sync",
            });
          }
        }
      } finally {
        store.close();
      }
    }
  } finally {
    aws.destroy();
    admin?.destroy();
  }
  const order = { error: 0, warn: 1, info: 2, ok: 3 } as const;
  findings.sort(
    (x, y) => order[x.status] - order[y.status] || (x.account ?? "").localeCompare(y.account ?? ""),
  );
  return { ok: !findings.some((f) => f.status === "error"), findings };
}

/** The broker's store when there is one to read (a SQLite file is never created here); closing it closes it. */
function openStoreIfThere(config: DatabaseConfig, unreachable: (message: string) => void): Store | undefined {
  const { database } = config;
  if (!isPostgresUrl(database) && (database === ":memory:" || !existsSync(database))) return undefined;
  let db: Db;
  try {
    db = openConfiguredDb(config);
  } catch (e) {
    unreachable(`the broker's database cannot be reached: ${(e as Error).message}`);
    return undefined;
  }
  try {
    return { ...openStore(db), close: () => db.close() };
  } catch (e) {
    db.close();
    throw e;
  }
}

function ago(iso: string | null | undefined): string {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 90
    ? `${s} seconds ago`
    : s < 5400
      ? `${Math.round(s / 60)} minutes ago`
      : `${Math.round(s / 3600)} hours ago`;
}

/** A sync error in words an operator reads. */
function plain(code: string | undefined, message: string | undefined): string {
  const m = message ?? "";
  if (/AssumeRole/.test(m) && /AccessDenied/.test(m))
    return `the broker could not assume the spoke role (AWS said AccessDenied) — ${m}`;
  if (/AccessDenied/.test(m)) return `the spoke role is not allowed to read IAM — ${m}`;
  if (code === "AWS_UNAVAILABLE") return `AWS kept throttling or failing — ${m}`;
  return m || (code ?? "unknown error");
}

/**
 * Text from AWS (OU names may hold any character) shown, never executed by the terminal (SECURITY 34):
 * control characters, ESC and C1 codes included, become visible `\xNN`; each finding stays one line.
 */
export function terminalSafe(text: string): string {
  return text.replace(/\p{Cc}/gu, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** One line per finding: status, where, what, and the fix. */
export function formatFinding(f: DoctorFinding): string {
  const mark = { ok: "ok  ", error: "FAIL", warn: "warn", info: "info" }[f.status];
  const where = [f.check, f.account, f.role].filter(Boolean).join(" ");
  return terminalSafe(`${mark} [${where}] ${f.message}${f.fix ? ` — fix: ${f.fix}` : ""}`);
}
