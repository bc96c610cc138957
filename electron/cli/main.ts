// Entry of the `gatehouse` command: dispatches to one file per subcommand.

const USAGE = `usage: gatehouse <command>

Gatehouse is being built; this release has no product commands yet.
Development tools: gatehouse-dev aws --help`;

const [command] = process.argv.slice(2);
if (command === undefined || command === "help" || command === "--help" || command === "-h") {
  console.log(USAGE);
} else if (command === "--version" || command === "version") {
  console.log("gatehouse 0.1.0");
} else {
  console.error(`gatehouse: unknown command "${command}" [BAD_ARGUMENT]\n\n${USAGE}`);
  process.exitCode = 2;
}
