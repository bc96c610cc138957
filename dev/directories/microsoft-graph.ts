// A stand-in for Microsoft Graph and the Entra ID token endpoint: client credentials at
// /{tenant}/oauth2/v2.0/token, then /v1.0/users/{id}/transitiveMemberOf/microsoft.graph.group (paged
// with @odata.nextLink) and /v1.0/users/{id}/getMemberGroups, with Graph's and AADSTS's error shapes.

import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import {
  type DirectoryData,
  json,
  pageToken,
  type StandIn,
  serveStandIn,
  standInState,
  transitiveGroups,
} from "./model.ts";

export interface GraphOptions {
  tenant: string;
  clientId: string;
  clientSecret: string;
  data: DirectoryData;
  /** The application has GroupMember.Read.All with admin consent (default true); false → 403. */
  consented?: boolean;
  /** Origin written into @odata.nextLink instead of the stand-in's own (to test a link elsewhere). */
  nextLinkOrigin?: string;
  port?: number;
}

const GRAPH_SCOPE = "https://graph.microsoft.com/.default";

function graphError(code: string, message: string) {
  return {
    error: {
      code,
      message,
      innerError: {
        date: new Date().toISOString(),
        "request-id": randomUUID(),
        "client-request-id": randomUUID(),
      },
    },
  };
}

function aadError(error: string, description: string) {
  return {
    error,
    error_description: `${description}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`,
    error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)],
    timestamp: new Date().toISOString(),
    trace_id: randomUUID(),
    correlation_id: randomUUID(),
  };
}

export async function startGraphStandIn(o: GraphOptions): Promise<StandIn> {
  const st = standInState(o.data);
  const tokens = new Map<string, number>();

  const authorized = (req: IncomingMessage): boolean => {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
    const until = m ? tokens.get(m[1]!) : undefined;
    return until !== undefined && until > Date.now();
  };

  return serveStandIn(
    { port: o.port },
    st,
    (req, url, body, res) => {
      const tokenPath = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
      if (tokenPath && req.method === "POST") {
        st.calls.token++;
        const f = new URLSearchParams(body);
        if (decodeURIComponent(tokenPath[1]!) !== o.tenant)
          return json(
            res,
            400,
            aadError("invalid_request", `AADSTS90002: Tenant '${tokenPath[1]}' not found.`),
          );
        if (f.get("grant_type") !== "client_credentials")
          return json(
            res,
            400,
            aadError("unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type."),
          );
        if (f.get("client_id") !== o.clientId)
          return json(
            res,
            400,
            aadError(
              "unauthorized_client",
              `AADSTS700016: Application with identifier '${f.get("client_id")}' was not found in the directory.`,
            ),
          );
        if (f.get("client_secret") !== o.clientSecret)
          return json(
            res,
            401,
            aadError(
              "invalid_client",
              `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${o.clientId}'.`,
            ),
          );
        if (f.get("scope") !== GRAPH_SCOPE)
          return json(
            res,
            400,
            aadError(
              "invalid_scope",
              `AADSTS1002012: The provided value for scope ${f.get("scope")} is not valid.`,
            ),
          );
        const token = randomBytes(32).toString("base64url");
        tokens.set(token, Date.now() + 3599_000);
        return json(res, 200, {
          token_type: "Bearer",
          expires_in: 3599,
          ext_expires_in: 3599,
          access_token: token,
        });
      }
      const user =
        /^\/v1\.0\/users\/([^/]+)\/(transitiveMemberOf\/microsoft\.graph\.group|getMemberGroups)$/.exec(
          url.pathname,
        );
      if (!user)
        return json(
          res,
          404,
          graphError("BadRequest", `Resource not found for the segment '${url.pathname}'.`),
        );
      if (!authorized(req))
        return json(
          res,
          401,
          graphError("InvalidAuthenticationToken", "Access token validation failure. Invalid audience."),
        );
      if (o.consented === false)
        return json(
          res,
          403,
          graphError("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
        );
      const id = decodeURIComponent(user[1]!);
      const groups = transitiveGroups(st.data, id);
      if (!groups)
        return json(
          res,
          404,
          graphError(
            "Request_ResourceNotFound",
            `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
          ),
        );
      st.calls.pages++;
      if (user[2] === "getMemberGroups") {
        if (req.method !== "POST")
          return json(res, 405, graphError("Request_BadRequest", "Method not allowed."));
        st.calls.lookups++;
        if (groups.length > 11_000)
          return json(
            res,
            400,
            graphError(
              "Directory_ResultSizeLimitExceeded",
              "Request_ResultSizeLimitExceeded: more than 11000 results.",
            ),
          );
        return json(res, 200, {
          "@odata.context": `${st.base}/v1.0/$metadata#Collection(Edm.String)`,
          value: groups.map((g) => g.key),
        });
      }
      const top = Number(url.searchParams.get("$top") ?? 100);
      if (!Number.isInteger(top) || top < 1 || top > 999)
        return json(
          res,
          400,
          graphError(
            "Request_UnsupportedQuery",
            "Invalid page size specified: '" + top + "'. Must be between 1 and 999 inclusive.",
          ),
        );
      const offset = pageToken.read(url.searchParams.get("$skiptoken"));
      if (offset === undefined)
        return json(res, 400, graphError("Request_BadRequest", "Invalid $skiptoken."));
      if (offset === 0) st.calls.lookups++;
      const slice = groups.slice(offset, offset + top);
      const next = offset + top < groups.length ? offset + top : undefined;
      const select = url.searchParams.get("$select");
      return json(res, 200, {
        "@odata.context": `${st.base}/v1.0/$metadata#directoryObjects`,
        value: slice.map((g) => ({
          "@odata.type": "#microsoft.graph.group",
          id: g.key,
          ...(select === "id" ? {} : { displayName: st.data.names?.[g.key] ?? g.key }),
        })),
        ...(next !== undefined
          ? {
              "@odata.nextLink": `${o.nextLinkOrigin ?? st.base}${url.pathname}?${new URLSearchParams({
                ...(select ? { $select: select } : {}),
                $top: String(top),
                $skiptoken: pageToken.make(next),
              })}`,
            }
          : {}),
      });
    },
    () => ({
      status: 503,
      body: graphError("serviceNotAvailable", "The service is temporarily unavailable. Please retry later."),
    }),
  );
}
