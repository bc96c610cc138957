// A stand-in for Google's OAuth token endpoint (JWT-bearer grant, RFC 7523: the assertion's signature
// checked against the service account's public key, with its aud, scope and delegated subject) and the
// Admin SDK Directory groups API (paged by nextPageToken) and Cloud Identity's searchTransitiveGroups
// (403 unless the customer has a premium edition), with Google's error shapes.

import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { importSPKI, type JWTPayload, errors as joseErrors, jwtVerify } from "jose";
import {
  type DirectoryData,
  directGroups,
  json,
  pageToken,
  type StandIn,
  serveStandIn,
  standInState,
  transitiveGroups,
} from "./model.ts";

const DIRECTORY_SCOPE = "https://www.googleapis.com/auth/admin.directory.group.readonly";
const CLOUD_IDENTITY_SCOPE = "https://www.googleapis.com/auth/cloud-identity.groups.readonly";

export interface GoogleOptions {
  /** The service account: its e-mail, key id and public key (SPKI PEM). */
  serviceAccount: { clientEmail: string; keyId: string; publicKeyPem: string };
  /** Scopes the Workspace admin granted the service account's client id (domain-wide delegation). */
  delegatedScopes: string[];
  /** Users the service account may act for (Workspace admins). */
  admins: string[];
  /** The service account holds an admin role itself (no subject needed). */
  adminRole?: boolean;
  /** Cloud Identity Premium / Workspace Enterprise: searchTransitiveGroups answers instead of 403. */
  premium?: boolean;
  /** Members keyed by e-mail; group keys are group e-mail addresses. */
  data: DirectoryData;
  port?: number;
}

const oauthError = (error: string, description: string) => ({ error, error_description: description });
const apiError = (code: number, status: string, message: string, reason: string) => ({
  error: { code, message, errors: [{ message, domain: "global", reason }], status },
});

export async function startGoogleStandIn(o: GoogleOptions): Promise<StandIn> {
  const st = standInState(o.data);
  const key = await importSPKI(o.serviceAccount.publicKeyPem, "RS256");
  const tokens = new Map<string, { scopes: string[]; until: number }>();

  const grant = async (body: string) => {
    const f = new URLSearchParams(body);
    if (f.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer")
      return {
        status: 400,
        body: oauthError("unsupported_grant_type", "Invalid grant_type: " + f.get("grant_type")),
      };
    let payload: JWTPayload;
    try {
      const out = await jwtVerify(f.get("assertion") ?? "", key, {
        algorithms: ["RS256"],
        audience: `${st.base}/token`,
        issuer: o.serviceAccount.clientEmail,
        requiredClaims: ["iat", "exp", "scope"],
      });
      if (out.protectedHeader.kid !== o.serviceAccount.keyId)
        return { status: 400, body: oauthError("invalid_grant", "Invalid JWT Signature.") };
      payload = out.payload;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" || code === "ERR_JWS_INVALID")
        return { status: 400, body: oauthError("invalid_grant", "Invalid JWT Signature.") };
      if (e instanceof joseErrors.JWTClaimValidationFailed && e.claim === "aud")
        return { status: 400, body: oauthError("invalid_grant", "Invalid JWT: Failed audience check.") };
      return {
        status: 400,
        body: oauthError(
          "invalid_grant",
          "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        ),
      };
    }
    if ((payload.exp ?? 0) - (payload.iat ?? 0) > 3600)
      return {
        status: 400,
        body: oauthError(
          "invalid_grant",
          "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
        ),
      };
    const scopes = String(payload.scope).split(" ").filter(Boolean);
    if (payload.sub !== undefined) {
      if (!o.admins.includes(payload.sub))
        return { status: 400, body: oauthError("invalid_grant", "Invalid email or User ID") };
      if (!scopes.every((s) => o.delegatedScopes.includes(s)))
        return {
          status: 401,
          body: oauthError(
            "unauthorized_client",
            "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
          ),
        };
    } else if (!o.adminRole) {
      // Without a subject the service account acts as itself: the token is issued, the API refuses later.
    }
    const token = `ya29.${randomBytes(32).toString("base64url")}`;
    tokens.set(token, {
      scopes: payload.sub !== undefined || o.adminRole ? scopes : [],
      until: Date.now() + 3599_000,
    });
    return { status: 200, body: { access_token: token, expires_in: 3599, token_type: "Bearer" } };
  };

  const scopesOf = (req: IncomingMessage) => {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
    const t = m ? tokens.get(m[1]!) : undefined;
    return t && t.until > Date.now() ? t.scopes : undefined;
  };

  const unauthenticated = apiError(
    401,
    "UNAUTHENTICATED",
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
    "authError",
  );

  return serveStandIn(
    { port: o.port },
    st,
    async (req, url, body, res) => {
      if (url.pathname === "/token" && req.method === "POST") {
        st.calls.token++;
        const out = await grant(body);
        return json(res, out.status, out.body);
      }
      if (url.pathname === "/admin/directory/v1/groups" && req.method === "GET") {
        const scopes = scopesOf(req);
        if (!scopes) return json(res, 401, unauthenticated);
        if (!scopes.includes(DIRECTORY_SCOPE))
          return json(
            res,
            403,
            apiError(403, "PERMISSION_DENIED", "Not Authorized to access this resource/api", "forbidden"),
          );
        const user = (url.searchParams.get("userKey") ?? "").toLowerCase();
        const max = Number(url.searchParams.get("maxResults") ?? 200);
        if (!Number.isInteger(max) || max < 1 || max > 200)
          return json(res, 400, apiError(400, "INVALID_ARGUMENT", "Invalid value for maxResults", "invalid"));
        const groups = directGroups(st.data, user);
        if (!groups)
          return json(res, 404, apiError(404, "NOT_FOUND", "Resource Not Found: userKey", "notFound"));
        const offset = pageToken.read(url.searchParams.get("pageToken"));
        if (offset === undefined)
          return json(res, 400, apiError(400, "INVALID_ARGUMENT", "Invalid page token", "invalid"));
        st.calls.pages++;
        if (offset === 0) st.calls.lookups++;
        const slice = groups.slice(offset, offset + max);
        const etag = (v: string) => `"${createHash("sha1").update(v).digest("base64url")}"`;
        return json(res, 200, {
          kind: "admin#directory#groups",
          etag: etag(`${user}:${offset}`),
          ...(slice.length
            ? {
                groups: slice.map((email) => ({
                  kind: "admin#directory#group",
                  id: createHash("sha1").update(email).digest("hex").slice(0, 15),
                  etag: etag(email),
                  email,
                  name: st.data.names?.[email] ?? email.split("@")[0],
                  directMembersCount: "1",
                  description: "",
                  adminCreated: true,
                })),
              }
            : {}),
          ...(offset + max < groups.length ? { nextPageToken: pageToken.make(offset + max) } : {}),
        });
      }
      if (url.pathname === "/v1/groups/-/memberships:searchTransitiveGroups" && req.method === "GET") {
        const scopes = scopesOf(req);
        if (!scopes) return json(res, 401, unauthenticated);
        if (!o.premium || !scopes.includes(CLOUD_IDENTITY_SCOPE))
          return json(res, 403, {
            error: {
              code: 403,
              message: "The caller does not have permission",
              status: "PERMISSION_DENIED",
            },
          });
        const m =
          /^member_key_id == '([^']+)' && 'cloudidentity\.googleapis\.com\/groups\.discussion_forum' in labels$/.exec(
            url.searchParams.get("query") ?? "",
          );
        if (!m)
          return json(res, 400, {
            error: {
              code: 400,
              message: "Request contains an invalid argument.",
              status: "INVALID_ARGUMENT",
            },
          });
        const groups = transitiveGroups(st.data, m[1]!.toLowerCase()) ?? [];
        const size = Number(url.searchParams.get("pageSize") ?? 200);
        const offset = pageToken.read(url.searchParams.get("pageToken")) ?? 0;
        st.calls.pages++;
        if (offset === 0) st.calls.lookups++;
        return json(res, 200, {
          memberships: groups.slice(offset, offset + size).map((g) => ({
            groupKey: { id: g.key },
            group: `groups/${createHash("sha1").update(g.key).digest("hex").slice(0, 14)}`,
            displayName: st.data.names?.[g.key] ?? g.key,
            roles: [{ role: "MEMBER" }],
            relationType: g.direct ? "DIRECT" : "INDIRECT",
          })),
          ...(offset + size < groups.length ? { nextPageToken: pageToken.make(offset + size) } : {}),
        });
      }
      return json(res, 404, apiError(404, "NOT_FOUND", "Not Found", "notFound"));
    },
    () => ({
      status: 503,
      body: apiError(503, "UNAVAILABLE", "The service is currently unavailable.", "backendError"),
    }),
  );
}
