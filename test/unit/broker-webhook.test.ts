// The request webhook: Slack-compatible JSON, retried on 5xx until it gets through, not retried on 4xx.

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyBaseLogger } from "fastify";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Notification, Webhook } from "../../broker/webhook.ts";

let answers: number[] = [];
const bodies: { text: string; gatehouse: { event: string } }[] = [];
const server = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => {
    body += c;
  });
  req.on("end", () => {
    bodies.push(JSON.parse(body));
    res.writeHead(answers.shift() ?? 200).end();
  });
});
let url = "";
const warnings: unknown[] = [];
const log = { warn: (o: unknown) => warnings.push(o) } as unknown as FastifyBaseLogger;

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(() => new Promise((r) => server.close(r)));

const note: Notification = {
  kind: "new",
  requestId: "abc",
  requester: "a@x",
  actor: "a@x",
  targets: ["arn:x"],
};

it("retries 5xx answers and delivers {text}", async () => {
  bodies.length = 0;
  answers = [503, 500];
  const w = new Webhook(url, log, 4, 5);
  w.notify(note);
  await w.drain();
  expect(bodies).toHaveLength(3);
  expect(bodies[2]!.text).toMatch(/Gatehouse request abc new/);
  expect(bodies[2]!.gatehouse.event).toBe("new");
});

it("gives up after its attempts, and does not retry a 4xx", async () => {
  bodies.length = 0;
  answers = [503, 503, 503];
  const w = new Webhook(url, log, 3, 5);
  w.notify(note);
  await w.drain();
  expect(bodies).toHaveLength(3);
  expect(warnings).toHaveLength(1);
  bodies.length = 0;
  answers = [400];
  w.notify(note);
  await w.drain();
  expect(bodies).toHaveLength(1);
});

it("does nothing without a URL", async () => {
  bodies.length = 0;
  const w = new Webhook(undefined, log);
  w.notify(note);
  await w.drain();
  expect(bodies).toHaveLength(0);
});
