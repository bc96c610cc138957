// The catalogue routes on a real broker against the demo emulator: services by short name, the MSK
// read-only policy first for Kafka, a policy's real document and risk, and clear refusals.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import {
  catalogueGroupsResponseSchema,
  cataloguePoliciesResponseSchema,
  cataloguePolicyDetailSchema,
  catalogueServicesResponseSchema,
} from "../../shared/catalogue.ts";
import { awsManagedPolicy } from "../../shared/policy/aws-managed.ts";
import { lintPolicy } from "../../shared/policy-lint.ts";
import { type StartedBroker, startTestBroker } from "../support/broker.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { signTokens, startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

let emulator: Emulator;
let issuer: TestIssuer;
let broker: StartedBroker;
let token: string;

const MSK_RO = "arn:aws:iam::aws:policy/AmazonMSKReadOnlyAccess";
const MINE = "arn:aws:iam::222222222222:policy/teams/MskTopicsReader";

async function get(path: string, auth = true) {
  const res = await fetch(`${broker.url}${path}`, {
    headers: auth ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  ({ alice: token } = await signTokens(issuer, {
    alice: { email: "alice@example.com", groups: ["engineers"] },
  }));
  // An account's own IAM, read by the broker's first sync.
  const prod = emulator.world.accounts.get("222222222222")!;
  const date = "2024-01-01T00:00:00Z";
  emulator.world.putGroup(prod, {
    name: "KafkaReaders",
    path: "/teams/",
    id: "AGPAKAFKAREADERS00001",
    createDate: date,
    inlinePolicies: {},
    managedPolicies: [MSK_RO],
  });
  emulator.world.putPolicy(prod, {
    name: "MskTopicsReader",
    path: "/teams/",
    id: "ANPAMSKTOPICSREADER01",
    createDate: date,
    updateDate: date,
    defaultVersionId: "v1",
    versions: [
      {
        versionId: "v1",
        createDate: date,
        document: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "kafka:Describe*", Resource: "*" }],
        }),
      },
    ],
  });
  broker = await startTestBroker({ issuer: issuer.issuer, awsUrl: emulator.url });
});

afterAll(async () => {
  await broker?.stop();
  await issuer?.close();
  await emulator?.close();
});

describe("GET /v1/catalogue/services", () => {
  it("finds Amazon MSK by what people call it", async () => {
    const r = await get("/v1/catalogue/services?q=MSK");
    expect(r.status).toBe(200);
    const { services } = catalogueServicesResponseSchema.parse(r.json);
    expect(services[0]).toMatchObject({ prefix: "kafka", name: "Amazon Managed Streaming for Apache Kafka" });
    expect(services[0]!.policies).toBeGreaterThan(1);
  });

  it("refuses an unsigned caller and a bad query", async () => {
    expect((await get("/v1/catalogue/services?q=MSK", false)).status).toBe(401);
    const bad = await get("/v1/catalogue/services?q=MSK&limit=0");
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe("BAD_REQUEST");
    expect((await get("/v1/catalogue/services?nope=1")).json.code).toBe("BAD_REQUEST");
  });
});

describe("GET /v1/catalogue/policies", () => {
  it("offers Kafka's read-only policy first, with the risk the lint gives its real document", async () => {
    const r = await get("/v1/catalogue/policies?service=kafka&limit=5");
    expect(r.status).toBe(200);
    const { policies } = cataloguePoliciesResponseSchema.parse(r.json);
    expect(policies.map((p) => p.name).slice(0, 2)).toEqual([
      "AmazonMSKReadOnlyAccess",
      "AmazonMSKFullAccess",
    ]);
    const lint = await lintPolicy(awsManagedPolicy(MSK_RO)!.document);
    expect(policies[0]).toMatchObject({
      arn: MSK_RO,
      managedBy: "aws",
      path: "/",
      readOnly: true,
      serviceRole: false,
      risk: lint.risk,
      findings: { reasons: lint.reasons.slice(0, 3) },
    });
    expect(policies[1]!.readOnly).toBe(false);
    expect(policies.length).toBeLessThanOrEqual(5);
  });

  it("searches by name, service roles only when asked", async () => {
    const { policies } = cataloguePoliciesResponseSchema.parse(
      (await get("/v1/catalogue/policies?q=MSK")).json,
    );
    expect(policies[0]?.arn).toBe(MSK_RO);
    expect(policies.some((p) => p.serviceRole)).toBe(false);
    const all = cataloguePoliciesResponseSchema.parse(
      (await get("/v1/catalogue/policies?q=MSK&serviceRoles=true&limit=50")).json,
    ).policies;
    expect(all.at(-1)?.serviceRole).toBe(true);
  });

  it("adds the account's own policies (by id or name) and refuses an account it does not know", async () => {
    const byName = await get("/v1/catalogue/policies?q=MSK&account=prod&limit=50");
    expect(byName.status).toBe(200);
    const found = cataloguePoliciesResponseSchema.parse(byName.json).policies;
    expect(found.find((p) => p.name === "MskTopicsReader")).toMatchObject({
      arn: MINE,
      managedBy: "customer",
      path: "/teams/",
      services: ["kafka"],
      readOnly: true,
      risk: "medium",
    });
    // Without the account, only AWS's.
    const aws = cataloguePoliciesResponseSchema.parse(
      (await get("/v1/catalogue/policies?q=MSK&limit=50")).json,
    );
    expect(aws.policies.some((p) => p.arn === MINE)).toBe(false);
    const byId = await get(`/v1/catalogue/policy?arn=${encodeURIComponent(MINE)}&account=222222222222`);
    expect(cataloguePolicyDetailSchema.parse(byId.json).document).toContain("kafka:Describe*");
    const unknown = await get("/v1/catalogue/policies?q=MSK&account=nowhere");
    expect(unknown.status).toBe(404);
    expect(unknown.json.code).toBe("ACCOUNT_NOT_FOUND");
    const bad = await get("/v1/catalogue/policies?service=Kafka%20Service");
    expect(bad.json.code).toBe("BAD_REQUEST");
  });
});

describe("GET /v1/catalogue/policy", () => {
  it("gives the dataset's document of one policy", async () => {
    const r = await get(`/v1/catalogue/policy?arn=${encodeURIComponent(MSK_RO)}`);
    expect(r.status).toBe(200);
    const p = cataloguePolicyDetailSchema.parse(r.json);
    expect(JSON.parse(p.document)).toEqual(JSON.parse(awsManagedPolicy(MSK_RO)!.document));
    expect(p).toMatchObject({ name: "AmazonMSKReadOnlyAccess", readOnly: true });
  });

  it("says clearly when no such policy exists", async () => {
    const r = await get(
      `/v1/catalogue/policy?arn=${encodeURIComponent("arn:aws:iam::aws:policy/NoSuchPolicy")}`,
    );
    expect(r.status).toBe(404);
    expect(r.json.code).toBe("POLICY_NOT_FOUND");
  });
});

describe("GET /v1/catalogue/groups", () => {
  it("needs an account, and answers with the groups its sync read", async () => {
    expect((await get("/v1/catalogue/groups")).json.code).toBe("BAD_REQUEST");
    expect((await get("/v1/catalogue/groups?account=nowhere")).json.code).toBe("ACCOUNT_NOT_FOUND");
    const r = await get("/v1/catalogue/groups?account=prod");
    expect(r.status).toBe(200);
    expect(catalogueGroupsResponseSchema.parse(r.json).groups).toEqual([
      {
        name: "KafkaReaders",
        arn: "arn:aws:iam::222222222222:group/teams/KafkaReaders",
        accountId: "222222222222",
        path: "/teams/",
      },
    ]);
    expect((await get("/v1/catalogue/groups?account=prod&q=nothing")).json).toEqual({ groups: [] });
  });
});

describe("where targets are listed only to approvers", () => {
  it("an account's own policies and groups are refused to others; AWS's policies are not", async () => {
    const closed = await startTestBroker({
      issuer: issuer.issuer,
      awsUrl: emulator.url,
      extra: "requests:\n  approver_groups: [approvers]\n  targets_visible_to: approvers\n",
    });
    try {
      const call = async (path: string) => {
        const res = await fetch(`${closed.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
        return { status: res.status, json: (await res.json()) as Record<string, unknown> };
      };
      const groups = await call("/v1/catalogue/groups?account=prod");
      expect(groups.status).toBe(403);
      expect(groups.json.code).toBe("FORBIDDEN");
      expect((await call("/v1/catalogue/policies?q=MSK&account=prod")).json.code).toBe("FORBIDDEN");
      const aws = await call("/v1/catalogue/policies?q=MSK");
      expect(aws.status).toBe(200);
      expect(cataloguePoliciesResponseSchema.parse(aws.json).policies[0]?.arn).toBe(MSK_RO);
    } finally {
      await closed.stop();
    }
  });
});
