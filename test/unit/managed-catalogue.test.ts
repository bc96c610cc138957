// The AWS-managed policy catalogue: search by name and by service over the real dataset, risk from
// the lint on the same documents, service-role policies last, and a search fast once warm.

import { beforeAll, describe, expect, it } from "vitest";
import { awsManagedPolicy } from "../../shared/policy/aws-managed.ts";
import { ManagedCatalogue, managedIndex, policyEntry } from "../../shared/policy/managed-catalogue.ts";
import { lintPolicy } from "../../shared/policy-lint.ts";

const MSK_RO = "arn:aws:iam::aws:policy/AmazonMSKReadOnlyAccess";
const MSK_FULL = "arn:aws:iam::aws:policy/AmazonMSKFullAccess";
const catalogue = new ManagedCatalogue();

beforeAll(async () => {
  await managedIndex();
}, 120_000);

describe("the index", () => {
  it("holds every policy of the dataset with the services its actions reach", async () => {
    const ix = await managedIndex();
    expect(ix.policies.length).toBeGreaterThan(1000);
    const ro = ix.byArn.get(MSK_RO)!;
    expect(ro).toMatchObject({
      name: "AmazonMSKReadOnlyAccess",
      path: "/",
      readOnly: true,
      serviceRole: false,
    });
    // kafka:Describe*, kafka:List*, kafka:Get* expand to more kafka actions than anything else it allows.
    expect(ro.services[0]).toBe("kafka");
    expect(ro.services).toContain("ec2");
    const full = ix.byArn.get(MSK_FULL)!;
    expect(full.readOnly).toBe(false);
    expect(full.services).toContain("kafka");
  });

  it("marks Action * and NotAction as every service, and service roles as such", async () => {
    const ix = await managedIndex();
    expect(ix.byArn.get("arn:aws:iam::aws:policy/AdministratorAccess")).toMatchObject({
      allServices: true,
      readOnly: false,
    });
    expect(ix.byArn.get("arn:aws:iam::aws:policy/PowerUserAccess")?.allServices).toBe(true);
    expect(ix.byArn.get("arn:aws:iam::aws:policy/aws-service-role/KafkaServiceRolePolicy")?.serviceRole).toBe(
      true,
    );
    expect(ix.byArn.get("arn:aws:iam::aws:policy/service-role/AWSLambdaMSKExecutionRole")?.serviceRole).toBe(
      true,
    );
    expect(ix.byArn.get("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess")?.path).toBe("/job-function/");
  });

  it("reads a customer-managed document the same way", async () => {
    const e = await policyEntry({
      arn: "arn:aws:iam::111111111111:policy/team/Reader",
      name: "Reader",
      path: "/team/",
      document: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: ["s3:GetObject", "s3:List*"], Resource: "*" }],
      }),
    });
    expect(e).toMatchObject({ services: ["s3"], readOnly: true, allServices: false, serviceRole: false });
    const w = await policyEntry({
      ...e,
      document: '{"Statement":{"Effect":"Allow","Action":"s3:Put*","Resource":"*"}}',
    });
    expect(w.readOnly).toBe(false);
  });
});

describe("services", () => {
  it("finds Amazon MSK by its short name, its prefix and a word of its name", async () => {
    for (const q of ["MSK", "msk", "kafka", "Streaming", "I want to use the MSK dashboard"]) {
      const [first] = await catalogue.services(q);
      expect(first, q).toMatchObject({ prefix: "kafka", name: "Amazon Managed Streaming for Apache Kafka" });
      expect(first!.policies).toBeGreaterThan(0);
    }
  });

  it("finds the common ones by what people call them", async () => {
    for (const [q, prefix] of [
      ["EC2", "ec2"],
      ["S3", "s3"],
      ["Lambda", "lambda"],
      ["dynamodb", "dynamodb"],
      ["opensearch", "es"],
    ]) {
      expect((await catalogue.services(q!))[0]?.prefix, q).toBe(prefix);
    }
    expect(await catalogue.services("zzqx qqzz")).toEqual([]);
  });
});

describe("policies", () => {
  it("offers the MSK read-only policy first for the MSK service, then the full one", async () => {
    const hits = await catalogue.policies({ service: "kafka" });
    expect(hits.slice(0, 2).map((h) => h.arn)).toEqual([MSK_RO, MSK_FULL]);
    expect(hits[0]).toMatchObject({ readOnly: true, services: expect.arrayContaining(["kafka"]) });
    expect(hits.every((h) => !h.serviceRole)).toBe(true);
    // AdministratorAccess reaches Kafka too, but no service search offers it.
    expect(hits.some((h) => h.name === "AdministratorAccess")).toBe(false);
  });

  it("finds by name: MSK → the MSK policies, read-only first", async () => {
    const hits = await catalogue.policies({ q: "MSK" });
    expect(hits.slice(0, 2).map((h) => h.name)).toEqual(["AmazonMSKReadOnlyAccess", "AmazonMSKFullAccess"]);
    expect(hits.map((h) => h.name)).toContain("AmazonMSKConnectReadOnlyAccess");
    expect(hits.every((h) => /msk/i.test(h.name) || h.services.includes("kafka"))).toBe(true);
    // "kafka" is in no MSK policy's name; the service it names brings them.
    expect((await catalogue.policies({ q: "kafka" }))[0]?.arn).toBe(MSK_RO);
    expect((await catalogue.policies({ q: "read only", service: "kafka" }))[0]?.arn).toBe(MSK_RO);
  });

  it("puts each common service's AWS pair first", async () => {
    for (const [service, name] of [
      ["ec2", "AmazonEC2ReadOnlyAccess"],
      ["s3", "AmazonS3ReadOnlyAccess"],
      ["lambda", "AWSLambda_ReadOnlyAccess"],
    ]) {
      expect((await catalogue.policies({ service: service! }))[0]?.name, service).toBe(name);
    }
  });

  it("hides service-role policies unless asked, and then ranks them last", async () => {
    const hidden = await catalogue.policies({ q: "MSK", limit: 100 });
    expect(hidden.some((h) => h.name === "AWSLambdaMSKExecutionRole")).toBe(false);
    const all = await catalogue.policies({ q: "MSK", limit: 100, serviceRoles: true });
    const at = all.findIndex((h) => h.name === "AWSLambdaMSKExecutionRole");
    expect(at).toBeGreaterThan(0);
    expect(all.slice(at).every((h) => h.serviceRole)).toBe(true);
  });

  it("gives the risk the lint gives the dataset's document", async () => {
    const [hit] = await catalogue.policies({ q: "AmazonMSKFullAccess" });
    const direct = await lintPolicy(awsManagedPolicy(MSK_FULL)!.document);
    expect(hit).toMatchObject({ arn: MSK_FULL, risk: direct.risk });
    expect(hit!.findings.codes).toEqual([...new Set(direct.findings.map((f) => f.code))]);
    expect(hit!.findings.errors + hit!.findings.warnings + hit!.findings.infos).toBe(direct.findings.length);
    expect(hit!.findings.reasons).toEqual(direct.reasons.slice(0, 3));
  });

  it("searches customer-managed policies beside the AWS ones", async () => {
    const mine = await policyEntry({
      arn: "arn:aws:iam::111111111111:policy/MskTopicsReader",
      name: "MskTopicsReader",
      path: "/",
      description: "read our topics",
      document: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "kafka:Describe*", Resource: "*" }],
      }),
    });
    const hits = await catalogue.policies({ q: "msk", extra: [mine], limit: 50 });
    expect(hits.find((h) => h.arn === mine.arn)).toMatchObject({
      description: "read our topics",
      readOnly: true,
    });
    expect(await catalogue.policy(mine.arn, [mine])).toBe(mine);
  });

  it("answers a search in well under 20 ms once warm", async () => {
    const queries = [
      { service: "kafka" },
      { q: "MSK" },
      { service: "ec2" },
      { q: "readonly" },
      { service: "s3" },
    ];
    for (const q of queries) await catalogue.policies(q);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      for (const q of queries) {
        const t = performance.now();
        await catalogue.policies(q);
        await catalogue.services(q.q ?? q.service ?? "");
        times.push(performance.now() - t);
      }
    }
    times.sort((a, b) => a - b);
    // The goal is 20 ms; the bound is generous for a shared machine, the bench reports the real figure.
    expect(times[Math.floor(times.length * 0.95)]!).toBeLessThan(60);
  }, 120_000);
});
