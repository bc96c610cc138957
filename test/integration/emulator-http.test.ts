// The emulator at the HTTP level: AWS-shaped errors for bad requests (and serving on after each),
// console federation, and the loopback admin API for faults and call logs, seen through the SDK.

import { connect } from "node:net";
import { GetRoleCommand, ListRolesCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { CallRecord, Emulator } from "../../dev/aws/server.ts";
import {
  CENTRAL,
  centralCredentials,
  expectAwsError,
  PROD,
  STAGING,
  signedFetch,
  spokeRole,
  viaCentral,
  workRole,
} from "../support/aws.ts";
import { type Credentials, DEMO_KEY, iam, startDemoEmulator, sts } from "../support/emulator.ts";

let e: Emulator;

beforeAll(async () => {
  e = await startDemoEmulator();
});

afterAll(async () => {
  await e?.close();
});

/** What a Query-protocol error response says, read from its XML. */
async function xmlError(res: Response) {
  const body = await res.text();
  const pick = (tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(body)?.[1];
  return {
    status: res.status,
    contentType: res.headers.get("content-type"),
    root: /^<(\w+)/.exec(body)?.[1],
    type: pick("Type"),
    code: pick("Code"),
    message: pick("Message"),
    requestId: pick("RequestId"),
    headerRequestId: res.headers.get("x-amzn-requestid"),
  };
}

const GET_CALLER_IDENTITY = "Action=GetCallerIdentity&Version=2011-06-15";

async function expectStillServing(): Promise<void> {
  const id = await sts(e, DEMO_KEY, 1).send(new GetCallerIdentityCommand({}));
  expect(id.Account).toBe(CENTRAL);
}

describe("bad requests get AWS-shaped errors and the server serves on", () => {
  afterEach(expectStillServing);

  it("a hand-signed request is accepted (the signing helper the other cases use)", async () => {
    const res = await signedFetch(e.url, GET_CALLER_IDENTITY);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toMatch(
      /^<GetCallerIdentityResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/">/,
    );
    expect(body).toContain(`<Arn>arn:aws:iam::${CENTRAL}:user/gatehouse-broker</Arn>`);
    expect(body).toMatch(/<ResponseMetadata><RequestId>[0-9a-f-]{36}<\/RequestId><\/ResponseMetadata>/);
  });

  it("an unsigned request → 403 MissingAuthenticationToken", async () => {
    for (const res of [
      await fetch(e.url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: GET_CALLER_IDENTITY,
      }),
      await fetch(`${e.url}/?${GET_CALLER_IDENTITY}`),
    ]) {
      const err = await xmlError(res);
      expect(err).toMatchObject({
        status: 403,
        contentType: "text/xml",
        root: "ErrorResponse",
        type: "Sender",
        code: "MissingAuthenticationToken",
        message: "Request is missing Authentication Token",
      });
      expect(err.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(err.headerRequestId).toBe(err.requestId);
    }
  });

  it("a garbage Authorization header → 400 IncompleteSignature", async () => {
    for (const authorization of ["garbage", "AWS4-HMAC-SHA256 Credential=AKIA/x", "Bearer abc.def"]) {
      const res = await fetch(e.url, {
        method: "POST",
        headers: { authorization, "content-type": "application/x-www-form-urlencoded" },
        body: GET_CALLER_IDENTITY,
      });
      expect(await xmlError(res)).toMatchObject({
        status: 400,
        root: "ErrorResponse",
        code: "IncompleteSignature",
      });
    }
  });

  it("an unknown Action → 400 InvalidAction", async () => {
    const err = await xmlError(await signedFetch(e.url, "Action=LaunchRockets&Version=2011-06-15"));
    expect(err).toMatchObject({
      status: 400,
      code: "InvalidAction",
      message: "Could not find operation LaunchRockets for version 2011-06-15",
    });
    // An IAM action sent to STS is unknown there too.
    const iamOnSts = await xmlError(await signedFetch(e.url, "Action=ListRoles&Version=2011-06-15"));
    expect(iamOnSts).toMatchObject({ status: 400, code: "InvalidAction" });
  });

  it("a wrong Version → 400 InvalidAction", async () => {
    const err = await xmlError(await signedFetch(e.url, "Action=GetCallerIdentity&Version=2010-05-08"));
    expect(err).toMatchObject({
      status: 400,
      code: "InvalidAction",
      message: "Could not find operation GetCallerIdentity for version 2010-05-08",
    });
    const none = await xmlError(await signedFetch(e.url, "Action=GetCallerIdentity"));
    expect(none).toMatchObject({ status: 400, code: "InvalidAction" });
  });

  it("the service comes from the credential scope: IAM errors carry IAM's namespace", async () => {
    const res = await signedFetch(e.url, "Action=GetRole&Version=2010-05-08&RoleName=x", { service: "iam" });
    const body = await res.text();
    expect(res.status).toBe(403);
    expect(body).toMatch(/^<ErrorResponse xmlns="https:\/\/iam.amazonaws.com\/doc\/2010-05-08\/">/);
    expect(body).toContain("<Code>AccessDenied</Code>");
  });

  it("a body over 1 MiB → 413", async () => {
    const body = `${GET_CALLER_IDENTITY}&Pad=${"x".repeat(1024 * 1024)}`;
    const res = await fetch(e.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    const err = await xmlError(res);
    expect(err).toMatchObject({ status: 413, root: "ErrorResponse", code: "RequestEntityTooLarge" });
    // Just under the limit is read (and then refused for what it is: unsigned).
    const under = await fetch(e.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: body.slice(0, 1024 * 1024),
    });
    expect((await xmlError(under)).code).toBe("MissingAuthenticationToken");
  });

  it("other methods → 405; garbage HTTP and aborted requests do not stop the server", async () => {
    const put = await fetch(e.url, { method: "PUT", body: GET_CALLER_IDENTITY });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, POST");

    const { hostname, port } = new URL(e.url);
    const raw = (payload: string, end: boolean) =>
      new Promise<string>((resolve) => {
        const socket = connect(Number(port), hostname);
        let got = "";
        socket.on("data", (d) => {
          got += d.toString();
        });
        socket.on("close", () => resolve(got));
        socket.on("error", () => resolve(got));
        socket.write(payload, () => {
          if (end) socket.end();
          else setTimeout(() => socket.destroy(), 20);
        });
      });
    expect(await raw("this is not HTTP\r\n\r\n", true)).toMatch(/^HTTP\/1\.1 400/);
    // Headers promise a body that never comes; the client gives up.
    await raw(
      `POST / HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\nAction=Get`,
      false,
    );
    await vi.waitFor(() => expect(e.calls.at(-1)).toMatchObject({ status: 400, error: "InvalidRequest" }));
    expect(e.calls.filter((c) => c.status >= 500)).toEqual([]);
  });
});

describe("console federation", () => {
  let central: Credentials;
  let spoke: Credentials;
  let work: Credentials;

  beforeAll(async () => {
    central = await centralCredentials(e);
    spoke = await viaCentral(e, spokeRole(PROD), "gatehouse");
    work = await viaCentral(e, workRole(STAGING, "Developer"), "alice@example.com");
  });

  const session = (c: Credentials) =>
    JSON.stringify({ sessionId: c.accessKeyId, sessionKey: c.secretAccessKey, sessionToken: c.sessionToken });

  async function signinToken(c: Credentials, duration?: number | string) {
    const q = new URLSearchParams({ Action: "getSigninToken", Session: session(c) });
    if (duration !== undefined) q.set("SessionDuration", String(duration));
    const res = await fetch(`${e.url}/federation?${q}`);
    return {
      status: res.status,
      body: (await res.json()) as { SigninToken?: string; Error?: { Code: string } },
    };
  }

  const login = (token: string, destination = "https://console.aws.amazon.com/") =>
    fetch(
      `${e.url}/federation?${new URLSearchParams({
        Action: "login",
        Issuer: "https://gatehouse.example",
        Destination: destination,
        SigninToken: token,
      })}`,
      { redirect: "manual" },
    );

  it("getSigninToken takes the Session JSON of temporary credentials", async () => {
    for (const c of [spoke, work, central]) {
      const { status, body } = await signinToken(c);
      expect(status).toBe(200);
      expect(body.SigninToken).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    }
  });

  it("SessionDuration must be 900–43200, and at most 3600 for role-chained credentials", async () => {
    for (const bad of [899, 43201, "abc", -1]) {
      const { status, body } = await signinToken(central, bad);
      expect(status).toBe(400);
      expect(body.Error?.Code).toBe("InvalidParameterValue");
    }
    // broker user → GatehouseCentral is one hop: twelve hours are allowed.
    expect((await signinToken(central, 43200)).status).toBe(200);
    // central → Developer is role chaining.
    expect((await signinToken(work, 3600)).status).toBe(200);
    const chained = await signinToken(work, 3601);
    expect(chained.status).toBe(400);
    expect(chained.body.Error?.Code).toBe("InvalidParameterValue");
  });

  it("login redirects to a console page that shows account, role and session", async () => {
    const { body } = await signinToken(work, 900);
    const res = await login(body.SigninToken!);
    expect(res.status).toBe(302);
    const location = res.headers.get("location")!;
    expect(location).toMatch(/^\/console\/[A-Za-z0-9_-]+$/);
    const page = await fetch(new URL(location, e.url));
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/data-account="333333333333"/);
    expect(html).toMatch(/data-role="Developer"/);
    expect(html).toMatch(/data-session="alice@example.com"/);
    expect(html).toContain("333333333333 (staging)");
    expect(html).toContain("https://gatehouse.example");
  });

  it("a sign-in token is single-use; a bad token or destination is refused", async () => {
    const token = (await signinToken(spoke)).body.SigninToken!;
    expect((await login(token)).status).toBe(302);
    const again = await login(token);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain("invalid, used or expired");
    expect((await login("not-a-token")).status).toBe(400);
    expect((await login((await signinToken(spoke)).body.SigninToken!, "javascript:alert(1)")).status).toBe(
      400,
    );
    expect((await fetch(`${e.url}/console/unknown`)).status).toBe(404);
  });

  it("bad or expired credentials get no token", async () => {
    const wrong = await signinToken({ ...spoke, secretAccessKey: "x".repeat(40) });
    expect(wrong).toEqual({
      status: 403,
      body: { Error: expect.objectContaining({ Code: "InvalidClientTokenId" }) },
    });
    const garbage = await fetch(`${e.url}/federation?Action=getSigninToken&Session=%7Bnot-json`);
    expect(garbage.status).toBe(400);
    expect((await fetch(`${e.url}/federation?Action=getSigninToken`)).status).toBe(400);
    expect((await fetch(`${e.url}/federation?Action=launch`)).status).toBe(400);

    const doomed = await viaCentral(e, workRole(PROD, "ReadOnly"));
    await fetch(`${e.url}/__admin/expire-session`, {
      method: "POST",
      body: JSON.stringify({ accessKeyId: doomed.accessKeyId }),
    });
    const expired = await signinToken(doomed);
    expect(expired.status).toBe(403);
    expect(expired.body.Error?.Code).toBe("ExpiredToken");
  });
});

describe("admin API: faults and call log", () => {
  const setFaults = async (config: unknown) => {
    const res = await fetch(`${e.url}/__admin/faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(config),
    });
    expect(res.status).toBe(200);
    return res.json();
  };
  const calls = async (since = 0) =>
    ((await (await fetch(`${e.url}/__admin/calls?since=${since}`)).json()) as { calls: CallRecord[] }).calls;

  afterEach(async () => {
    await setFaults({});
  });

  it("throttles per account and action: the SDK sees Throttling", async () => {
    await setFaults({ throttles: [{ account: PROD, action: "ListRoles", probability: 1 }] });
    const spoke = iam(e, await viaCentral(e, spokeRole(PROD)), 1);
    await expectAwsError(spoke.send(new ListRolesCommand({})), "Throttling", 400, "Rate exceeded");
    // Other actions and other accounts are not throttled.
    expect((await spoke.send(new GetRoleCommand({ RoleName: "ReadOnly" }))).Role?.RoleName).toBe("ReadOnly");
    const staging = iam(e, await viaCentral(e, spokeRole(STAGING)), 1);
    expect((await staging.send(new ListRolesCommand({}))).Roles?.length).toBeGreaterThan(0);
  });

  it("a rate limit throttles calls beyond it", async () => {
    await setFaults({ throttles: [{ action: "GetCallerIdentity", perSecond: 2 }] });
    const client = sts(e, DEMO_KEY, 1);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => client.send(new GetCallerIdentityCommand({}))),
    );
    const throttled = results.filter(
      (r) => r.status === "rejected" && (r.reason as Error).name === "Throttling",
    );
    expect(results.filter((r) => r.status === "fulfilled").length).toBeGreaterThanOrEqual(2);
    expect(throttled.length).toBeGreaterThanOrEqual(3);
  });

  it("with standard retries the SDK gets through random throttling", async () => {
    // Seeded: with seed 9 and 5 %, draws 26 and 61 of the first 84 are throttles, so some call is retried
    // and none is throttled five times, on every run (unseeded, one run in a thousand failed by chance).
    await setFaults({
      seed: 9,
      throttles: [{ account: "*", action: "GetCallerIdentity", probability: 0.05 }],
    });
    const before = (await calls()).at(-1)?.seq ?? 0;
    const client = sts(e, DEMO_KEY, 5);
    // Eighty calls: some are throttled, and none is throttled five times in a row.
    const results = await Promise.all(
      Array.from({ length: 80 }, () => client.send(new GetCallerIdentityCommand({}))),
    );
    expect(results.every((r) => r.Account === CENTRAL)).toBe(true);
    const retried = results.filter((r) => (r.$metadata.attempts ?? 1) > 1);
    expect(retried.length).toBeGreaterThan(0);
    const log = (await calls(before)).filter((c) => c.action === "GetCallerIdentity");
    const throttledCalls = log.filter((c) => c.error === "Throttling");
    expect(throttledCalls.length).toBe(results.reduce((n, r) => n + (r.$metadata.attempts ?? 1) - 1, 0));
    expect(log.length).toBe(80 + throttledCalls.length);
  });

  it("failureRate 1 → 503 ServiceUnavailable", async () => {
    await setFaults({ failureRate: 1 });
    await expectAwsError(
      sts(e, DEMO_KEY, 1).send(new GetCallerIdentityCommand({})),
      "ServiceUnavailable",
      503,
      "Service is unavailable",
    );
    await setFaults({});
    await expectStillServing();
  });

  it("latency delays every call", async () => {
    const config = await setFaults({ latencyMs: 250 });
    expect(config).toEqual({ latencyMs: 250, failureRate: 0, throttles: [] });
    expect(await (await fetch(`${e.url}/__admin/faults`)).json()).toEqual(config);
    const t0 = performance.now();
    await expectStillServing();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(240);
    await setFaults({});
    const t1 = performance.now();
    await expectStillServing();
    expect(performance.now() - t1).toBeLessThan(240);
  });

  it("an invalid fault configuration is refused and changes nothing", async () => {
    await setFaults({ latencyMs: 5 });
    for (const body of ['{"failureRate": 2}', '{"surprise": true}', "{not json"]) {
      const res = await fetch(`${e.url}/__admin/faults`, { method: "PUT", body });
      expect(res.status).toBe(400);
    }
    expect(await (await fetch(`${e.url}/__admin/faults`)).json()).toMatchObject({ latencyMs: 5 });
    expect((await fetch(`${e.url}/__admin/nothing`)).status).toBe(404);
  });

  it("the call log records action, caller, account and outcome", async () => {
    expect((await fetch(`${e.url}/__admin/calls`, { method: "DELETE" })).status).toBe(200);
    expect(await calls()).toEqual([]);
    const spokeCreds = await viaCentral(e, spokeRole(PROD), "gatehouse");
    await iam(e, spokeCreds, 1).send(new ListRolesCommand({ MaxItems: 1 }));
    await expectAwsError(
      iam(e, spokeCreds, 1).send(new GetRoleCommand({ RoleName: "Nobody" })),
      "NoSuchEntity",
      404,
    );
    const log = await calls();
    expect(log.map((c) => [c.service, c.action, c.account, c.caller, c.status, c.error])).toEqual([
      ["sts", "AssumeRole", CENTRAL, `arn:aws:iam::${CENTRAL}:user/gatehouse-broker`, 200, null],
      [
        "sts",
        "AssumeRole",
        CENTRAL,
        `arn:aws:sts::${CENTRAL}:assumed-role/GatehouseCentral/central`,
        200,
        null,
      ],
      ["iam", "ListRoles", PROD, `arn:aws:sts::${PROD}:assumed-role/GatehouseSpoke/gatehouse`, 200, null],
      [
        "iam",
        "GetRole",
        PROD,
        `arn:aws:sts::${PROD}:assumed-role/GatehouseSpoke/gatehouse`,
        404,
        "NoSuchEntity",
      ],
    ]);
    expect(log.every((c, i) => i === 0 || c.seq > log[i - 1]!.seq)).toBe(true);
    expect(Number.isNaN(Date.parse(log[0]!.time))).toBe(false);
    // `since` returns only what came after.
    expect((await calls(log[2]!.seq)).map((c) => c.action)).toEqual(["GetRole"]);
  });
});
