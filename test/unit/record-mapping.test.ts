// Recording, the pure parts: CSM datagrams, what a request and an error say on the wire, API call → IAM
// actions, the outcome of a call, the least-privilege policy of a recording.

import { describe, expect, it } from "vitest";
import { actionsForCall, servicePrefix } from "../../electron/agent/record/actions.ts";
import { parseCsmDatagram } from "../../electron/agent/record/csm.ts";
import { outcomeOf, summarize } from "../../electron/agent/record/recording.ts";
import { iamResources } from "../../electron/agent/record/resources/iam.ts";
import { describeError, describeRequest } from "../../electron/agent/record/wire.ts";
import type { RecordedCall } from "../../shared/recording.ts";

const dg = (o: unknown) => Buffer.from(JSON.stringify(o));

describe("CSM datagrams", () => {
  it("an ApiCall as botocore sends it: service, api, status, AWS's exception and message", () => {
    expect(
      parseCsmDatagram(
        dg({
          Version: 1,
          ClientId: "",
          Type: "ApiCall",
          Service: "IAM",
          Api: "ListUsers",
          Timestamp: 1765000000000,
          AttemptCount: 1,
          Region: "us-east-1",
          UserAgent: "aws-cli/2.9.19",
          FinalHttpStatusCode: 403,
          FinalAwsException: "AccessDenied",
          FinalAwsExceptionMessage: "User: x is not authorized to perform: iam:ListUsers",
          Latency: 12,
          MaxRetriesExceeded: 0,
        }),
      ),
    ).toEqual({
      service: "IAM",
      api: "ListUsers",
      region: "us-east-1",
      status: 403,
      errorCode: "AccessDenied",
      errorMessage: "User: x is not authorized to perform: iam:ListUsers",
    });
  });

  it("attempt datagrams (which carry AccessKey and SessionToken) are dropped unread", () => {
    expect(
      parseCsmDatagram(
        dg({
          Type: "ApiCallAttempt",
          Service: "IAM",
          Api: "ListUsers",
          AccessKey: "ASIAXXXX",
          SessionToken: "t",
        }),
      ),
    ).toBeUndefined();
  });

  it.each([
    ["not JSON", Buffer.from("{nope")],
    ["an array", dg([1])],
    ["no Api", dg({ Type: "ApiCall", Service: "IAM" })],
    [
      "a status that is a string",
      dg({ Type: "ApiCall", Service: "IAM", Api: "X", FinalHttpStatusCode: "403" }),
    ],
    ["oversized", Buffer.alloc(9000, 0x20)],
    ["a __proto__ key", Buffer.from('{"__proto__":{"Type":"ApiCall"},"Service":"IAM","Api":"X"}')],
  ])("%s → malformed, not a crash", (_name, data) => {
    expect(parseCsmDatagram(data)).toBe("malformed");
  });
});

describe("the wire", () => {
  const sig =
    "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261207/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=abc";

  it("Query: service and region from the SigV4 scope, Action and the parameters from the form body", () => {
    const call = describeRequest({
      method: "POST",
      host: "iam.amazonaws.com",
      url: "/",
      headers: { authorization: sig, "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
      body: Buffer.from("Action=GetRole&Version=2010-05-08&RoleName=Admin&__proto__=x"),
    });
    expect(call).toMatchObject({ service: "iam", region: "us-east-1", api: "GetRole" });
    expect(call.params.RoleName).toBe("Admin");
    expect(Object.getPrototypeOf(call.params)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(call.params, "__proto__")?.value).toBe("x");
  });

  it("JSON: the operation from X-Amz-Target, string parameters from the body", () => {
    const call = describeRequest({
      method: "POST",
      host: "dynamodb.eu-west-1.amazonaws.com",
      url: "/",
      headers: {
        authorization: sig.replace("us-east-1/iam", "eu-west-1/dynamodb"),
        "x-amz-target": "DynamoDB_20120810.DescribeTable",
        "content-type": "application/x-amz-json-1.0",
      },
      body: Buffer.from('{"TableName":"orders","Limit":3}'),
    });
    expect(call).toEqual({
      service: "dynamodb",
      region: "eu-west-1",
      api: "DescribeTable",
      params: { TableName: "orders" },
    });
  });

  it("S3 REST: the common operations from method and path", () => {
    const s3 = (method: string, host: string, url: string) =>
      describeRequest({ method, host, url, headers: {}, body: Buffer.alloc(0) }).api;
    expect(s3("GET", "s3.amazonaws.com", "/")).toBe("ListBuckets");
    expect(s3("GET", "bucket.s3.us-east-1.amazonaws.com", "/?list-type=2")).toBe("ListObjectsV2");
    expect(s3("GET", "bucket.s3.us-east-1.amazonaws.com", "/a/key.txt")).toBe("GetObject");
    expect(s3("PUT", "s3.amazonaws.com", "/bucket/key")).toBe("PutObject");
    expect(s3("HEAD", "s3.amazonaws.com", "/bucket")).toBe("HeadBucket");
  });

  it("a REST call it cannot name has no operation (not a made-up one); a hostile Action is dropped", () => {
    expect(
      describeRequest({
        method: "GET",
        host: "lambda.us-east-1.amazonaws.com",
        url: "/2015-03-31/functions",
        headers: {},
        body: Buffer.alloc(0),
      }).api,
    ).toBeNull();
    expect(
      describeRequest({
        method: "GET",
        host: "iam.amazonaws.com",
        url: "/?Action=List%1b]0;x%07Users",
        headers: {},
        body: Buffer.alloc(0),
      }).api,
    ).toBeNull();
  });

  it("errors: Query XML, JSON __type, and the header", () => {
    expect(
      describeError(
        403,
        {},
        Buffer.from(
          "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: a &amp; b is not authorized</Message></Error></ErrorResponse>",
        ),
      ),
    ).toEqual({ code: "AccessDenied", message: "User: a & b is not authorized" });
    expect(
      describeError(
        400,
        {},
        Buffer.from('{"__type":"com.amazonaws.dynamodb.v20120810#AccessDeniedException","message":"no"}'),
      ),
    ).toEqual({ code: "AccessDeniedException", message: "no" });
    expect(
      describeError(403, { "x-amzn-errortype": "ForbiddenException:http://x" }, Buffer.from("<html>")),
    ).toEqual({
      code: "ForbiddenException",
      message: null,
    });
    expect(describeError(200, {}, Buffer.from("<Code>AccessDenied</Code>"))).toEqual({
      code: null,
      message: null,
    });
  });
});

describe("API call → IAM actions", () => {
  it("the dataset knows the operation: AWS's spelling, marked dataset", async () => {
    expect(await actionsForCall("IAM", "ListUsers")).toMatchObject({
      actions: ["iam:ListUsers"],
      mapping: "dataset",
    });
    expect(await servicePrefix("CloudWatch Logs")).toBe("logs");
    expect(await servicePrefix("SFN")).toBe("states");
  });

  it("operations whose action has another name come from the table", async () => {
    expect(await actionsForCall("S3", "ListObjectsV2")).toMatchObject({
      actions: ["s3:ListBucket"],
      mapping: "table",
    });
    expect(await actionsForCall("S3", "CopyObject")).toMatchObject({
      actions: ["s3:GetObject", "s3:PutObject"],
    });
    expect(await actionsForCall("Lambda", "Invoke")).toMatchObject({ actions: ["lambda:InvokeFunction"] });
    // The SigV4 signing name (what the proxy sees) maps as the SDK's service id does.
    expect(await actionsForCall("lambda", "Invoke")).toMatchObject({
      actions: ["lambda:InvokeFunction"],
      mapping: "table",
    });
  });

  it("an operation the dataset does not know: the service prefix and its name, marked as a guess", async () => {
    expect(await actionsForCall("IAM", "FrobnicateRoles")).toEqual({
      actions: ["iam:FrobnicateRoles"],
      mapping: "guess",
      dependent: [],
      wildcardOnly: [],
    });
    expect((await actionsForCall("Made Up Service", "DoIt")).mapping).toBe("guess");
  });
});

describe("outcome", () => {
  it.each([
    [200, null, "allowed"],
    [403, "AccessDenied", "denied"],
    [400, "AccessDeniedException", "denied"],
    [400, "UnauthorizedOperation", "denied"],
    [403, "InvalidClientTokenId", "error"],
    [403, "SignatureDoesNotMatch", "error"],
    [404, "NoSuchEntity", "error"],
    [null, "NetworkingError", "error"],
  ] as const)("%s %s → %s", (status, code, outcome) => {
    expect(outcomeOf(status, code)).toBe(outcome);
  });
});

describe("IAM resources from parameters", () => {
  const ctx = { partition: "aws", accountId: "333333333333", region: null };
  it("names become ARNs in the role's account; ARNs are kept; hostile names are not", () => {
    expect(iamResources({ ...ctx, api: "GetRole", params: { RoleName: "Admin" } })).toEqual([
      "arn:aws:iam::333333333333:role/Admin",
    ]);
    expect(iamResources({ ...ctx, api: "CreateRole", params: { RoleName: "App", Path: "/team/" } })).toEqual([
      "arn:aws:iam::333333333333:role/team/App",
    ]);
    expect(
      iamResources({
        ...ctx,
        api: "AttachRolePolicy",
        params: { RoleName: "App", PolicyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess" },
      }),
    ).toEqual(["arn:aws:iam::333333333333:role/App", "arn:aws:iam::aws:policy/ReadOnlyAccess"]);
    expect(iamResources({ ...ctx, api: "GetRole", params: { RoleName: "*" } })).toEqual([]);
    expect(iamResources({ ...ctx, api: "GetRole", params: { RoleName: 'a"}]' } })).toEqual([]);
    expect(iamResources({ ...ctx, api: "GetPolicy", params: { PolicyArn: "*" } })).toEqual([]);
  });
});

describe("the least-privilege policy", () => {
  const call = (over: Partial<RecordedCall>): RecordedCall => ({
    source: "csm",
    service: "IAM",
    api: "ListUsers",
    region: null,
    status: 200,
    errorCode: null,
    errorMessage: null,
    outcome: "allowed",
    actions: ["iam:ListUsers"],
    mapping: "dataset",
    dependent: [],
    resources: [],
    at: "2026-12-07T00:00:00.000Z",
    ...over,
  });
  const meta = { role: "staging/Developer", command: ["x"], exitCode: 0, startedAt: "t", ignored: 0 };

  it("every call once, allowed and denied alike; known resources stay narrow; dependent actions on *; guesses listed", () => {
    const r = summarize(
      [
        call({}),
        call({}),
        call({
          api: "GetRole",
          actions: ["iam:GetRole"],
          resources: ["arn:aws:iam::1:role/A"],
          outcome: "denied",
        }),
        call({ api: "GetRole", actions: ["iam:GetRole"], resources: ["arn:aws:iam::1:role/B"] }),
        call({
          service: "Lambda",
          api: "CreateFunction",
          actions: ["lambda:CreateFunction"],
          dependent: ["iam:PassRole"],
        }),
        call({ api: "Frob", actions: ["iam:Frob"], mapping: "guess" }),
      ],
      meta,
    );
    expect(r.policy.Statement).toEqual([
      {
        Sid: "Recorded1",
        Effect: "Allow",
        Action: ["iam:Frob", "iam:ListUsers", "iam:PassRole", "lambda:CreateFunction"],
        Resource: "*",
      },
      {
        Sid: "Recorded2",
        Effect: "Allow",
        Action: ["iam:GetRole"],
        Resource: ["arn:aws:iam::1:role/A", "arn:aws:iam::1:role/B"],
      },
    ]);
    expect(r.guessed).toEqual(["iam:Frob"]);
  });

  it("one call without a known resource widens that action to *", () => {
    const r = summarize(
      [
        call({ api: "GetRole", actions: ["iam:GetRole"], resources: ["arn:aws:iam::1:role/A"] }),
        call({ api: "GetRole", actions: ["iam:GetRole"] }),
      ],
      meta,
    );
    expect(r.policy.Statement).toEqual([
      { Sid: "Recorded1", Effect: "Allow", Action: ["iam:GetRole"], Resource: "*" },
    ]);
  });

  it("nothing recorded → an empty policy", () => {
    expect(summarize([], meta).policy.Statement).toEqual([]);
  });
});
