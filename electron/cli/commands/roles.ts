// `gatehouse roles [--json] [filter]`: the roles you may use, filtered by account, role or tag text.

import type { Role } from "../../../shared/api.ts";
import { agent, flags, helped } from "../io.ts";

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
  if (values.json) return helped(JSON.stringify(shown, null, 2));
  if (shown.length === 0) {
    console.log(
      roles.length === 0
        ? "You may not use any role yet: ask for access (gatehouse request, or the tray app)."
        : `No role matches "${filter}".`,
    );
    return 0;
  }
  const width = Math.max(...shown.map((r) => r.ref.length));
  for (const r of shown) {
    console.log(
      `${r.ref.padEnd(width)}  ${r.accountId}  ${r.cliOnly ? "cli-only" : "console "}  ${r.description ?? ""}`.trimEnd(),
    );
  }
  return 0;
}
