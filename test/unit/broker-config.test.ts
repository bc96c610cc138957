// The broker's strict YAML config: the shipped configs parse, and every kind of mistake stops with one
// clear error naming the file, the line and the key path (seeds/000: a duplicated spoke_role_name won).

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, parseConfig, spokeRoleArn } from "../../broker/config.ts";
import { GatehouseError } from "../../shared/errors.ts";

const ROOT = join(import.meta.dirname, "../..");
const EXAMPLE = join(ROOT, "broker/gatehouse.example.yaml");
const DEMO = join(ROOT, "dev/gatehouse.demo.yaml");
const FILE = "/etc/gatehouse/gatehouse.yaml";

/** A small valid config; the cases below change one thing each. */
const BASE = `listen:
  host: 127.0.0.1
  port: 7420
database: broker.sqlite
oidc:
  issuer: https://sso.example.com
  audience: gatehouse-broker
aws:
  base_identity:
    type: static
    access_key_id: AKIAGATEHOUSEDEMO001
    secret_access_key: gatehouse-demo-secret
  central_role_arn: arn:aws:iam::111111111111:role/GatehouseCentral
  spoke_role_name: GatehouseSpoke
  accounts:
    - id: "222222222222"
      name: prod
    - id: "333333333333"
      name: staging
`;

/** The 1-based line on which `needle` occurs (the `nth` occurrence). */
function lineOf(text: string, needle: string, nth = 1): number {
  let at = -1;
  for (let i = 0; i < nth; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`"${needle}" occurs fewer than ${nth} times`);
  }
  return text.slice(0, at).split("\n").length;
}

function replaceOnce(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`"${from}" is not in the config`);
  return text.replace(from, to);
}

/** The one error parsing `text` gives: CONFIG_INVALID, starting with "file:line: ". */
function configError(text: string, line: number): string {
  let error: unknown;
  try {
    parseConfig(text, FILE);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(GatehouseError);
  const e = error as GatehouseError;
  expect(e.code).toBe("CONFIG_INVALID");
  expect(e.message.startsWith(`${FILE}:${line}: `), `${e.message} should start with ${FILE}:${line}`).toBe(
    true,
  );
  expect(e.message.split("\n")).toHaveLength(1);
  return e.message;
}

describe("the shipped configs", () => {
  it("the example (every option) parses, with the per-account spoke override", () => {
    const c = loadConfig(EXAMPLE);
    expect(c.listen).toEqual({ host: "127.0.0.1", port: 7420 });
    expect(c.aws.central_role_arn).toBe("arn:aws:iam::111111111111:role/GatehouseCentral");
    expect(c.aws.accounts.map((a) => [a.id, a.name])).toEqual([
      ["222222222222", "prod"],
      ["333333333333", "staging"],
    ]);
    expect(c.access.admin_groups).toEqual(["platform-admins"]);
    expect(c.sync).toEqual({
      interval_seconds: 300,
      account_concurrency: 8,
      requests_per_second: 5,
      max_attempts: 6,
    });
  });

  it("the demo config parses, with defaults filled in and the database relative to the file", () => {
    const c = loadConfig(DEMO);
    expect(c.aws.endpoint).toBe("http://127.0.0.1:7422");
    expect(c.aws.base_identity).toMatchObject({ type: "static", access_key_id: "AKIAGATEHOUSEDEMO001" });
    expect(c.access.tag_keys).toEqual(["gatehouse-authorized"]);
    expect(c.access.cli_only_tag_keys).toEqual(["gatehouse-authorized-cli-only"]);
    expect(c.oidc.algorithms).toEqual(["RS256", "ES256"]);
    expect(c.database).toBe(join(ROOT, ".tmp/demo-broker.sqlite"));
  });

  it("spokeRoleArn uses an account's own spoke_role_name, else the global one", () => {
    const c = loadConfig(EXAMPLE);
    const [prod, staging] = c.aws.accounts;
    expect(spokeRoleArn(c, prod!)).toBe("arn:aws:iam::222222222222:role/GatehouseSpoke");
    expect(spokeRoleArn(c, staging!)).toBe("arn:aws:iam::333333333333:role/LegacySpokeRole");
  });

  it("the base config of these tests is itself valid", () => {
    expect(parseConfig(BASE, FILE).database).toBe("/etc/gatehouse/broker.sqlite");
  });

  it("an unreadable file is a CONFIG_INVALID error naming it", () => {
    expect(() => loadConfig("/nonexistent/gatehouse.yaml")).toThrow(
      /cannot read \/nonexistent\/gatehouse.yaml/,
    );
  });
});

describe("one clear error each", () => {
  it("a duplicated spoke_role_name (seeds/000: the second silently won) names the second one", () => {
    const text = replaceOnce(
      BASE,
      "  spoke_role_name: GatehouseSpoke\n",
      "  spoke_role_name: GatehouseSpoke\n  spoke_role_name: LegacySpoke\n",
    );
    const msg = configError(text, lineOf(text, "spoke_role_name", 2));
    expect(msg).toContain("aws.spoke_role_name: duplicate key");
  });

  it("a duplicated key inside an account (flow style) names the account's key path", () => {
    const text = replaceOnce(
      BASE,
      '    - id: "333333333333"\n      name: staging\n',
      '    - { id: "333333333333", name: staging, name: prod }\n',
    );
    const msg = configError(text, lineOf(text, "name: staging"));
    expect(msg).toContain("aws.accounts.1.name: duplicate key");
  });

  it("an unknown key at the top level", () => {
    const text = `${BASE}spoke_role: GatehouseSpoke\n`;
    const msg = configError(text, lineOf(text, "spoke_role:"));
    expect(msg).toContain('unknown key "spoke_role"');
  });

  it("an unknown key nested in a section names the section and the key", () => {
    const text = replaceOnce(
      BASE,
      "  audience: gatehouse-broker\n",
      "  audience: gatehouse-broker\n  group_claim: groups\n",
    );
    const msg = configError(text, lineOf(text, "group_claim"));
    expect(msg).toContain('oidc: unknown key "group_claim"');
  });

  it("an unknown key inside an account", () => {
    const text = replaceOnce(
      BASE,
      "      name: staging\n",
      "      name: staging\n      spoke_role: Legacy\n",
    );
    const msg = configError(text, lineOf(text, "spoke_role: Legacy"));
    expect(msg).toContain('aws.accounts.1: unknown key "spoke_role"');
  });

  it("a missing account id", () => {
    const text = replaceOnce(
      BASE,
      '    - id: "333333333333"\n      name: staging\n',
      "    - name: staging\n",
    );
    const msg = configError(text, lineOf(text, "- name: staging"));
    expect(msg).toContain("aws.accounts.1.id: required key is missing");
  });

  it("a bad role ARN for central_role_arn", () => {
    const text = replaceOnce(
      BASE,
      "arn:aws:iam::111111111111:role/GatehouseCentral",
      "arn:aws:iam::111111111111:user/GatehouseCentral",
    );
    const msg = configError(text, lineOf(text, "central_role_arn"));
    expect(msg).toContain("aws.central_role_arn: not an IAM role ARN");
  });

  it("an unquoted account id (a YAML number) says to quote it", () => {
    const text = replaceOnce(BASE, 'id: "333333333333"', "id: 333333333333");
    const msg = configError(text, lineOf(text, "id: 333333333333"));
    expect(msg).toContain("aws.accounts.1.id:");
    expect(msg).toMatch(/quote/i);
  });

  it("an account id with leading zeros unquoted is refused too (YAML would drop the zeros)", () => {
    const text = replaceOnce(BASE, 'id: "333333333333"', "id: 012345678901");
    const msg = configError(text, lineOf(text, "id: 012345678901"));
    expect(msg).toMatch(/aws\.accounts\.1\.id: .*quote/i);
  });

  it("an account id that is not 12 digits", () => {
    const text = replaceOnce(BASE, 'id: "333333333333"', 'id: "33333333333"');
    const msg = configError(text, lineOf(text, 'id: "33333333333"'));
    expect(msg).toContain("aws.accounts.1.id: an AWS account id is 12 digits");
  });

  it("a wrong type: the port as a string", () => {
    const text = replaceOnce(BASE, "port: 7420", 'port: "7420"');
    const msg = configError(text, lineOf(text, "port:"));
    expect(msg).toMatch(/listen\.port: .*expected number, received string/);
  });

  it("a wrong type: a boolean given as a string", () => {
    const text = replaceOnce(
      BASE,
      "  audience: gatehouse-broker\n",
      '  audience: gatehouse-broker\n  force_groups_lowercase: "yes"\n',
    );
    const msg = configError(text, lineOf(text, "force_groups_lowercase"));
    expect(msg).toMatch(/oidc\.force_groups_lowercase: .*expected boolean/);
  });

  it("an account listed twice", () => {
    const text = replaceOnce(BASE, 'id: "333333333333"', 'id: "222222222222"');
    const msg = configError(text, lineOf(text, 'id: "222222222222"', 2));
    expect(msg).toContain("aws.accounts.1.id: account 222222222222 is listed twice");
  });

  it("plain HTTP on a host that is not loopback, without tls", () => {
    const text = replaceOnce(BASE, "host: 127.0.0.1", "host: 0.0.0.0");
    const msg = configError(text, lineOf(text, "host: 0.0.0.0"));
    expect(msg).toContain("listen.host: plain HTTP is allowed only on loopback");
    // With TLS the same host is fine; loopback names are fine without it.
    expect(parseConfig(`${text}tls: { cert: c.pem, key: k.pem }\n`, FILE).tls).toEqual({
      cert: "/etc/gatehouse/c.pem",
      key: "/etc/gatehouse/k.pem",
    });
    for (const host of ["localhost", '"::1"']) {
      expect(parseConfig(replaceOnce(BASE, "host: 127.0.0.1", `host: ${host}`), FILE).listen.port).toBe(7420);
    }
  });

  it("a static base identity with both secret_access_key and secret_access_key_env", () => {
    const text = replaceOnce(
      BASE,
      "    secret_access_key: gatehouse-demo-secret\n",
      "    secret_access_key: gatehouse-demo-secret\n    secret_access_key_env: GATEHOUSE_SECRET\n",
    );
    const msg = configError(text, lineOf(text, "type: static"));
    expect(msg).toContain(
      "aws.base_identity: give exactly one of secret_access_key or secret_access_key_env",
    );
  });

  it("a static base identity with neither", () => {
    const text = replaceOnce(BASE, "    secret_access_key: gatehouse-demo-secret\n", "");
    const msg = configError(text, lineOf(text, "type: static"));
    expect(msg).toContain(
      "aws.base_identity: give exactly one of secret_access_key or secret_access_key_env",
    );
    // Either one alone is fine.
    const env = replaceOnce(
      BASE,
      "secret_access_key: gatehouse-demo-secret",
      "secret_access_key_env: GH_SECRET",
    );
    expect(parseConfig(env, FILE).aws.base_identity).toEqual({
      type: "static",
      access_key_id: "AKIAGATEHOUSEDEMO001",
      secret_access_key_env: "GH_SECRET",
    });
  });

  it("a YAML syntax error names its line", () => {
    const text = replaceOnce(BASE, "  audience: gatehouse-broker\n", "  audience: gatehouse: broker\n");
    const msg = configError(text, lineOf(text, "audience:"));
    expect(msg).toContain("Nested mappings are not allowed");
    const tab = replaceOnce(BASE, "  audience: gatehouse-broker\n", "\taudience: gatehouse-broker\n");
    expect(configError(tab, lineOf(tab, "audience:"))).toContain("Tabs are not allowed");
  });

  it("a required section missing", () => {
    const text = BASE.replace(/^oidc:\n(?: {2}.*\n)+/m, "");
    const msg = configError(text, 1);
    expect(msg).toContain("oidc: required key is missing");
  });
});

describe("SECURITY 23: requests.targets_visible_to, parsed strictly", () => {
  const withRequests = (lines: string) => `${BASE}requests:\n${lines}`;

  it("defaults to everyone; approvers and groups (with its list) parse", () => {
    expect(parseConfig(BASE, FILE).requests.targets_visible_to).toBe("everyone");
    expect(
      parseConfig(withRequests("  targets_visible_to: approvers\n"), FILE).requests.targets_visible_to,
    ).toBe("approvers");
    const g = parseConfig(
      withRequests("  targets_visible_to: groups\n  targets_visible_groups: [engineers]\n"),
      FILE,
    ).requests;
    expect([g.targets_visible_to, g.targets_visible_groups]).toEqual(["groups", ["engineers"]]);
  });

  it("an unknown value, groups without a list, and a list without groups are each one clear error", () => {
    const bad = withRequests("  targets_visible_to: nobody\n");
    expect(configError(bad, lineOf(bad, "targets_visible_to"))).toMatch(
      /requests\.targets_visible_to: .*"everyone"/,
    );
    const noList = withRequests("  targets_visible_to: groups\n");
    expect(configError(noList, lineOf(noList, "targets_visible_to"))).toContain(
      "needs targets_visible_groups",
    );
    const stray = withRequests("  targets_visible_groups: [engineers]\n");
    expect(configError(stray, lineOf(stray, "targets_visible_groups"))).toContain(
      "applies only with targets_visible_to: groups (it is everyone)",
    );
  });
});
