// Google Workspace as a group directory: a service account signs a JWT-bearer grant (RFC 7523), acting
// for a Workspace admin through domain-wide delegation, then reads the person's groups from the Admin
// SDK Directory API (or, with `transitive`, Cloud Identity's searchTransitiveGroups for nested groups).
// Group e-mail addresses are the group names tags use.

import { importPKCS8, SignJWT } from "jose";
import { z } from "zod";
import { GatehouseError } from "../../shared/errors.ts";
import type { BrokerConfig } from "../config.ts";
import type { DirectoryClient } from "./directory.ts";
import {
  call,
  clean,
  jsonOf,
  KeptToken,
  readSecret,
  TokenRejected,
  tooMany,
  transient,
  unavailable,
} from "./http.ts";

const LABEL = "Google Workspace";
export const DIRECTORY_SCOPE = "https://www.googleapis.com/auth/admin.directory.group.readonly";
export const CLOUD_IDENTITY_SCOPE = "https://www.googleapis.com/auth/cloud-identity.groups.readonly";
type Settings = NonNullable<NonNullable<BrokerConfig["directory"]>["google_directory"]>;

const serviceAccountKey = z.object({
  type: z.literal("service_account"),
  client_email: z.email(),
  private_key_id: z.string().min(1),
  private_key: z.string().includes("PRIVATE KEY"),
});

/** An e-mail address with nothing that could end the quoted string of a Cloud Identity query. */
const EMAIL = /^[^\s@'"\\]+@[^\s@'"\\]+$/;

/** Google's API error body: {"error": {"code": 403, "message": "...", "status": "PERMISSION_DENIED"}}. */
function googleError(body: Record<string, unknown>): string {
  const e = body.error as { status?: unknown; message?: unknown } | string | undefined;
  if (typeof e === "string") return `${clean(e)}: ${clean(body.error_description)}`;
  return e && typeof e === "object" ? `${clean(e.status ?? "error")}: ${clean(e.message)}` : "no error body";
}

export function googleDirectory(s: Settings, timeoutMs: number): DirectoryClient {
  const where = "directory.google_directory.service_account_key";
  const raw = readSecret(s.service_account_key, where);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new GatehouseError("CONFIG_INVALID", `${where}: not a JSON service account key`, { cause: e });
  }
  const checked = serviceAccountKey.safeParse(parsed);
  if (!checked.success)
    throw new GatehouseError(
      "CONFIG_INVALID",
      `${where}: not a service account key (${checked.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")})`,
    );
  const key = checked.data;
  const scopes = [DIRECTORY_SCOPE, ...(s.transitive ? [CLOUD_IDENTITY_SCOPE] : [])].join(" ");
  let signingKey: CryptoKey | undefined;

  const token = new KeptToken(async () => {
    signingKey ??= await importPKCS8(key.private_key, "RS256").catch((e: unknown) => {
      throw new GatehouseError("CONFIG_INVALID", `${where}: private_key is not a PKCS#8 RSA key`, {
        cause: e,
      });
    });
    const now = Math.floor(Date.now() / 1000);
    const grant = new SignJWT({ scope: scopes })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: key.private_key_id })
      .setIssuer(key.client_email)
      .setAudience(s.token_url)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600);
    if (s.subject) grant.setSubject(s.subject);
    const res = await call(
      LABEL,
      s.token_url,
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
          assertion: await grant.sign(signingKey),
        }),
      },
      timeoutMs,
    );
    const body = await jsonOf(LABEL, res);
    if (res.status === 200 && typeof body.access_token === "string")
      return { value: body.access_token, expiresInSeconds: Number(body.expires_in) || 3600 };
    const why = googleError(body);
    if (transient(res.status)) throw unavailable(LABEL, `its token endpoint answered ${res.status} (${why})`);
    throw new GatehouseError(
      "DIRECTORY_CREDENTIALS_REJECTED",
      `Google's token endpoint refused the service account ${key.client_email}` +
        `${s.subject ? ` acting for ${s.subject}` : ""} (${why}): check the key, and that domain-wide ` +
        `delegation grants its client id the scope ${scopes}`,
    );
  });

  async function page(url: string, bearer: string, user: string, api: "directory" | "cloud_identity") {
    const res = await call(LABEL, url, { headers: { authorization: `Bearer ${bearer}` } }, timeoutMs);
    const body = await jsonOf(LABEL, res);
    if (res.status === 200) return body;
    const why = googleError(body);
    if (res.status === 401) throw new TokenRejected(`${LABEL} refused the broker's access token (${why})`);
    if (res.status === 403 && api === "cloud_identity")
      throw new GatehouseError(
        "DIRECTORY_FORBIDDEN",
        `Cloud Identity refused searchTransitiveGroups (${why}): nested groups need a Google Workspace ` +
          `Enterprise or Cloud Identity Premium edition and the scope ${CLOUD_IDENTITY_SCOPE} in the ` +
          `domain-wide delegation; set directory.google_directory.transitive: false to read direct groups only`,
      );
    if (res.status === 403)
      throw new GatehouseError(
        "DIRECTORY_FORBIDDEN",
        `the Admin SDK Directory API refused to list groups (${why}): the delegated subject must be a ` +
          `Workspace admin allowed to read groups (or the service account hold such a role), with the scope ${DIRECTORY_SCOPE}`,
      );
    if (res.status === 404)
      throw new GatehouseError("DIRECTORY_USER_UNKNOWN", `${LABEL} has no user ${user} (${why})`);
    throw unavailable(LABEL, `it answered ${res.status} (${why})`);
  }

  async function directGroups(user: string, bearer: string, maxGroups: number): Promise<string[]> {
    const out: string[] = [];
    let pageToken: string | undefined;
    do {
      const q = new URLSearchParams({ userKey: user, maxResults: String(s.page_size) });
      if (pageToken) q.set("pageToken", pageToken);
      const body = await page(
        `${s.directory_url.replace(/\/$/, "")}/admin/directory/v1/groups?${q}`,
        bearer,
        user,
        "directory",
      );
      // A person in no group gets no `groups` key at all.
      const groups = body.groups ?? [];
      if (!Array.isArray(groups)) throw unavailable(LABEL, "its answer's groups is not a list");
      for (const g of groups) {
        const email = (g as { email?: unknown } | null)?.email;
        if (typeof email !== "string" || !email)
          throw unavailable(LABEL, "its answer lists a group without an email");
        out.push(email);
      }
      if (out.length > maxGroups) throw tooMany(LABEL, maxGroups);
      pageToken =
        typeof body.nextPageToken === "string" && body.nextPageToken ? body.nextPageToken : undefined;
    } while (pageToken);
    return out;
  }

  async function transitiveGroups(user: string, bearer: string, maxGroups: number): Promise<string[]> {
    const out: string[] = [];
    let pageToken: string | undefined;
    do {
      const q = new URLSearchParams({
        query: `member_key_id == '${user}' && 'cloudidentity.googleapis.com/groups.discussion_forum' in labels`,
        pageSize: String(s.page_size),
      });
      if (pageToken) q.set("pageToken", pageToken);
      const base = s.cloud_identity_url.replace(/\/$/, "");
      const body = await page(
        `${base}/v1/groups/-/memberships:searchTransitiveGroups?${q}`,
        bearer,
        user,
        "cloud_identity",
      );
      const memberships = body.memberships ?? [];
      if (!Array.isArray(memberships)) throw unavailable(LABEL, "its answer's memberships is not a list");
      for (const m of memberships) {
        const id = (m as { groupKey?: { id?: unknown } } | null)?.groupKey?.id;
        if (typeof id !== "string" || !id)
          throw unavailable(LABEL, "its answer lists a group without a groupKey");
        out.push(id);
      }
      if (out.length > maxGroups) throw tooMany(LABEL, maxGroups);
      pageToken =
        typeof body.nextPageToken === "string" && body.nextPageToken ? body.nextPageToken : undefined;
    } while (pageToken);
    return out;
  }

  return {
    label: LABEL,
    defaultUserClaim: "email",
    userKey: (v) => (typeof v === "string" && EMAIL.test(v) ? v.toLowerCase() : undefined),
    lookup: (user, maxGroups) =>
      token.with((bearer) =>
        s.transitive ? transitiveGroups(user, bearer, maxGroups) : directGroups(user, bearer, maxGroups),
      ),
  };
}
