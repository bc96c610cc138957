// SCIM PATCH (RFC 7644 §3.5.2) applied to a copy of a User or Group, in RFC form and in the forms Entra
// sends: capitalised ops, "True"/"False" strings, member removal with a `value` list, path-less replace
// whose keys are paths (`name.givenName`). A path naming nothing this broker knows is invalidPath: the
// whole request is refused and nothing changes (the caller writes only when every op applied).

import { parse } from "scim2-parse-filter";
import type { z } from "zod";
import { GatehouseError } from "../../shared/errors.ts";
import {
  type ScimPatchOp,
  scimBoolean,
  scimEmailSchema,
  scimMemberRefSchema,
  scimNameSchema,
} from "../../shared/scim.ts";
import type { ScimEmail, ScimUserRow } from "../people/store.ts";

export interface EditableGroup {
  id: string;
  displayName: string;
  externalId: string | null;
  members: string[];
}

const badPath = (path: string, why = "names no attribute this broker supports") =>
  new GatehouseError("SCIM_INVALID_PATH", `PATCH path "${path}" ${why}`);
const badValue = (path: string, why: string) =>
  new GatehouseError("SCIM_INVALID_VALUE", `PATCH value for "${path}": ${why}`);

function check<T extends z.ZodType>(schema: T, v: unknown, path: string): z.infer<T> {
  const r = schema.safeParse(v);
  if (!r.success) throw badValue(path, r.error.issues.map((i) => i.message).join("; "));
  return r.data;
}
const str = (v: unknown, path: string): string => {
  if (typeof v !== "string" || v.length > 1024) throw badValue(path, "a string (at most 1024 characters)");
  return v;
};
const strOrNull = (v: unknown, path: string, op: string): string | null =>
  op === "remove" ? null : v === null ? null : str(v, path);

/** Core User attributes (RFC 7643 §4.1) and the enterprise extension: accepted, not kept. */
const USER_IGNORED = new Set([
  "nickname",
  "profileurl",
  "title",
  "usertype",
  "preferredlanguage",
  "locale",
  "timezone",
  "password",
  "phonenumbers",
  "ims",
  "photos",
  "addresses",
  "entitlements",
  "roles",
  "x509certificates",
  "groups",
  "name.middlename",
  "name.honorificprefix",
  "name.honorificsuffix",
]);
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user";
const ENTERPRISE_ATTRS = new Set([
  "employeenumber",
  "costcenter",
  "organization",
  "division",
  "department",
  "manager",
]);
const CORE_PREFIX = /^urn:ietf:params:scim:schemas:core:2\.0:(user|group):/i;

/** A path split into attribute, optional value filter and sub-attribute: `emails[type eq "work"].value`. */
interface Path {
  attr: string;
  filter?: string;
  sub?: string;
}

function splitPath(raw: string): Path {
  const p = raw.replace(CORE_PREFIX, "");
  const m = /^([A-Za-z][\w$-]*)(?:\[(.+)\])?(?:\.([A-Za-z][\w$-]*))?$/.exec(p);
  if (!m) throw badPath(raw, "is not a valid attribute path");
  return { attr: m[1]!.toLowerCase(), filter: m[2], sub: m[3]?.toLowerCase() };
}

/** A value filter of the two kinds the IdPs send: `type eq "work"` and `value eq "id"`. */
function eqFilter(raw: string, filter: string, attr: "type" | "value"): string {
  let f: { op: string; attrPath?: string; compValue?: unknown };
  try {
    f = parse(filter) as typeof f;
  } catch (e) {
    throw new GatehouseError("SCIM_INVALID_PATH", `PATCH path "${raw}": ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (f.op !== "eq" || f.attrPath?.toLowerCase() !== attr || typeof f.compValue !== "string")
    throw badPath(raw, `may only filter with ${attr} eq "…"`);
  return f.compValue;
}

function isEnterprise(raw: string): boolean {
  const lower = raw.toLowerCase();
  if (lower === ENTERPRISE) return true;
  if (!lower.startsWith(`${ENTERPRISE}:`)) return false;
  const attr = lower.slice(ENTERPRISE.length + 1).split(".")[0]!;
  if (!ENTERPRISE_ATTRS.has(attr)) throw badPath(raw);
  return true;
}

// ---- users

/**
 * Each operation as (path, op, value): a path-less one (Entra's replace with an object of attributes) is
 * one call per attribute, skipping `schemas`, `meta` and the resource's own unchanged `id`.
 */
function applyOps(
  ops: readonly ScimPatchOp[],
  id: string,
  set: (path: string, op: ScimPatchOp["op"], v: unknown) => void,
): void {
  for (const op of ops) {
    if (op.path === undefined) {
      if (op.op === "remove") throw badPath("", "is required for remove");
      if (typeof op.value !== "object" || op.value === null || Array.isArray(op.value))
        throw badValue("(no path)", "an object of attributes");
      for (const [k, v] of Object.entries(op.value)) {
        if (k === "id" && v === id) continue;
        if (k === "schemas" || k === "meta") continue;
        set(k, op.op, v);
      }
    } else set(op.path, op.op, op.value);
  }
}

export function applyUserPatch(user: ScimUserRow, ops: readonly ScimPatchOp[]): ScimUserRow {
  const u: ScimUserRow = structuredClone(user);
  applyOps(ops, u.id, (path, op, v) => setUser(u, path, op, v));
  if (!u.userName.trim()) throw badValue("userName", "may not be empty");
  return u;
}

function setUser(u: ScimUserRow, raw: string, op: ScimPatchOp["op"], v: unknown): void {
  if (isEnterprise(raw)) return;
  const { attr, filter, sub } = splitPath(raw);
  const whole = filter === undefined && sub === undefined;
  switch (attr) {
    case "username":
      if (!whole) throw badPath(raw);
      if (op === "remove") throw badValue(raw, "userName cannot be removed");
      u.userName = str(v, raw).trim();
      return;
    case "displayname":
      if (!whole) throw badPath(raw);
      u.displayName = strOrNull(v, raw, op);
      return;
    case "externalid":
      if (!whole) throw badPath(raw);
      u.externalId = strOrNull(v, raw, op);
      return;
    case "active":
      if (!whole) throw badPath(raw);
      if (op === "remove") throw badValue(raw, "active cannot be removed");
      u.active = check(scimBoolean, v, raw);
      return;
    case "name": {
      if (filter !== undefined) throw badPath(raw);
      if (sub === undefined) {
        if (op === "remove") {
          u.name = { givenName: null, familyName: null, formatted: null };
          return;
        }
        const n = check(scimNameSchema, v, raw);
        if (op === "replace") u.name = { givenName: null, familyName: null, formatted: null };
        for (const k of ["givenName", "familyName", "formatted"] as const)
          if (n[k] !== undefined) u.name[k] = n[k];
        return;
      }
      const key = ({ givenname: "givenName", familyname: "familyName", formatted: "formatted" } as const)[
        sub as "givenname"
      ];
      if (!key) {
        if (USER_IGNORED.has(`name.${sub}`)) return;
        throw badPath(raw);
      }
      u.name[key] = strOrNull(v, raw, op);
      return;
    }
    case "emails":
      setEmails(u, raw, op, v, filter, sub);
      return;
    default:
      if (USER_IGNORED.has(attr) || USER_IGNORED.has(`${attr}.${sub ?? ""}`)) return;
      throw badPath(raw);
  }
}

function setEmails(
  u: ScimUserRow,
  raw: string,
  op: ScimPatchOp["op"],
  v: unknown,
  filter: string | undefined,
  sub: string | undefined,
): void {
  if (filter === undefined) {
    if (sub !== undefined) throw badPath(raw, 'needs a value filter (emails[type eq "work"].value)');
    if (op === "remove") {
      u.emails = [];
      return;
    }
    const list = check(scimEmailSchema.array().max(20), Array.isArray(v) ? v : [v], raw) as ScimEmail[];
    u.emails =
      op === "replace" ? list : [...u.emails.filter((e) => !list.some((l) => l.value === e.value)), ...list];
    return;
  }
  const type = eqFilter(raw, filter, "type");
  const i = u.emails.findIndex((e) => e.type === type);
  if (sub === undefined) {
    if (op !== "remove") throw badPath(raw, "takes a sub-attribute (.value) for add and replace");
    if (i >= 0) u.emails.splice(i, 1);
    return;
  }
  if (sub === "primary") {
    if (i >= 0 && op !== "remove") u.emails[i]!.primary = check(scimBoolean, v, raw);
    return;
  }
  if (sub !== "value") throw badPath(raw);
  if (op === "remove") {
    if (i >= 0) u.emails.splice(i, 1);
    return;
  }
  const value = check(scimEmailSchema.shape.value, v, raw);
  if (i >= 0) u.emails[i]!.value = value;
  else u.emails.push({ value, type, ...(u.emails.length === 0 ? { primary: true } : {}) });
}

// ---- groups

const memberIds = (v: unknown, raw: string): string[] =>
  check(scimMemberRefSchema.array().max(10_000), Array.isArray(v) ? v : [v], raw).map((m) => m.value);

export function applyGroupPatch(group: EditableGroup, ops: readonly ScimPatchOp[]): EditableGroup {
  const g: EditableGroup = structuredClone(group);
  applyOps(ops, g.id, (path, op, v) => setGroup(g, path, op, v));
  if (!g.displayName.trim()) throw badValue("displayName", "may not be empty");
  return g;
}

function setGroup(g: EditableGroup, raw: string, op: ScimPatchOp["op"], v: unknown): void {
  const { attr, filter, sub } = splitPath(raw);
  const whole = filter === undefined && sub === undefined;
  switch (attr) {
    case "displayname":
      if (!whole) throw badPath(raw);
      if (op === "remove") throw badValue(raw, "displayName cannot be removed");
      g.displayName = str(v, raw).trim();
      return;
    case "externalid":
      if (!whole) throw badPath(raw);
      g.externalId = strOrNull(v, raw, op);
      return;
    case "members": {
      if (sub !== undefined) throw badPath(raw);
      if (filter !== undefined) {
        // RFC form: remove members[value eq "id"].
        if (op !== "remove") throw badPath(raw, "with a filter is only for remove");
        const id = eqFilter(raw, filter, "value");
        g.members = g.members.filter((m) => m !== id);
        return;
      }
      if (op === "remove") {
        // Entra's form: remove with a list of {value}; without a value, every member goes (RFC 7644).
        if (v === undefined || v === null) g.members = [];
        else {
          const gone = new Set(memberIds(v, raw));
          g.members = g.members.filter((m) => !gone.has(m));
        }
        return;
      }
      const ids = memberIds(v, raw);
      g.members = op === "replace" ? [...new Set(ids)] : [...new Set([...g.members, ...ids])];
      return;
    }
    default:
      throw badPath(raw);
  }
}
