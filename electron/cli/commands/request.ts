// `gatehouse request …`: ask for permissions (an inline policy, or access to a role), follow the requests,
// and, as an approver, approve or reject them. Everything goes through the agent to the broker.

import { lintPolicy } from "../../../shared/policy-lint.ts";
import type { PermissionRequest } from "../../../shared/requests.ts";
import { agent, flags, helped, UsageError } from "../io.ts";
import { formatText, readPolicy } from "./policy.ts";

export const USAGE = `usage: gatehouse request <subcommand>

  policy --target ARN [--target ARN…] --policy FILE --justification TEXT --expires DURATION
                                    ask for an inline policy on roles or users (linted here first)
  access --role ROLE --justification TEXT --expires DURATION
                                    ask for access to a role
  list [--approver] [--json]        your requests (or, with --approver, those you may approve)
  show ID [--json]                  a request: its targets, states, approvals and any edit's diff
  approve ID [--policy FILE] [--expires DURATION]
                                    approve (optionally with an edited policy or another expiry)
  reject ID --reason TEXT           reject a request
  cancel ID                         cancel your request
  retry ID                          apply a failed request again

DURATION is a number and a unit (m, h, d, w), from 1h to 90d: 8h, 7d.`;

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
      t.error ? `${t.error.message} [${t.error.code}]` : null,
      t.drift ? `drift: ${t.drift}` : null,
    ].filter(Boolean);
    return `  ${t.arn}  ${t.state}${extra.length ? `  (${extra.join("; ")})` : ""}`;
  });
}

export function formatCreated(r: PermissionRequest): string {
  return `Request ${r.id} (${r.kind})\n${targetLines(r).join("\n")}\n`;
}

export function formatShow(r: PermissionRequest): string {
  const lines = [
    `Request ${r.id} (${r.kind})`,
    `Requester: ${r.requester.email}`,
    `Created: ${r.createdAt}`,
    `Expiry: ${r.expirySeconds === null ? "permanent" : `${r.expirySeconds / 3600}h`}`,
    `Justification: ${r.justification}`,
    "Targets:",
    ...targetLines(r),
  ];
  if (r.approvals.length) {
    lines.push("Approvals:");
    for (const a of r.approvals) {
      const target = r.targets.find((t) => t.n === a.target)?.arn ?? `#${a.target}`;
      lines.push(`  ${a.approver} approved ${target} at ${a.time}${a.comment ? `: ${a.comment}` : ""}`);
      if (a.diff)
        lines.push("  The approver changed the policy:", ...a.diff.split("\n").map((l) => `    ${l}`));
    }
  }
  return `${lines.join("\n")}\n`;
}

export function formatList(requests: PermissionRequest[]): string {
  if (requests.length === 0) return "No requests.\n";
  return `${requests
    .map((r) => {
      const states = [...new Set(r.targets.map((t) => t.state))].join(",");
      return `${r.id}  ${r.kind.padEnd(13)}  ${states.padEnd(9)}  ${r.requester.email}  ${r.createdAt}  ${r.targets.map((t) => t.arn).join(" ")}`;
    })
    .join("\n")}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = flags(
    argv,
    {
      target: { type: "string", multiple: true },
      role: { type: "string" },
      policy: { type: "string" },
      justification: { type: "string" },
      expires: { type: "string" },
      reason: { type: "string" },
      approver: { type: "boolean" },
      json: { type: "boolean" },
    },
    USAGE,
  );
  if (values.help) return helped(USAGE);
  const sub = positionals[0];
  const out = (r: unknown, text: string) =>
    process.stdout.write(values.json ? `${JSON.stringify(r, null, 2)}\n` : text);

  switch (sub) {
    case "policy": {
      if (positionals.length !== 1) throw new UsageError(`unexpected argument "${positionals[1]}"\n${USAGE}`);
      const targets = values.target ?? [];
      if (targets.length === 0) throw new UsageError(`--target is required\n${USAGE}`);
      const policy = readPolicy(required(values.policy, "--policy"));
      const justification = required(values.justification, "--justification");
      const expiry = parseDuration(required(values.expires, "--expires"));
      const lint = await lintPolicy(policy);
      if (lint.findings.length) process.stderr.write(formatText(lint));
      if (!lint.valid) {
        console.error("gatehouse: the policy has errors; fix them before asking for it [POLICY_REFUSED]");
        return 1;
      }
      const r = await agent<PermissionRequest>("POST", "/v1/requests", {
        kind: "inline-policy",
        targets,
        policy,
        justification,
        expiry,
      });
      out(r, formatCreated(r));
      return 0;
    }
    case "access": {
      if (positionals.length !== 1) throw new UsageError(`unexpected argument "${positionals[1]}"\n${USAGE}`);
      const role = required(values.role, "--role");
      const justification = required(values.justification, "--justification");
      const expiry = parseDuration(required(values.expires, "--expires"));
      const r = await agent<PermissionRequest>("POST", "/v1/requests", {
        kind: "role-access",
        targets: [role],
        justification,
        expiry,
      });
      out(r, formatCreated(r));
      return 0;
    }
    case "list": {
      if (positionals.length !== 1) throw new UsageError(`unexpected argument "${positionals[1]}"\n${USAGE}`);
      const { requests } = await agent<{ requests: PermissionRequest[] }>(
        "GET",
        `/v1/requests${values.approver ? "?role=approver" : ""}`,
      );
      out(requests, formatList(requests));
      return 0;
    }
    case "show": {
      const r = await agent<PermissionRequest>(
        "GET",
        `/v1/requests/${encodeURIComponent(oneId(positionals))}`,
      );
      out(r, formatShow(r));
      return 0;
    }
    case "approve": {
      const id = oneId(positionals);
      const body: { policy?: string; expiresAt?: string } = {};
      if (values.policy !== undefined) body.policy = readPolicy(values.policy);
      if (values.expires !== undefined)
        body.expiresAt = new Date(Date.now() + parseDuration(values.expires) * 1000).toISOString();
      const r = await agent<PermissionRequest>(
        "POST",
        `/v1/requests/${encodeURIComponent(id)}/approve`,
        body,
      );
      out(r, formatCreated(r));
      return 0;
    }
    case "reject": {
      const id = oneId(positionals);
      const reason = required(values.reason, "--reason");
      const r = await agent<PermissionRequest>("POST", `/v1/requests/${encodeURIComponent(id)}/reject`, {
        reason,
      });
      out(r, formatCreated(r));
      return 0;
    }
    case "cancel":
    case "retry": {
      const id = oneId(positionals);
      const r = await agent<PermissionRequest>("POST", `/v1/requests/${encodeURIComponent(id)}/${sub}`, {});
      out(r, formatCreated(r));
      return 0;
    }
    default:
      throw new UsageError(
        sub === undefined ? `name a subcommand\n${USAGE}` : `unknown subcommand "${sub}"\n${USAGE}`,
      );
  }
}
