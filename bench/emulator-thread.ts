// The emulator on a thread of its own, as AWS is a service of its own: a bench that times a client (or
// the broker) on the main thread then times that client's work and its waiting, not the emulator's
// work done on the same event loop. The world is generated in that thread too, so its memory (and the
// garbage collections it costs) stay out of the main thread's heap.

import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { type GenerateOptions, generateWorld } from "../dev/aws/fixture.ts";
import { startEmulator } from "../dev/aws/server.ts";

export interface EmulatorThread {
  url: string;
  /** Roles and users in the generated world, counted in the thread (for checks). */
  counts: { accounts: number; roles: number; users: number };
  close(): Promise<void>;
}

interface Ready {
  url: string;
  counts: EmulatorThread["counts"];
}

const MARK = "gatehouseEmulatorThread";

/** Generate `world` and start an emulator for it on a worker thread; resolves once it listens. */
export async function startEmulatorThread(world: GenerateOptions): Promise<EmulatorThread> {
  // `node --import tsx` does not carry its loader into worker threads on Node 20: register it first.
  const boot =
    `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { [MARK]: world } });
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    worker.once("exit", () => {
      exited = true;
      resolve();
    }),
  );
  const ready = await new Promise<Ready>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) =>
      reject(new Error(`the emulator thread exited (${code}) before it listened`)),
    );
  });
  worker.on("error", (e) => console.error("emulator thread:", e));
  return {
    ...ready,
    async close() {
      if (!exited) worker.postMessage("close");
      await gone;
    },
  };
}

if (!isMainThread && workerData?.[MARK]) {
  const opts = workerData[MARK] as GenerateOptions;
  const world = generateWorld(opts);
  let roles = 0;
  let users = 0;
  for (const a of world.accounts.values()) {
    roles += a.roles.size;
    users += a.users.size;
  }
  // A short call log: the default 100,000 records cost a splice of that length per call once full.
  const emulator = await startEmulator({ world, callLogLimit: 1000 });
  parentPort!.on("message", async (m) => {
    if (m !== "close") return;
    await emulator.close();
    parentPort!.close();
  });
  parentPort!.postMessage({
    url: emulator.url,
    counts: { accounts: world.accounts.size, roles, users },
  } satisfies Ready);
}
