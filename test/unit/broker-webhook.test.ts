// The request webhook: Slack-compatible JSON through an outbox, retried on 5xx with exponential back-off
// until it gets through, not retried on 4xx, dead (logged and audited) after its attempts or its age,
// and the SQLite outbox keeps what a stopped sender left for the next start.

import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyBaseLogger } from "fastify";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openRequestsStore } from "../../broker/requests-store.ts";
import { memoryOutbox, type Notification, Webhook, webhookBody } from "../../broker/webhook.ts";

let answers: number[] = [];
const bodies: { text: string; gatehouse: { event: string; deliveryId: string } }[] = [];
const times: number[] = [];
const headers: (string | undefined)[] = [];
const server = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => {
    body += c;
  });
  req.on("end", () => {
    bodies.push(JSON.parse(body));
    times.push(Date.now());
    headers.push(req.headers["x-gatehouse-delivery"] as string | undefined);
    res.writeHead(answers.shift() ?? 200).end();
  });
});
let url = "";
const warnings: unknown[] = [];
const log = { warn: (o: unknown) => warnings.push(o), error: () => {} } as unknown as FastifyBaseLogger;
let dir = "";

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  dir = mkdtempSync(join(tmpdir(), "gatehouse-webhook-"));
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const note: Notification = {
  kind: "new",
  requestId: "abc",
  requester: "a@x",
  actor: "a@x",
  targets: ["arn:x"],
};

const reset = () => {
  bodies.length = 0;
  times.length = 0;
  headers.length = 0;
  warnings.length = 0;
};

it("retries 5xx answers with a growing back-off and delivers {text}, one delivery id throughout", async () => {
  reset();
  answers = [503, 500];
  const w = new Webhook(url, log, { maxAttempts: 4, backoffMs: 40 });
  w.notify(note);
  await w.settle();
  expect(bodies).toHaveLength(3);
  expect(bodies[2]!.text).toMatch(/Gatehouse request abc new/);
  expect(bodies[2]!.gatehouse.event).toBe("new");
  expect(new Set(bodies.map((b) => b.gatehouse.deliveryId)).size).toBe(1);
  expect(headers[0]).toBe(bodies[0]!.gatehouse.deliveryId);
  // 40 ms, then 80 ms.
  expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(35);
  expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(75);
  expect(w.deliveries.list("delivered")).toHaveLength(1);
});

it("is dead after its attempts (logged and audited), and does not retry a 4xx", async () => {
  reset();
  answers = [503, 503, 503];
  const audited: { action: string; detail: Record<string, unknown> }[] = [];
  const w = new Webhook(url, log, {
    maxAttempts: 3,
    backoffMs: 5,
    audit: (action, detail) => audited.push({ action, detail }),
  });
  w.notify(note);
  await w.settle();
  expect(bodies).toHaveLength(3);
  expect(warnings).toHaveLength(1);
  expect(audited).toMatchObject([{ action: "webhook.dead", detail: { attempts: 3, error: "HTTP 503" } }]);
  expect(w.deliveries.list("dead")).toHaveLength(1);
  bodies.length = 0;
  answers = [400];
  w.notify(note);
  await w.settle();
  expect(bodies).toHaveLength(1);
  expect(w.deliveries.list("dead")).toHaveLength(2);
});

it("is dead, unsent, once older than its maximum age", async () => {
  reset();
  const outbox = memoryOutbox();
  outbox.enqueue({ id: "old", body: JSON.stringify({ gatehouse: {} }) }, new Date(Date.now() - 7200_000));
  const w = new Webhook(url, log, { outbox, maxAgeMs: 3600_000 });
  w.start();
  await w.settle();
  expect(bodies).toHaveLength(0);
  expect(outbox.get("old")!.state).toBe("dead");
});

it("keeps an undelivered delivery in the SQLite outbox across a stop, and sends it once after a start", async () => {
  reset();
  const file = join(dir, "broker.sqlite");
  let store = openRequestsStore(file);
  answers = [500];
  const first = new Webhook(url, log, { outbox: store.outbox, backoffMs: 100 });
  first.notify(note);
  await first.drain();
  await first.stop();
  expect(bodies).toHaveLength(1);
  const [d] = store.outbox.list("pending");
  expect(d).toMatchObject({ attempts: 1, lastError: "HTTP 500" });
  store.close();

  store = openRequestsStore(file);
  const second = new Webhook(url, log, { outbox: store.outbox, backoffMs: 100 });
  second.start();
  await second.settle();
  expect(bodies).toHaveLength(2);
  expect(bodies[1]!.gatehouse.deliveryId).toBe(d!.id);
  expect(store.outbox.get(d!.id)).toMatchObject({ state: "delivered", attempts: 2 });
  // A second sender on the same outbox finds nothing left to send.
  const third = new Webhook(url, log, { outbox: store.outbox });
  third.start();
  await third.settle();
  expect(bodies).toHaveLength(2);
  await second.stop();
  await third.stop();
  store.close();
});

it("does nothing without a URL", async () => {
  reset();
  const w = new Webhook(undefined, log);
  w.notify(note);
  await w.settle();
  expect(bodies).toHaveLength(0);
  expect(w.deliveries.list()).toHaveLength(0);
});

it("names what a managed policy or group grants in an added field and the text; without one, the body is as before", () => {
  // What receivers got before the field existed: the same keys and text, byte for byte.
  expect(webhookBody({ ...note, detail: "why" }, "d1")).toBe(
    '{"text":"Gatehouse request abc new by `a@x`: `arn:x` — `why`","gatehouse":{"event":"new","requestId":"abc","requester":"a@x","actor":"a@x","targets":["arn:x"],"detail":"why","deliveryId":"d1"}}',
  );
  const body = JSON.parse(
    webhookBody(
      {
        ...note,
        granted: { kind: "group-membership", what: "IAM group", names: ["Auditors", "<!here> `x`"] },
        detail: "why",
      },
      "d2",
    ),
  ) as { text: string; gatehouse: Record<string, unknown> };
  expect(body.text).toBe(
    "Gatehouse request abc new by `a@x`: `arn:x` · IAM group `Auditors`, `&lt;!here&gt; \u02cbx\u02cb` — `why`",
  );
  expect(body.gatehouse.granted).toEqual({ kind: "group-membership", names: ["Auditors", "<!here> `x`"] });
  expect(body.gatehouse.targets).toEqual(["arn:x"]);
});
