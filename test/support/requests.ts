// Permission-request tests over HTTP: people with signed tokens, a broker that can be stopped and started
// on the same database, calls as a person, and a webhook receiver that records (and can fail) deliveries.

import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Emulator } from "../../dev/aws/server.ts";
import type { PermissionRequest } from "../../shared/requests.ts";
import { type StartedBroker, startTestBroker } from "./broker.ts";
import { testBrokerDatabase } from "./pg.ts";
import { signTokens, type TestIssuer } from "./test-issuer.ts";

export const PEOPLE = {
  alice: { email: "alice@example.com", groups: ["engineers", "data"] },
  bob: { email: "bob@example.com", groups: ["platform-admins", "approvers"] },
  dave: { email: "dave@example.com", groups: ["engineers", "approvers"] },
  carol: { email: "carol@example.com", groups: [] },
  erin: { email: "erin@example.com", groups: ["staging-approvers"] },
  frank: { email: "frank@example.com", groups: [] },
  /** An admin who is no approver. */
  gina: { email: "gina@example.com", groups: ["platform-admins"] },
};
export type Who = keyof typeof PEOPLE;

export const BILLING = "arn:aws:iam::222222222222:role/Billing";
export const DEPLOY_BOT = "arn:aws:iam::222222222222:user/deploy-bot";
export const READ_BUCKET = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::prod-reports/*" }],
});

/** READ_BUCKET as an approver widens it: the bucket listed too. */
export const EDITED = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:ListBucket"],
      Resource: ["arn:aws:s3:::prod-reports", "arn:aws:s3:::prod-reports/*"],
    },
  ],
});

export const asRequest = (j: Record<string, unknown>) => j as unknown as PermissionRequest;

export const signPeople = (issuer: TestIssuer): Promise<Record<Who, string>> => signTokens(issuer, PEOPLE);

export interface Reply {
  status: number;
  json: Record<string, unknown>;
  text: string;
}

/** One broker on its own database directory, restartable, with calls as any of PEOPLE. */
export class RequestsBroker {
  broker!: StartedBroker;
  readonly dir: string;

  constructor(
    private readonly o: {
      emulator: Emulator;
      issuer: TestIssuer;
      tokens: Record<Who, string>;
      extra: string;
      /** YAML lines inside the `access:` block. */
      accessExtra?: string;
      /** Another broker's directory: both serve one database (replicas). */
      dir?: string;
    },
  ) {
    this.dir = o.dir ?? mkdtempSync(join(tmpdir(), "gatehouse-requests-"));
  }

  /** Start (or start again on the same database) and wait for recovery and the expiry catch-up. */
  async start(): Promise<void> {
    this.broker = await startTestBroker({
      issuer: this.o.issuer.issuer,
      awsUrl: this.o.emulator.url,
      dir: this.dir,
      extra: this.o.extra,
      ...(this.o.accessExtra ? { accessExtra: this.o.accessExtra } : {}),
    });
    await this.broker.requests.start();
  }

  async stop(): Promise<void> {
    await this.broker?.stop();
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The broker's `database:` (its SQLite file, or its PostgreSQL URL with GATEHOUSE_TEST_STORE=postgres). */
  get db(): string {
    return testBrokerDatabase(this.dir);
  }

  async call(who: Who, method: string, path: string, body?: unknown): Promise<Reply> {
    const h: Record<string, string> = { authorization: `Bearer ${this.o.tokens[who]}` };
    if (body !== undefined) h["content-type"] = "application/json";
    const res = await fetch(`${this.broker.url}${path}`, {
      method,
      headers: h,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, json, text };
  }

  /** An inline-policy request (READ_BUCKET, 8 hours) unless the body says otherwise. */
  create(who: Who, body: Record<string, unknown>): Promise<Reply> {
    return this.call(who, "POST", "/v1/requests", {
      kind: "inline-policy",
      justification: "quarterly report needs this bucket",
      expiry: "PT8H",
      policy: READ_BUCKET,
      ...body,
    });
  }

  /** A role-access request for prod/Billing (the month-end close) with this expiry. */
  billingAccess(who: Who, expiry: string | number): Promise<Reply> {
    return this.call(who, "POST", "/v1/requests", {
      kind: "role-access",
      targets: ["prod/Billing"],
      justification: "close the month in the billing console",
      expiry,
    });
  }

  async createId(who: Who, body: Record<string, unknown>): Promise<string> {
    const r = await this.create(who, body);
    if (r.status !== 201) throw new Error(`create failed: ${r.status} ${r.text}`);
    return asRequest(r.json).id;
  }

  async get(who: Who, id: string): Promise<PermissionRequest> {
    return asRequest((await this.call(who, "GET", `/v1/requests/${id}`)).json);
  }

  async roles(who: Who): Promise<string[]> {
    return ((await this.call(who, "GET", "/v1/roles")).json.roles as { ref: string }[]).map((x) => x.ref);
  }
}

export interface Delivery {
  time: number;
  status: number;
  id: string | undefined;
  body: {
    text: string;
    gatehouse: {
      event: string;
      requestId: string;
      deliveryId: string;
      targets?: string[];
      granted?: { kind: string; names: string[] };
    };
  };
}

/** A webhook receiver: records every POST with the status it answered; `answer` decides the status. */
export class HookReceiver {
  readonly got: Delivery[] = [];
  answer: (body: Delivery["body"]) => number = () => 200;
  private server!: Server;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let raw = "";
      req.on("data", (c) => {
        raw += c;
      });
      req.on("end", () => {
        const body = JSON.parse(raw) as Delivery["body"];
        const status = this.answer(body);
        this.got.push({ time: Date.now(), status, id: req.headers["x-gatehouse-delivery"] as string, body });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  of(requestId: string, event?: string): Delivery[] {
    return this.got.filter(
      (d) => d.body.gatehouse.requestId === requestId && (!event || d.body.gatehouse.event === event),
    );
  }

  async close(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }
}

/** Poll until `check` holds (or fail after `ms`). */
export async function until(check: () => boolean, ms = 10_000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
