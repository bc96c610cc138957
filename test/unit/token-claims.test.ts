// SECURITY 37, the pure part: the time and type checks the broker runs after jose has checked the signature.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, parseConfig } from "../../broker/config.ts";
import { accessTokenTypeRefusal, tokenTimesRefusal } from "../../broker/token-claims.ts";

const NOW = Date.parse("2026-12-07T00:00:00Z");
const t = NOW / 1000;
const limits = { skewSeconds: 30, maxLifetimeSeconds: 86_400 };

describe("SECURITY 37: tokenTimesRefusal", () => {
  it("refuses an iat later than now + skew, not one inside it", () => {
    expect(tokenTimesRefusal({ iat: t + 31, exp: t + 600 }, limits, NOW)).toMatch(
      /^TOKEN_IAT_IN_FUTURE: issued 31 s/,
    );
    expect(tokenTimesRefusal({ iat: t + 30, exp: t + 600 }, limits, NOW)).toBeNull();
  });

  it("counts the lifetime from iat, or from now when there is no iat", () => {
    expect(tokenTimesRefusal({ iat: t, exp: t + 86_400 }, limits, NOW)).toBeNull();
    expect(tokenTimesRefusal({ iat: t, exp: t + 86_401 }, limits, NOW)).toMatch(/^TOKEN_LIFETIME_TOO_LONG/);
    expect(tokenTimesRefusal({ iat: t - 86_400, exp: t + 60 }, limits, NOW)).toMatch(
      /^TOKEN_LIFETIME_TOO_LONG/,
    );
    expect(tokenTimesRefusal({ exp: t + 86_400 }, limits, NOW)).toBeNull();
    expect(tokenTimesRefusal({ exp: t + 10 * 365 * 86_400 }, limits, NOW)).toMatch(
      /^TOKEN_LIFETIME_TOO_LONG/,
    );
    expect(tokenTimesRefusal({ exp: t + 7200 }, { ...limits, maxLifetimeSeconds: 3600 }, NOW)).toMatch(
      /more than max_token_lifetime_seconds \(3600\)/,
    );
  });
});

describe("SECURITY 37: accessTokenTypeRefusal", () => {
  it("accepts at+jwt and JWT in any case, with or without application/, and no typ", () => {
    for (const typ of [
      "at+jwt",
      "AT+JWT",
      "application/at+jwt",
      "Application/AT+JWT",
      "JWT",
      "application/jwt",
      undefined,
    ])
      expect(accessTokenTypeRefusal({ typ })).toBeNull();
  });

  it("refuses other types, empty and non-string values", () => {
    for (const typ of [
      "dpop+jwt",
      "logout+jwt",
      "id_token+jwt",
      "JOSE",
      "",
      " at+jwt",
      7 as unknown as string,
    ])
      expect(accessTokenTypeRefusal({ typ })).toMatch(/^TOKEN_TYPE_REFUSED/);
  });
});

describe("SECURITY 37: oidc.max_token_lifetime_seconds", () => {
  const yaml = (extra: string) => `listen: { host: 127.0.0.1, port: 7420 }
database: broker.sqlite
oidc:
  issuer: https://sso.example.com
  audience: gatehouse-broker
${extra}aws:
  base_identity: { type: static, access_key_id: AKIAGATEHOUSEDEMO001, secret_access_key: s }
  central_role_arn: arn:aws:iam::111111111111:role/GatehouseCentral
  spoke_role_name: GatehouseSpoke
  accounts: [{ id: "222222222222", name: prod }]
`;

  it("defaults to a day; the example sets it explicitly", () => {
    expect(parseConfig(yaml(""), "/etc/g.yaml").oidc.max_token_lifetime_seconds).toBe(86_400);
    expect(
      loadConfig(join(import.meta.dirname, "../../broker/gatehouse.example.yaml")).oidc
        .max_token_lifetime_seconds,
    ).toBe(86_400);
    expect(
      parseConfig(yaml("  max_token_lifetime_seconds: 3600\n"), "/etc/g.yaml").oidc
        .max_token_lifetime_seconds,
    ).toBe(3600);
  });

  it("below a minute, above 30 days or not a whole number is a CONFIG_INVALID naming the line", () => {
    for (const v of ["59", "2592001", "3600.5", '"3600"'])
      expect(() => parseConfig(yaml(`  max_token_lifetime_seconds: ${v}\n`), "/etc/g.yaml")).toThrow(
        /^\/etc\/g\.yaml:6: oidc\.max_token_lifetime_seconds: /,
      );
  });
});
