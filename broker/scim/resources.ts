// How the broker shows SCIM resources and its discovery documents (ServiceProviderConfig, Schemas,
// ResourceTypes): what it really supports, so an IdP reading them does not try more.

import { SCIM } from "../../shared/scim.ts";
import type { ScimGroupRow, ScimUserRow } from "../people/store.ts";

export const MAX_RESULTS = 1000;

export function userResource(u: ScimUserRow, base: string) {
  return {
    schemas: [SCIM.user],
    id: u.id,
    ...(u.externalId !== null ? { externalId: u.externalId } : {}),
    userName: u.userName,
    ...(u.displayName !== null ? { displayName: u.displayName } : {}),
    name: Object.fromEntries(Object.entries(u.name).filter(([, v]) => v !== null)),
    emails: u.emails,
    active: u.active,
    meta: {
      resourceType: "User",
      created: u.created,
      lastModified: u.lastModified,
      location: `${base}/Users/${u.id}`,
    },
  };
}

export function groupResource(g: ScimGroupRow, base: string, withMembers = true) {
  return {
    schemas: [SCIM.group],
    id: g.id,
    ...(g.externalId !== null ? { externalId: g.externalId } : {}),
    displayName: g.displayName,
    ...(withMembers
      ? {
          members: g.members.map((m) => ({
            value: m.value,
            display: m.display,
            $ref: `${base}/Users/${m.value}`,
          })),
        }
      : {}),
    meta: {
      resourceType: "Group",
      created: g.created,
      lastModified: g.lastModified,
      location: `${base}/Groups/${g.id}`,
    },
  };
}

export function listResponse<T>(total: number, startIndex: number, items: T[]) {
  return {
    schemas: [SCIM.listResponse],
    totalResults: total,
    startIndex,
    itemsPerPage: items.length,
    Resources: items,
  };
}

export function serviceProviderConfig(base: string) {
  return {
    schemas: [SCIM.serviceProviderConfig],
    documentationUri: "https://gatehouse.dev/docs/scim",
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: "oauthbearertoken",
        name: "Bearer token",
        description: "A long-lived bearer token from the broker's scim.token_env",
        primary: true,
      },
    ],
    meta: { resourceType: "ServiceProviderConfig", location: `${base}/ServiceProviderConfig` },
  };
}

const attr = (name: string, type: string, o: Record<string, unknown> = {}) => ({
  name,
  type,
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: "readWrite",
  returned: "default",
  uniqueness: "none",
  ...o,
});

const USER_SCHEMA = {
  id: SCIM.user,
  name: "User",
  description: "A person provisioned by the IdP; their e-mail names them in Gatehouse",
  attributes: [
    attr("userName", "string", { required: true, uniqueness: "server" }),
    attr("externalId", "string", { caseExact: true }),
    attr("displayName", "string"),
    attr("name", "complex", {
      subAttributes: [attr("givenName", "string"), attr("familyName", "string"), attr("formatted", "string")],
    }),
    attr("emails", "complex", {
      multiValued: true,
      subAttributes: [attr("value", "string"), attr("type", "string"), attr("primary", "boolean")],
    }),
    attr("active", "boolean"),
  ],
};

const GROUP_SCHEMA = {
  id: SCIM.group,
  name: "Group",
  description: "A provisioned group; access tags on roles can name it",
  attributes: [
    attr("displayName", "string", { required: true, uniqueness: "server" }),
    attr("externalId", "string", { caseExact: true }),
    attr("members", "complex", {
      multiValued: true,
      subAttributes: [
        attr("value", "string", { caseExact: true, mutability: "immutable" }),
        attr("display", "string", { mutability: "readOnly" }),
      ],
    }),
  ],
};

export function schemas(base: string) {
  return [USER_SCHEMA, GROUP_SCHEMA].map((s) => ({
    schemas: [SCIM.schema],
    ...s,
    meta: { resourceType: "Schema", location: `${base}/Schemas/${s.id}` },
  }));
}

export function resourceTypes(base: string) {
  return [
    { id: "User", name: "User", endpoint: "/Users", schema: SCIM.user },
    { id: "Group", name: "Group", endpoint: "/Groups", schema: SCIM.group },
  ].map((r) => ({
    schemas: [SCIM.resourceType],
    ...r,
    meta: { resourceType: "ResourceType", location: `${base}/ResourceTypes/${r.id}` },
  }));
}
