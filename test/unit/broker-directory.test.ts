// The group directory's pure parts: the per-person cache (least recently used out, bounded by persons and
// by group names, fresh / stale / expired by age) and the strict `directory` configuration.

import { describe, expect, it } from "vitest";
import { isGroupsOverage as overageMarked } from "../../broker/claims.ts";
import { parseConfig } from "../../broker/config.ts";
import { GroupCache } from "../../broker/groups/cache.ts";

describe("GroupCache", () => {
  const at = { now: 0 };
  const cache = (o: Partial<ConstructorParameters<typeof GroupCache>[0]> = {}) =>
    new GroupCache({ maxEntries: 3, maxGroups: 100, freshMs: 1000, maxStaleMs: 5000, ...o }, () => at.now);

  it("an answer is fresh, then stale, then expired and gone", () => {
    at.now = 0;
    const c = cache();
    c.set("a", ["g1"]);
    at.now = 999;
    expect(c.get("a")?.freshness).toBe("fresh");
    at.now = 1000;
    expect(c.get("a")?.freshness).toBe("stale");
    at.now = 5000;
    expect(c.get("a")?.freshness).toBe("expired");
    expect(c.get("a")).toBeUndefined();
    expect(c.stats()).toEqual({ entries: 0, groups: 0 });
  });

  it("the least recently used person goes first when there are too many", () => {
    at.now = 0;
    const c = cache();
    c.set("a", ["x"]);
    c.set("b", ["x"]);
    c.set("c", ["x"]);
    c.get("a"); // a is now the most recently used
    c.set("d", ["x"]);
    expect(c.get("b")).toBeUndefined();
    expect(["a", "c", "d"].map((k) => c.get(k)?.groups)).toEqual([["x"], ["x"], ["x"]]);
    expect(c.stats()).toEqual({ entries: 3, groups: 3 });
  });

  it("group names in all stay under their bound; an answer larger than the bound is not kept", () => {
    at.now = 0;
    const c = cache({ maxEntries: 100, maxGroups: 25 });
    c.set("a", Array(10).fill("g"));
    c.set("b", Array(10).fill("g"));
    c.set("c", Array(10).fill("g")); // 33 with one per entry: a goes
    expect(c.get("a")).toBeUndefined();
    expect(c.stats()).toEqual({ entries: 2, groups: 20 });
    c.set("huge", Array(30).fill("g"));
    expect(c.get("huge")).toBeUndefined();
    expect(c.stats().entries).toBe(2);
    c.set("b", ["one"]); // replacing an answer frees its weight
    expect(c.stats()).toEqual({ entries: 2, groups: 11 });
  });
});

describe("Entra's overage markers", () => {
  it("_claim_names.groups and hasgroups mark an overage; other claim names do not", () => {
    expect(overageMarked({ _claim_names: { groups: "src1" } })).toBe(true);
    expect(overageMarked({ hasgroups: true })).toBe(true);
    expect(overageMarked({ _claim_names: { roles: "src1" } })).toBe(false);
    expect(overageMarked({ groups: [] })).toBe(false);
  });
});

const BASE = `oidc:
  issuer: https://sso.example.com
  audience: gatehouse-broker
  groups_source: SOURCE
aws:
  spoke_role_name: GatehouseSpoke
  accounts:
    - { id: "222222222222", name: prod }
`;
const GRAPH = `directory:
  microsoft_graph:
    tenant_id: contoso.onmicrosoft.com
    client_id: 6e1d0c1a-aaaa-4bbb-8ccc-0123456789ab
    client_secret: { env: GRAPH_SECRET }
`;
const config = (source: string, rest = "") => BASE.replace("SOURCE", source) + rest;
const error = (text: string) => {
  try {
    parseConfig(text, "/etc/gatehouse.yaml");
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("parsed without error");
};

describe("the directory configuration", () => {
  it("defaults: asked when the token has no groups, 5 minutes of cache, the real endpoints", () => {
    const c = parseConfig(config("microsoft_graph", GRAPH), "/etc/gatehouse.yaml");
    expect(c.directory).toMatchObject({
      when: "no_groups_in_token",
      cache_seconds: 300,
      microsoft_graph: {
        login_url: "https://login.microsoftonline.com",
        graph_url: "https://graph.microsoft.com",
        method: "transitive_member_of",
      },
    });
    expect(parseConfig(config("token"), "/x.yaml").oidc.groups_source).toBe("token");
  });

  it("a source without its block, a block without its source, and an unknown source are errors", () => {
    expect(error(config("okta_api"))).toContain("groups_source okta_api needs a directory.okta_api block");
    expect(error(config("okta_api", GRAPH))).toContain("needs a directory.okta_api block");
    expect(error(config("token", GRAPH))).toContain("oidc.groups_source is token");
    expect(error(config("ldap"))).toMatch(/oidc\.groups_source/);
  });

  it("a secret is never written in the YAML: env or file, exactly one", () => {
    expect(error(config("microsoft_graph", GRAPH.replace("{ env: GRAPH_SECRET }", "s3cr3t")))).toContain(
      "client_secret",
    );
    expect(
      error(config("microsoft_graph", GRAPH.replace("{ env: GRAPH_SECRET }", "{ env: A, file: /b }"))),
    ).toContain("exactly one of env or file");
    expect(
      error(config("microsoft_graph", GRAPH.replace("{ env: GRAPH_SECRET }", "{ value: x }"))),
    ).toContain('unknown key "value"');
  });

  it("a relative key file is read next to the configuration", () => {
    const c = parseConfig(
      config(
        "google_directory",
        "directory:\n  google_directory:\n    service_account_key: { file: keys/sa.json }\n",
      ),
      "/etc/gatehouse/gatehouse.yaml",
    );
    expect(c.directory?.google_directory?.service_account_key.file).toBe("/etc/gatehouse/keys/sa.json");
  });
});
