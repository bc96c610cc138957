// `gatehouse login [--no-browser]`: sign in through the company's SSO in the system browser.

import { agent, flags, helped, one, print, printError } from "../io.ts";

export const USAGE =
  "usage: gatehouse login [--no-browser]   (--no-browser prints the sign-in URL instead of opening it)";

type LoginLine =
  | { event: "url"; url: string }
  | { event: "done"; email: string; groups: string[] }
  | { event: "error"; code: string; detail: string };

/** The e-mail and groups come from the IdP's token: shown, never executed (SECURITY 34). */
const signedIn = (who: { email: string; groups: string[] }) =>
  `Signed in as ${one(who.email)}${who.groups.length ? ` (${who.groups.map(one).join(", ")})` : ""}\n`;

export async function run(argv: string[]): Promise<number> {
  const { values } = flags(argv, { "no-browser": { type: "boolean" } }, USAGE);
  if (values.help) return helped(USAGE);
  if (!values["no-browser"]) {
    console.error("gatehouse: opening your browser to sign in…");
    const who = await agent<{ email: string; groups: string[] }>("POST", "/v1/login", {});
    print(signedIn(who));
    return 0;
  }
  const last = await agent<LoginLine>("POST", "/v1/login", { noBrowser: true }, (line) => {
    const l = line as LoginLine;
    if (l.event === "url") printError(`Open this URL in a browser to sign in:\n\n  ${one(l.url)}\n`);
  });
  if (last.event === "done") {
    print(signedIn(last));
    return 0;
  }
  if (last.event === "error") {
    printError(`gatehouse: sign-in failed: ${one(last.detail)} [${one(last.code)}]`);
    return 1;
  }
  return 1;
}
