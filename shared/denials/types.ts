// What a parsed AWS access-denied message is: the schema, and the policy types AWS names with who can fix each.

import { z } from "zod";

/**
 * The policy types AWS names in its denial messages. The phrase is AWS's wording (matched with any run of
 * white space between words, as logs wrap lines); `fixer` is who can change that kind of policy.
 */
export const POLICY_TYPES = {
  "identity-based": {
    phrase: "identity-based policy",
    fixer: "an approver, through a Gatehouse request (an inline policy on the role or user)",
    explicitFixer:
      "the IAM administrators who wrote the Deny in the role's or user's policies: a request adds an Allow, and a Deny always wins",
  },
  "resource-based": {
    phrase: "resource-based policy",
    fixer:
      "the owner of the resource, in its resource policy (bucket policy, key policy, queue or topic policy…)",
  },
  "permissions-boundary": {
    phrase: "permissions boundary",
    fixer: "the IAM administrators who set the role's or user's permissions boundary",
  },
  session: {
    phrase: "session policy",
    fixer: "whoever created the session with a session policy: sign in again without it, or have it widened",
  },
  scp: {
    phrase: "service control policy",
    fixer: "the organisation's administrators, in AWS Organizations (service control policies)",
  },
  rcp: {
    phrase: "resource control policy",
    fixer: "the organisation's administrators, in AWS Organizations (resource control policies)",
  },
  "vpc-endpoint": {
    phrase: "VPC endpoint policy",
    fixer: "the network administrators who own the VPC endpoint's policy",
  },
} as const;

export type PolicyType = keyof typeof POLICY_TYPES;
export const policyTypeSchema = z.enum(Object.keys(POLICY_TYPES) as [PolicyType, ...PolicyType[]]);

/**
 * Why AWS refused. Only `implicit` with policy type `identity-based` can be fixed by a request.
 * - `implicit`: "because no TYPE allows the ACTION action";
 * - `explicit`: "with an explicit deny in a TYPE" (or "… transitively through a TYPE");
 * - `unspecified`: the older form, or a service's own wording, that names no reason;
 * - `encoded`: EC2's "Encoded authorization failure message": the reason is inside, to be decoded.
 */
export const denialCauseSchema = z.enum(["implicit", "explicit", "unspecified", "encoded"]);
export type DenialCause = z.infer<typeof denialCauseSchema>;

export const denialSchema = z.object({
  /** The message as found (white space collapsed), to show the person what was understood. */
  text: z.string(),
  /** "User: ARN" (or another principal such as `anonymous`); null when the message names none (S3's "Access Denied"). */
  principal: z.string().nullable(),
  /** `service:Action` as AWS names it; null when the message names none. */
  action: z.string().nullable(),
  /** The resource ARN (or `*`-style pattern) the message names; null when it names none. */
  resource: z.string().nullable(),
  /** The API operation, when the text carries the CLI's "when calling the X operation". */
  operation: z.string().nullable(),
  cause: denialCauseSchema,
  policyType: policyTypeSchema.nullable(),
  /** "transitively through": the deny sits in a policy reached through another (e.g. an SCP on a parent OU). */
  transitive: z.boolean(),
  /** The ARN of the denying policy, when AWS gives it (same account or organisation only). */
  policyArn: z.string().nullable(),
  /** The newest form's authorization id (for GetRequestAuthorizationDetails). */
  authorizationId: z.string().nullable(),
  /** EC2's encoded failure message, still to be decoded with sts:DecodeAuthorizationMessage. */
  encoded: z.string().nullable(),
  /** Whether a Gatehouse request can fix it: only an implicit deny for want of an identity-based Allow. */
  fixable: z.boolean(),
  /** Who can fix it, in words. */
  fixer: z.string(),
});
export type Denial = z.infer<typeof denialSchema>;
