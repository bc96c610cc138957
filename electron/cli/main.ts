// The `gatehouse` command line: one file per subcommand under commands/, each with its own usage. Its entry
// points are bin/gatehouse.mjs (npm) and electron/cli/sea-main.ts (the single-file binary).

import { VERSION } from "../../shared/version.ts";
import { report } from "./io.ts";

const USAGE = `usage: gatehouse <command> [options]

  login [--no-browser]              sign in through your company's SSO
        [--broker URL]              (the first time: your broker's URL is all you type)
  logout                            revoke and forget the sign-in
  status [--json]                   who is signed in, broker, cached credentials
  roles [--json] [filter]           the AWS roles you may use
  console ROLE [--region R] [--url] open the AWS console as ROLE (or print the URL)
  exec ROLE [--env] -- CMD…         run CMD with ROLE's credentials
  exec --record ROLE -- CMD…        … and record its AWS calls: allowed, denied, the policy they need
  export ROLE [--format F]          print ROLE's credentials as shell variables (sh, fish, powershell, json)
  config generate [--dry-run]       write one AWS CLI profile per role into ~/.aws/config
  credential-process --role ROLE    what AWS CLI profiles call (credential_process)
  agent [stop | status]             run the background agent (started by itself when needed)
  doctor [--json] [--role ROLE]     check this desktop's set-up; each problem with its fix
  policy lint FILE [--json]         check an IAM policy: errors, warnings and its risk level
  request create|targets|wait|list|show|approve|reject|cancel|retry|resolve
                                    ask for permissions and approve others' requests

ROLE is account-name/role-name, account-id/role-name or a role ARN. Each command has --help.`;

const COMMANDS: Record<string, () => Promise<{ run(argv: string[]): Promise<number> }>> = {
  agent: () => import("./commands/agent.ts"),
  login: () => import("./commands/login.ts"),
  logout: () => import("./commands/logout.ts"),
  status: () => import("./commands/status.ts"),
  roles: () => import("./commands/roles.ts"),
  config: () => import("./commands/config.ts"),
  console: () => import("./commands/console.ts"),
  export: () => import("./commands/export.ts"),
  exec: () => import("./commands/exec.ts"),
  doctor: () => import("./commands/doctor.ts"),
  policy: () => import("./commands/policy.ts"),
  request: () => import("./commands/request.ts"),
};

/** Runs one command line (without node and the script); the exit code goes to process.exitCode. */
export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    console.log(USAGE);
  } else if (command === "--version" || command === "version") {
    console.log(`gatehouse ${VERSION}`);
  } else if (command === "credential-process") {
    const { credentialProcess } = await import("./credential-process.mjs");
    process.exitCode = await credentialProcess(rest);
  } else if (!Object.hasOwn(COMMANDS, command)) {
    console.error(`gatehouse: unknown command "${command}" [BAD_ARGUMENT]\n\n${USAGE}`);
    process.exitCode = 2;
  } else {
    const role = rest.find((a) => !a.startsWith("-"));
    try {
      const code = await (await COMMANDS[command]!()).run(rest);
      if (code >= 0) process.exitCode = code;
    } catch (e) {
      process.exitCode = report(e, role);
    }
  }
}
