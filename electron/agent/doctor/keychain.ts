// Doctor: where the sign-in is kept — the OS keychain reachable (or the opted-in file safe), and a token in it.
// The token is read to see that it is there, never printed.

import { openTokenStore } from "../token-store.ts";
import { type Check, type DoctorContext, type Finding, fail, ok, warn } from "./check.ts";

export const keychainCheck: Check = {
  id: "keychain",
  async run(ctx: DoctorContext): Promise<Finding[]> {
    let store: Awaited<ReturnType<typeof openTokenStore>>;
    try {
      store = await openTokenStore(ctx.settings, ctx.paths, { warn: () => undefined });
    } catch (e) {
      return [
        fail(
          "keychain",
          `the OS keychain cannot be reached: ${(e as Error).message.split(". ")[0]}`,
          `start or unlock your keyring (gnome-keyring, KWallet, KeePassXC…), or set "tokenStore": "file" in ${ctx.paths.settings}`,
        ),
      ];
    }
    const where = store.kind === "keychain" ? "the OS keychain" : `the file ${ctx.paths.tokenFile}`;
    let token: string | null;
    try {
      token = await store.get();
    } catch (e) {
      return [
        fail(
          "keychain",
          `${where} cannot be read: ${(e as Error).message}`,
          "delete it and run `gatehouse login`",
        ),
      ];
    }
    const reached = ok(
      "keychain",
      `${where} is reachable${store.kind === "file" ? " (chosen in settings.json)" : ""}`,
    );
    return [
      reached,
      token
        ? ok("keychain.token", `a sign-in is kept in ${where}`)
        : warn("keychain.token", `no sign-in is kept in ${where}`, "run `gatehouse login`"),
    ];
  },
};
