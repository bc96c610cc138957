// Okta as a group directory: an API token (SSWS) reads the person's groups from the Users API, paged by
// Link headers; group names (profile.name) are what tags use. Okta cuts a token's groups claim at about
// 100, so `directory.when: always` reads them all here.

import { GatehouseError } from "../../shared/errors.ts";
import type { BrokerConfig } from "../config.ts";
import type { DirectoryClient } from "./directory.ts";
import { call, clean, readSecret, sameOrigin, tooMany, transient, unavailable } from "./http.ts";

const LABEL = "Okta";
type Settings = NonNullable<NonNullable<BrokerConfig["directory"]>["okta_api"]>;

/** An Okta user id (00u…) or login: nothing that could change the path it is put in. */
const USER_KEY = /^(?!\.+$)[\w.@+-]{1,200}$/;

/** The rel="next" target of an RFC 8288 Link header, if any. */
export function nextLink(header: string | null): string | undefined {
  for (const part of (header ?? "").split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /(?:^|;)\s*rel\s*=\s*"?next"?\s*(?:;|$)/.test(m[2]!)) return m[1];
  }
  return undefined;
}

export function oktaApi(s: Settings, timeoutMs: number): DirectoryClient {
  const apiToken = readSecret(s.api_token, "directory.okta_api.api_token");
  const org = s.org_url.replace(/\/$/, "");

  return {
    label: LABEL,
    defaultUserClaim: "uid",
    userKey: (v) => (typeof v === "string" && USER_KEY.test(v) ? v : undefined),
    async lookup(user, maxGroups) {
      const out: string[] = [];
      let url: string | undefined =
        `${org}/api/v1/users/${encodeURIComponent(user)}/groups?limit=${s.page_size}`;
      while (url) {
        const res = await call(
          LABEL,
          url,
          { headers: { authorization: `SSWS ${apiToken}`, accept: "application/json" } },
          timeoutMs,
        );
        let body: unknown;
        try {
          body = JSON.parse(await res.text());
        } catch (e) {
          throw unavailable(LABEL, `it answered ${res.status} with a body that is not JSON`, e);
        }
        if (res.status !== 200) {
          const b = (body ?? {}) as Record<string, unknown>;
          const why = `${clean(b.errorCode)}: ${clean(b.errorSummary)}`;
          if (res.status === 401)
            throw new GatehouseError(
              "DIRECTORY_CREDENTIALS_REJECTED",
              `${LABEL} refused the broker's API token (${why})`,
            );
          if (res.status === 403)
            throw new GatehouseError(
              "DIRECTORY_FORBIDDEN",
              `${LABEL} refused to list a user's groups (${why}): the API token's admin needs read access to users and groups (a read-only admin, or okta.groups.read)`,
            );
          if (res.status === 404)
            throw new GatehouseError("DIRECTORY_USER_UNKNOWN", `${LABEL} has no user ${user} (${why})`);
          if (transient(res.status)) throw unavailable(LABEL, `it answered ${res.status} (${why})`);
          throw unavailable(LABEL, `it answered ${res.status} (${why})`);
        }
        if (!Array.isArray(body)) throw unavailable(LABEL, "its answer is not a list of groups");
        for (const g of body) {
          const name = (g as { profile?: { name?: unknown } } | null)?.profile?.name;
          if (typeof name !== "string" || !name)
            throw unavailable(LABEL, "its answer lists a group without a name");
          out.push(name);
        }
        if (out.length > maxGroups) throw tooMany(LABEL, maxGroups);
        const next = nextLink(res.headers.get("link"));
        url = next ? sameOrigin(LABEL, next, org) : undefined;
      }
      return out;
    },
  };
}
