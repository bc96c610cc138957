// `gatehouse config generate [--dry-run]`: one AWS CLI profile per role you may use, in a managed block.

import { agent, flags, helped } from "../io.ts";

export const USAGE =
  "usage: gatehouse config generate [--dry-run]   (writes AWS_CONFIG_FILE, default ~/.aws/config)";

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = flags(argv, { "dry-run": { type: "boolean" } }, USAGE);
  if (values.help) return helped(USAGE);
  if (positionals[0] !== "generate" || positionals.length !== 1) {
    console.error(`gatehouse: expected "config generate" [BAD_ARGUMENT]\n${USAGE}`);
    return 2;
  }
  // The agent writes the file it manages, so the AWS config the CLI sees is the agent's (same env).
  const env = process.env.AWS_CONFIG_FILE;
  if (values["dry-run"]) {
    const r = await agent<{ path: string; changed: boolean; content: string }>(
      "POST",
      "/v1/config/generate",
      { dryRun: true },
    );
    process.stdout.write(r.content);
    console.error(`gatehouse: ${r.changed ? "would change" : "no change to"} ${r.path}`);
    return 0;
  }
  const r = await agent<{ path: string; changed: boolean; profiles: number }>(
    "POST",
    "/v1/config/generate",
    {},
  );
  console.log(
    `${r.changed ? "Wrote" : "Unchanged:"} ${r.profiles} profile${r.profiles === 1 ? "" : "s"} in ${r.path}${env && env !== r.path ? ` (note: AWS_CONFIG_FILE here is ${env})` : ""}`,
  );
  return 0;
}
