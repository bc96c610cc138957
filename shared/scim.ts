// SCIM 2.0 messages (RFC 7643/7644) as the broker reads them: User, Group, PatchOp bodies and the
// people admin API. Unknown attributes of a User/Group are dropped (RFC 7644 §3.3: the server decides
// what it keeps); values of a kind the broker keeps are checked.

import { z } from "zod";

export const SCIM = {
  user: "urn:ietf:params:scim:schemas:core:2.0:User",
  group: "urn:ietf:params:scim:schemas:core:2.0:Group",
  enterpriseUser: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
  patchOp: "urn:ietf:params:scim:api:messages:2.0:PatchOp",
  listResponse: "urn:ietf:params:scim:api:messages:2.0:ListResponse",
  error: "urn:ietf:params:scim:api:messages:2.0:Error",
  serviceProviderConfig: "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
  resourceType: "urn:ietf:params:scim:schemas:core:2.0:ResourceType",
  schema: "urn:ietf:params:scim:schemas:core:2.0:Schema",
} as const;

/** Entra sends booleans as "True"/"False" strings (before its aadOptscim062020 flag). */
export const scimBoolean = z.union([
  z.boolean(),
  z
    .string()
    .regex(/^(true|false)$/i, 'a boolean, or the string "True" or "False"')
    .transform((s) => s.toLowerCase() === "true"),
]);

const text = z.string().max(1024);
const optionalText = text.nullish().transform((v) => v ?? null);

export const scimEmailSchema = z.object({
  value: z.string().min(3).max(320),
  type: z.string().max(64).optional(),
  primary: scimBoolean.optional(),
  display: z.string().max(320).optional(),
});

export const scimNameSchema = z
  .object({ givenName: optionalText, familyName: optionalText, formatted: optionalText })
  .partial();

export const scimUserInputSchema = z.object({
  schemas: z.array(z.string()).optional(),
  userName: z.string().trim().min(1).max(320),
  externalId: optionalText,
  displayName: optionalText,
  name: scimNameSchema.nullish(),
  emails: z.array(scimEmailSchema).max(20).nullish(),
  active: scimBoolean.default(true),
});
export type ScimUserInput = z.infer<typeof scimUserInputSchema>;

export const scimMemberRefSchema = z.object({
  value: z.string().min(1).max(256),
  display: z.string().optional(),
});

export const scimGroupInputSchema = z.object({
  schemas: z.array(z.string()).optional(),
  displayName: z.string().trim().min(1).max(256),
  externalId: optionalText,
  members: z.array(scimMemberRefSchema).max(10_000).nullish(),
});
export type ScimGroupInput = z.infer<typeof scimGroupInputSchema>;

export const scimPatchSchema = z.object({
  schemas: z.array(z.string()).refine((s) => s.includes(SCIM.patchOp), `schemas must hold ${SCIM.patchOp}`),
  Operations: z
    .array(
      z.object({
        // Entra capitalises (Add, Replace, Remove); RFC 7644 says lower case.
        op: z
          .string()
          .transform((s) => s.toLowerCase())
          .pipe(z.enum(["add", "replace", "remove"])),
        path: z.string().max(512).optional(),
        value: z.unknown().optional(),
      }),
    )
    .min(1)
    .max(1000),
});
export type ScimPatch = z.infer<typeof scimPatchSchema>;
export type ScimPatchOp = ScimPatch["Operations"][number];

/** POST /v1/admin/people/:email/disable (and `gatehouse-broker people disable`). */
export const disablePersonSchema = z.strictObject({ reason: z.string().trim().min(1).max(500) });
export const personEmailSchema = z.string().trim().toLowerCase().pipe(z.email().max(320));

export const personStateSchema = z.object({
  email: z.string(),
  disabled: z.boolean(),
  scimDisabled: z.boolean(),
  adminDisabled: z.boolean(),
  reason: z.string().nullable(),
  actor: z.string().nullable(),
  changedAt: z.string(),
});
export type PersonStateView = z.infer<typeof personStateSchema>;
