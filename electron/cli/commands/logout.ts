// `gatehouse logout`: revoke the sign-in at the IdP and forget it here.

import { agent, flags, helped } from "../io.ts";

export const USAGE = "usage: gatehouse logout";

export async function run(argv: string[]): Promise<number> {
  const { values } = flags(argv, {}, USAGE);
  if (values.help) return helped(USAGE);
  await agent("POST", "/v1/logout", {});
  console.log("Signed out: the sign-in is revoked and deleted from this machine");
  return 0;
}
