// What the audit log says about people and their use of roles, read with SQL both engines speak: the
// last sign-in of each person (with the groups their token carried) and the last credentials and console
// session per person and role. Only outcome "ok" rows count: a refused attempt is not use.

import type { Db } from "../db/index.ts";

export interface SignIn {
  email: string;
  at: string;
  groups: string[];
  /** The audit row keeps 200 groups and the count; more means roles through the rest may be missing. */
  truncated: boolean;
}

export type UseKind = "credentials" | "console";

export interface Use {
  email: string;
  arn: string;
  kind: UseKind;
  at: string;
}

const USE_ACTIONS: Record<string, UseKind> = { "credentials.issue": "credentials", "console.url": "console" };

/** Each person's latest `signin.seen` row: the newest groups the broker has seen for them. */
export function lastSignIns(db: Db): SignIn[] {
  const rows = db.all<{ actor: string; time: string; detail: string }>(
    `SELECT a.actor, a.time, a.detail FROM audit a
       JOIN (SELECT actor, MAX(seq) AS seq FROM audit WHERE action = 'signin.seen' GROUP BY actor) m
         ON a.seq = m.seq`,
  );
  const out: SignIn[] = [];
  for (const r of rows) {
    let groups: string[] = [];
    let truncated = false;
    try {
      const d = JSON.parse(r.detail) as { groups?: unknown; groupCount?: unknown };
      if (Array.isArray(d.groups)) groups = d.groups.filter((g): g is string => typeof g === "string");
      truncated = typeof d.groupCount === "number" && d.groupCount > groups.length;
    } catch {
      // A detail that is not JSON names no group: the person keeps their e-mail's access only, and the
      // report says their groups are unknown rather than guessing.
      truncated = true;
    }
    out.push({ email: r.actor.toLowerCase(), at: r.time, groups, truncated });
  }
  return out;
}

/** The latest successful credentials and console session per person, role and kind. */
export function lastUses(db: Db): Use[] {
  const rows = db.all<{ actor: string; target: string; action: string; at: string }>(
    `SELECT actor, target, action, MAX(time) AS at FROM audit
      WHERE action IN ('credentials.issue', 'console.url') AND outcome = 'ok' AND target IS NOT NULL
      GROUP BY actor, target, action`,
  );
  return rows.map((r) => ({
    email: r.actor.toLowerCase(),
    arn: r.target,
    kind: USE_ACTIONS[r.action]!,
    at: r.at,
  }));
}
