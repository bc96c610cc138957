// A broker on a thread of its own, as each replica of a deployment is a process of its own: two brokers
// benched on the main thread would share one event loop and could never serve more than one. The broker
// is built, synced and marked ready in the thread; the main thread gets its URL.

import { Writable } from "node:stream";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { buildBroker } from "../broker/app.ts";
import type { BrokerConfig } from "../broker/config.ts";

export interface BrokerThread {
  url: string;
  /** Roles and users the broker's first sync stored (for checks). */
  synced: { ok: number; failed: number; roles: number };
  close(): Promise<void>;
}

interface Ready {
  url: string;
  synced: BrokerThread["synced"];
}

const MARK = "gatehouseBrokerThread";

/** Start a broker for `config` (listening on a free loopback port) on a worker thread, synced and ready. */
export async function startBrokerThread(config: BrokerConfig): Promise<BrokerThread> {
  // `node --import tsx` does not carry its loader into worker threads on Node 20: register it first.
  const boot =
    `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { [MARK]: config } });
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    worker.once("exit", () => {
      exited = true;
      resolve();
    }),
  );
  const ready = await new Promise<Ready>((resolve, reject) => {
    worker.once("message", (m: Ready | { error: string }) =>
      "error" in m ? reject(new Error(`broker thread: ${m.error}`)) : resolve(m),
    );
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the broker thread exited (${code}) before it listened`)));
  });
  worker.on("error", (e) => console.error("broker thread:", e));
  return {
    ...ready,
    async close() {
      if (!exited) worker.postMessage("close");
      await gone;
    },
  };
}

if (!isMainThread && workerData?.[MARK]) {
  const config = workerData[MARK] as BrokerConfig;
  // Pino's output is dropped, as in broker.bench.ts: formatted, never written.
  const discard = new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });
  try {
    const broker = buildBroker({ ...config, listen: { ...config.listen, port: 0 } }, { logStream: discard });
    await broker.audit.start();
    const address = await broker.app.listen({ host: "127.0.0.1", port: 0 });
    const r = await broker.syncer.syncAll();
    broker.markReady();
    parentPort!.on("message", async (m) => {
      if (m !== "close") return;
      await broker.close();
      parentPort!.close();
    });
    parentPort!.postMessage({
      url: address.replace("[::1]", "127.0.0.1"),
      synced: { ok: r.ok, failed: r.failed, roles: r.accounts.reduce((n, a) => n + a.roles, 0) },
    } satisfies Ready);
  } catch (e) {
    parentPort!.postMessage({ error: (e as Error).message });
    parentPort!.close();
  }
}
