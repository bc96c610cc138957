// `gatehouse-dev directories`: one directory stand-in (Google, Microsoft Graph or Okta) from flags and a
// data file, printing its URL when ready and stopping cleanly on a signal; for trying a broker by hand.

import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { GatehouseError } from "../../shared/errors.ts";
import { reportStartFailure, stopOnSignals } from "../serve.ts";
import { startGoogleStandIn } from "./google.ts";
import { startGraphStandIn } from "./microsoft-graph.ts";
import type { DirectoryData, StandIn } from "./model.ts";
import { startOktaStandIn } from "./okta.ts";

const USAGE = `usage: gatehouse-dev directories --kind google|graph|okta --data FILE [options]

  --data FILE                 YAML or JSON: members (person → groups), optional parents (group → groups)
                              and names (group → display name)
  --port N                    port on 127.0.0.1 (default 0: a free one)
  google: --service-account-key FILE --admin EMAIL [--premium]
          (FILE is the JSON key the broker uses; the stand-in checks grants against its public key)
  graph:  --tenant ID --client-id ID --client-secret-env VAR
  okta:   --api-token-env VAR

The broker's directory URLs (token_url, directory_url, cloud_identity_url / login_url, graph_url /
org_url) are then the printed URL (Google's token_url: URL/token).`;

const dataSchema = z.strictObject({
  members: z.record(z.string(), z.array(z.string())),
  parents: z.record(z.string(), z.array(z.string())).optional(),
  names: z.record(z.string(), z.string()).optional(),
});

const bad = (msg: string) => new GatehouseError("BAD_ARGUMENT", msg);

function env(name: string | undefined, flag: string): string {
  if (!name) throw bad(`${flag} is required`);
  const v = process.env[name];
  if (!v) throw bad(`${flag}: environment variable ${name} is not set`);
  return v;
}

export async function startFromArgs(argv: string[]): Promise<StandIn | "help"> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        kind: { type: "string" },
        data: { type: "string" },
        port: { type: "string", default: "0" },
        "service-account-key": { type: "string" },
        admin: { type: "string" },
        premium: { type: "boolean" },
        tenant: { type: "string" },
        "client-id": { type: "string" },
        "client-secret-env": { type: "string" },
        "api-token-env": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (values.help) return "help";
  const port = Number(values.port);
  if (!/^\d+$/.test(String(values.port)) || port > 65535) throw bad(`--port must be 0-65535`);
  if (typeof values.data !== "string") throw bad("--data FILE is required");
  let data: DirectoryData;
  try {
    data = dataSchema.parse(parseYaml(readFileSync(values.data, "utf8")));
  } catch (e) {
    throw bad(`--data ${values.data}: ${(e as Error).message.split("\n")[0]}`);
  }
  switch (values.kind) {
    case "google": {
      const file = values["service-account-key"];
      if (typeof file !== "string") throw bad("--service-account-key FILE is required");
      if (typeof values.admin !== "string") throw bad("--admin EMAIL is required");
      const key = JSON.parse(readFileSync(file, "utf8")) as {
        client_email: string;
        private_key_id: string;
        private_key: string;
      };
      const publicKeyPem = createPublicKey(createPrivateKey(key.private_key))
        .export({ type: "spki", format: "pem" })
        .toString();
      return startGoogleStandIn({
        port,
        serviceAccount: { clientEmail: key.client_email, keyId: key.private_key_id, publicKeyPem },
        delegatedScopes: [
          "https://www.googleapis.com/auth/admin.directory.group.readonly",
          "https://www.googleapis.com/auth/cloud-identity.groups.readonly",
        ],
        admins: [values.admin],
        premium: values.premium === true,
        data,
      });
    }
    case "graph": {
      if (typeof values.tenant !== "string" || typeof values["client-id"] !== "string")
        throw bad("--tenant and --client-id are required");
      const secret = env(values["client-secret-env"] as string | undefined, "--client-secret-env");
      return startGraphStandIn({
        port,
        tenant: values.tenant,
        clientId: values["client-id"],
        clientSecret: secret,
        data,
      });
    }
    case "okta":
      return startOktaStandIn({
        port,
        apiToken: env(values["api-token-env"] as string | undefined, "--api-token-env"),
        data,
      });
    default:
      throw bad(`--kind must be google, graph or okta`);
  }
}

export async function runDirectoriesCommand(argv: string[]): Promise<void> {
  try {
    const s = await startFromArgs(argv);
    if (s === "help") {
      console.log(USAGE);
      return;
    }
    console.log(`gatehouse-dev directories ${argv[argv.indexOf("--kind") + 1]} ${s.url}`);
    stopOnSignals("directories", s.close);
  } catch (e) {
    reportStartFailure("directories", e);
  }
}
