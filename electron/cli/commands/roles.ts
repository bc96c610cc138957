// `gatehouse roles [--json] [filter]`: the roles you may use, filtered by account, role or tag text.

import type { Role } from "../../../shared/api.ts";
import { agent, flags, helped, one, print, printJson } from "../io.ts";

export const USAGE = "usage: gatehouse roles [--json] [--refresh] [filter]";

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = flags(
    argv,
    { json: { type: "boolean" }, refresh: { type: "boolean" } },
    USAGE,
  );
  if (values.help) return helped(USAGE);
  const { roles } = await agent<{ roles: Role[] }>("GET", `/v1/roles${values.refresh ? "?refresh=1" : ""}`);
  const filter = positionals.join(" ").toLowerCase();
  const shown = filter
    ? roles.filter((r) =>
        [r.ref, r.accountId, r.accountName, r.roleName, r.arn, ...Object.entries(r.tags).flat()].some((t) =>
          t.toLowerCase().includes(filter),
        ),
      )
    : roles;
  if (values.json) {
    printJson(shown);
    return 0;
  }
  if (shown.length === 0) {
    print(
      roles.length === 0
        ? "You may not use any role yet: ask for access (gatehouse request, or the tray app).\n"
        : `No role matches "${one(filter)}".\n`,
    );
    return 0;
  }
  const width = Math.max(...shown.map((r) => one(r.ref).length));
  for (const r of shown) {
    print(
      `${`${one(r.ref).padEnd(width)}  ${one(r.accountId)}  ${r.cliOnly ? "cli-only" : "console "}  ${one(r.description ?? "")}`.trimEnd()}\n`,
    );
  }
  return 0;
}
