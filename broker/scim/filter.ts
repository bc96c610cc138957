// SCIM filters (RFC 7644 §3.4.2.2) as the IdPs send them, parsed by scim2-parse-filter and turned into a
// SQL WHERE clause over an allow-list of attributes: `eq` joined by `and` (what Okta and Entra use).
// Anything else is refused with invalidFilter rather than answered loosely.

import { type Filter, parse } from "scim2-parse-filter";
import { GatehouseError } from "../../shared/errors.ts";
import type { Param } from "../db/index.ts";
import type { Where } from "../people/store.ts";

/** How one attribute is compared: a SQL fragment with one `?`, and whether case matters (RFC 7643 caseExact). */
interface Column {
  sql: string;
  caseExact: boolean;
}

/** Filterable attributes per resource, keyed by the lower-cased attribute path (names are case-insensitive). */
const USER_COLUMNS: Record<string, Column> = {
  id: { sql: "id = ?", caseExact: true },
  username: { sql: "user_name_key = ?", caseExact: false },
  externalid: { sql: "external_id = ?", caseExact: true },
  displayname: { sql: "lower(display_name) = ?", caseExact: false },
  "emails.value": { sql: "id IN (SELECT user_id FROM scim_emails WHERE value_key = ?)", caseExact: false },
  emails: { sql: "id IN (SELECT user_id FROM scim_emails WHERE value_key = ?)", caseExact: false },
  "name.givenname": { sql: "lower(given_name) = ?", caseExact: false },
  "name.familyname": { sql: "lower(family_name) = ?", caseExact: false },
};
const GROUP_COLUMNS: Record<string, Column> = {
  id: { sql: "id = ?", caseExact: true },
  displayname: { sql: "display_name_key = ?", caseExact: false },
  externalid: { sql: "external_id = ?", caseExact: true },
  "members.value": { sql: "id IN (SELECT group_id FROM scim_members WHERE user_id = ?)", caseExact: true },
  members: { sql: "id IN (SELECT group_id FROM scim_members WHERE user_id = ?)", caseExact: true },
};
const SCHEMA_PREFIX = /^urn:ietf:params:scim:schemas:core:2\.0:(user|group):/i;

const invalid = (why: string) => new GatehouseError("SCIM_INVALID_FILTER", `invalid filter: ${why}`);

export type FilterResource = "User" | "Group";

/** `filter=` to a WHERE clause (no filter: every row). */
export function filterToWhere(resource: FilterResource, text: string | undefined): Where {
  if (text === undefined || text.trim() === "") return { sql: "1 = 1", params: [] };
  if (text.length > 1000) throw invalid("longer than 1000 characters");
  let ast: Filter;
  try {
    ast = parse(text);
  } catch (e) {
    throw new GatehouseError("SCIM_INVALID_FILTER", `invalid filter: ${(e as Error).message}`, { cause: e });
  }
  const params: Param[] = [];
  const sql = toSql(resource === "User" ? USER_COLUMNS : GROUP_COLUMNS, ast, params);
  return { sql, params };
}

function toSql(columns: Record<string, Column>, f: Filter, params: Param[]): string {
  switch (f.op) {
    case "and": {
      const parts = (f as { filters: Filter[] }).filters;
      // Entra's `emails[type eq "work"].value eq "x"` arrives as a value path next to the comparison.
      return `(${parts.map((p) => toSql(columns, p, params)).join(" AND ")})`;
    }
    case "eq": {
      const c = f as { attrPath: string; compValue: unknown };
      const col = columns[c.attrPath.replace(SCHEMA_PREFIX, "").toLowerCase()];
      if (!col) throw invalid(`filtering on "${c.attrPath}" is not supported`);
      if (typeof c.compValue !== "string") throw invalid(`"${c.attrPath}" is compared with a string`);
      params.push(col.caseExact ? c.compValue : c.compValue.toLowerCase());
      return col.sql;
    }
    case "[]": {
      const v = f as { attrPath: string; valFilter: Filter };
      const inner = v.valFilter as { op: string; attrPath?: string; compValue?: unknown };
      if (
        v.attrPath.toLowerCase() === "emails" &&
        inner.op === "eq" &&
        inner.attrPath?.toLowerCase() === "type" &&
        typeof inner.compValue === "string" &&
        columns === USER_COLUMNS
      ) {
        params.push(inner.compValue);
        return "id IN (SELECT user_id FROM scim_emails WHERE type = ?)";
      }
      throw invalid(`the value filter on "${v.attrPath}" is not supported`);
    }
    default:
      throw invalid(`the operator "${f.op}" is not supported (eq and and are)`);
  }
}
