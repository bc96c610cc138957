// `gatehouse-broker tags list | accept ID --config FILE`: the access-tag changes the broker noticed, and an
// admin accepting a held one on the broker's host (audited). A running broker serves the accepted tags from
// its next sync of that account; POST /v1/admin/tag-changes/ID/accept takes effect at once.

import { userInfo } from "node:os";
import type { AccessTags, TagChange } from "../shared/api.ts";
import { GatehouseError } from "../shared/errors.ts";
import type { BrokerConfig } from "./config.ts";
import type { Store } from "./store.ts";
import { TagWatch } from "./tag-watch.ts";

export interface TagsInput {
  sub: string | undefined;
  id: string | undefined;
  json: boolean;
  all: boolean;
  /** Who accepts (audited); default the operating-system user. */
  by: string | undefined;
}

/** Tag values are written by whoever can tag in AWS: shown as JSON strings, never as terminal control. */
const shown = (s: string) =>
  JSON.stringify(s).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
const tags = (t: AccessTags) =>
  Object.keys(t).length === 0
    ? "(none)"
    : Object.entries(t)
        .map(([k, v]) => `${shown(k)}=${v.map(shown).join(":")}`)
        .join(" ");

function line(c: TagChange): string {
  return [
    `#${c.id} ${c.state} ${c.type} ${shown(c.arn)} (${c.detectedAt}${c.recreated ? ", recreated" : ""})`,
    `    before: ${tags(c.before)}`,
    `    after:  ${tags(c.after)}`,
    ...(c.decidedBy ? [`    ${c.state} by ${shown(c.decidedBy)} at ${c.decidedAt}`] : []),
  ].join("\n");
}

export function runTags(
  config: BrokerConfig,
  store: Store,
  input: TagsInput,
  out: (s: string) => void,
): number {
  // No webhook from the command line: the acceptance is in the audit, which is what is sent elsewhere.
  const watch = new TagWatch(config, store, { notify: () => undefined });
  if (input.sub === "list") {
    const changes = watch.list({ ...(input.all ? {} : { state: "held" as const }), limit: 1000 });
    if (input.json) out(JSON.stringify({ mode: watch.mode, changes }, null, 2));
    else if (changes.length === 0)
      out(`no ${input.all ? "" : "held "}access-tag changes (external_tag_changes: ${watch.mode})`);
    else out(changes.map(line).join("\n"));
    return 0;
  }
  if (input.sub === "accept") {
    const id = Number(input.id);
    if (!input.id || !/^\d+$/.test(input.id) || !Number.isSafeInteger(id) || id < 1)
      throw new GatehouseError("BAD_ARGUMENT", "tags accept needs the change's number (tags list shows it)");
    const actor = input.by ?? `os-user:${userInfo().username}`;
    const c = watch.accept(id, actor, { via: "gatehouse-broker tags accept" });
    out(input.json ? JSON.stringify({ change: c }, null, 2) : `accepted\n${line(c)}`);
    return 0;
  }
  throw new GatehouseError("BAD_ARGUMENT", `unknown tags command "${input.sub ?? ""}" (list or accept ID)`);
}
