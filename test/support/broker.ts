// Starts the real broker (Fastify on loopback; SQLite on disk, or PostgreSQL with GATEHOUSE_TEST_STORE=postgres)
// against a started emulator and an issuer.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type Broker, startBroker } from "../../broker/app.ts";
import { type BrokerConfig, parseConfig } from "../../broker/config.ts";
import { testBrokerDatabase, testStore } from "./pg.ts";

export interface StartedBroker extends Broker {
  url: string;
  config: BrokerConfig;
  logs: string[];
  dir: string;
  /** The store this broker runs on (GATEHOUSE_TEST_STORE) and its `database:` (file or URL). */
  storeKind: "sqlite" | "postgres";
  database: string;
  stop(): Promise<void>;
}

export function brokerYaml(o: {
  issuer: string;
  awsUrl: string;
  database: string;
  extra?: string;
  /** The `oidc.audience` line (default gatehouse-broker); null leaves it out (ID-token providers). */
  audience?: string | null;
  /** YAML lines added inside the `oidc:` block (e.g. `algorithms: [RS256]`). */
  oidcExtra?: string;
  /** YAML lines added inside the `access:` block (e.g. `external_tag_changes: hold`). */
  accessExtra?: string;
}): string {
  const oidcExtra = (o.oidcExtra ?? "")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => `  ${l}\n`)
    .join("");
  return `listen: { host: 127.0.0.1, port: 0 }
database: ${o.database}
log_level: info
oidc:
  issuer: ${o.issuer}
${o.audience === null ? "" : `  audience: ${o.audience ?? "gatehouse-broker"}\n`}${oidcExtra}aws:
  endpoint: ${o.awsUrl}
  federation_url: ${o.awsUrl}/federation
  console_url: https://console.aws.amazon.com/
  base_identity: { type: static, access_key_id: AKIAGATEHOUSEDEMO001, secret_access_key: gatehouse-demo-secret }
  central_role_arn: arn:aws:iam::111111111111:role/GatehouseCentral
  spoke_role_name: GatehouseSpoke
  accounts:
    - { id: "222222222222", name: prod }
    - { id: "333333333333", name: staging }
access:
  admin_groups: [platform-admins]
${(o.accessExtra ?? "")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => `  ${l}\n`)
  .join("")}sync:
  interval_seconds: 3600
  requests_per_second: 50
${o.extra ?? ""}`;
}

/** Start a broker and wait for its first sync. */
export async function startTestBroker(o: {
  issuer: string;
  awsUrl: string;
  extra?: string;
  dir?: string;
  audience?: string | null;
  oidcExtra?: string;
  accessExtra?: string;
}): Promise<StartedBroker> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), "gatehouse-broker-"));
  const database = testBrokerDatabase(dir);
  const config = parseConfig(brokerYaml({ ...o, database }), join(dir, "gatehouse.yaml"));
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const broker = await startBroker(config, { logStream });
  await broker.syncer.syncAll();
  return {
    ...broker,
    config,
    logs,
    dir,
    storeKind: testStore(),
    database,
    async stop() {
      await broker.close();
      if (!o.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
