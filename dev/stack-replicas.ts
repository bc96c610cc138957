// The replicated broker of `npm start -- --postgres`: a private PostgreSQL cluster, two brokers on one
// database with the same configuration apart from their port, and the dev load balancer in front of them on
// the broker's port, all stopped together (the cluster last, so that no broker loses its database first).

import { createWriteStream } from "node:fs";
import { resolve } from "node:path";
import { type Broker, startBroker } from "../broker/app.ts";
import type { BrokerConfig } from "../broker/config.ts";
import { type LoadBalancer, startLoadBalancer } from "./lb.ts";
import { type PrivateCluster, startPrivateCluster } from "./postgres.ts";

export const REPLICAS = 2;

export interface Replica {
  name: string;
  broker: Broker & { url: string };
  log: string;
}

export interface ReplicatedBroker {
  cluster: PrivateCluster;
  /** The demo's database on the cluster (no password: the private cluster trusts loopback). */
  database: string;
  replicas: Replica[];
  lb: LoadBalancer;
  /** Until called, SIGINT/SIGTERM stop the cluster and brokers and exit 130 (Ctrl-C while starting). */
  handOverSignals(): void;
  /** Log each request's broker and each change of a broker's health from now on. */
  announce(print: (line: string) => void): void;
  stop(): Promise<void>;
}

export async function startReplicatedBroker(
  config: BrokerConfig,
  dir: string,
  port: number,
): Promise<ReplicatedBroker> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  // Ctrl-C while starting: the caller's handlers are not installed yet, and a signal's default exit would
  // leave the cluster running in its temporary folder.
  const interrupted = (signal: NodeJS.Signals) => {
    void stop().finally(() => {
      console.error(`gatehouse-dev stack: stopped on ${signal} while starting`);
      process.exit(130);
    });
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  const started = () => {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
  };
  try {
    const cluster = await startPrivateCluster();
    stops.push(() => cluster.stop());
    const database = await cluster.createDatabase("gatehouse_demo");
    const replicas: Replica[] = [];
    for (let i = 1; i <= REPLICAS; i++) {
      const name = `broker-${i}`;
      const log = resolve(dir, `${name}.log`);
      // The same configuration on every replica, but for the port the load balancer reaches it on.
      const own: BrokerConfig = {
        ...structuredClone(config),
        database,
        listen: { ...config.listen, port: 0 },
        replicas: { ...config.replicas, id: name },
      };
      const broker = await startBroker(own, {
        logStream: createWriteStream(log, { flags: "a", mode: 0o600 }),
      });
      stops.push(() => broker.close());
      replicas.push({ name, broker, log });
    }
    await Promise.all(replicas.map((r) => r.broker.syncer.syncAll()));
    let print: ((line: string) => void) | undefined;
    const lb = await startLoadBalancer({
      backends: replicas.map((r) => ({ url: r.broker.url, name: r.name })),
      port,
      onServed: (e) => print?.(`lb: ${e.method} ${e.path.split("?")[0]} → ${e.backend} (${e.status})`),
      onHealthChange: (b) => print?.(`lb: ${b.name} ${b.ready ? "is ready again" : `is down (${b.reason})`}`),
    });
    stops.push(() => lb.close());
    return {
      cluster,
      database,
      replicas,
      lb,
      announce: (p) => {
        print = p;
      },
      handOverSignals: started,
      stop,
    };
  } catch (e) {
    started();
    await stop();
    throw e;
  }
}
