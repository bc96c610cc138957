// `gatehouse-broker`: serve (--config FILE), work on the audit log (audit verify | audit export), on
// access-tag changes made outside Gatehouse (tags list | tags accept ID), check the AWS set-up (doctor)
// or generate it (init).

import { createWriteStream, existsSync, fchmodSync } from "node:fs";
import { parseArgs } from "node:util";
import { GatehouseError } from "../shared/errors.ts";
import { startBroker } from "./app.ts";
import { runAuditVerify } from "./audit/verify-command.ts";
import { doctorCommand } from "./commands/doctor.ts";
import { initCommand } from "./commands/init.ts";
import { loadConfig } from "./config.ts";
import { isPostgresUrl, openConfiguredDb } from "./db/index.ts";
import { openStore } from "./store.ts";
import { runTags } from "./tags-command.ts";

const USAGE = `usage: gatehouse-broker --config FILE             serve the broker
       gatehouse-broker audit verify --config FILE   check the audit log's hash chain
                        [--checkpoints FILE|URL --public-key FILE]
                                                      …and against its signed checkpoints
       gatehouse-broker audit export --config FILE [--out FILE] [--after SEQ]
                                                      write the audit log as JSON lines
       gatehouse-broker tags list --config FILE [--all] [--json]
                                                      access-tag changes held for an admin (--all: every one)
       gatehouse-broker tags accept ID --config FILE [--by NAME]
                                                      serve a held change (audited as NAME)
       gatehouse-broker doctor --config FILE [--json] [--profile ADMIN] [--admin-role NAME]
                                                      check base → central → spoke → work roles;
                                                      exit 0 all good, 1 broken, 2 could not run
       gatehouse-broker init --config FILE [--out DIR] [--base-arn ARN]
                             [--apply --profile ADMIN [--admin-role NAME] [--yes]]
                                                      write (and apply) the central and spoke roles`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      out: { type: "string" },
      after: { type: "string" },
      all: { type: "boolean" },
      json: { type: "boolean" },
      by: { type: "string" },
      checkpoints: { type: "string" },
      "public-key": { type: "string" },
      profile: { type: "string" },
      "admin-role": { type: "string" },
      "base-arn": { type: "string" },
      apply: { type: "boolean" },
      yes: { type: "boolean", short: "y" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.config) throw new GatehouseError("BAD_ARGUMENT", "--config FILE is required");
  const config = loadConfig(values.config);
  const [verb, sub] = positionals;

  if (verb === "audit" || verb === "tags") {
    // Reading the audit log must not create one: a wrong path or a deleted database would otherwise
    // "verify" as an empty, intact log (and leave an empty database behind).
    if (!isPostgresUrl(config.database) && config.database !== ":memory:" && !existsSync(config.database)) {
      throw new GatehouseError(
        "BAD_ARGUMENT",
        `no broker database at ${config.database} (database: in ${values.config})`,
      );
    }
    const db = openConfiguredDb(config);
    try {
      const store = openStore(db);
      if (verb === "tags")
        return runTags(
          config,
          store,
          { sub, id: positionals[2], json: values.json === true, all: values.all === true, by: values.by },
          (s) => console.log(s),
        );
      if (sub === "verify") {
        if ((values.checkpoints === undefined) !== (values["public-key"] === undefined))
          throw new GatehouseError("BAD_ARGUMENT", "--checkpoints and --public-key go together");
        if (values.checkpoints)
          return await runAuditVerify({
            store,
            checkpoints: values.checkpoints,
            publicKey: values["public-key"]!,
          });
        const r = store.verifyAudit();
        if (r.ok) {
          console.log(`audit log verified: ${r.count} rows, chain intact`);
          return 0;
        }
        console.error(`audit log BROKEN at row ${r.brokenAt}: ${r.reason} [AUDIT_BROKEN]`);
        return 1;
      }
      if (sub === "export") {
        // 0600 also when the file was there before (the mode option only applies to a new file).
        const out = values.out
          ? createWriteStream(values.out, { mode: 0o600 }).on("open", (fd) => fchmodSync(fd, 0o600))
          : process.stdout;
        let after = values.after ? Number(values.after) : 0;
        if (!Number.isInteger(after) || after < 0)
          throw new GatehouseError("BAD_ARGUMENT", "--after must be a row number");
        let rows = 0;
        for (;;) {
          const page = store.listAudit({ afterSeq: after, limit: 1000 });
          if (page.length === 0) break;
          for (const e of page) out.write(`${JSON.stringify(e)}\n`);
          rows += page.length;
          after = page[page.length - 1]!.seq;
        }
        if (out !== process.stdout) await new Promise<void>((r) => out.end(() => r()));
        console.error(`exported ${rows} audit rows`);
        return 0;
      }
      throw new GatehouseError("BAD_ARGUMENT", `unknown audit command "${sub ?? ""}" (verify or export)`);
    } finally {
      db.close();
    }
  }
  if (verb === "doctor") {
    return doctorCommand({
      config,
      json: values.json === true,
      profile: values.profile,
      adminRole: values["admin-role"] ?? "OrganizationAccountAccessRole",
    });
  }
  if (verb === "init") {
    return initCommand({
      config,
      out: values.out,
      baseArn: values["base-arn"],
      apply: values.apply === true,
      yes: values.yes === true,
      admin: values.profile
        ? { profile: values.profile, roleName: values["admin-role"] ?? "OrganizationAccountAccessRole" }
        : undefined,
    });
  }
  if (verb !== undefined) throw new GatehouseError("BAD_ARGUMENT", `unknown command "${verb}"`);

  const broker = await startBroker(config);
  broker.app.log.info({ url: broker.url, accounts: config.aws.accounts.length }, "broker listening");
  console.error(`gatehouse-broker listening on ${broker.url}`);
  const stop = async (signal: string) => {
    broker.app.log.info({ signal }, "stopping");
    await broker.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
  return -1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e) => {
    if (e instanceof GatehouseError) {
      console.error(`gatehouse-broker: ${e.message} [${e.code}]`);
      process.exitCode = 2;
    } else if (
      (e as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" ||
      (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      console.error(`gatehouse-broker: ${(e as Error).message} [BAD_ARGUMENT]\n\n${USAGE}`);
      process.exitCode = 2;
    } else if ((e as { code?: string }).code === "EADDRINUSE") {
      console.error("gatehouse-broker: the listen address is already in use [ADDRESS_IN_USE]");
      process.exitCode = 1;
    } else {
      console.error("gatehouse-broker: unexpected error", e);
      process.exitCode = 1;
    }
  },
);
