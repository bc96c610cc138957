// The roles view's model (renderer/src/roles/search.ts): what search looks at, grouping by account, the
// Favourites / Recent sections, and typing on (narrowing from the last matches) agreeing with a fresh search.

import { describe, expect, it } from "vitest";
import { buildRows, indexRoles, matchRanges, matchRoles, type Row } from "../../renderer/src/roles/search.ts";
import type { Role } from "../../shared/api.ts";

function role(accountName: string, accountId: string, roleName: string, more: Partial<Role> = {}): Role {
  return {
    ref: `${accountName}/${roleName}`,
    accountId,
    accountName,
    roleName,
    arn: `arn:aws:iam::${accountId}:role/${roleName}`,
    description: null,
    cliOnly: false,
    maxSessionDuration: 3600,
    tags: {},
    ...more,
  };
}

const ROLES = [
  role("staging", "333333333333", "Developer", {
    description: "Developer access to staging",
    tags: { "gatehouse-authorized": "engineers:alice@example.com" },
  }),
  role("prod", "222222222222", "ReadOnly", {
    description: "Read-only access to prod",
    tags: { "gatehouse-authorized": "engineers" },
  }),
  role("staging", "333333333333", "DataPipeline", {
    description: "Runs the data pipeline (CLI only)",
    cliOnly: true,
    tags: { "gatehouse-authorized-cli-only": "data", team: "Analytics" },
  }),
  role("staging", "333333333333", "Role10"),
  role("staging", "333333333333", "Role9"),
];

const refs = (rows: Row[], section = "accounts") =>
  rows
    .filter((r) => r.kind === "role" && r.section === section)
    .map((r) => (r.kind === "role" ? r.role.ref : ""));
const search = (q: string) => buildRows(matchRoles(indexRoles(ROLES), q), { favourites: [], recent: [] });

describe("roles search", () => {
  it("groups by account (by name), roles by name with numbers in numeric order", () => {
    const { rows, matches } = search("");
    expect(matches).toBe(5);
    expect(
      rows.map((r) => (r.kind === "account" ? `# ${r.accountName} ${r.accountId} (${r.count})` : r.key)),
    ).toEqual([
      "# prod 222222222222 (1)",
      "a:arn:aws:iam::222222222222:role/ReadOnly",
      "# staging 333333333333 (4)",
      "a:arn:aws:iam::333333333333:role/DataPipeline",
      "a:arn:aws:iam::333333333333:role/Developer",
      "a:arn:aws:iam::333333333333:role/Role9",
      "a:arn:aws:iam::333333333333:role/Role10",
    ]);
  });

  it.each([
    ["pipe", ["staging/DataPipeline"]],
    ["PIPE", ["staging/DataPipeline"]],
    ["222222222222", ["prod/ReadOnly"]],
    ["staging developer", ["staging/Developer"]],
    ["engineers", ["prod/ReadOnly", "staging/Developer"]],
    ["analytics", ["staging/DataPipeline"]],
    ["team=analytics", ["staging/DataPipeline"]],
    ["cli-only", ["staging/DataPipeline"]],
    ["prod/readonly", ["prod/ReadOnly"]],
    ["  read   prod ", ["prod/ReadOnly"]],
    ["nothing-like-this", []],
  ])("%j matches %j", (q, expected) => {
    const { rows, matches } = search(q);
    expect(refs(rows)).toEqual(expected);
    expect(matches).toBe(expected.length);
    // An account with no match has no header.
    expect(rows.filter((r) => r.kind === "account").length).toBe(
      new Set(expected.map((r) => r.split("/")[0])).size,
    );
  });

  it("puts Favourites (sorted) and Recent (in order) on top only when there is no query", () => {
    const index = indexRoles(ROLES);
    const pins = {
      favourites: ["staging/Developer", "gone/Role", "prod/ReadOnly"],
      recent: ["staging/Role9"],
    };
    const { rows } = buildRows(matchRoles(index, ""), pins);
    expect(
      rows.filter((r) => r.kind === "section").map((r) => (r.kind === "section" ? r.title : "")),
    ).toEqual(["Favourites", "Recent", "All roles"]);
    expect(refs(rows, "favourites")).toEqual(["prod/ReadOnly", "staging/Developer"]);
    expect(refs(rows, "recent")).toEqual(["staging/Role9"]);
    expect(new Set(rows.map((r) => r.key)).size).toBe(rows.length);
    const searching = buildRows(matchRoles(index, "dev"), pins).rows;
    expect(searching.some((r) => r.kind === "section")).toBe(false);
  });

  it("typing on narrows from the last matches and agrees with a fresh search; editing starts over", () => {
    const index = indexRoles(ROLES);
    let last = matchRoles(index, "");
    for (const q of [
      "s",
      "st",
      "sta",
      "stag",
      "stag ",
      "stag d",
      "stag da",
      "stag d",
      "stag",
      "prod",
      "pro",
    ]) {
      const typed = matchRoles(index, q, last);
      const fresh = matchRoles(index, q);
      expect(typed.perAccount, q).toEqual(fresh.perAccount);
      expect(typed.count, q).toBe(fresh.count);
      last = typed;
    }
    // Matches of another index (new roles) are never narrowed from.
    const other = indexRoles(ROLES.slice(0, 1));
    expect(matchRoles(other, "stag d", last).count).toBe(1);
  });

  it("marks every matching range once, merged", () => {
    expect(matchRanges("DataPipeline", ["pipe"])).toEqual([[4, 8]]);
    expect(matchRanges("aaaa", ["aa"])).toEqual([[0, 4]]);
    expect(matchRanges("Developer access", ["dev", "elo", "access"])).toEqual([
      [0, 6],
      [10, 16],
    ]);
    expect(matchRanges("x", [])).toEqual([]);
  });
});
