// `gatehouse-broker`: serve (--config FILE), work on the audit log (audit verify | audit export), on
// access-tag changes made outside Gatehouse (tags list | tags accept ID), review who has what (access
// report), check the AWS set-up (doctor) or generate it (init).

import { createWriteStream, existsSync, fchmodSync } from "node:fs";
import { parseArgs } from "node:util";
import { GatehouseError } from "../shared/errors.ts";
import { startBroker } from "./app.ts";
import { runAuditVerify } from "./audit/verify-command.ts";
import { accessReportInput, runAccessReport } from "./commands/access-report.ts";
import { doctorCommand } from "./commands/doctor.ts";
import { grantsExportInput, runGrantsExport } from "./commands/grants-export.ts";
import { initCommand } from "./commands/init.ts";
import { runKillSwitchStatus } from "./commands/killswitch.ts";
import { runPeopleDisable } from "./commands/people-disable.ts";
import { runPeopleEnable } from "./commands/people-enable.ts";
import { loadConfig } from "./config.ts";
import { isPostgresUrl, openConfiguredDb } from "./db/index.ts";
import { KillSwitch } from "./killswitch/index.ts";
import { cancelOpenRequestsOf } from "./people/cancel.ts";
import { PeopleService } from "./people/service.ts";
import { PeopleStore } from "./people/store.ts";
import { openRequestsStore } from "./requests-store.ts";
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
       gatehouse-broker people disable EMAIL --reason TEXT --config FILE [--by NAME]
                                                      refuse the person's tokens, cancel their requests
       gatehouse-broker people enable EMAIL --config FILE [--by NAME]
                                                      let a disabled person sign in again
       gatehouse-broker killswitch status --config FILE [--email E] [--json]
                                                      revoked people and each role's deny statement;
                                                      exit 1 while one is failed (being retried)
       gatehouse-broker access report --config FILE [--format csv|json] [--unused-days N] [--out FILE]
                                                      who may use which role, why, until when, last used
       gatehouse-broker grants export --config FILE [--format terraform|cloudformation|json]
                        [--active] [--account ID|NAME]… [--expired-since DATE] [--permanent-only] [--out FILE]
                                                      applied grants as the IaC resources that hold them
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
      format: { type: "string" },
      "unused-days": { type: "string" },
      active: { type: "boolean" },
      account: { type: "string", multiple: true },
      "expired-since": { type: "string" },
      "permanent-only": { type: "boolean" },
      all: { type: "boolean" },
      json: { type: "boolean" },
      by: { type: "string" },
      reason: { type: "string" },
      email: { type: "string" },
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

  if (
    verb === "audit" ||
    verb === "tags" ||
    verb === "killswitch" ||
    verb === "access" ||
    verb === "grants"
  ) {
    // Reading the audit log must not create one: a wrong path or a deleted database would otherwise
    // "verify" as an empty, intact log (and leave an empty database behind).
    if (!isPostgresUrl(config.database) && config.database !== ":memory:" && !existsSync(config.database)) {
      throw new GatehouseError(
        "BAD_ARGUMENT",
        `no broker database at ${config.database} (database: in ${values.config})`,
      );
    }
    // Flags first: a typo is refused before the database is opened.
    const access =
      verb === "access"
        ? accessReportInput({
            sub,
            format: values.format,
            unusedDays: values["unused-days"],
            out: values.out,
          })
        : undefined;
    const grants =
      verb === "grants"
        ? grantsExportInput(config, {
            sub,
            format: values.format,
            active: values.active === true,
            accounts: values.account,
            expiredSince: values["expired-since"],
            permanentOnly: values["permanent-only"] === true,
            out: values.out,
          })
        : undefined;
    if (verb === "killswitch") {
      const db = openConfiguredDb(config);
      try {
        return runKillSwitchStatus(db, { sub, email: values.email, json: values.json === true }, (s) =>
          console.log(s),
        );
      } finally {
        db.close();
      }
    }
    const db = openConfiguredDb(config);
    try {
      const store = openStore(db);
      if (access) return runAccessReport(config, store, db, access, (s) => console.log(s));
      if (grants)
        return runGrantsExport(
          config,
          store,
          db,
          grants,
          (s) => console.log(s),
          (s) => console.error(s),
        );
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
  if (verb === "people") {
    if (sub !== "disable" && sub !== "enable")
      throw new GatehouseError("BAD_ARGUMENT", `unknown people command "${sub ?? ""}" (disable or enable)`);
    if (!isPostgresUrl(config.database) && config.database !== ":memory:" && !existsSync(config.database))
      throw new GatehouseError(
        "BAD_ARGUMENT",
        `no broker database at ${config.database} (database: in ${values.config})`,
      );
    const db = openConfiguredDb(config);
    try {
      const store = openStore(db);
      const requests = openRequestsStore(db);
      const people = new PeopleService({
        store: new PeopleStore(db),
        audit: (e) => store.appendAudit(e),
        cancelRequests: (email, actor, reason) => {
          const cancelled = cancelOpenRequestsOf(requests, email, actor, reason);
          for (const c of cancelled)
            store.appendAudit({
              actor,
              action: "request.cancel",
              target: c.id,
              outcome: "ok",
              detail: { reason, targets: c.targets, personDisabled: true },
            });
          return cancelled.map((c) => c.id);
        },
      });
      // The plan of deny policies is recorded here; the running broker's kill-switch worker writes them.
      const killswitch = new KillSwitch({ db, store, log: console });
      people.onDisabled((email, at, reason) => {
        killswitch.revokeSessions(email, at, values.by ?? "gatehouse", reason);
      });
      const out = (s: string) => console.log(s);
      if (sub === "disable")
        return runPeopleDisable(people, { email: positionals[2], reason: values.reason, by: values.by }, out);
      const code = runPeopleEnable(people, { email: positionals[2], by: values.by }, out);
      // Awaited before the database closes: new sessions work once this returns.
      const email = positionals[2] ?? "";
      if (!people.isDisabled(email)) await killswitch.restore(email, values.by ?? "gatehouse");
      return code;
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
