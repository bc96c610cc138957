// Resource ARNs from a recorded request's parameters, one module per service, chosen by IAM prefix.

import { iamResources } from "./iam.ts";

/** What a filler knows of the call: its parameters (Query or JSON, flattened to strings) and where it ran. */
export interface ResourceContext {
  api: string;
  params: Record<string, string>;
  partition: string;
  accountId: string;
  region: string | null;
}

/** The ARNs the call acts on; empty when they cannot be told from the parameters (the policy then says `*`). */
export type ResourceFiller = (ctx: ResourceContext) => string[];

const FILLERS: Record<string, ResourceFiller> = { iam: iamResources };

export function resourcesFor(prefix: string, ctx: ResourceContext): string[] {
  return FILLERS[prefix]?.(ctx) ?? [];
}
