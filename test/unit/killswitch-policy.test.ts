// The kill switch's pure parts and its job table: the deny document (one statement per person, sized
// against IAM's per-role inline limit), the revocation's whole-second threshold, the lint's view of the
// document, and the migrations and item states on the `Db` layer (SQLite here).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openSqliteDb } from "../../broker/db/sqlite.ts";
import {
  denyBeforeOf,
  documentOf,
  fitDocument,
  isRevokedSessionsPolicy,
  REVOKED_SESSIONS_POLICY,
  statementId,
} from "../../broker/killswitch/policy.ts";
import { KillSwitchStore } from "../../broker/killswitch/store.ts";
import { lintPolicy, policySize, ROLE_INLINE_LIMIT } from "../../shared/policy-lint.ts";

const person = (i: number) => ({
  revocationId: `rev-${i}`,
  sourceIdentity: `person-${i}@example.com`,
  denyBefore: "2026-12-07T05:00:01Z",
});

describe("the deny document", () => {
  it("denies everything for the person's sessions issued before the threshold, nobody else's", () => {
    const doc = JSON.parse(documentOf([person(1)]));
    expect(doc.Statement).toEqual([
      {
        Sid: statementId("rev-1"),
        Effect: "Deny",
        Action: "*",
        Resource: "*",
        Condition: {
          StringEqualsIgnoreCase: { "aws:SourceIdentity": "person-1@example.com" },
          DateLessThan: { "aws:TokenIssueTime": "2026-12-07T05:00:01Z" },
        },
      },
    ]);
    expect(statementId("rev-1")).toMatch(/^[A-Za-z0-9]+$/);
    expect(statementId("rev-1")).not.toContain("person");
  });

  it("rounds the threshold up to the whole second (AWS writes aws:TokenIssueTime in seconds)", () => {
    expect(denyBeforeOf(new Date("2026-12-07T05:00:00.300Z"))).toBe("2026-12-07T05:00:01Z");
    expect(denyBeforeOf(new Date("2026-12-07T05:00:00.000Z"))).toBe("2026-12-07T05:00:00Z");
  });

  it("fits beside the role's other inline policies; what does not fit is left out, oldest kept", () => {
    const many = Array.from({ length: 60 }, (_, i) => person(i));
    const { document, included, left, budget } = fitDocument(many, {});
    expect(budget).toBe(ROLE_INLINE_LIMIT);
    expect(policySize(document!)).toBeLessThanOrEqual(ROLE_INLINE_LIMIT);
    expect(included.length).toBeGreaterThan(20);
    expect(left.length).toBe(60 - included.length);
    expect(included[0]).toBe(many[0]);
    // The role's own policies take their share; ours (an older version of it) does not count twice.
    const other = {
      app: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "x".repeat(9000) }],
      }),
    };
    const crowded = fitDocument(many, { ...other, [REVOKED_SESSIONS_POLICY]: documentOf(many.slice(0, 30)) });
    expect(crowded.budget).toBe(ROLE_INLINE_LIMIT - policySize(other.app));
    expect(crowded.included.length).toBeLessThan(included.length);
    const none = fitDocument([person(1)], { big: "x".repeat(ROLE_INLINE_LIMIT) });
    expect(none).toMatchObject({ document: null, included: [], left: [person(1)] });
  });

  it("is not flagged by the lint (break-glass / escalation): a deny grants nothing", async () => {
    const r = await lintPolicy(documentOf([person(1), person(2)]));
    expect(r.valid).toBe(true);
    expect(r.risk).toBe("low");
    expect(r.findings).toEqual([]);
  });

  it("has a name no permission request can give its policy (requests name theirs gatehouse-<id>-<n>)", () => {
    expect(isRevokedSessionsPolicy(REVOKED_SESSIONS_POLICY)).toBe(true);
    expect(REVOKED_SESSIONS_POLICY).not.toMatch(/^gatehouse-/);
    expect(isRevokedSessionsPolicy("gatehouse-abc-0")).toBe(false);
  });
});

describe("the job table", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("migrates once, keeps a plan across reopening, and moves items pending → failed → written → removed", () => {
    dir = mkdtempSync(join(tmpdir(), "gatehouse-killswitch-"));
    const file = join(dir, "broker.sqlite");
    let db = openSqliteDb(file);
    let jobs = new KillSwitchStore(db);
    const rev = {
      id: "r1",
      email: "alice@example.com",
      sourceIdentity: "alice@example.com",
      revokedAt: "2026-12-07T05:00:00.300Z",
      denyBefore: "2026-12-07T05:00:01Z",
      actor: "bob@example.com",
      reason: "left",
      restoredAt: null,
      doneAt: null,
    };
    const arn = "arn:aws:iam::333333333333:role/Developer";
    jobs.insert(rev, [
      {
        roleArn: arn,
        accountId: "333333333333",
        roleName: "Developer",
        until: "2026-12-07T06:05:00.000Z",
        state: "pending",
      },
    ]);
    db.close();
    db = openSqliteDb(file);
    jobs = new KillSwitchStore(db); // a second start: no migration runs twice
    expect(
      db.all("SELECT version FROM schema_migrations WHERE component = 'killswitch' ORDER BY version"),
    ).toEqual([{ version: 1 }, { version: 2 }]);
    expect(jobs.unrestored("ALICE@example.com")?.id).toBe("r1");
    expect(jobs.dueRoles("2026-12-07T05:00:02Z").map((r) => r.roleArn)).toEqual([arn]);

    jobs.markFailed("r1", arn, { code: "AWS_UNAVAILABLE", message: "Throttling" }, "2026-12-07T05:00:10Z");
    expect(jobs.items("r1")[0]).toMatchObject({ state: "failed", attempts: 1, errorCode: "AWS_UNAVAILABLE" });
    expect(jobs.dueRoles("2026-12-07T05:00:05Z")).toEqual([]); // backing off
    expect(jobs.dueRoles("2026-12-07T05:00:10Z")).toHaveLength(1);

    jobs.markWritten("r1", arn, "2026-12-07T05:00:11Z");
    expect(jobs.items("r1")[0]).toMatchObject({ state: "written", errorCode: null, nextAttemptAt: null });
    expect(jobs.dueRoles("2026-12-07T06:00:00Z")).toEqual([]); // sessions still live
    expect(jobs.dueRoles("2026-12-07T06:05:00.000Z")).toHaveLength(1); // removal due
    expect(jobs.finish("2026-12-07T06:05:01Z")).toEqual([]);
    jobs.markRemoved("r1", arn, "2026-12-07T06:05:01Z");
    expect(jobs.finish("2026-12-07T06:05:01Z").map((r) => r.id)).toEqual(["r1"]);
    expect(jobs.counts()).toEqual({ pending: 0, written: 0, failed: 0, removed: 1 });
    // Claims: one replica at a time per role; a lease that ran out is taken over; its owner may renew it.
    const other = "arn:aws:iam::333333333333:role/Other";
    expect([...jobs.claim([arn, other], "A", "2026-12-07T05:00:00Z", "2026-12-07T05:02:00Z")]).toEqual([
      arn,
      other,
    ]);
    expect([...jobs.claim([arn], "B", "2026-12-07T05:01:00Z", "2026-12-07T05:03:00Z")]).toEqual([]);
    expect([...jobs.claim([arn], "A", "2026-12-07T05:01:00Z", "2026-12-07T05:03:00Z")]).toEqual([arn]);
    expect([...jobs.claim([arn], "B", "2026-12-07T05:03:01Z", "2026-12-07T05:05:00Z")]).toEqual([arn]);
    jobs.release([other], "B"); // not B's: stays A's
    expect([...jobs.claim([other], "B", "2026-12-07T05:01:30Z", "2026-12-07T05:04:00Z")]).toEqual([]);
    jobs.release([other], "A");
    expect([...jobs.claim([other], "B", "2026-12-07T05:01:30Z", "2026-12-07T05:04:00Z")]).toEqual([other]);
    jobs.restore("r1", "2026-12-07T07:00:00Z");
    expect(jobs.unrestored("alice@example.com")).toBeUndefined();
    db.close();
  });
});
