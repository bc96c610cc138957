// The `replicas:` block: defaults, a chosen id, and hostile or out-of-range values refused with a code.

import { describe, expect, it } from "vitest";
import { parseConfig } from "../../broker/config.ts";
import { defaultReplicaId } from "../../broker/replica.ts";
import { brokerYaml } from "../support/broker.ts";

const yaml = (extra: string) =>
  brokerYaml({
    issuer: "https://idp.example.com",
    awsUrl: "http://127.0.0.1:1",
    database: "/tmp/x.sqlite",
    extra,
  });

describe("replicas config", () => {
  it("defaults: no id (host-pid-random at start), 30 s leases, 5 s sweeps, 250 ms feed polls", () => {
    const c = parseConfig(yaml(""), "/tmp/gatehouse.yaml");
    expect(c.replicas).toEqual({ lease_ms: 30_000, sweep_ms: 5_000, feed_poll_ms: 250 });
    expect(defaultReplicaId()).toMatch(new RegExp(`^[A-Za-z0-9._-]+-${process.pid}-[0-9a-f]{6}$`));
    expect(defaultReplicaId()).not.toBe(defaultReplicaId());
  });

  it("takes a chosen id and timings", () => {
    const c = parseConfig(
      yaml("replicas: { id: broker-a.eu-1, lease_ms: 1000, sweep_ms: 200, feed_poll_ms: 100 }\n"),
      "/tmp/gatehouse.yaml",
    );
    expect(c.replicas).toEqual({ id: "broker-a.eu-1", lease_ms: 1000, sweep_ms: 200, feed_poll_ms: 100 });
  });

  it.each([
    ['{ id: "a b" }'],
    ['{ id: "a\\nforged: line" }'],
    ['{ id: "" }'],
    [`{ id: "${"x".repeat(101)}" }`],
    ["{ lease_ms: 10 }"],
    ["{ feed_poll_ms: 5000 }"],
    ["{ sweep_ms: -1 }"],
    ["{ unknown: 1 }"],
  ])("refuses replicas: %s with CONFIG_INVALID", (block) => {
    expect(() => parseConfig(yaml(`replicas: ${block}\n`), "/tmp/gatehouse.yaml")).toThrow(
      expect.objectContaining({ code: "CONFIG_INVALID" }),
    );
  });
});
