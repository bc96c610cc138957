// A checkpoint receiver on loopback, as an audit service would run one: each POST appends a checkpoint
// (JSON) to what it holds, a GET answers them all as JSON lines; `answer` can make POSTs fail. Plain
// HTTP, or HTTPS with the certificate and key given.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";

export class CheckpointReceiver {
  readonly held: unknown[] = [];
  posts = 0;
  answer: () => number = () => 201;
  private server!: Server;
  url = "";

  async start(tls?: { key: Buffer; cert: Buffer }): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      if (req.method === "GET") {
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.end(this.held.map((c) => `${JSON.stringify(c)}\n`).join(""));
        return;
      }
      let raw = "";
      req.on("data", (c) => {
        raw += c;
      });
      req.on("end", () => {
        this.posts++;
        const status = this.answer();
        if (status < 300) this.held.push(JSON.parse(raw));
        res.writeHead(status).end();
      });
    };
    this.server = tls ? createHttpsServer(tls, handler) : createServer(handler);
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `${tls ? "https" : "http"}://127.0.0.1:${(this.server.address() as AddressInfo).port}/checkpoints`;
  }

  async close(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }
}
