// `gatehouse request …`: ask for permissions (an inline policy, a managed policy, a group, or access to a
// role), follow the requests,
// and, as an approver, approve or reject them. Everything goes through the agent to the broker.

import type { Me, RequestTarget } from "../../../shared/api.ts";
import { type LintResult, lintPolicy } from "../../../shared/policy-lint.ts";
import type { PermissionRequest } from "../../../shared/requests.ts";
import { agent, flags, helped, one, print, printError, printJson, UsageError } from "../io.ts";
import {
  DEFAULT_TIMEOUT,
  EXIT_TIMEOUT,
  notAppliedLines,
  parseTimeout,
  progressLine,
  waitForRequest,
} from "../request-wait.ts";
import { formatText, readPolicy } from "./policy.ts";
import { readErrorText, requestFromError } from "./request-from-error.ts";

export const USAGE = `usage: gatehouse request <subcommand>

  create --target REF [--target REF…] --policy FILE --justification TEXT --expires DURATION [--wait]
                                    ask for an inline policy on roles or users (linted here first)
  create --role REF --justification TEXT --expires DURATION [--wait]
                                    ask for access to a role (or --access with --target REF…)
  create --attach POLICY --target REF [--target REF…] --justification TEXT --expires DURATION [--wait]
                                    ask for a managed policy attached to roles or users: POLICY is an
                                    ARN or a name (AWS-managed, else the account's customer-managed one)
  create --group GROUP --target USER [--target USER…] --justification TEXT --expires DURATION [--wait]
                                    ask for IAM users to be added to an IAM group of their account
  from-error [TEXT | -] --justification TEXT --expires DURATION [--wait]
                                    ask for what an AWS access-denied error (or a log of them; - or no TEXT
                                    reads standard input) says is missing: the role or user it names, the
                                    actions on the resources. Refused, exit 1, when no request can fix it
                                    (an explicit deny, another policy type, a role Gatehouse does not manage)
  policy …                          the same as create with --policy (kept as an alias)
  access …                          the same as create with --role (kept as an alias)
  targets [WORDS…] [--limit N]      roles and IAM users a request may name (every word matches the name,
                                    ARN or account): \`request targets staging dev\`
  wait ID [--timeout DURATION]      wait until a request is applied, rejected, failed, cancelled or expired
  list [--approver]                 your requests (or, with --approver, those you may approve)
  show ID                           a request: its targets, states, the policy with its risk and
                                    findings, approvals and any edit's diff
  approve ID [--policy FILE] [--expires DURATION] [--comment TEXT]
                                    approve (optionally with an edited policy or another expiry)
  reject ID --reason TEXT           reject a request
  cancel ID                         cancel your request
  retry ID                          apply a failed request again
  resolve ID --target N (--delete | --keep) [--comment TEXT]
                                    settle a target whose policy was changed outside Gatehouse:
                                    delete it, or keep it in IAM unmanaged (approvers and admins)

REF is a role or IAM user ARN, account/role (prod/Billing) or account/user/NAME; USER is a user ARN,
account/user/NAME or user/NAME (when one account has a user of that name). DURATION is a number and a unit
(m, h, d, w), from 1h to 90d: 8h, 7d. --json prints the request (or the list) as JSON on stdout.

--wait (on create, policy, access, from-error) and wait ID poll the broker (200 ms, growing to 2 s) until no target
is pending, approved or applying. --timeout takes s, m, h or d (30s, 10m, 2h; default 24h). Progress is
printed on stderr when it is a terminal; with --json the final request is printed on stdout.
  exit 0    every target applied
  exit 1    a target was rejected, failed, cancelled or expired (one line each on stderr: which and why)
  exit ${EXIT_TIMEOUT}  still waiting when --timeout ran out (the request stays; \`request wait ID\` goes on)
  exit 2    a usage error`;

const MIN_SECONDS = 3600;
const MAX_SECONDS = 90 * 86_400;
const UNIT: Record<string, number> = { m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Seconds from "8h", "7d" (1 hour to 90 days); anything else is a usage error. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,6})([mhdw])$/.exec(text.trim());
  if (!m) throw new UsageError(`--expires "${text}" is not a duration like 8h or 7d\n${USAGE}`);
  const seconds = Number(m[1]) * UNIT[m[2]!]!;
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS)
    throw new UsageError(`--expires must be between 1h and 90d\n${USAGE}`);
  return seconds;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value.trim() === "") throw new UsageError(`${flag} is required\n${USAGE}`);
  return value;
}

function oneId(positionals: string[]): string {
  if (positionals.length !== 2) throw new UsageError(`name one request ID\n${USAGE}`);
  return positionals[1]!;
}

function targetLines(r: PermissionRequest): string[] {
  return r.targets.map((t) => {
    const extra = [
      t.expiresAt ? `expires ${t.expiresAt}` : null,
      t.error ? `${one(t.error.message)} [${one(t.error.code)}]` : null,
      t.drift
        ? `drift: ${one(t.drift)} — \`gatehouse request resolve ${one(r.id)} --target ${t.n} --delete|--keep\``
        : null,
      t.note ? one(t.note) : null,
    ].filter(Boolean);
    const what = t.policyArn
      ? `  attach ${one(t.policyArn)}`
      : t.groupName
        ? `  group ${one(t.groupName)}`
        : "";
    return `  ${r.targets.length > 1 ? `#${t.n} ` : ""}${one(t.arn)}${what}  ${t.state}${extra.length ? `  (${extra.join("; ")})` : ""}`;
  });
}

/** SECURITY 31: a request that can change access, let through by break-glass; it waits for an admin. */
const breakGlass = (r: PermissionRequest) => (r.breakGlass ? " [BREAK-GLASS: needs an admin approver]" : "");

export function formatCreated(r: PermissionRequest): string {
  return `Request ${one(r.id)} (${r.kind})${breakGlass(r)}\n${targetLines(r).join("\n")}\n`;
}

export function formatTargets(targets: RequestTarget[]): string {
  if (targets.length === 0) return "No role or IAM user matches.\n";
  const rows = targets.map((t) => [
    one(`${t.accountName}/${t.name}`),
    t.type === "user" ? "user" : t.mine ? "role (yours)" : "role",
    one(t.arn),
  ]);
  const w0 = Math.max(...rows.map((r) => r[0]!.length));
  const w1 = Math.max(...rows.map((r) => r[1]!.length));
  return `${rows.map((r) => `${r[0]!.padEnd(w0)}  ${r[1]!.padEnd(w1)}  ${r[2]}`).join("\n")}\n`;
}

/** A policy as an approver reads it: pretty JSON (or the text as sent, if it is not JSON). */
function prettyPolicy(text: string): string[] {
  let pretty: string;
  try {
    pretty = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    pretty = `(not JSON, as sent)\n${text}`;
  }
  // Each line on its own: a line break can only come from the layout, and each is indented.
  return pretty.split("\n").map((l) => `    ${one(l)}`);
}

/** The policy, its risk and its findings (the lint the broker and the editor run). */
function policyLines(title: string, text: string, lint: LintResult | undefined): string[] {
  const lines = [`${title}${lint ? ` (risk: ${lint.risk})` : ""}:`, ...prettyPolicy(text)];
  if (!lint) return lines;
  lines.push(`  Risk: ${lint.risk}${lint.reasons.length ? ` (${lint.reasons.map(one).join("; ")})` : ""}`);
  if (lint.findings.length) {
    lines.push("  Findings:");
    for (const f of lint.findings)
      lines.push(`    ${f.severity.padEnd(7)} ${f.code}  ${one(f.path || "(document)")}  ${one(f.message)}`);
  }
  return lines;
}

/**
 * `request show` as text. `lints` holds the lint of each policy text of the request (the requested one and
 * any approver's edit): what an approver needs to decide.
 */
export function formatShow(r: PermissionRequest, lints: Map<string, LintResult> = new Map()): string {
  const lines = [
    `Request ${one(r.id)} (${r.kind})${breakGlass(r)}`,
    ...(r.breakGlass ? (r.breakGlassReasons ?? []).map((why) => `Break-glass: ${one(why)}`) : []),
    `Requester: ${one(r.requester.email)}`,
    `Created: ${one(r.createdAt)}`,
    `Expiry: ${r.expirySeconds === null ? "permanent" : `${r.expirySeconds / 3600}h`}`,
    `Justification: ${one(r.justification)}`,
    "Targets:",
    ...targetLines(r),
  ];
  if (r.policy !== null) lines.push(...policyLines("Policy", r.policy, lints.get(r.policy)));
  for (const t of r.targets)
    if (t.policy !== null && r.policy !== null && t.policy !== r.policy)
      lines.push(
        ...policyLines(`Policy of ${one(t.arn)} as an approver edited it`, t.policy, lints.get(t.policy)),
      );
  if (r.approvals.length) {
    lines.push("Approvals:");
    for (const a of r.approvals) {
      const target = r.targets.find((t) => t.n === a.target)?.arn ?? `#${a.target}`;
      lines.push(
        `  ${one(a.approver)} approved ${one(target)} at ${one(a.time)}${a.comment ? `: ${one(a.comment)}` : ""}${a.supersededAt ? " (superseded by a later edit)" : ""}`,
      );
      if (a.diff)
        lines.push("  The approver changed the policy:", ...a.diff.split("\n").map((l) => `    ${one(l)}`));
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The lint of each distinct policy text of a request, with the broker's options (its own roles, tag keys). */
export async function lintsOf(r: PermissionRequest, me: Me): Promise<Map<string, LintResult>> {
  const texts = new Set([r.policy, ...r.targets.map((t) => t.policy)].filter((p): p is string => p !== null));
  const lints = new Map<string, LintResult>();
  for (const text of texts) lints.set(text, await lintPolicy(text, me.lint ?? {}));
  return lints;
}

export function formatList(requests: PermissionRequest[]): string {
  if (requests.length === 0) return "No requests.\n";
  return `${requests
    .map((r) => {
      const states = [...new Set(r.targets.map((t) => t.state))].join(",");
      return `${one(r.id)}  ${r.kind.padEnd(13)}  ${states.padEnd(9)}  ${one(r.requester.email)}  ${one(r.createdAt)}  ${r.targets.map((t) => one(t.arn)).join(" ")}${r.breakGlass ? "  BREAK-GLASS" : ""}`;
    })
    .join("\n")}\n`;
}

interface CreateFlags {
  target?: string[] | undefined;
  role?: string[] | undefined;
  access?: boolean | undefined;
  policy?: string | undefined;
  attach?: string | undefined;
  group?: string | undefined;
  justification?: string | undefined;
  expires?: string | undefined;
}

/**
 * The body of `POST /v1/requests` from create's flags: --policy makes an inline-policy request on the
 * --target REFs; --role REF (or --access with --target REFs) a role-access request. `policy` and `access`
 * are create with that kind required.
 */
export function createBody(v: CreateFlags, as: "create" | "policy" | "access") {
  const targets = v.target ?? [];
  const roles = v.role ?? [];
  if (v.attach !== undefined || v.group !== undefined) {
    if (as !== "create") throw new UsageError(`--attach and --group go with create\n${USAGE}`);
    const given = [
      v.attach !== undefined && "--attach",
      v.group !== undefined && "--group",
      v.policy !== undefined && "--policy",
      (roles.length > 0 || v.access) && "--role/--access",
    ].filter(Boolean);
    if (given.length > 1)
      throw new UsageError(`${given.join(" and ")}: one kind of request at a time\n${USAGE}`);
    if (targets.length === 0) throw new UsageError(`--target is required\n${USAGE}`);
    const justification = required(v.justification, "--justification");
    const expiry = parseDuration(required(v.expires, "--expires"));
    return v.attach !== undefined
      ? ({
          kind: "managed-policy",
          targets,
          policyArn: required(v.attach, "--attach"),
          justification,
          expiry,
        } as const)
      : ({
          kind: "group-membership",
          targets,
          group: required(v.group, "--group"),
          justification,
          expiry,
        } as const);
  }
  const kind =
    as === "policy" || (as === "create" && v.policy !== undefined)
      ? "inline-policy"
      : as === "access" || roles.length > 0 || v.access
        ? "role-access"
        : undefined;
  if (kind === undefined)
    throw new UsageError(
      `give --policy FILE (an inline policy) or --role REF (access to a role) with --target\n${USAGE}`,
    );
  let refs: string[];
  if (kind === "inline-policy") {
    if (roles.length || v.access)
      throw new UsageError(
        `--role and --access ask for access; --policy asks for a policy: not both\n${USAGE}`,
      );
    if (targets.length === 0) throw new UsageError(`--target is required\n${USAGE}`);
    refs = targets;
  } else {
    if (v.policy !== undefined)
      throw new UsageError(`access to a role takes no --policy; drop --role/--access for a policy\n${USAGE}`);
    if (targets.length && roles.length === 0 && !v.access && as !== "access")
      throw new UsageError(
        `--target needs --policy FILE, --attach POLICY, --group GROUP or --access\n${USAGE}`,
      );
    refs = [...roles, ...targets];
    if (refs.length === 0) throw new UsageError(`--role is required\n${USAGE}`);
  }
  const policy = kind === "inline-policy" ? readPolicy(required(v.policy, "--policy")) : undefined;
  const justification = required(v.justification, "--justification");
  const expiry = parseDuration(required(v.expires, "--expires"));
  return {
    kind,
    targets: refs,
    ...(policy !== undefined ? { policy } : {}),
    justification,
    expiry,
  } as const;
}

function timeoutSeconds(text: string | undefined): number {
  if (text === undefined) return parseTimeout(DEFAULT_TIMEOUT)!;
  const s = parseTimeout(text);
  if (s === null) throw new UsageError(`--timeout "${text}" is not a duration like 30s, 10m or 2h\n${USAGE}`);
  return s;
}

const requestPath = (id: string) => `/v1/requests/${encodeURIComponent(id)}`;

/** Wait for request `id`; print the outcome (and, on a terminal, progress); return the exit code. */
async function waitAndReport(
  id: string,
  timeout: number,
  json: boolean,
  label: string,
  created?: PermissionRequest,
): Promise<number> {
  const tty = process.stderr.isTTY === true;
  const outcome = await waitForRequest({
    timeoutMs: timeout * 1000,
    ...(created ? { initial: created } : {}),
    get: () => agent<PermissionRequest>("GET", requestPath(id)),
    ...(tty ? { progress: (r, e) => printError(progressLine(id, r, e)) } : {}),
  });
  const r = outcome.request;
  if (r) {
    if (json) printJson(r);
    else print(formatCreated(r));
  }
  if (outcome.kind === "timeout") {
    const states = r ? ` (${r.targets.map((t) => `${one(t.arn)} ${t.state}`).join(", ")})` : "";
    const last = outcome.lastError ? `; last error: ${one((outcome.lastError as Error).message)}` : "";
    printError(
      `gatehouse: request ${id}: still waiting after ${label}${states}${last}; \`gatehouse request wait ${id}\` goes on waiting [TIMEOUT]`,
    );
    return EXIT_TIMEOUT;
  }
  for (const line of notAppliedLines(outcome.request)) printError(line);
  return outcome.code;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = flags(
    argv,
    {
      target: { type: "string", multiple: true },
      role: { type: "string", multiple: true },
      access: { type: "boolean" },
      policy: { type: "string" },
      attach: { type: "string" },
      group: { type: "string" },
      justification: { type: "string" },
      expires: { type: "string" },
      reason: { type: "string" },
      comment: { type: "string" },
      approver: { type: "boolean" },
      delete: { type: "boolean" },
      keep: { type: "boolean" },
      json: { type: "boolean" },
      wait: { type: "boolean" },
      timeout: { type: "string" },
      limit: { type: "string" },
    },
    USAGE,
  );
  if (values.help) return helped(USAGE);
  const sub = positionals[0];
  const json = values.json === true;
  const out = (r: unknown, text: string) => (json ? printJson(r) : print(text));
  const noWait = () => {
    if (values.wait || values.timeout !== undefined)
      throw new UsageError(`--wait and --timeout go with create, policy, access and wait\n${USAGE}`);
  };

  switch (sub) {
    case "create":
    case "policy":
    case "access": {
      if (positionals.length !== 1) throw new UsageError(`unexpected argument "${positionals[1]}"\n${USAGE}`);
      if (values.timeout !== undefined && !values.wait)
        throw new UsageError(`--timeout goes with --wait\n${USAGE}`);
      const body = createBody(values, sub);
      const timeout = values.wait ? timeoutSeconds(values.timeout) : 0;
      if ("policy" in body && body.policy !== undefined) {
        const lint = await lintPolicy(body.policy);
        if (lint.findings.length) process.stderr.write(formatText(lint));
        if (!lint.valid) {
          printError("gatehouse: the policy has errors; fix them before asking for it [POLICY_REFUSED]");
          return 1;
        }
      }
      const r = await agent<PermissionRequest>("POST", "/v1/requests", body);
      if (!values.wait) {
        out(r, formatCreated(r));
        return 0;
      }
      // The id first (text), so that a person who stops waiting knows what to `request wait` on.
      if (!json) print(formatCreated(r));
      else if (process.stderr.isTTY) printError(`gatehouse: request ${one(r.id)} created`);
      return waitAndReport(r.id, timeout, json, values.timeout ?? DEFAULT_TIMEOUT, r);
    }
    case "from-error": {
      if (values.timeout !== undefined && !values.wait)
        throw new UsageError(`--timeout goes with --wait\n${USAGE}`);
      for (const flag of ["target", "role", "access", "policy", "attach", "group"] as const)
        if (values[flag] !== undefined)
          throw new UsageError(
            `from-error takes the target and policy from the error; drop --${flag}\n${USAGE}`,
          );
      const justification = required(values.justification, "--justification");
      const expiry = parseDuration(required(values.expires, "--expires"));
      const timeout = values.wait ? timeoutSeconds(values.timeout) : 0;
      const text = readErrorText(positionals.slice(1), USAGE);
      const { request: r } = await requestFromError(text, { justification, expiry, json });
      if (!r) return 1;
      if (!values.wait) {
        out(r, formatCreated(r));
        return 0;
      }
      if (!json) print(formatCreated(r));
      else if (process.stderr.isTTY) printError(`gatehouse: request ${one(r.id)} created`);
      return waitAndReport(r.id, timeout, json, values.timeout ?? DEFAULT_TIMEOUT, r);
    }
    case "wait": {
      if (values.wait) throw new UsageError(`wait waits already; drop --wait\n${USAGE}`);
      const id = oneId(positionals);
      return waitAndReport(id, timeoutSeconds(values.timeout), json, values.timeout ?? DEFAULT_TIMEOUT);
    }
    case "list": {
      noWait();
      if (positionals.length !== 1) throw new UsageError(`unexpected argument "${positionals[1]}"\n${USAGE}`);
      const { requests } = await agent<{ requests: PermissionRequest[] }>(
        "GET",
        `/v1/requests${values.approver ? "?role=approver" : ""}`,
      );
      out(requests, formatList(requests));
      return 0;
    }
    case "show": {
      noWait();
      const id = oneId(positionals);
      if (json) {
        printJson(await agent<PermissionRequest>("GET", requestPath(id)));
        return 0;
      }
      const [r, me] = await Promise.all([
        agent<PermissionRequest>("GET", requestPath(id)),
        agent<Me>("GET", "/v1/me"),
      ]);
      print(formatShow(r, await lintsOf(r, me)));
      return 0;
    }
    case "approve": {
      noWait();
      const id = oneId(positionals);
      const body: { policy?: string; expiresAt?: string; comment?: string } = {};
      if (values.policy !== undefined) body.policy = readPolicy(values.policy);
      if (values.expires !== undefined)
        body.expiresAt = new Date(Date.now() + parseDuration(values.expires) * 1000).toISOString();
      if (values.comment !== undefined) body.comment = values.comment;
      const r = await agent<PermissionRequest>("POST", `${requestPath(id)}/approve`, body);
      out(r, formatCreated(r));
      return 0;
    }
    case "reject": {
      noWait();
      const id = oneId(positionals);
      const reason = required(values.reason, "--reason");
      const r = await agent<PermissionRequest>("POST", `${requestPath(id)}/reject`, { reason });
      out(r, formatCreated(r));
      return 0;
    }
    case "cancel":
    case "retry": {
      noWait();
      const id = oneId(positionals);
      const r = await agent<PermissionRequest>("POST", `${requestPath(id)}/${sub}`, {});
      out(r, formatCreated(r));
      return 0;
    }
    case "targets": {
      noWait();
      const limit = values.limit === undefined ? 50 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500)
        throw new UsageError(`--limit is a number from 1 to 500\n${USAGE}`);
      const q = new URLSearchParams({ q: positionals.slice(1).join(" "), limit: String(limit) });
      const { targets } = await agent<{ targets: RequestTarget[] }>("GET", `/v1/targets?${q}`);
      out(targets, formatTargets(targets));
      return 0;
    }
    case "resolve": {
      noWait();
      const id = oneId(positionals);
      const n = Number(required(values.target?.[0], "--target"));
      if (!Number.isInteger(n) || n < 0 || (values.target?.length ?? 0) !== 1)
        throw new UsageError(
          `--target is one target's number (0, 1, …), as \`request show\` lists them\n${USAGE}`,
        );
      if (values.delete === values.keep) throw new UsageError(`give one of --delete and --keep\n${USAGE}`);
      const body = {
        action: values.delete ? "delete" : "keep",
        ...(values.comment ? { comment: values.comment } : {}),
      };
      const r = await agent<PermissionRequest>("POST", `${requestPath(id)}/targets/${n}/resolve`, body);
      out(r, formatCreated(r));
      return 0;
    }
    default:
      throw new UsageError(
        sub === undefined ? `name a subcommand\n${USAGE}` : `unknown subcommand "${sub}"\n${USAGE}`,
      );
  }
}
