// AWS Organizations in the emulator through the official @aws-sdk/client-organizations and the real
// `aws` CLI: the OU tree, paging, tags, and AWS's errors (not in use, access denied, throttling).

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  DescribeOrganizationCommand,
  ListAccountsCommand,
  ListAccountsForParentCommand,
  ListChildrenCommand,
  ListOrganizationalUnitsForParentCommand,
  ListParentsCommand,
  ListRootsCommand,
  ListTagsForResourceCommand,
  OrganizationsClient,
  paginateListAccounts,
} from "@aws-sdk/client-organizations";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateWorld, worldFromObject } from "../../dev/aws/fixture.ts";
import { type Emulator, startEmulator } from "../../dev/aws/server.ts";
import { type Credentials, DEMO_KEY, startDemoEmulator } from "../support/emulator.ts";

const run = promisify(execFile);
type AwsErr = Error & { Reason?: string; $metadata?: { httpStatusCode?: number } };
const noError = (): AwsErr => {
  throw new Error("expected the call to fail, but it succeeded");
};
const READER = { accessKeyId: "AKIAORGREADER0000001", secretAccessKey: "org-reader-secret" };
const MEMBER = { accessKeyId: "AKIAORGMEMBER0000001", secretAccessKey: "org-member-secret" };
const NOPOLICY = { accessKeyId: "AKIAORGNOPOLICY00001", secretAccessKey: "org-nopolicy-secret" };
const READ_ORG = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: ["organizations:List*", "organizations:Describe*"], Resource: "*" }],
};

const fixture = {
  organization: {
    management_account: "111111111111",
    units: [
      {
        name: "Workloads",
        tags: { kind: "workloads" },
        units: [
          { name: "Prod", accounts: ["222222222222"] },
          { name: "Staging", accounts: ["333333333333", "444444444444"] },
        ],
      },
    ],
  },
  accounts: [
    {
      id: "111111111111",
      name: "central",
      email: "central@example.com",
      users: [
        {
          name: "org-reader",
          policies: { Read: READ_ORG },
          access_keys: [{ id: READER.accessKeyId, secret: READER.secretAccessKey }],
        },
        { name: "no-policy", access_keys: [{ id: NOPOLICY.accessKeyId, secret: NOPOLICY.secretAccessKey }] },
      ],
    },
    {
      id: "222222222222",
      name: "prod",
      tags: { env: "prod", owner: "payments" },
      users: [
        {
          name: "reader",
          policies: { Read: READ_ORG },
          access_keys: [{ id: MEMBER.accessKeyId, secret: MEMBER.secretAccessKey }],
        },
      ],
    },
    { id: "333333333333", name: "staging", tags: { env: "staging" } },
    { id: "444444444444", name: "old", status: "SUSPENDED" },
    { id: "555555555555", name: "sandbox" },
  ],
};

let emulator: Emulator;
const org = (c: Credentials, maxAttempts = 1) =>
  new OrganizationsClient({ endpoint: emulator.url, region: "us-east-1", credentials: c, maxAttempts });

beforeAll(async () => {
  emulator = await startEmulator({ world: worldFromObject(fixture) });
});
afterAll(() => emulator.close());

describe("AWS Organizations through @aws-sdk/client-organizations", () => {
  it("describes the organisation and its root", async () => {
    const d = await org(READER).send(new DescribeOrganizationCommand({}));
    expect(d.Organization).toMatchObject({ MasterAccountId: "111111111111", FeatureSet: "ALL" });
    expect(d.Organization?.Id).toMatch(/^o-[a-z2-7]{10}$/);
    const roots = await org(READER).send(new ListRootsCommand({}));
    expect(roots.Roots).toHaveLength(1);
    expect(roots.Roots?.[0]?.Id).toMatch(/^r-[a-z2-7]{4}$/);
    // Any member may describe the organisation; only the management account lists it.
    const m = await org(MEMBER).send(new DescribeOrganizationCommand({}));
    expect(m.Organization?.Id).toBe(d.Organization?.Id);
  });

  it("walks the OU tree: OUs, accounts, children and parents", async () => {
    const c = org(READER);
    const rootId = (await c.send(new ListRootsCommand({}))).Roots![0]!.Id!;
    const top = await c.send(new ListOrganizationalUnitsForParentCommand({ ParentId: rootId }));
    expect(top.OrganizationalUnits?.map((u) => u.Name)).toEqual(["Workloads"]);
    const workloads = top.OrganizationalUnits![0]!.Id!;
    expect(workloads).toMatch(/^ou-[a-z2-7]{4}-[a-z2-7]{8}$/);
    const inner = await c.send(new ListOrganizationalUnitsForParentCommand({ ParentId: workloads }));
    const byName = new Map(inner.OrganizationalUnits!.map((u) => [u.Name!, u.Id!]));
    expect([...byName.keys()].sort()).toEqual(["Prod", "Staging"]);
    const staging = await c.send(new ListAccountsForParentCommand({ ParentId: byName.get("Staging")! }));
    expect(staging.Accounts?.map((a) => [a.Id, a.Name, a.Status])).toEqual([
      ["333333333333", "staging", "ACTIVE"],
      ["444444444444", "old", "SUSPENDED"],
    ]);
    const inRoot = await c.send(new ListChildrenCommand({ ParentId: rootId, ChildType: "ACCOUNT" }));
    expect(inRoot.Children?.map((x) => x.Id)).toEqual(["111111111111", "555555555555"]);
    const parents = await c.send(new ListParentsCommand({ ChildId: "222222222222" }));
    expect(parents.Parents).toEqual([{ Id: byName.get("Prod"), Type: "ORGANIZATIONAL_UNIT" }]);
    const up = await c.send(new ListParentsCommand({ ChildId: workloads }));
    expect(up.Parents).toEqual([{ Id: rootId, Type: "ROOT" }]);
    const tags = await c.send(new ListTagsForResourceCommand({ ResourceId: "222222222222" }));
    expect(tags.Tags).toEqual([
      { Key: "env", Value: "prod" },
      { Key: "owner", Value: "payments" },
    ]);
    const ouTags = await c.send(new ListTagsForResourceCommand({ ResourceId: workloads }));
    expect(ouTags.Tags).toEqual([{ Key: "kind", Value: "workloads" }]);
  });

  it("pages with MaxResults and NextToken; a token from another listing is refused", async () => {
    const first = await org(READER).send(new ListAccountsCommand({ MaxResults: 2 }));
    expect(first.Accounts).toHaveLength(2);
    expect(first.NextToken).toBeTruthy();
    const all: string[] = [];
    for await (const p of paginateListAccounts({ client: org(READER), pageSize: 2 }, {}))
      all.push(...(p.Accounts ?? []).map((a) => a.Id!));
    expect(all).toEqual(["111111111111", "222222222222", "333333333333", "444444444444", "555555555555"]);
    const rootId = (await org(READER).send(new ListRootsCommand({}))).Roots![0]!.Id!;
    const e = await org(READER)
      .send(new ListChildrenCommand({ ParentId: rootId, ChildType: "ACCOUNT", NextToken: first.NextToken! }))
      .then(noError, (x: AwsErr) => x);
    expect(e).toMatchObject({ name: "InvalidInputException", Reason: "INVALID_PAGINATION_TOKEN" });
    const big = await org(READER)
      .send(new ListAccountsCommand({ MaxResults: 21 }))
      .then(noError, (x: AwsErr) => x);
    expect(big).toMatchObject({ name: "InvalidInputException" });
  });

  it("answers AWS's errors: unknown parent, bad id, not the management account, no policy", async () => {
    const notFound = await org(READER)
      .send(new ListAccountsForParentCommand({ ParentId: "ou-abcd-abcdefgh" }))
      .then(noError, (x: AwsErr) => x);
    expect(notFound).toMatchObject({ name: "ParentNotFoundException", $metadata: { httpStatusCode: 400 } });
    const bad = await org(READER)
      .send(new ListAccountsForParentCommand({ ParentId: "../etc" }))
      .then(noError, (x: AwsErr) => x);
    expect(bad).toMatchObject({ name: "InvalidInputException" });
    const member = await org(MEMBER)
      .send(new ListAccountsCommand({}))
      .then(noError, (x: AwsErr) => x);
    expect(member).toMatchObject({
      name: "AccessDeniedException",
      message: "You don't have permissions to access this resource.",
    });
    const noPolicy = await org(NOPOLICY)
      .send(new ListAccountsCommand({}))
      .then(noError, (x: AwsErr) => x);
    expect(noPolicy.name).toBe("AccessDeniedException");
    expect(noPolicy.message).toContain("organizations:ListAccounts");
    const tag = await org(READER)
      .send(new ListTagsForResourceCommand({ ResourceId: "999999999999" }))
      .then(noError, (x: AwsErr) => x);
    expect(tag).toMatchObject({ name: "TargetNotFoundException" });
  });

  it("a wrong secret is InvalidSignatureException; an unknown key UnrecognizedClientException", async () => {
    const sig = await org({ ...READER, secretAccessKey: "wrong-secret" })
      .send(new ListRootsCommand({}))
      .then(noError, (x: AwsErr) => x);
    expect(sig.name).toBe("InvalidSignatureException");
    const unknown = await org({ accessKeyId: "AKIAUNKNOWN000000001", secretAccessKey: "x-secret-x" })
      .send(new ListRootsCommand({}))
      .then(noError, (x: AwsErr) => x);
    expect(unknown.name).toBe("UnrecognizedClientException");
  });

  it("injected throttling is TooManyRequestsException, which the SDK retries", async () => {
    emulator.faults.set({ throttles: [{ account: "*", action: "ListAccounts", probability: 1 }] });
    try {
      const e = await org(READER)
        .send(new ListAccountsCommand({}))
        .then(noError, (x: AwsErr) => x);
      expect(e).toMatchObject({ name: "TooManyRequestsException" });
      emulator.faults.set({
        throttles: [{ account: "*", action: "ListAccounts", probability: 0.5 }],
        seed: 7,
      });
      const ok = await org(READER, 10).send(new ListAccountsCommand({}));
      expect(ok.Accounts).toHaveLength(5);
      const throttled = emulator.calls.filter((c) => c.error === "TooManyRequestsException").length;
      expect(throttled).toBeGreaterThan(1);
    } finally {
      emulator.faults.set({});
    }
  });

  it("an account outside any organisation gets AWSOrganizationsNotInUseException", async () => {
    const demo = await startDemoEmulator();
    try {
      const c = new OrganizationsClient({
        endpoint: demo.url,
        region: "us-east-1",
        credentials: DEMO_KEY,
        maxAttempts: 1,
      });
      const e = await c.send(new ListRootsCommand({})).then(noError, (x: AwsErr) => x);
      expect(e).toMatchObject({ name: "AWSOrganizationsNotInUseException" });
    } finally {
      await demo.close();
    }
  });

  it("the generator's ous=12 places 200 accounts in 12 OUs with env tags and suspended accounts", () => {
    const world = generateWorld({ accounts: 200, roles: 1, users: 0, ous: 12 });
    const o = world.organization!;
    expect(o.units.size).toBe(12);
    const members = [...world.accounts.values()].filter((a) => a.org);
    expect(members).toHaveLength(201);
    expect(members.filter((a) => a.org!.status === "SUSPENDED")).toHaveLength(5);
    expect(new Set(members.map((a) => a.org!.parentId)).size).toBe(13);
  });
});

describe("AWS Organizations through the real aws CLI", () => {
  it("lists accounts (the CLI pages by itself) and OUs", async () => {
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: READER.accessKeyId,
      AWS_SECRET_ACCESS_KEY: READER.secretAccessKey,
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_CONFIG_FILE: "/dev/null",
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      AWS_PAGER: "",
    };
    const cli = async (...args: string[]) =>
      JSON.parse(
        (await run("/usr/bin/aws", [...args, "--endpoint-url", emulator.url, "--output", "json"], { env }))
          .stdout,
      );
    const accounts = await cli("organizations", "list-accounts", "--page-size", "2");
    expect(accounts.Accounts.map((a: { Id: string }) => a.Id)).toHaveLength(5);
    const roots = await cli("organizations", "list-roots");
    const ous = await cli(
      "organizations",
      "list-organizational-units-for-parent",
      "--parent-id",
      roots.Roots[0].Id,
    );
    expect(ous.OrganizationalUnits.map((u: { Name: string }) => u.Name)).toEqual(["Workloads"]);
    const denied = await run(
      "/usr/bin/aws",
      ["organizations", "list-accounts", "--endpoint-url", emulator.url],
      {
        env: { ...env, AWS_ACCESS_KEY_ID: MEMBER.accessKeyId, AWS_SECRET_ACCESS_KEY: MEMBER.secretAccessKey },
      },
    ).catch((e: { stderr: string }) => e);
    expect((denied as { stderr: string }).stderr).toContain("AccessDeniedException");
  });
});
