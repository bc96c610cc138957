// The `scim` block and its tokens: a list (or one name) of environment variables; `groups_source: scim`
// without the block is refused; a token that is unset, short or spaced stops the start; matching takes
// exactly `Bearer <token>`, any of the rotation's tokens.

import { describe, expect, it } from "vitest";
import { parseConfig } from "../../broker/config.ts";
import { scimTokens } from "../../broker/scim/auth.ts";
import { GatehouseError } from "../../shared/errors.ts";
import { brokerYaml } from "../support/broker.ts";

const yaml = (o: { oidcExtra?: string; extra?: string }) =>
  brokerYaml({
    issuer: "https://idp.example.com",
    awsUrl: "http://127.0.0.1:1",
    database: "/tmp/gatehouse-scim-config-test.sqlite",
    ...o,
  });
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return "no error";
  } catch (e) {
    return e instanceof GatehouseError ? e.code : String(e);
  }
};
const GOOD = "0123456789abcdefghijklmnopqrstuvwxyzABCD";

describe("scim config", () => {
  it("takes one variable name or a list of them", () => {
    expect(
      parseConfig(yaml({ extra: "scim:\n  token_env: SCIM_A\n" }), "/tmp/g.yaml").scim?.token_env,
    ).toEqual(["SCIM_A"]);
    expect(
      parseConfig(yaml({ extra: "scim:\n  token_env: [SCIM_A, SCIM_B]\n" }), "/tmp/g.yaml").scim?.token_env,
    ).toEqual(["SCIM_A", "SCIM_B"]);
  });

  it("refuses groups_source: scim without the block, a token in the file, a bad variable name", () => {
    expect(codeOf(() => parseConfig(yaml({ oidcExtra: "groups_source: scim" }), "/tmp/g.yaml"))).toBe(
      "CONFIG_INVALID",
    );
    expect(codeOf(() => parseConfig(yaml({ extra: `scim:\n  token: ${GOOD}\n` }), "/tmp/g.yaml"))).toBe(
      "CONFIG_INVALID",
    );
    expect(
      codeOf(() => parseConfig(yaml({ extra: "scim:\n  token_env: [lower-case]\n" }), "/tmp/g.yaml")),
    ).toBe("CONFIG_INVALID");
  });
});

describe("scim tokens", () => {
  it("an unset, short or spaced token stops the start", () => {
    expect(codeOf(() => scimTokens(["NOPE"], {}))).toBe("CONFIG_INVALID");
    expect(codeOf(() => scimTokens(["T"], { T: "short" }))).toBe("CONFIG_INVALID");
    expect(codeOf(() => scimTokens(["T"], { T: `${GOOD} ${GOOD}` }))).toBe("CONFIG_INVALID");
  });

  it("matches exactly Bearer <token>, for each token of a rotation", () => {
    const t = scimTokens(["A", "B"], { A: GOOD, B: `${GOOD}-next` });
    expect(t.matches(`Bearer ${GOOD}`)).toBe(true);
    expect(t.matches(`bearer ${GOOD}-next`)).toBe(true);
    for (const h of [
      undefined,
      "",
      GOOD,
      `Bearer ${GOOD}x`,
      `Bearer ${GOOD.slice(1)}`,
      `Basic ${GOOD}`,
      `Bearer  ${GOOD}`,
    ])
      expect(t.matches(h), String(h)).toBe(false);
  });
});
