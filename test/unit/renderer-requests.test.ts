// The request screens' small computations: expiry choices, durations and ages, target names, line diffs in
// the broker's "- " / "+ " / "  " form, which actions a request offers, and where action completion applies.

import { describe, expect, it } from "vitest";
import {
  actionPrefixAt,
  ageText,
  canCancel,
  canRetry,
  customExpiry,
  DAY,
  durationText,
  EXPIRY_PRESETS,
  expiryValue,
  HOUR,
  justificationProblem,
  lineDiff,
  parseDiff,
  targetLabel,
} from "../../renderer/src/requests/format.ts";
import { expirySeconds, type PermissionRequest, type TargetState } from "../../shared/requests.ts";

describe("expiry", () => {
  it("offers presets from 1 hour to 90 days, each one the broker accepts", () => {
    expect(EXPIRY_PRESETS[0]!.seconds).toBe(HOUR);
    expect(EXPIRY_PRESETS.at(-1)!.seconds).toBe(90 * DAY);
    for (const p of EXPIRY_PRESETS) expect(expirySeconds(p.value, false)).toBe(p.seconds);
  });

  it("checks a custom expiry", () => {
    expect(customExpiry("3", "days")).toBe(3 * DAY);
    expect(customExpiry("36", "hours")).toBe(36 * HOUR);
    expect(customExpiry("90", "days")).toBe(90 * DAY);
    expect(customExpiry("91", "days")).toBe("between 1 hour and 90 days");
    expect(customExpiry("0", "hours")).toBe("a whole number of hours or days");
    expect(customExpiry("1.5", "hours")).toBe("a whole number of hours or days");
    expect(customExpiry("", "hours")).toBe("a whole number of hours or days");
    expect(expiryValue("PT8H", "ignored")).toBe("PT8H");
    expect(expiryValue("custom", 7200)).toBe(7200);
    expect(expiryValue("custom", "between 1 hour and 90 days")).toBeUndefined();
  });

  it("says durations and ages in words", () => {
    expect(durationText(HOUR)).toBe("1 hour");
    expect(durationText(8 * HOUR)).toBe("8 hours");
    expect(durationText(DAY)).toBe("1 day");
    expect(durationText(DAY + 6 * HOUR)).toBe("1 day 6 hours");
    expect(durationText(90 * DAY)).toBe("90 days");
    expect(durationText(2 * HOUR + 30 * 60)).toBe("2 hours 30 min");
    expect(ageText(5_000)).toBe("just now");
    expect(ageText(12 * 60_000)).toBe("12 min");
    expect(ageText(3 * 3600_000 + 5)).toBe("3 h");
    expect(ageText(2 * 86_400_000)).toBe("2 days");
  });
});

describe("justification", () => {
  it("needs 10 to 2000 characters, white space aside", () => {
    expect(justificationProblem("  too short  ")).toMatch(/at least 10/);
    expect(justificationProblem("long enough now")).toBeNull();
    expect(justificationProblem("x".repeat(2001))).toMatch(/At most 2000/);
  });
});

describe("targets and states", () => {
  const accounts = new Map([["333333333333", "staging"]]);
  it("names targets by account name when known", () => {
    expect(targetLabel({ accountId: "333333333333", type: "role", name: "Developer" }, accounts)).toBe(
      "staging/Developer",
    );
    expect(targetLabel({ accountId: "222222222222", type: "user", name: "deploy-bot" }, accounts)).toBe(
      "222222222222/user deploy-bot",
    );
  });

  const withStates = (...states: TargetState[]) =>
    ({ targets: states.map((state, n) => ({ n, state })) }) as unknown as PermissionRequest;
  it("offers cancel while something can still be stopped, retry after a failure", () => {
    expect(canCancel(withStates("pending"))).toBe(true);
    expect(canCancel(withStates("applied", "failed"))).toBe(true);
    expect(canCancel(withStates("applied", "expired", "rejected", "cancelled"))).toBe(false);
    expect(canRetry(withStates("applied", "failed"))).toBe(true);
    expect(canRetry(withStates("pending"))).toBe(false);
  });
});

describe("diffs", () => {
  it("reads the broker's diff text", () => {
    expect(parseDiff('  {\n-   "s3:DeleteObject",\n+   "s3:GetObject",\n  }\n')).toEqual([
      { kind: "same", text: "{" },
      { kind: "del", text: '  "s3:DeleteObject",' },
      { kind: "add", text: '  "s3:GetObject",' },
      { kind: "same", text: "}" },
    ]);
  });

  it("computes a line diff that keeps what did not change", () => {
    const before = ["{", '  "a": 1,', '  "b": 2,', '  "c": 3', "}"].join("\n");
    const after = ["{", '  "a": 1,', '  "c": 3,', '  "d": 4', "}"].join("\n");
    const d = lineDiff(before, after);
    expect(d.filter((l) => l.kind === "same").map((l) => l.text)).toEqual(["{", '  "a": 1,', "}"]);
    expect(d.filter((l) => l.kind === "del").map((l) => l.text)).toEqual(['  "b": 2,', '  "c": 3']);
    expect(d.filter((l) => l.kind === "add").map((l) => l.text)).toEqual(['  "c": 3,', '  "d": 4']);
    expect(lineDiff(before, before).every((l) => l.kind === "same")).toBe(true);
    // Applying the diff's kept and added lines gives the new text; kept and deleted give the old.
    expect(d.filter((l) => l.kind !== "del").map((l) => l.text)).toEqual(after.split("\n"));
    expect(d.filter((l) => l.kind !== "add").map((l) => l.text)).toEqual(before.split("\n"));
  });
});

describe("action completion context", () => {
  it("applies inside an Action or NotAction string, alone or in a list", () => {
    expect(actionPrefixAt('{"Action": "s3:Get')).toEqual({ start: 12, prefix: "s3:Get" });
    expect(actionPrefixAt('"NotAction": ["s3:GetObject", "sqs:Se')?.prefix).toBe("sqs:Se");
    expect(actionPrefixAt('"Action": [\n  "s3:GetObject",\n  "')?.prefix).toBe("");
    expect(actionPrefixAt('"Action": ["s3:*", "ec2:Describe*')?.prefix).toBe("ec2:Describe*");
  });

  it("does not apply to other elements or outside a string", () => {
    expect(actionPrefixAt('"Resource": "arn:aws:s3')).toBeNull();
    expect(actionPrefixAt('"Sid": "Read')).toBeNull();
    expect(actionPrefixAt('"Action": "s3:GetObject", "Resource": "arn')).toBeNull();
    expect(actionPrefixAt('"Action": "s3:GetObject"')).toBeNull();
    expect(actionPrefixAt('"Action": ["s3:GetObject"], "Effect": "Al')).toBeNull();
  });
});

describe("approvalsText", () => {
  it("counts against the required number while a target waits, and plainly after", async () => {
    const { approvalsText } = await import("../../renderer/src/requests/format.ts");
    expect(approvalsText(0, 1, "pending")).toBe("");
    expect(approvalsText(1, 2, "pending")).toBe("1 of 2 approvals");
    expect(approvalsText(0, 3, "pending")).toBe("0 of 3 approvals");
    expect(approvalsText(2, 2, "applied")).toBe("2 approvals");
    expect(approvalsText(1, 1, "applied")).toBe("1 approval");
  });
});
