// `gatehouse console ROLE [--region R] [--url]`: open a federated console session (or print its URL).

import { defaultBrowserOpener } from "../../agent/signin.ts";
import { agent, flags, helped, UsageError } from "../io.ts";

export const USAGE = "usage: gatehouse console ROLE [--region REGION] [--url]";

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = flags(
    argv,
    { region: { type: "string" }, url: { type: "boolean" } },
    USAGE,
  );
  if (values.help) return helped(USAGE);
  if (positionals.length !== 1) throw new UsageError(`name one role\n${USAGE}`);
  const out = await agent<{ url: string; expiresAt: string; role: string }>("POST", "/v1/console", {
    role: positionals[0],
    ...(values.region ? { region: values.region } : {}),
  });
  if (values.url) {
    console.log(out.url);
    return 0;
  }
  await defaultBrowserOpener(process.env)(out.url);
  console.error(`gatehouse: opened the console for ${out.role} (session until ${out.expiresAt})`);
  return 0;
}
