// `gatehouse-dev token EMAIL`: sign a demo user in through the IdP's form and print the broker access token.

import { parseArgs } from "node:util";
import { DEFAULT_IDP_PORT } from "./config.ts";
import { signInWithForm } from "./login.ts";

export async function runTokenCommand(argv: string[]): Promise<void> {
  let parsed: { values: { issuer?: string; id?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: { issuer: { type: "string" }, id: { type: "boolean" } },
    });
  } catch (e) {
    console.error(`gatehouse-dev token: ${(e as Error).message} [BAD_ARGUMENT]`);
    process.exitCode = 2;
    return;
  }
  const [email] = parsed.positionals;
  if (!email || parsed.positionals.length > 1) {
    console.error(
      "usage: gatehouse-dev token EMAIL [--issuer URL] [--id]   (prints the access token; --id the ID token) [BAD_ARGUMENT]",
    );
    process.exitCode = 2;
    return;
  }
  const issuer = parsed.values.issuer ?? `http://127.0.0.1:${DEFAULT_IDP_PORT}`;
  try {
    const tokens = await signInWithForm(issuer, email);
    console.log(parsed.values.id ? tokens.id_token : tokens.access_token);
  } catch (e) {
    console.error(`gatehouse-dev token: ${(e as Error).message} [UNAUTHENTICATED]`);
    process.exitCode = 1;
  }
}
