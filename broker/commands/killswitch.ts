// `gatehouse-broker killswitch status --config FILE [--email E] [--json]`: every revocation of a
// person's AWS sessions and each role's deny statement (written, pending, failed and why), read from the
// broker's database. Exit 1 while any role's statement is failed, so that monitoring can page on it.

import { GatehouseError } from "../../shared/errors.ts";
import type { Db } from "../db/index.ts";
import type { Revocation, RoleItem } from "../killswitch/store.ts";
import { KillSwitchStore } from "../killswitch/store.ts";

export interface KillSwitchStatusInput {
  sub: string | undefined;
  email: string | undefined;
  json: boolean;
}

/** Values from IdPs and AWS shown as JSON strings: never terminal control sequences (SECURITY 34). */
const shown = (s: string | null) => (s === null ? "-" : JSON.stringify(s).replace(/[\u007f-\u009f]/g, "?"));

function lines(r: Revocation, items: RoleItem[]): string[] {
  const state = r.doneAt ? `done ${r.doneAt}` : r.restoredAt ? `restored ${r.restoredAt}` : "active";
  return [
    `${shown(r.email)} revoked ${r.revokedAt} by ${shown(r.actor)} (${state}): ${shown(r.reason)}`,
    ...items.map(
      (i) =>
        `    ${i.state.padEnd(7)} ${i.roleArn} until ${i.until}` +
        (i.errorCode ? ` — ${i.errorCode} (${i.attempts} attempts): ${shown(i.errorMessage)}` : ""),
    ),
  ];
}

export function runKillSwitchStatus(db: Db, input: KillSwitchStatusInput, out: (s: string) => void): number {
  if (input.sub !== "status")
    throw new GatehouseError("BAD_ARGUMENT", `unknown killswitch command "${input.sub ?? ""}" (status)`);
  const jobs = new KillSwitchStore(db);
  const all = jobs
    .revocations(input.email ? { email: input.email } : {})
    .map((revocation) => ({ revocation, items: jobs.items(revocation.id) }));
  const failed = all.some((r) => r.items.some((i) => i.state === "failed"));
  if (input.json) out(JSON.stringify({ revocations: all }, null, 2));
  else if (all.length === 0) out("no revocations");
  else out(all.flatMap((r) => lines(r.revocation, r.items)).join("\n"));
  return failed ? 1 : 0;
}
