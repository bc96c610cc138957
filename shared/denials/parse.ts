// Finds every AWS access-denied message in a text (one error, or a whole log) and reads it: pure, no I/O.

// AWS words its denials in a few ways (IAM User Guide, "Troubleshoot access denied error messages"):
//   User: P is not authorized to perform: A [on resource: R] because no TYPE allows the A action
//   User: P is not authorized to perform: A [on resource: R] with an explicit deny in a TYPE[: POLICY-ARN]
//   … with an explicit deny transitively through a TYPE
//   … [. Go to URL for complete details, or call the GetRequestAuthorizationDetails API with the following
//       authorization id: ID]                                                       (the newest form)
//   User: P is not authorized to perform: A [on resource: R]                     (older, no reason)
//   An error occurred (AccessDenied) when calling the GetObject operation: Access Denied         (S3)
//   You are not authorized to perform this operation. Encoded authorization failure message: …  (EC2)
// Messages wrap in logs and terminals, so any run of white space stands for one space. The scan looks for
// the fixed phrase with indexOf and reads each match with anchored (sticky) expressions, so a long log costs
// one pass and no expression can backtrack across it.

import { z } from "zod";
import { GatehouseError } from "../errors.ts";
import { type Denial, type DenialCause, POLICY_TYPES, type PolicyType } from "./types.ts";

const PHRASE = /\bis\s+not\s+authori[sz]ed\s+to\s+perform\b/g;
const TYPE_ALTERNATIVES = Object.entries(POLICY_TYPES)
  .map(([, t]) => t.phrase.replace(/[-]/g, "\\-").split(" ").join("\\s+"))
  .join("|");
const TYPE_BY_PHRASE = new Map(
  Object.entries(POLICY_TYPES).map(([k, t]) => [t.phrase.toLowerCase(), k as PolicyType]),
);

/**
 * After "perform": the action, then an optional resource (quoted, as S3 writes it, or bare). AWS names the
 * one action it evaluated, never a wildcard: `iam:*` in a "denial" is a made-up text, and is not read.
 */
const ACTION = /:?\s+([A-Za-z0-9-]+:[A-Za-z0-9]+)(?![*?\w:-])/y;
/** IAM names some resources by kind and name ("on resource: role Deploy"): kept as "role Deploy". */
const RESOURCE =
  /\s+on\s+(?:resource:?\s*(?:"([^"\n]*)"|((?:role|user|group|policy|instance-profile)\s+[\w+=,.@-]+(?=\s+(?:because|with)\b))|([^\s"]+))|(the\s+resource\s+associated\s+with\s+this\s+ciphertext))/y;
const IMPLICIT = new RegExp(
  `\\s*(?:because|with\\s+an\\s+implicit\\s+deny\\s+in)\\s+(?:no\\s+|a\\s+|an\\s+)?(${TYPE_ALTERNATIVES})(?:\\s+allows\\s+the\\s+\\S+\\s+action)?`,
  "iy",
);
const EXPLICIT = new RegExp(
  `\\s*with\\s+an\\s+explicit\\s+deny\\s+(in|transitively\\s+through)\\s+(?:a|an|the)\\s+(${TYPE_ALTERNATIVES})(?::\\s*(arn:[^\\s,;]+))?`,
  "iy",
);
/** KMS: "…on the resource associated with this ciphertext because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access". */
const KMS_REASON = /\s*because\s+the\s+resource\s+does\s+not\s+exist[^.]*?resource-based\s+polic/iy;
/** The newest form's id, within a few hundred characters after the reason (AWS writes it in lower case). */
const AUTHORIZATION_ID = /authorization\s+id:\s*([A-Za-z0-9_-]{6,200})/y;
const AUTHORIZATION_ID_WINDOW = 600;
/** How far from a match the surrounding "line" is looked for: a one-line log of megabytes stays linear. */
const LINE_WINDOW = 1000;
const ENCODED = /Encoded\s+authorization\s+failure\s+message:\s*([A-Za-z0-9_+/=-]{8,})/g;
const OPERATION = /when\s+calling\s+the\s+(\w+)\s+operation/g;
/** S3's short form (and the SDKs' renderings of it); it names neither principal nor action. */
const BARE = /\bAccess\s+Denied\b(?!\s+error)/g;

const collapse = (s: string) => s.replace(/\s+/g, " ").trim();

/** The line around index `i`, at most LINE_WINDOW characters each way. */
function lineAround(text: string, i: number): [number, number] {
  const from = Math.max(0, i - LINE_WINDOW);
  const start = text.slice(from, i).lastIndexOf("\n");
  const end = text.slice(i, i + LINE_WINDOW).indexOf("\n");
  return [start < 0 ? from : from + start + 1, end < 0 ? Math.min(text.length, i + LINE_WINDOW) : i + end];
}
/** A trailing period or comma belongs to the sentence, not to the ARN. */
const trimArn = (s: string) => s.replace(/[.,;)]+$/, "");

function fixerOf(cause: DenialCause, type: PolicyType | null): string {
  if (cause === "encoded")
    return "nobody yet: the reason is encoded; decode it with `aws sts decode-authorization-message` (needs sts:DecodeAuthorizationMessage)";
  if (cause === "unspecified" || type === null)
    return "an IAM administrator: the message does not say which policy denied it (CloudTrail or IAM's Access Troubleshooter can)";
  const t = POLICY_TYPES[type];
  if (cause === "explicit" && "explicitFixer" in t) return t.explicitFixer;
  return t.fixer;
}

function denial(fields: Partial<Denial> & Pick<Denial, "text" | "cause">): Denial {
  const d: Denial = {
    principal: null,
    action: null,
    resource: null,
    operation: null,
    policyType: null,
    transitive: false,
    policyArn: null,
    authorizationId: null,
    encoded: null,
    fixable: false,
    fixer: "",
    ...fields,
  };
  d.fixable = d.cause === "implicit" && d.policyType === "identity-based" && d.action !== null;
  d.fixer = fixerOf(d.cause, d.policyType);
  return d;
}

/** The principal: the word before the phrase ("User: ARN" or, in some services, the ARN alone). */
function principalBefore(text: string, at: number): { principal: string | null; start: number } {
  let end = at;
  while (end > 0 && /\s/.test(text[end - 1]!)) end--;
  let start = end;
  while (start > 0 && !/\s/.test(text[start - 1]!)) start--;
  if (start === end) return { principal: null, start: at };
  const word = text.slice(start, end).replace(/^["'(]+/, "");
  // "User: arn:…" — the label is part of the message; start the quoted text there.
  let label = start;
  while (label > 0 && /\s/.test(text[label - 1]!)) label--;
  if (text.slice(Math.max(0, label - 5), label).toLowerCase() === "user:") label -= 5;
  else label = start;
  return { principal: word, start: label };
}

/** Where the operation named by the CLI wrapper before `at` (on the same line), if any. */
function operationBefore(text: string, at: number): string | null {
  const [lineStart] = lineAround(text, at);
  const before = text.slice(lineStart, at);
  let found: string | null = null;
  OPERATION.lastIndex = 0;
  for (let m = OPERATION.exec(before); m; m = OPERATION.exec(before)) found = m[1]!;
  return found;
}

/** Every "is not authorized to perform" denial, in order. */
function authorizationDenials(text: string): { denial: Denial; start: number; end: number }[] {
  const found: { denial: Denial; start: number; end: number }[] = [];
  const phrases: [number, number][] = [];
  PHRASE.lastIndex = 0;
  for (let m = PHRASE.exec(text); m; m = PHRASE.exec(text)) phrases.push([m.index, m.index + m[0].length]);
  for (const [k, [index, after]] of phrases.entries()) {
    const m = { index };
    const nextStart = phrases[k + 1]?.[0] ?? text.length;
    let at = after;
    ACTION.lastIndex = at;
    const action = ACTION.exec(text);
    // "You are not authorized to perform this operation" (EC2) names no action: the encoded scan takes it.
    if (!action) continue;
    at = ACTION.lastIndex;
    const { principal, start } = principalBefore(text, m.index);
    let resource: string | null = null;
    RESOURCE.lastIndex = at;
    const r = RESOURCE.exec(text);
    if (r) {
      resource = r[1] ?? (r[2] ? collapse(r[2]) : r[3] ? trimArn(r[3]) : null);
      at = RESOURCE.lastIndex;
    }
    let cause: DenialCause = "unspecified";
    let policyType: PolicyType | null = null;
    let transitive = false;
    let policyArn: string | null = null;
    EXPLICIT.lastIndex = at;
    IMPLICIT.lastIndex = at;
    KMS_REASON.lastIndex = at;
    const ex = EXPLICIT.exec(text);
    if (ex) {
      cause = "explicit";
      transitive = ex[1]!.toLowerCase() !== "in";
      policyType = TYPE_BY_PHRASE.get(collapse(ex[2]!).toLowerCase()) ?? null;
      policyArn = ex[3] ? trimArn(ex[3]) : null;
      at = EXPLICIT.lastIndex;
    } else {
      const im = IMPLICIT.exec(text);
      if (im) {
        cause = "implicit";
        policyType = TYPE_BY_PHRASE.get(collapse(im[1]!).toLowerCase()) ?? null;
        at = IMPLICIT.lastIndex;
      } else if (KMS_REASON.exec(text)) {
        // KMS will not say which of its three reasons: all are the key owner's to fix.
        cause = "unspecified";
        policyType = "resource-based";
        at = KMS_REASON.lastIndex;
      }
    }
    let authorizationId: string | null = null;
    // Only before the next denial and within one paragraph: an id further on belongs to another message.
    const window = text.slice(at, Math.min(nextStart, at + AUTHORIZATION_ID_WINDOW));
    const idAt = window.indexOf("authorization id:");
    if (idAt >= 0 && !/\n\s*\n/.test(window.slice(0, idAt))) {
      AUTHORIZATION_ID.lastIndex = at + idAt;
      const id = AUTHORIZATION_ID.exec(text);
      if (id && AUTHORIZATION_ID.lastIndex <= nextStart) {
        authorizationId = id[1]!;
        at = AUTHORIZATION_ID.lastIndex;
      }
    }
    found.push({
      start,
      end: at,
      denial: denial({
        text: collapse(text.slice(start, at)),
        principal,
        action: action[1]!,
        resource: resource ?? (r?.[4] ? "the resource associated with this ciphertext" : null),
        operation: operationBefore(text, start),
        cause,
        policyType,
        transitive,
        policyArn,
        authorizationId,
      }),
    });
  }
  return found;
}

/**
 * Every AWS access-denied message in `text`, in the order they appear. A text with none gives []. EC2's
 * encoded message rides on the denial it follows when the same error also names one; alone it is a denial
 * of cause `encoded`. S3's bare "Access Denied" is a denial that names nothing.
 */
export function parseDenials(text: string): Denial[] {
  const spans = authorizationDenials(text);
  const out: { at: number; denial: Denial }[] = spans.map((s) => ({ at: s.start, denial: s.denial }));
  const covered = (i: number) => spans.some((s) => i >= s.start && i < s.end);
  ENCODED.lastIndex = 0;
  for (let m = ENCODED.exec(text); m; m = ENCODED.exec(text)) {
    // Attached to a denial on the same line just before it (EC2's newer messages carry both).
    const [lineStart, lineEnd] = lineAround(text, m.index);
    const owner = [...spans].reverse().find((s) => s.start >= lineStart && s.end <= m!.index);
    if (owner) {
      owner.denial.encoded = m[1]!;
      continue;
    }
    out.push({
      at: m.index,
      denial: denial({
        text: collapse(text.slice(lineStart, lineEnd)),
        operation: operationBefore(text, m.index),
        cause: "encoded",
        encoded: m[1]!,
      }),
    });
  }
  BARE.lastIndex = 0;
  for (let m = BARE.exec(text); m; m = BARE.exec(text)) {
    if (covered(m.index)) continue;
    const [lineStart, lineEnd] = lineAround(text, m.index);
    const line = text.slice(lineStart, lineEnd);
    // One per line: the SDKs repeat it ("AccessDenied: Access Denied").
    if (out.some((o) => o.at >= lineStart && o.at < lineStart + line.length)) continue;
    out.push({
      at: m.index,
      denial: denial({
        text: collapse(line),
        operation: operationBefore(text, m.index),
        cause: "unspecified",
      }),
    });
  }
  return out.sort((a, b) => a.at - b.at).map((o) => o.denial);
}

/** AWS's decoded authorization message (sts:DecodeAuthorizationMessage), the fields a denial needs. */
const decodedMessageSchema = z.object({
  allowed: z.boolean(),
  explicitDeny: z.boolean(),
  context: z.object({
    principal: z.object({ arn: z.string().min(1).max(2048) }),
    action: z.string().min(1).max(256),
    resource: z.string().min(1).max(2048),
  }),
});
export type DecodedMessage = z.infer<typeof decodedMessageSchema>;

/** The decoded JSON text as AWS returns it, or null when it is not that shape. */
export function parseDecodedMessage(json: string): DecodedMessage | null {
  try {
    const r = decodedMessageSchema.safeParse(JSON.parse(json));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/**
 * An encoded denial made whole from its decoded message: the principal, action and resource it names.
 * The decoded message says only whether a Deny matched; without one the call lacked an Allow, which a
 * request on the role or user fixes (the same reading `aws sts decode-authorization-message` users make).
 */
export function denialFromDecoded(encoded: Denial, m: DecodedMessage): Denial {
  return denial({
    text: encoded.text,
    operation: encoded.operation,
    encoded: encoded.encoded,
    principal: m.context.principal.arn,
    action: m.context.action,
    resource: m.context.resource,
    cause: m.explicitDeny ? "explicit" : "implicit",
    policyType: m.explicitDeny ? null : "identity-based",
  });
}

/**
 * The denials with every `encoded` one replaced by what its decoded message says. `decode` is the broker's
 * POST /v1/denials/decode (the decoded JSON text); its refusals (DENIAL_UNDECODABLE, FORBIDDEN) propagate:
 * a message nobody could read drafts nothing.
 */
export async function decodeDenials(
  denials: readonly Denial[],
  decode: (encoded: string) => Promise<string>,
): Promise<Denial[]> {
  const out: Denial[] = [];
  for (const d of denials) {
    if (d.cause !== "encoded" || d.encoded === null) {
      out.push(d);
      continue;
    }
    const m = parseDecodedMessage(await decode(d.encoded));
    if (!m)
      throw new GatehouseError(
        "DENIAL_UNDECODABLE",
        "the decoded message is not AWS's authorization-failure shape",
      );
    out.push(denialFromDecoded(d, m));
  }
  return out;
}
