// The policy catalogue's API: services, managed policies (AWS's and an account's own) with their lint
// risk, and an account's IAM groups; zod schemas the broker answers with and the renderer and CLI parse.

import { z } from "zod";
import { RISKS } from "./policy/codes.ts";

export const catalogueServiceSchema = z.object({
  /** The IAM prefix, e.g. `kafka`. */
  prefix: z.string(),
  /** AWS's name, e.g. "Amazon Managed Streaming for Apache Kafka". */
  name: z.string(),
  /** AWS-managed policies for people (service roles aside) whose actions reach it. */
  policies: z.number().int(),
});
export type CatalogueService = z.infer<typeof catalogueServiceSchema>;
export const catalogueServicesResponseSchema = z.object({ services: z.array(catalogueServiceSchema) });

export const findingsSummarySchema = z.object({
  errors: z.number().int(),
  warnings: z.number().int(),
  infos: z.number().int(),
  /** Distinct lint codes, most severe first. */
  codes: z.array(z.string()),
  /** The risk's first reasons. */
  reasons: z.array(z.string()),
});
export type FindingsSummary = z.infer<typeof findingsSummarySchema>;

export const cataloguePolicySchema = z.object({
  arn: z.string(),
  name: z.string(),
  path: z.string(),
  description: z.string().optional(),
  /** `aws` for AWS-managed, `customer` for the account's own. */
  managedBy: z.enum(["aws", "customer"]),
  /** Service prefixes its Allow actions reach, the most-reached first. */
  services: z.array(z.string()),
  readOnly: z.boolean(),
  /** Made for an AWS service, not for people; listed only when asked for. */
  serviceRole: z.boolean(),
  risk: z.enum(RISKS),
  findings: findingsSummarySchema,
});
export type CataloguePolicy = z.infer<typeof cataloguePolicySchema>;
export const cataloguePoliciesResponseSchema = z.object({ policies: z.array(cataloguePolicySchema) });

/** One policy with its document (JSON text), for the request panel's read-only viewer. */
export const cataloguePolicyDetailSchema = cataloguePolicySchema.extend({ document: z.string() });
export type CataloguePolicyDetail = z.infer<typeof cataloguePolicyDetailSchema>;

export const catalogueGroupSchema = z.object({
  name: z.string(),
  arn: z.string(),
  accountId: z.string(),
  path: z.string(),
});
export type CatalogueGroup = z.infer<typeof catalogueGroupSchema>;
export const catalogueGroupsResponseSchema = z.object({ groups: z.array(catalogueGroupSchema) });

/** An account by its 12-digit id or its configured name. */
const account = z.string().min(1).max(100);
const limit = z.coerce.number().int().min(1).max(200).optional();

export const catalogueServicesQuerySchema = z.strictObject({ q: z.string().max(200).optional(), limit });
export const cataloguePoliciesQuerySchema = z.strictObject({
  q: z.string().max(200).optional(),
  service: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/, "an IAM service prefix such as kafka")
    .optional(),
  account: account.optional(),
  limit,
  /** `true`: service-role policies too, ranked last. */
  serviceRoles: z.enum(["true", "false"]).optional(),
});
export type CataloguePoliciesQuery = z.infer<typeof cataloguePoliciesQuerySchema>;
export const cataloguePolicyQuerySchema = z.strictObject({
  arn: z.string().min(1).max(2048),
  account: account.optional(),
});
export const catalogueGroupsQuerySchema = z.strictObject({
  account,
  q: z.string().max(200).optional(),
  limit,
});
