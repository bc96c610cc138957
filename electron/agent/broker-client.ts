// The agent's client for the broker's /v1 API: bearer token from the session, responses parsed with the
// shared schemas, problem+json errors turned back into GatehouseErrors with the broker's codes.

import type { z } from "zod";
import { type AccessReport, accessReportSchema } from "../../shared/access-report.ts";
import {
  type AccountSync,
  accountSyncSchema,
  type ConsoleResponse,
  type CredentialsResponse,
  consoleResponseSchema,
  credentialsResponseSchema,
  type DecodeDenialRequest,
  type DecodeDenialResponse,
  decodeDenialResponseSchema,
  type Me,
  meSchema,
  type Organisation,
  organisationSchema,
  problemSchema,
  type RequestTarget,
  type Role,
  rolesResponseSchema,
  type TagChange,
  tagChangeAcceptedSchema,
  tagChangesResponseSchema,
  targetsResponseSchema,
} from "../../shared/api.ts";
import {
  type CatalogueGroup,
  type CataloguePolicy,
  type CataloguePolicyDetail,
  type CatalogueService,
  catalogueGroupsResponseSchema,
  cataloguePoliciesResponseSchema,
  cataloguePolicyDetailSchema,
  catalogueServicesResponseSchema,
} from "../../shared/catalogue.ts";
import { ERRORS, type ErrorCode, GatehouseError } from "../../shared/errors.ts";
import type { GrantExportFormat } from "../../shared/grants-export.ts";
import { type GrantsExportEnvelope, grantsExportEnvelopeSchema } from "../../shared/grants-export-schema.ts";
import {
  type ApproveRequest,
  type CreateRequest,
  type PermissionRequest,
  type ResolveTarget,
  requestSchema,
  requestsResponseSchema,
} from "../../shared/requests.ts";

export interface TokenSource {
  accessToken(opts?: { interactive?: boolean }): Promise<string>;
  invalidate(): void;
}

export class BrokerClient {
  private readonly disabledListeners: ((message: string) => Promise<void> | void)[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly tokens: TokenSource,
    /** Whether a call may start a browser sign-in when the session has lapsed (see Agent). */
    private readonly interactive: () => boolean = () => true,
    private readonly timeoutMs = 15_000,
  ) {}

  /**
   * Hear the broker say this person is disabled (401 PERSON_DISABLED: offboarded, or cut off in an
   * incident). The agent drops its credentials and tokens before the caller sees the error.
   */
  onPersonDisabled(fn: (message: string) => Promise<void> | void): void {
    this.disabledListeners.push(fn);
  }

  private async call<T extends z.ZodType>(
    method: string,
    path: string,
    schema: T,
    body?: unknown,
    retried = false,
  ): Promise<z.infer<T>> {
    const token = await this.tokens.accessToken({ interactive: this.interactive() });
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new GatehouseError(
        "BROKER_UNREACHABLE",
        `the broker at ${this.baseUrl} cannot be reached: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new GatehouseError(
        "BROKER_UNREACHABLE",
        `the broker answered ${res.status} with something that is not JSON`,
      );
    }
    if (!res.ok) {
      const p = problemSchema.safeParse(json);
      const code =
        p.success && p.data.code in ERRORS
          ? (p.data.code as ErrorCode)
          : res.status >= 500
            ? "BROKER_UNREACHABLE"
            : "INTERNAL";
      // A token the broker refuses (expired early, keys rotated): drop it and try once with a fresh one.
      if (code === "UNAUTHENTICATED" && !retried) {
        this.tokens.invalidate();
        return this.call(method, path, schema, body, true);
      }
      const message = p.success ? p.data.detail : `the broker answered ${res.status}`;
      // Not retried with a fresh token like UNAUTHENTICATED: a new token of a disabled person is refused too.
      if (code === "PERSON_DISABLED")
        await Promise.allSettled(this.disabledListeners.map(async (fn) => fn(message)));
      throw new GatehouseError(code, message);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new GatehouseError("INTERNAL", `the broker's answer to ${path} does not match the API`);
    return parsed.data;
  }

  /** The admins' Organisation view (accounts, sync state, doctor's findings). */
  organisation(): Promise<Organisation> {
    return this.call("GET", "/v1/organisation", organisationSchema);
  }

  /** The access review (admins); `unusedDays` moves the line past which access counts as unused. */
  accessReport(unusedDays?: number): Promise<AccessReport> {
    const q = unusedDays === undefined ? "" : `?unusedDays=${encodeURIComponent(String(unusedDays))}`;
    return this.call("GET", `/v1/admin/access-report${q}`, accessReportSchema);
  }

  /** The applied grants as Terraform, CloudFormation or JSON (admins), with the name to save it under. */
  grantsExport(o: {
    format: GrantExportFormat;
    active?: boolean;
    account?: string;
  }): Promise<GrantsExportEnvelope> {
    const q = new URLSearchParams({ format: o.format, envelope: "true" });
    if (o.active) q.set("active", "true");
    if (o.account) q.set("account", o.account);
    return this.call("GET", `/v1/admin/grants/export?${q}`, grantsExportEnvelopeSchema);
  }

  runDoctor(): Promise<Organisation> {
    return this.call("POST", "/v1/organisation/doctor", organisationSchema, {});
  }

  syncAccount(accountId: string): Promise<AccountSync> {
    return this.call("POST", `/v1/sync/${encodeURIComponent(accountId)}`, accountSyncSchema, {});
  }

  me(): Promise<Me> {
    return this.call("GET", "/v1/me", meSchema);
  }

  async roles(): Promise<Role[]> {
    return (await this.call("GET", "/v1/roles", rolesResponseSchema)).roles;
  }

  credentials(role: string, durationSeconds?: number): Promise<CredentialsResponse> {
    return this.call("POST", "/v1/credentials", credentialsResponseSchema, {
      role,
      ...(durationSeconds ? { durationSeconds } : {}),
    });
  }

  console(role: string, region?: string): Promise<ConsoleResponse> {
    return this.call("POST", "/v1/console", consoleResponseSchema, { role, ...(region ? { region } : {}) });
  }

  /** Roles and IAM users a request may name, matching every word of `query`. */
  async targets(query: string, limit?: number): Promise<RequestTarget[]> {
    const q = new URLSearchParams({ q: query, ...(limit ? { limit: String(limit) } : {}) });
    return (await this.call("GET", `/v1/targets?${q}`, targetsResponseSchema)).targets;
  }

  /** AWS services by name, prefix or short name. */
  async catalogueServices(query: string, limit?: number): Promise<CatalogueService[]> {
    const q = new URLSearchParams({ q: query, ...(limit ? { limit: String(limit) } : {}) });
    return (await this.call("GET", `/v1/catalogue/services?${q}`, catalogueServicesResponseSchema)).services;
  }

  /** Managed policies by name or service with their lint risk; the account's own too with `account`. */
  async cataloguePolicies(opts: {
    query?: string;
    service?: string;
    account?: string;
    limit?: number;
  }): Promise<CataloguePolicy[]> {
    const q = new URLSearchParams();
    if (opts.query) q.set("q", opts.query);
    if (opts.service) q.set("service", opts.service);
    if (opts.account) q.set("account", opts.account);
    if (opts.limit) q.set("limit", String(opts.limit));
    return (await this.call("GET", `/v1/catalogue/policies?${q}`, cataloguePoliciesResponseSchema)).policies;
  }

  cataloguePolicy(arn: string, account?: string): Promise<CataloguePolicyDetail> {
    const q = new URLSearchParams({ arn, ...(account ? { account } : {}) });
    return this.call("GET", `/v1/catalogue/policy?${q}`, cataloguePolicyDetailSchema);
  }

  async catalogueGroups(account: string, query?: string): Promise<CatalogueGroup[]> {
    const q = new URLSearchParams({ account, ...(query ? { q: query } : {}) });
    return (await this.call("GET", `/v1/catalogue/groups?${q}`, catalogueGroupsResponseSchema)).groups;
  }

  createRequest(body: CreateRequest): Promise<PermissionRequest> {
    return this.call("POST", "/v1/requests", requestSchema, body);
  }

  /** EC2's encoded authorization failure message, decoded by the broker (AWS's decoded JSON text). */
  decodeDenial(body: DecodeDenialRequest): Promise<DecodeDenialResponse> {
    return this.call("POST", "/v1/denials/decode", decodeDenialResponseSchema, body);
  }

  async requests(role?: "requester" | "approver"): Promise<PermissionRequest[]> {
    const q = role ? `?role=${role}` : "";
    return (await this.call("GET", `/v1/requests${q}`, requestsResponseSchema)).requests;
  }

  request(id: string): Promise<PermissionRequest> {
    return this.call("GET", `/v1/requests/${encodeURIComponent(id)}`, requestSchema);
  }

  /** Settle a target whose policy was changed outside Gatehouse: delete it, or keep it unmanaged. */
  resolveTarget(id: string, n: number, body: ResolveTarget): Promise<PermissionRequest> {
    return this.call(
      "POST",
      `/v1/requests/${encodeURIComponent(id)}/targets/${n}/resolve`,
      requestSchema,
      body,
    );
  }

  /** Access-tag changes made outside Gatehouse (admins), newest first; `state` narrows them. */
  async tagChanges(state?: TagChange["state"]): Promise<TagChange[]> {
    const q = state ? `?state=${state}` : "";
    return (await this.call("GET", `/v1/admin/tag-changes${q}`, tagChangesResponseSchema)).changes;
  }

  /** An admin accepts a held access-tag change. */
  async acceptTagChange(id: number): Promise<TagChange> {
    return (
      await this.call(
        "POST",
        `/v1/admin/tag-changes/${encodeURIComponent(String(id))}/accept`,
        tagChangeAcceptedSchema,
        {},
      )
    ).change;
  }

  /** approve, reject, cancel or retry one request; the broker answers with the request as it now is. */
  actOnRequest(
    id: string,
    action: "approve" | "reject" | "cancel" | "retry",
    body: ApproveRequest | { reason: string } | Record<string, never> = {},
  ): Promise<PermissionRequest> {
    return this.call("POST", `/v1/requests/${encodeURIComponent(id)}/${action}`, requestSchema, body);
  }
}
