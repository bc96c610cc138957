// The config's `database:` forms: a SQLite file relative to the config, or a postgres:// URL left as is,
// with its password only from the environment and TLS verified by default off the machine.

import { describe, expect, it } from "vitest";
import { parseConfig } from "../../broker/config.ts";
import { openConfiguredDb } from "../../broker/db/index.ts";
import { GatehouseError } from "../../shared/errors.ts";

const FILE = "/etc/gatehouse/gatehouse.yaml";
const REST = `oidc:
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
`;

const parse = (db: string) => parseConfig(`${db}\n${REST}`, FILE);

function refusal(db: string): GatehouseError {
  try {
    parse(db);
  } catch (e) {
    expect(e).toBeInstanceOf(GatehouseError);
    expect((e as GatehouseError).code).toBe("CONFIG_INVALID");
    return e as GatehouseError;
  }
  throw new Error(`accepted: ${db}`);
}

describe("database: in the broker config", () => {
  it("a file path stays relative to the config file", () => {
    expect(parse("database: data/broker.sqlite").database).toBe("/etc/gatehouse/data/broker.sqlite");
    expect(parse("database: /var/lib/g.sqlite").database).toBe("/var/lib/g.sqlite");
    expect(parse("").database).toBe("/etc/gatehouse/gatehouse-broker.sqlite");
  });

  it("a postgres:// or postgresql:// URL is kept untouched; TLS off on loopback, verify-full elsewhere", () => {
    const local = parse("database: postgres://gatehouse@127.0.0.1:5433/gatehouse");
    expect(local.database).toBe("postgres://gatehouse@127.0.0.1:5433/gatehouse");
    expect(local.database_tls).toEqual({ mode: "disable" });
    const remote = parse("database: postgresql://gatehouse@db.internal.example.com/gatehouse");
    expect(remote.database).toBe("postgresql://gatehouse@db.internal.example.com/gatehouse");
    expect(remote.database_tls).toEqual({ mode: "verify-full" });
    const socket = parse("database: postgres://gatehouse@%2Fvar%2Frun%2Fpostgresql/gatehouse");
    expect(socket.database_tls).toEqual({ mode: "disable" });
  });

  it("TLS options: an explicit mode wins, ca_file is relative to the config", () => {
    const c = parse(
      "database: postgres://g@db.example.com/g\ndatabase_tls: { mode: verify-full, ca_file: certs/ca.pem }\ndatabase_password_env: GATEHOUSE_DB_PASSWORD\ndatabase_timeouts: { connect_seconds: 2 }",
    );
    expect(c.database_tls).toEqual({ mode: "verify-full", ca_file: "/etc/gatehouse/certs/ca.pem" });
    expect(c.database_password_env).toBe("GATEHOUSE_DB_PASSWORD");
    expect(c.database_timeouts).toEqual({ connect_seconds: 2, statement_seconds: 15 });
    expect(
      parse("database: postgres://g@db.example.com/g\ndatabase_tls: { mode: require }").database_tls,
    ).toEqual({
      mode: "require",
    });
  });

  it("refuses a password inside the URL, without repeating it", () => {
    const e = refusal("database: postgres://gatehouse:hunter2@db.example.com/gatehouse");
    expect(e.message).toMatch(/PGPASSWORD|database_password_env/);
    expect(e.message).not.toContain("hunter2");
    expect(e.message).toMatch(/gatehouse\.yaml:1: database:/);
  });

  it("refuses URL options, a missing database name, unknown TLS modes and SQLite-only or PG-only keys", () => {
    expect(refusal("database: postgres://g@db.example.com/g?sslmode=disable").message).toMatch(
      /database_tls/,
    );
    expect(refusal("database: postgres://g@db.example.com/").message).toMatch(/database name/);
    refusal("database: postgres://g@db.example.com/g\ndatabase_tls: { mode: prefer }");
    refusal("database: postgres://g@db.example.com/g\ndatabase_tls: { mode: require, ca_file: ca.pem }");
    expect(refusal("database: postgres://g@db.example.com/g\ndatabase_max_mb: 10").message).toMatch(/SQLite/);
    expect(refusal("database: broker.sqlite\ndatabase_tls: { mode: require }").message).toMatch(
      /postgres:\/\//,
    );
    expect(refusal("database: broker.sqlite\ndatabase_password_env: X").message).toMatch(/postgres:\/\//);
    refusal("database: postgres://g@db.example.com/g\ndatabase_password_env: 'A B; rm -rf /'");
  });

  it("opening: a named password variable that is unset, or an unreadable CA file, is a clear CONFIG_INVALID", () => {
    const name = "GATEHOUSE_TEST_UNSET_PASSWORD_VAR";
    delete process.env[name];
    expect(() =>
      openConfiguredDb({ database: "postgres://g@127.0.0.1:1/g", database_password_env: name }),
    ).toThrow(expect.objectContaining({ code: "CONFIG_INVALID", message: expect.stringContaining(name) }));
    expect(() =>
      openConfiguredDb({
        database: "postgres://g@127.0.0.1:1/g",
        database_tls: { mode: "verify-full", ca_file: "/nonexistent/ca.pem" },
      }),
    ).toThrow(expect.objectContaining({ code: "CONFIG_INVALID" }));
  });
});
