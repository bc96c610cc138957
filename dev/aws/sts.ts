// STS (2011-06-15) in the emulator: AssumeRole with AWS's validation, trust evaluation, chaining
// limits, session tags and source identity; GetCallerIdentity; DecodeAuthorizationMessage.

import { randomBytes } from "node:crypto";
import { decodeAuthorizationMessage } from "./authorization-message.ts";
import { authorize, callerContext, identityDecision } from "./authorize.ts";
import { AwsError, accessDenied, checkField, constraint, validation } from "./errors.ts";
import type { Handler } from "./handler.ts";
import { findManagedPolicy } from "./managed-policies.ts";
import { assumedRoleArn, randomAccessKeyId, randomSecret, roleArn, type Session, type Tag } from "./model.ts";
import { type Context, evaluateTrust, parsePolicy } from "./policy.ts";

export const STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/";
export const STS_VERSION = "2011-06-15";

const NAME_RE = /^[\w+=,.@-]*$/;
const ROLE_ARN_RE = /^arn:aws:iam::(\d{12}):role(\/(?:[\u0021-\u007E]*\/)?)([\w+=,.@-]{1,64})$/;
const TAG_RE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const CHAINING_LIMIT = 3600;
// AWS's documented character sets for RoleArn and Policy, tab/newline/CR included on purpose.
// biome-ignore lint/suspicious/noControlCharactersInRegex: AWS's own pattern
const ARN_CHARS = /^[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD]+$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: AWS's own pattern
const POLICY_CHARS = /^[\u0009\u000A\u000D\u0020-\u00FF]+$/;

export const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

function checkName(field: string, value: string, min: number, max: number, re = NAME_RE): void {
  checkField(field, value, min, max, re);
}

export function checkTags(tags: Record<string, string>[], field: string): Tag[] {
  const out: Tag[] = [];
  const seen = new Set<string>();
  for (const [i, t] of tags.entries()) {
    const Key = t.Key;
    const Value = t.Value ?? "";
    if (Key === undefined)
      throw validation(
        `1 validation error detected: Value null at '${field}.${i + 1}.member.key' failed to satisfy constraint: Member must not be null`,
      );
    checkName(`${field}.${i + 1}.member.key`, Key, 1, 128, TAG_RE);
    checkName(`${field}.${i + 1}.member.value`, Value, 0, 256, TAG_RE);
    if (Key.toLowerCase().startsWith("aws:"))
      throw new AwsError("InvalidInput", 400, "Tag keys must not begin with 'aws:'.");
    if (seen.has(Key.toLowerCase())) {
      throw new AwsError(
        "InvalidInput",
        400,
        "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
      );
    }
    seen.add(Key.toLowerCase());
    out.push({ Key, Value });
  }
  return out;
}

const assumeRole: Handler = ({ params, caller, world, now }) => {
  const arn = params.required("RoleArn");
  const sessionName = params.required("RoleSessionName");
  checkName("roleArn", arn, 20, 2048, ARN_CHARS);
  checkName("roleSessionName", sessionName, 2, 64);
  const requested = params.int("DurationSeconds", 900, 43200);
  const externalId = params.optional("ExternalId");
  if (externalId !== undefined) checkName("externalId", externalId, 2, 1224, /^[\w+=,.@:/-]*$/);
  const sourceIdentity = params.optional("SourceIdentity");
  if (sourceIdentity !== undefined) {
    checkName("sourceIdentity", sourceIdentity, 2, 64);
    if (sourceIdentity.toLowerCase().startsWith("aws:"))
      throw validation("SourceIdentity must not begin with 'aws:'");
  }
  const requestTags = checkTags(params.structs("Tags") ?? [], "tags");
  if (requestTags.length > 50)
    throw constraint(
      "tags",
      `${requestTags.length} tags`,
      "Member must have length less than or equal to 50",
    );
  const transitive = params.list("TransitiveTagKeys") ?? [];
  if (transitive.length > 50)
    throw constraint(
      "transitiveTagKeys",
      `${transitive.length} keys`,
      "Member must have length less than or equal to 50",
    );
  for (const k of transitive) {
    if (!requestTags.some((t) => t.Key.toLowerCase() === k.toLowerCase())) {
      throw new AwsError(
        "InvalidParameterValue",
        400,
        "The specified transitive tag key must be included in the requested tags.",
      );
    }
  }
  const policyText = params.optional("Policy");
  if (policyText !== undefined) {
    checkName("policy", policyText, 1, 2048, POLICY_CHARS);
    parsePolicy(policyText, "session");
  }
  const policyArns = (params.structs("PolicyArns") ?? []).map((p) => p.arn ?? "");
  if (policyArns.length > 10)
    throw constraint(
      "policyArns",
      `${policyArns.length} ARNs`,
      "Member must have length less than or equal to 10",
    );

  const parent = caller.session;
  const chained = parent !== undefined;
  // Transitive tags of the calling session carry over and may not be overridden.
  const inherited = parent
    ? parent.tags.filter((t) => parent.transitiveTagKeys.some((k) => k.toLowerCase() === t.Key.toLowerCase()))
    : [];
  for (const t of requestTags) {
    if (inherited.some((i) => i.Key.toLowerCase() === t.Key.toLowerCase())) {
      throw new AwsError(
        "InvalidParameterValue",
        400,
        "One or more of the specified tag keys conflict with transitive session tags.",
      );
    }
  }
  const tags = [...inherited, ...requestTags];
  const transitiveKeys = [...inherited.map((t) => t.Key), ...transitive];
  if (parent?.sourceIdentity && sourceIdentity !== undefined && sourceIdentity !== parent.sourceIdentity) {
    throw accessDenied("Source identity cannot be changed once it is set in a role session.");
  }
  const effectiveSourceIdentity = parent?.sourceIdentity ?? sourceIdentity;

  const denied = () =>
    accessDenied(`User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${arn}`);
  const m = ROLE_ARN_RE.exec(arn);
  if (!m) throw validation(`${arn} is not a valid role ARN`);
  const [, accountId, path, roleName] = m as unknown as [string, string, string, string];
  const account = world.accounts.get(accountId);
  const role = account?.roles.get(roleName.toLowerCase());
  // A missing role is indistinguishable from a role that does not trust the caller.
  if (!account || !role || role.path !== path || role.name !== roleName) throw denied();

  const context: Context = {
    ...callerContext(caller),
    "sts:RoleSessionName": sessionName,
    "aws:TagKeys": tags.map((t) => t.Key),
  };
  if (externalId !== undefined) context["sts:ExternalId"] = externalId;
  if (effectiveSourceIdentity !== undefined) context["sts:SourceIdentity"] = effectiveSourceIdentity;
  for (const t of tags) context[`aws:RequestTag/${t.Key}`] = t.Value;
  const trust = parsePolicy(role.trustPolicy, "trust");
  const actions = ["sts:AssumeRole"];
  if (tags.length > 0) actions.push("sts:TagSession");
  if (effectiveSourceIdentity !== undefined) actions.push("sts:SetSourceIdentity");
  const sameAccount = caller.account.id === accountId;
  for (const action of actions) {
    const t = evaluateTrust(trust, { arn: caller.principalArn, account: caller.account.id }, action, context);
    const id = identityDecision(caller, action, roleArn(accountId, role), context);
    const ok =
      t !== "deny" &&
      id !== "deny" &&
      ((t === "specific" && sameAccount) || (t !== "implicit" && id === "allow"));
    if (!ok) {
      throw accessDenied(`User: ${caller.arn} is not authorized to perform: ${action} on resource: ${arn}`);
    }
  }

  const duration = requested ?? 3600;
  if (chained && duration > CHAINING_LIMIT) {
    throw validation(
      "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    );
  }
  if (duration > role.maxSessionDuration) {
    throw validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
  }
  for (const p of policyArns) {
    if (!findManagedPolicy(account, p))
      throw new AwsError("InvalidParameterValue", 400, `Policy ${p} does not exist or is not attachable.`);
  }
  const tagBytes = tags.reduce((n, t) => n + t.Key.length + t.Value.length, 0);
  // AWS packs the session policy and tags into a compressed blob; this approximates its share in percent.
  const policyBytes = policyText ? JSON.stringify(JSON.parse(policyText)).length : 0;
  const packed = Math.ceil(100 * (policyBytes / 2048 + tagBytes / 8192));
  if (packed > 100) {
    throw new AwsError(
      "PackedPolicyTooLarge",
      400,
      `Packed policy consumes ${packed}% of allotted space, please use smaller policy for this request.`,
    );
  }

  const session: Session = {
    accessKeyId: randomAccessKeyId("ASIA"),
    secretAccessKey: randomSecret(),
    sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(180).toString("base64")}`,
    expiration: now + duration * 1000,
    account: accountId,
    roleName: role.name,
    rolePath: role.path,
    roleId: role.id,
    sessionName,
    tags,
    transitiveTagKeys: transitiveKeys,
    chained,
    issuedAt: now,
    ...(effectiveSourceIdentity !== undefined ? { sourceIdentity: effectiveSourceIdentity } : {}),
    ...(policyText !== undefined ? { sessionPolicy: policyText } : {}),
  };
  world.sessions.set(session.accessKeyId, session);
  return {
    Credentials: {
      AccessKeyId: session.accessKeyId,
      SecretAccessKey: session.secretAccessKey,
      SessionToken: session.sessionToken,
      Expiration: isoSeconds(session.expiration),
    },
    AssumedRoleUser: { AssumedRoleId: `${role.id}:${sessionName}`, Arn: assumedRoleArn(session) },
    PackedPolicySize: policyText !== undefined || tags.length > 0 ? packed : undefined,
    SourceIdentity: effectiveSourceIdentity,
  };
};

const getCallerIdentity: Handler = ({ caller }) => ({
  UserId: caller.userId,
  Account: caller.account.id,
  Arn: caller.arn,
});

/** Only a principal allowed sts:DecodeAuthorizationMessage may read why another call was denied. */
const decodeMessage: Handler = ({ params, caller, world }) => {
  const encoded = params.required("EncodedMessage");
  authorize(caller, "sts:DecodeAuthorizationMessage", "*");
  return { DecodedMessage: decodeAuthorizationMessage(world, encoded) };
};

export const STS_HANDLERS: Record<string, Handler> = {
  AssumeRole: assumeRole,
  DecodeAuthorizationMessage: decodeMessage,
  GetCallerIdentity: getCallerIdentity,
};
