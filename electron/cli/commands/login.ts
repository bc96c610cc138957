// `gatehouse login [--no-browser]`: sign in through the company's SSO in the system browser.

import { agent, flags, helped } from "../io.ts";

export const USAGE =
  "usage: gatehouse login [--no-browser]   (--no-browser prints the sign-in URL instead of opening it)";

type LoginLine =
  | { event: "url"; url: string }
  | { event: "done"; email: string; groups: string[] }
  | { event: "error"; code: string; detail: string };

export async function run(argv: string[]): Promise<number> {
  const { values } = flags(argv, { "no-browser": { type: "boolean" } }, USAGE);
  if (values.help) return helped(USAGE);
  if (!values["no-browser"]) {
    console.error("gatehouse: opening your browser to sign in…");
    const who = await agent<{ email: string; groups: string[] }>("POST", "/v1/login", {});
    console.log(`Signed in as ${who.email}${who.groups.length ? ` (${who.groups.join(", ")})` : ""}`);
    return 0;
  }
  const last = await agent<LoginLine>("POST", "/v1/login", { noBrowser: true }, (line) => {
    const l = line as LoginLine;
    if (l.event === "url") console.error(`Open this URL in a browser to sign in:\n\n  ${l.url}\n`);
  });
  if (last.event === "done") {
    console.log(`Signed in as ${last.email}${last.groups.length ? ` (${last.groups.join(", ")})` : ""}`);
    return 0;
  }
  if (last.event === "error") {
    console.error(`gatehouse: sign-in failed: ${last.detail} [${last.code}]`);
    return 1;
  }
  return 1;
}
