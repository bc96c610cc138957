// SCIM 2.0 under /scim/v2 (RFC 7644): Users, Groups and the discovery documents, for Okta and Entra ID.
// Its own error bodies (urn:…:Error, status as a string, scimType), its own bearer tokens, and
// application/scim+json both ways. Every change is audited; a person's `active` follows into their state.

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import { type ERRORS, GatehouseError } from "../../shared/errors.ts";
import {
  SCIM,
  type ScimUserInput,
  scimGroupInputSchema,
  scimPatchSchema,
  scimUserInputSchema,
} from "../../shared/scim.ts";
import type { PeopleService } from "../people/service.ts";
import { type PeopleStore, personEmail, type ScimUserRow } from "../people/store.ts";
import { type AuditInput, isWriteFailure } from "../store.ts";
import type { ScimTokens } from "./auth.ts";
import { filterToWhere } from "./filter.ts";
import { applyGroupPatch, applyUserPatch } from "./patch.ts";
import {
  groupResource,
  listResponse,
  MAX_RESULTS,
  resourceTypes,
  schemas,
  serviceProviderConfig,
  userResource,
} from "./resources.ts";

export interface ScimRoutesDeps {
  tokens: ScimTokens;
  store: PeopleStore;
  people: PeopleService;
  audit(entry: AuditInput): void;
  /** A refused token, counted and audited like the broker's own (SECURITY 36). */
  refused(ip: string, why: string): void;
}

const SCIM_TYPES: Partial<Record<keyof typeof ERRORS, string>> = {
  SCIM_INVALID_FILTER: "invalidFilter",
  SCIM_INVALID_PATH: "invalidPath",
  SCIM_INVALID_VALUE: "invalidValue",
  SCIM_INVALID_SYNTAX: "invalidSyntax",
  SCIM_CONFLICT: "uniqueness",
};

const ACTOR = "scim";

function scimError(reply: FastifyReply, status: number, detail: string, scimType?: string) {
  return reply
    .status(status)
    .type("application/scim+json")
    .send({ schemas: [SCIM.error], status: String(status), ...(scimType ? { scimType } : {}), detail });
}

function body<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const why = r.error.issues.map((i) => `${i.path.map(String).join(".") || "body"}: ${i.message}`).join("; ");
  throw new GatehouseError("SCIM_INVALID_VALUE", `invalid SCIM body: ${why}`);
}

function paging(q: { startIndex?: string; count?: string }): { startIndex: number; count: number } {
  const num = (v: string | undefined, name: string, dflt: number) => {
    if (v === undefined) return dflt;
    if (!/^-?\d{1,9}$/.test(v)) throw new GatehouseError("SCIM_INVALID_VALUE", `${name} must be an integer`);
    return Number(v);
  };
  // RFC 7644 §3.4.2.4: a startIndex below 1 is 1, a negative count is 0.
  return {
    startIndex: Math.max(1, num(q.startIndex, "startIndex", 1)),
    count: Math.min(MAX_RESULTS, Math.max(0, num(q.count, "count", 100))),
  };
}

const excludesMembers = (q: { excludedAttributes?: string }) =>
  (q.excludedAttributes ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .some((s) => s === "members" || s === "urn:ietf:params:scim:schemas:core:2.0:group:members");

function newUser(input: ScimUserInput) {
  return {
    userName: input.userName,
    externalId: input.externalId,
    displayName: input.displayName,
    name: {
      givenName: input.name?.givenName ?? null,
      familyName: input.name?.familyName ?? null,
      formatted: input.name?.formatted ?? null,
    },
    emails: (input.emails ?? []).map(({ display: _d, ...e }) => e),
    active: input.active,
  };
}

type ListQuery = { filter?: string; startIndex?: string; count?: string; excludedAttributes?: string };

export async function scimRoutes(app: FastifyInstance, deps: ScimRoutesDeps): Promise<void> {
  const { store, people } = deps;
  const base = (req: FastifyRequest) => `${req.protocol}://${req.host}/scim/v2`;
  const notFound = (what: string, id: string) =>
    new GatehouseError("SCIM_NOT_FOUND", `no ${what} with id "${id}"`);

  // Group bodies list members: a large group's PUT or PATCH outgrows the broker's 16 KiB default.
  app.addHook("onRoute", (route) => {
    route.bodyLimit ??= 1024 * 1024;
  });
  app.addContentTypeParser(
    "application/scim+json",
    { parseAs: "string" },
    app.getDefaultJsonParser("error", "error"),
  );
  app.addHook("onRequest", async (req) => {
    if (!deps.tokens.matches(req.headers.authorization)) {
      deps.refused(req.ip, "SCIM bearer token missing or wrong");
      throw new GatehouseError("SCIM_UNAUTHORIZED");
    }
  });
  app.addHook("onSend", async (_req, reply, payload) => {
    if (String(reply.getHeader("content-type") ?? "").startsWith("application/json"))
      reply.type("application/scim+json");
    return payload;
  });
  app.setErrorHandler((err: FastifyError | GatehouseError, req, reply) => {
    if (err instanceof GatehouseError) {
      if (err.code === "SCIM_UNAUTHORIZED") reply.header("www-authenticate", 'Bearer realm="gatehouse-scim"');
      if (err.status >= 500) req.log.error({ code: err.code, err: err.message }, "SCIM request failed");
      return scimError(reply, err.status, err.message, SCIM_TYPES[err.code]);
    }
    if (err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE")
      return scimError(reply, 415, "send the body as application/scim+json or application/json");
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") return scimError(reply, 413, "the body is too large");
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)
      return scimError(reply, 400, err.message, "invalidSyntax");
    // The database cannot be written (full disk, size cap, PostgreSQL gone): the IdP retries on 503.
    if (isWriteFailure(err.code)) {
      req.log.error({ code: err.code, err: err.message }, "the database cannot be written");
      return scimError(
        reply,
        503,
        `the broker's database cannot be written (${err.code}); nothing was changed`,
      );
    }
    req.log.error({ err }, "unexpected SCIM error");
    return scimError(reply, 500, "an unexpected error happened; the request id names it in the broker's log");
  });
  app.setNotFoundHandler((req, reply) =>
    scimError(reply, 404, `no SCIM endpoint ${req.method} ${req.url.split("?")[0]}`),
  );

  /** After a user is written: their person state follows `active` (only what SCIM itself set). */
  const follow = (u: ScimUserRow) => {
    if (!u.email) return;
    const s = people.state(u.email);
    if (!u.active && !s.scimDisabled)
      people.disable(u.email, {
        source: "scim",
        actor: ACTOR,
        reason: "deactivated by the IdP (SCIM active: false)",
      });
    else if (u.active && s.scimDisabled) people.enable(u.email, { source: "scim", actor: ACTOR });
  };
  const auditUser = (action: string, u: ScimUserRow, detail: Record<string, unknown> = {}) =>
    deps.audit({
      actor: ACTOR,
      action,
      target: u.email ?? u.userName,
      outcome: "ok",
      detail: { id: u.id, userName: u.userName, active: u.active, ...detail },
    });

  // ---- discovery

  app.get("/ServiceProviderConfig", async (req) => serviceProviderConfig(base(req)));
  app.get("/Schemas", async (req) => {
    const all = schemas(base(req));
    return listResponse(all.length, 1, all);
  });
  app.get<{ Params: { id: string } }>("/Schemas/:id", async (req) => {
    const s = schemas(base(req)).find((x) => x.id === req.params.id);
    if (!s) throw notFound("schema", req.params.id);
    return s;
  });
  app.get("/ResourceTypes", async (req) => {
    const all = resourceTypes(base(req));
    return listResponse(all.length, 1, all);
  });
  app.get<{ Params: { id: string } }>("/ResourceTypes/:id", async (req) => {
    const r = resourceTypes(base(req)).find((x) => x.id === req.params.id);
    if (!r) throw notFound("resource type", req.params.id);
    return r;
  });

  // ---- users

  app.get<{ Querystring: ListQuery }>("/Users", async (req) => {
    const where = filterToWhere("User", req.query.filter);
    const { startIndex, count } = paging(req.query);
    const total = store.countUsers(where);
    const rows = count === 0 ? [] : store.listUsers(where, startIndex - 1, count);
    return listResponse(
      total,
      startIndex,
      rows.map((u) => userResource(u, base(req))),
    );
  });

  app.get<{ Params: { id: string } }>("/Users/:id", async (req) => {
    const u = store.getUser(req.params.id);
    if (!u) throw notFound("user", req.params.id);
    return userResource(u, base(req));
  });

  app.post("/Users", async (req, reply) => {
    const u = store.createUser(newUser(body(scimUserInputSchema, req.body)));
    auditUser("scim.user.create", u);
    follow(u);
    return reply
      .status(201)
      .header("location", `${base(req)}/Users/${u.id}`)
      .send(userResource(u, base(req)));
  });

  app.put<{ Params: { id: string } }>("/Users/:id", async (req) => {
    const input = newUser(body(scimUserInputSchema, req.body));
    const u = store.transaction(() => {
      const old = store.getUserForUpdate(req.params.id);
      if (!old) throw notFound("user", req.params.id);
      return store.saveUser({ ...old, ...input });
    });
    auditUser("scim.user.replace", u);
    follow(u);
    return userResource(u, base(req));
  });

  app.patch<{ Params: { id: string } }>("/Users/:id", async (req) => {
    const patch = body(scimPatchSchema, req.body);
    const u = store.transaction(() => {
      const old = store.getUserForUpdate(req.params.id);
      if (!old) throw notFound("user", req.params.id);
      const next = applyUserPatch(old, patch.Operations);
      return store.saveUser({ ...next, email: personEmail(next) });
    });
    auditUser("scim.user.patch", u, { ops: patch.Operations.map((o) => `${o.op} ${o.path ?? "(no path)"}`) });
    follow(u);
    return userResource(u, base(req));
  });

  app.delete<{ Params: { id: string } }>("/Users/:id", async (req, reply) => {
    const u = store.getUser(req.params.id);
    if (!u) throw notFound("user", req.params.id);
    // Disabled first: a stop between the two leaves a disabled person, never a deleted-but-enabled one.
    if (u.email && !people.state(u.email).scimDisabled)
      people.disable(u.email, { source: "scim", actor: ACTOR, reason: "deleted by the IdP (SCIM DELETE)" });
    store.deleteUser(u.id);
    auditUser("scim.user.delete", u);
    return reply.status(204).send();
  });

  // ---- groups

  app.get<{ Querystring: ListQuery }>("/Groups", async (req) => {
    const where = filterToWhere("Group", req.query.filter);
    const { startIndex, count } = paging(req.query);
    const withMembers = !excludesMembers(req.query);
    const total = store.countGroups(where);
    const rows = count === 0 ? [] : store.listGroups(where, startIndex - 1, count, withMembers);
    return listResponse(
      total,
      startIndex,
      rows.map((g) => groupResource(g, base(req), withMembers)),
    );
  });

  app.get<{ Params: { id: string }; Querystring: ListQuery }>("/Groups/:id", async (req) => {
    const withMembers = !excludesMembers(req.query);
    const g = store.getGroup(req.params.id, withMembers);
    if (!g) throw notFound("group", req.params.id);
    return groupResource(g, base(req), withMembers);
  });

  const auditGroup = (
    action: string,
    g: { id: string; displayName: string },
    detail: Record<string, unknown>,
  ) =>
    deps.audit({
      actor: ACTOR,
      action,
      target: g.displayName,
      outcome: "ok",
      detail: { id: g.id, ...detail },
    });
  const diff = (before: string[], after: string[]) => ({
    added: after.filter((m) => !before.includes(m)),
    removed: before.filter((m) => !after.includes(m)),
  });

  app.post("/Groups", async (req, reply) => {
    const input = body(scimGroupInputSchema, req.body);
    const g = store.createGroup({
      displayName: input.displayName,
      externalId: input.externalId,
      members: (input.members ?? []).map((m) => m.value),
    });
    auditGroup("scim.group.create", g, { members: g.members.map((m) => m.value) });
    return reply
      .status(201)
      .header("location", `${base(req)}/Groups/${g.id}`)
      .send(groupResource(g, base(req)));
  });

  const rewrite = (
    id: string,
    change: (old: { id: string; displayName: string; externalId: string | null; members: string[] }) => {
      displayName: string;
      externalId: string | null;
      members: string[];
    },
  ) =>
    store.transaction(() => {
      const old = store.getGroupForUpdate(id);
      if (!old) throw notFound("group", id);
      const before = {
        id,
        displayName: old.displayName,
        externalId: old.externalId,
        members: old.members.map((m) => m.value),
      };
      const next = change(before);
      const saved = store.saveGroup({ id, ...next });
      return { before, saved };
    });

  app.put<{ Params: { id: string } }>("/Groups/:id", async (req) => {
    const input = body(scimGroupInputSchema, req.body);
    const { before, saved } = rewrite(req.params.id, () => ({
      displayName: input.displayName,
      externalId: input.externalId,
      members: (input.members ?? []).map((m) => m.value),
    }));
    auditGroup("scim.group.replace", saved, {
      displayName: saved.displayName,
      ...diff(
        before.members,
        saved.members.map((m) => m.value),
      ),
    });
    return groupResource(saved, base(req));
  });

  app.patch<{ Params: { id: string }; Querystring: ListQuery }>("/Groups/:id", async (req, reply) => {
    const patch = body(scimPatchSchema, req.body);
    const { before, saved } = rewrite(req.params.id, (old) => applyGroupPatch(old, patch.Operations));
    auditGroup("scim.group.patch", saved, {
      ...(before.displayName !== saved.displayName ? { renamedFrom: before.displayName } : {}),
      ...diff(
        before.members,
        saved.members.map((m) => m.value),
      ),
    });
    // Entra and Okta need no body back; RFC 7644 allows 204 or the resource. The resource says what holds.
    return reply.status(200).send(groupResource(saved, base(req), !excludesMembers(req.query)));
  });

  app.delete<{ Params: { id: string } }>("/Groups/:id", async (req, reply) => {
    const g = store.getGroup(req.params.id);
    if (!g) throw notFound("group", req.params.id);
    store.deleteGroup(g.id);
    auditGroup("scim.group.delete", g, { members: g.members.map((m) => m.value) });
    return reply.status(204).send();
  });
}
