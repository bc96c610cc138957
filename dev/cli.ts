// Entry of `gatehouse-dev`: development tools that let Gatehouse run with no cloud account.

const USAGE = `usage: gatehouse-dev <tool> [options]

tools:
  aws     AWS emulator (STS, IAM, console federation) on one local endpoint
          gatehouse-dev aws --help
  idp     development OpenID Provider: demo users and groups, the desktop client, JWT access tokens
          gatehouse-dev idp --help
  directories  a stand-in of Google's Directory API, Microsoft Graph or Okta's Users API
          gatehouse-dev directories --help
  stack   the whole demo: emulator, IdP and broker (what \`npm start\` runs)
          gatehouse-dev stack --help
  token   sign a demo user in at the IdP and print the access token for the broker
          gatehouse-dev token EMAIL [--issuer URL]`;

// Each tool is imported only when used, so one tool's start-up does not pay for the others.
const [tool, ...rest] = process.argv.slice(2);
switch (tool) {
  case "aws":
    await (await import("./aws/command.ts")).runAwsCommand(rest);
    break;
  case "idp":
    await (await import("./idp/command.ts")).runIdpCommand(rest);
    break;
  case "directories":
    await (await import("./directories/command.ts")).runDirectoriesCommand(rest);
    break;
  case "stack":
    await (await import("./stack.ts")).runStack(rest);
    break;
  case "token":
    await (await import("./idp/token-command.ts")).runTokenCommand(rest);
    break;
  case undefined:
  case "help":
  case "--help":
  case "-h":
    console.log(USAGE);
    break;
  default:
    console.error(`gatehouse-dev: unknown tool "${tool}" [BAD_ARGUMENT]\n\n${USAGE}`);
    process.exitCode = 2;
}
