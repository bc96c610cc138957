// Microsoft Graph (Entra ID) as a group directory: client credentials at the tenant's token endpoint,
// then the person's groups by object id. Tags name group object ids: display names are not unique and
// ordinary users may create groups, so a name is never even read.

import { GatehouseError } from "../../shared/errors.ts";
import type { BrokerConfig } from "../config.ts";
import type { DirectoryClient } from "./directory.ts";
import {
  call,
  clean,
  jsonOf,
  KeptToken,
  readSecret,
  sameOrigin,
  TokenRejected,
  tooMany,
  transient,
  unavailable,
} from "./http.ts";

const LABEL = "Microsoft Graph";
type Settings = NonNullable<NonNullable<BrokerConfig["directory"]>["microsoft_graph"]>;

/** An object id (GUID) or a user principal name: nothing that could change the path it is put in. */
const USER_KEY =
  /^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[\w.'+-]+@[\w.-]+)$/;

/** Graph's error body: {"error": {"code": "...", "message": "..."}}. */
function graphError(body: Record<string, unknown>): string {
  const e = body.error as { code?: unknown; message?: unknown } | undefined;
  return e && typeof e === "object" ? `${clean(e.code)}: ${clean(e.message)}` : "no error body";
}

export function microsoftGraph(s: Settings, timeoutMs: number): DirectoryClient {
  const secret = readSecret(s.client_secret, "directory.microsoft_graph.client_secret");
  const graph = s.graph_url.replace(/\/$/, "");
  const tokenUrl = `${s.login_url.replace(/\/$/, "")}/${encodeURIComponent(s.tenant_id)}/oauth2/v2.0/token`;

  const token = new KeptToken(async () => {
    const res = await call(
      LABEL,
      tokenUrl,
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          client_id: s.client_id,
          client_secret: secret,
          scope: s.scope,
          grant_type: "client_credentials",
        }),
      },
      timeoutMs,
    );
    const body = await jsonOf(LABEL, res);
    if (res.status === 200 && typeof body.access_token === "string")
      return { value: body.access_token, expiresInSeconds: Number(body.expires_in) || 3600 };
    const why = `${clean(body.error)}: ${clean(body.error_description)}`;
    if (transient(res.status)) throw unavailable(LABEL, `its token endpoint answered ${res.status} (${why})`);
    throw new GatehouseError(
      "DIRECTORY_CREDENTIALS_REJECTED",
      `${LABEL}'s token endpoint refused the broker's client credentials (tenant ${s.tenant_id}, client ${s.client_id}): ${why}`,
    );
  });

  /** One page; the status decides what a failure means. */
  async function page(url: string, init: RequestInit, bearer: string, user: string) {
    const res = await call(
      LABEL,
      url,
      {
        ...init,
        headers: { ...init.headers, authorization: `Bearer ${bearer}`, accept: "application/json" },
      },
      timeoutMs,
    );
    const body = await jsonOf(LABEL, res);
    if (res.status === 200) return body;
    const why = graphError(body);
    if (res.status === 401) throw new TokenRejected(`${LABEL} refused the broker's access token (${why})`);
    if (res.status === 403)
      throw new GatehouseError(
        "DIRECTORY_FORBIDDEN",
        `${LABEL} refused to list a user's groups (${why}): the application needs the permission GroupMember.Read.All (application) with admin consent`,
      );
    if (res.status === 404)
      throw new GatehouseError("DIRECTORY_USER_UNKNOWN", `${LABEL} has no user ${user} (${why})`);
    if (res.status === 400 && /ResultSizeLimitExceeded/.test(why)) throw tooMany(LABEL, 11_000);
    if (transient(res.status)) throw unavailable(LABEL, `it answered ${res.status} (${why})`);
    throw unavailable(LABEL, `it answered ${res.status} (${why})`);
  }

  const ids = (value: unknown, from: (v: unknown) => unknown): string[] => {
    if (!Array.isArray(value)) throw unavailable(LABEL, "its answer has no value list");
    return value.map((v) => {
      const id = from(v);
      if (typeof id !== "string" || !id) throw unavailable(LABEL, "its answer lists a group without an id");
      return id;
    });
  };

  return {
    label: LABEL,
    defaultUserClaim: "oid",
    userKey: (v) => (typeof v === "string" && USER_KEY.test(v) ? v : undefined),
    lookup: (user, maxGroups) =>
      token.with(async (bearer) => {
        const userPath = `${graph}/v1.0/users/${encodeURIComponent(user)}`;
        if (s.method === "get_member_groups") {
          const body = await page(
            `${userPath}/getMemberGroups`,
            {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ securityEnabledOnly: false }),
            },
            bearer,
            user,
          );
          const out = ids(body.value, (v) => v);
          if (out.length > maxGroups) throw tooMany(LABEL, maxGroups);
          return out;
        }
        // Cast to microsoft.graph.group: transitiveMemberOf also lists directory roles and units.
        let url: string | undefined =
          `${userPath}/transitiveMemberOf/microsoft.graph.group?$select=id&$top=${s.page_size}`;
        const out: string[] = [];
        while (url) {
          const body = await page(url, { method: "GET" }, bearer, user);
          for (const id of ids(body.value, (v) => (v as { id?: unknown } | null)?.id)) out.push(id);
          if (out.length > maxGroups) throw tooMany(LABEL, maxGroups);
          const next = body["@odata.nextLink"];
          url = typeof next === "string" ? sameOrigin(LABEL, next, graph) : undefined;
        }
        return out;
      }),
  };
}
