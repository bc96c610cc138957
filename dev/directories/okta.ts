// A stand-in for Okta's Users API: GET /api/v1/users/{id}/groups with an SSWS API token, paged by Link
// headers (rel="next" with an `after` cursor), with Okta's error shape (errorCode, errorSummary, …).

import { createHash, randomUUID } from "node:crypto";
import { type DirectoryData, directGroups, json, type StandIn, serveStandIn, standInState } from "./model.ts";

export interface OktaOptions {
  apiToken: string;
  /** The token's admin may read groups (default true); false → 403 E0000006. */
  canReadGroups?: boolean;
  /** Members keyed by Okta user id (00u…); group keys are group names. */
  data: DirectoryData;
  port?: number;
}

const oktaError = (errorCode: string, errorSummary: string) => ({
  errorCode,
  errorSummary,
  errorLink: errorCode,
  errorId: `oae${randomUUID().replace(/-/g, "").slice(0, 19)}`,
  errorCauses: [],
});

const groupId = (name: string) => `00g${createHash("sha1").update(name).digest("hex").slice(0, 17)}`;

export async function startOktaStandIn(o: OktaOptions): Promise<StandIn> {
  const st = standInState(o.data);
  return serveStandIn(
    { port: o.port },
    st,
    (req, url, _body, res) => {
      const m = /^\/api\/v1\/users\/([^/]+)\/groups$/.exec(url.pathname);
      if (!m || req.method !== "GET")
        return json(
          res,
          404,
          oktaError("E0000022", "The endpoint does not support the provided HTTP method"),
        );
      if (req.headers.authorization !== `SSWS ${o.apiToken}`)
        return json(res, 401, oktaError("E0000011", "Invalid token provided"));
      if (o.canReadGroups === false)
        return json(
          res,
          403,
          oktaError("E0000006", "You do not have permission to perform the requested action"),
        );
      const user = decodeURIComponent(m[1]!);
      const groups = directGroups(st.data, user);
      if (!groups)
        return json(res, 404, oktaError("E0000007", `Not found: Resource not found: ${user} (User)`));
      const limit = Number(url.searchParams.get("limit") ?? 10000);
      if (!Number.isInteger(limit) || limit < 1)
        return json(res, 400, oktaError("E0000001", "Api validation failed: limit"));
      const after = url.searchParams.get("after");
      const start = after === null ? 0 : groups.findIndex((g) => groupId(g) === after) + 1;
      if (after !== null && start === 0)
        return json(res, 400, oktaError("E0000001", "Api validation failed: after"));
      st.calls.pages++;
      if (after === null) st.calls.lookups++;
      const slice = groups.slice(start, start + Math.min(limit, 10000));
      const self = `<${st.base}${url.pathname}${url.search}>; rel="self"`;
      const more = start + slice.length < groups.length;
      const link = more
        ? `${self}, <${st.base}${url.pathname}?${new URLSearchParams({ limit: String(limit), after: groupId(slice.at(-1)!) })}>; rel="next"`
        : self;
      return json(
        res,
        200,
        slice.map((name) => ({
          id: groupId(name),
          created: "2026-01-01T00:00:00.000Z",
          lastUpdated: "2026-01-01T00:00:00.000Z",
          lastMembershipUpdated: "2026-01-01T00:00:00.000Z",
          objectClass: ["okta:user_group"],
          type: name === "Everyone" ? "BUILT_IN" : "OKTA_GROUP",
          profile: { name, description: null },
          _links: { logo: [], users: { href: `${st.base}/api/v1/groups/${groupId(name)}/users` } },
        })),
        { link },
      );
    },
    () => ({ status: 503, body: oktaError("E0000009", "Internal Server Error") }),
  );
}
