// Telling ID tokens from access tokens by what each provider puts in them, and reading claims at any path
// without reaching into prototypes: the pure logic under the broker's token check.

import { describe, expect, it } from "vitest";
import { claimAt, isGroupsOverage, readIdentity } from "../../broker/claims.ts";
import { detectKind } from "../../broker/token-kind.ts";
import type { GatehouseError } from "../../shared/errors.ts";

describe("detectKind", () => {
  const cases = [
    { what: "RFC 9068 typ at+jwt", header: { typ: "at+jwt" }, payload: {}, kind: "access_token" },
    {
      what: "application/at+jwt",
      header: { typ: "application/at+JWT" },
      payload: { nonce: "n" },
      kind: "access_token",
    },
    { what: "Cognito access", header: {}, payload: { token_use: "access" }, kind: "access_token" },
    { what: "Cognito id", header: { typ: "JWT" }, payload: { token_use: "id" }, kind: "id_token" },
    {
      what: "Keycloak access (with nonce)",
      header: { typ: "JWT" },
      payload: { typ: "Bearer", nonce: "n" },
      kind: "access_token",
    },
    { what: "Keycloak ID", header: { typ: "JWT" }, payload: { typ: "ID" }, kind: "id_token" },
    { what: "at_hash", header: {}, payload: { at_hash: "x" }, kind: "id_token" },
    { what: "nonce", header: {}, payload: { nonce: "n" }, kind: "id_token" },
    { what: "Entra scp", header: { typ: "JWT" }, payload: { scp: "access" }, kind: "access_token" },
    { what: "Auth0 scope", header: {}, payload: { scope: "openid email" }, kind: "access_token" },
    { what: "nothing either way", header: { typ: "JWT" }, payload: { email: "a@b.c" }, kind: undefined },
  ];
  it.each(cases)("$what", ({ header, payload, kind }) => {
    expect(detectKind(header as never, payload)).toBe(kind);
  });
});

describe("claims", () => {
  it("are read by own keys only: __proto__, constructor and array indexes resolve to nothing", () => {
    const payload = JSON.parse('{"a":{"b":["x"]},"__proto__":{"polluted":["admins"]},"list":[["y"]]}');
    expect(claimAt(payload, ["a", "b"])).toEqual(["x"]);
    expect(claimAt(payload, ["constructor"])).toBeUndefined();
    expect(claimAt(payload, ["a", "constructor", "prototype"])).toBeUndefined();
    expect(claimAt(payload, ["list", "0"])).toBeUndefined();
    expect(claimAt(payload, ["https://x.example.com/groups"])).toBeUndefined();
    expect(claimAt({ "https://x.example.com/groups": ["g"] }, ["https://x.example.com/groups"])).toEqual([
      "g",
    ]);
  });

  it("Entra's overage markers", () => {
    expect(isGroupsOverage({ _claim_names: { groups: "src1" } })).toBe(true);
    expect(isGroupsOverage({ hasgroups: true })).toBe(true);
    expect(isGroupsOverage({ hasgroups: "true" })).toBe(false);
    expect(isGroupsOverage({ _claim_names: ["groups"] })).toBe(false);
    expect(isGroupsOverage({})).toBe(false);
  });

  const rules = { email_claim: ["email"], groups_claim: ["groups"] };
  const refused = (payload: Record<string, unknown>, r: Parameters<typeof readIdentity>[1] = rules) => {
    try {
      readIdentity(payload, r);
    } catch (e) {
      return (e as GatehouseError).code;
    }
    return "accepted";
  };

  it("e-mail: lower-cased, verified unless the IdP does not say, of an allowed domain", () => {
    expect(readIdentity({ email: "Alice@Example.com" }, rules)).toEqual({
      email: "alice@example.com",
      tokenGroups: undefined,
      overage: false,
    });
    expect(refused({ email: "a@example.com", email_verified: false })).toBe("UNAUTHENTICATED");
    expect(refused({ email: "a@example.com", email_verified: "false" })).toBe("UNAUTHENTICATED");
    expect(refused({ email: "a@example.com", email_verified: 0 })).toBe("UNAUTHENTICATED");
    expect(refused({ email: "a@example.com", email_verified: "true" })).toBe("accepted");
    const domains = { ...rules, allowed_domains: ["example.com"] };
    expect(refused({ email: "a@example.com" }, domains)).toBe("accepted");
    expect(refused({ email: "a@EXAMPLE.com" }, domains)).toBe("accepted");
    expect(refused({ email: "a@example.com.evil.net" }, domains)).toBe("UNAUTHENTICATED");
    expect(refused({ email: "a@sub.example.com" }, domains)).toBe("UNAUTHENTICATED");
    expect(refused({ email: "a@alias.example", hd: "example.com" }, domains)).toBe("accepted");
    expect(refused({ email: "a@example.com", hd: "other.com" }, domains)).toBe("UNAUTHENTICATED");
  });
});
