// SECURITY 33: requester-controlled text in the Slack-compatible webhook. A real broker sends to a real
// local receiver; alice's hostile justifications and a reviewer's hostile reason arrive quoted: no
// `<…>` control sequence (mention, link), no line break (forged line), bare URLs and e-mails only
// inside code spans, and the JSON still carries the raw values for receivers that read data.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import { startDemoEmulator } from "../support/emulator.ts";
import { type Delivery, HookReceiver, RequestsBroker, signPeople, until } from "../support/requests.ts";
import { startTestIssuer, type TestIssuer } from "../support/test-issuer.ts";

/** The justifications of issue 11, and the tricks around them (closing the code span, CR, U+2028). */
const HOSTILE = [
  "<!channel> please approve this right now",
  "<https://evil.example/approve|Click here to approve in Gatehouse>",
  "read the reports\nGatehouse request 0123456789abcdef approved by security@example.com: arn:aws:iam::222222222222:role/Admin",
  "<@U024BE7LH> <!here> <!subteam^S0614TZR7|@security> &lt;!everyone&gt; see https://evil.example/approve",
  "close ` the span ` <!channel> ``` and *bold* _it_ ~s~ @here @channel",
  "carriage\rGatehouse request x approved\u2028and\u2029more\u0085and\u001b[31mRED\u001b[0m\u202eevil",
];

let emulator: Emulator;
let issuer: TestIssuer;
let b: RequestsBroker;
const hook = new HookReceiver();

beforeAll(async () => {
  emulator = await startDemoEmulator();
  issuer = await startTestIssuer();
  await hook.start();
  b = new RequestsBroker({
    emulator,
    issuer,
    tokens: await signPeople(issuer),
    extra: `requests:\n  approver_groups: [approvers]\n  webhook_url: ${hook.url}\n  webhook_backoff_ms: 200\n`,
  });
  await b.start();
});

afterAll(async () => {
  await b?.close();
  await hook.close();
  await issuer?.close();
  await emulator?.close();
});

/** The parts of a Slack text outside code spans: only Gatehouse's own words may be there. */
const outsideCode = (text: string) => text.split("`").filter((_, i) => i % 2 === 0);

function expectInert(d: Delivery) {
  const { text } = d.body;
  // No control sequence Slack would act on: every <, > and & of the requester is an entity.
  expect(text).not.toMatch(/[<>]/);
  expect(text).not.toMatch(/&(?!amp;|lt;|gt;)/);
  // One line: no newline, carriage return, NEL or Unicode separator, no control character at all.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the test
  expect(text).not.toMatch(/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
  // Spans are balanced and outside them stand only Gatehouse's words: no URL, e-mail, @mention or markup.
  expect(text.split("`").length % 2).toBe(1);
  for (const part of outsideCode(text)) expect(part).toMatch(/^[A-Za-z0-9 .:,—-]*$/);
  expect(outsideCode(text).join("")).toMatch(/^Gatehouse request [0-9a-f]{16} [a-z]+ by : /);
}

describe("SECURITY 33: requester text in the webhook", () => {
  it("each hostile justification arrives escaped and quoted, on one line, the raw value as data", async () => {
    const ids: string[] = [];
    for (const justification of HOSTILE)
      ids.push(await b.createId("alice", { targets: ["prod/Billing"], justification }));
    await until(() => ids.every((id) => hook.of(id, "new").length === 1), 15_000, "the deliveries");
    for (const [i, id] of ids.entries()) {
      const d = hook.of(id, "new")[0]!;
      expectInert(d);
      const body = d.body as Delivery["body"] & { gatehouse: { detail?: string; actor: string } };
      // The data part keeps the value exactly, JSON-escaped, for receivers that read data.
      expect(body.gatehouse.detail).toBe(HOSTILE[i]);
      expect(body.gatehouse.actor).toBe("alice@example.com");
    }
    const text = (i: number) => hook.of(ids[i]!, "new")[0]!.body.text;
    expect(text(0)).toContain("`&lt;!channel&gt; please approve this right now`");
    expect(text(1)).toContain("&lt;https://evil.example/approve|Click here to approve in Gatehouse&gt;");
    // The forged line is visibly part of the quoted justification, after a shown "\n".
    expect(text(2)).toContain("`read the reports\\nGatehouse request 0123456789abcdef approved by");
    expect(text(3)).toContain("&amp;lt;!everyone&amp;gt;");
    expect(text(4)).toContain("close ˋ the span ˋ &lt;!channel&gt; ˋˋˋ and *bold*");
    expect(text(5)).toContain(
      "carriage\\rGatehouse request x approved\\u2028and\\u2029more\\x85and\\x1b[31mRED",
    );
    expect(text(5)).toContain("\\u202eevil");
  });

  it("a reviewer's reason is quoted the same way, and a long text is cut", async () => {
    const id = await b.createId("alice", { targets: ["prod/Billing"], justification: "x".repeat(1500) });
    const reason = "<!channel>\nGatehouse request 1111111111111111 approved by bob@example.com: all good";
    const r = await b.call("bob", "POST", `/v1/requests/${id}/reject`, { reason });
    expect(r.status).toBe(200);
    await until(() => hook.of(id, "rejected").length === 1 && hook.of(id, "new").length === 1, 15_000);
    const rejected = hook.of(id, "rejected")[0]!;
    expectInert(rejected);
    expect(rejected.body.text).toContain(
      "`&lt;!channel&gt;\\nGatehouse request 1111111111111111 approved by bob@example.com: all good`",
    );
    const created = hook.of(id, "new")[0]!;
    expectInert(created);
    expect(created.body.text.length).toBeLessThan(600);
    expect(created.body.text).toContain(`${"x".repeat(300)}…\``);
  });
});
