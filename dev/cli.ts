// Entry of `gatehouse-dev`: development tools that let Gatehouse run with no cloud account.

import { runAwsCommand } from "./aws/command.ts";

const USAGE = `usage: gatehouse-dev <tool> [options]

tools:
  aws     AWS emulator (STS, IAM, console federation) on one local endpoint
          gatehouse-dev aws --help`;

const [tool, ...rest] = process.argv.slice(2);
switch (tool) {
  case "aws":
    await runAwsCommand(rest);
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
