// `gatehouse request from-error [TEXT | -]`: an AWS access-denied error (or a log of them) becomes one
// inline-policy request on the role or user that was denied, or a refusal saying who can fix it.

import { readFileSync } from "node:fs";
import type { DecodeDenialResponse, RequestTarget } from "../../../shared/api.ts";
import { iamDataActionFacts } from "../../../shared/denials/catalogue.ts";
import {
  type Draft,
  draftFromDenials,
  type ManagedTarget,
  principalRef,
} from "../../../shared/denials/draft.ts";
import { decodeDenials, parseDenials } from "../../../shared/denials/parse.ts";
import { lintPolicy } from "../../../shared/policy-lint.ts";
import type { PermissionRequest } from "../../../shared/requests.ts";
import { AgentError } from "../agent-client.mjs";
import { agent, one, print, printError, UsageError } from "../io.ts";
import { formatText } from "./policy.ts";

/** A log pasted or piped: generous, but not a whole disk. */
const MAX_TEXT = 1024 * 1024;

export interface FromErrorInput {
  /** The error text; undefined or "-" means standard input. Several words are one text (an unquoted paste). */
  words: string[];
  justification: string;
  expiry: number;
  json: boolean;
}

/** The text to parse: the words given, or standard input for none or `-`. */
export function readErrorText(
  words: string[],
  usage: string,
  stdin: () => string = () => readFileSync(0, "utf8"),
): string {
  const text = words.length === 0 || (words.length === 1 && words[0] === "-") ? stdin() : words.join(" ");
  if (Buffer.byteLength(text) > MAX_TEXT)
    throw new UsageError(
      `the error text is larger than ${MAX_TEXT / 1024} KiB; paste the lines with the errors\n${usage}`,
    );
  if (text.trim() === "")
    throw new UsageError(`give the error text, or - to read it from standard input\n${usage}`);
  return text;
}

/**
 * The roles and users named by the denials that Gatehouse manages, from the broker's target search. Where the
 * broker lists targets only to approvers (FORBIDDEN), the principal's own ARN is offered and the broker, which
 * resolves every target of a request, refuses it if it manages no such role or user.
 */
async function managedTargets(refs: ReturnType<typeof principalRef>[]): Promise<ManagedTarget[]> {
  const out: ManagedTarget[] = [];
  for (const ref of new Set(refs.filter((r) => r !== null).map((r) => JSON.stringify(r)))) {
    const r = JSON.parse(ref) as NonNullable<ReturnType<typeof principalRef>>;
    try {
      const q = new URLSearchParams({ q: r.name, limit: "500" });
      const { targets } = await agent<{ targets: RequestTarget[] }>("GET", `/v1/targets?${q}`);
      out.push(...targets);
    } catch (e) {
      if (!(e instanceof AgentError && e.code === "FORBIDDEN")) throw e;
      out.push({ ...r, arn: `arn:${r.partition}:iam::${r.accountId}:${r.type}/${r.name}` });
    }
  }
  return out;
}

export function formatDraft(d: Draft): string {
  const lines = [
    `From ${d.denials.length} denial${d.denials.length === 1 ? "" : "s"}: ${one(d.target.arn)}`,
    `Actions: ${d.actions.map(one).join(", ")}${d.dependent.length ? ` (dependent, added: ${d.dependent.map(one).join(", ")})` : ""}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** Parse, draft, lint, create. Returns the request (undefined if the lint refused it) and the draft. */
export async function requestFromError(
  text: string,
  input: Omit<FromErrorInput, "words">,
): Promise<{ request?: PermissionRequest; draft: Draft }> {
  // EC2's encoded messages are decoded by the broker first; a forged one, or one the person may not read, stops here.
  const denials = await decodeDenials(parseDenials(text), async (encoded) => {
    const out = await agent<DecodeDenialResponse>("POST", "/v1/denials/decode", { encoded });
    return out.decoded;
  });
  const targets = await managedTargets(
    denials.filter((d) => d.fixable).map((d) => principalRef(d.principal)),
  );
  const draft = await draftFromDenials(denials, targets, iamDataActionFacts);
  for (const r of draft.refused)
    printError(
      `gatehouse: not requested: ${one(r.denial.action ?? r.denial.operation ?? "a call")}: ${one(r.reason)}; who can fix it: ${one(r.denial.fixer)}`,
    );
  const policy = JSON.stringify(draft.policy, null, 2);
  const lint = await lintPolicy(policy);
  if (lint.findings.length) process.stderr.write(formatText(lint));
  if (!lint.valid) {
    printError("gatehouse: the drafted policy has errors; nothing was requested [POLICY_REFUSED]");
    return { draft };
  }
  if (!input.json) print(formatDraft(draft));
  const request = await agent<PermissionRequest>("POST", "/v1/requests", {
    kind: "inline-policy",
    targets: [draft.target.arn],
    policy,
    justification: input.justification,
    expiry: input.expiry,
  });
  return { request, draft };
}
