// doctor's text output: one line per finding, and text from AWS (an OU name can hold any character)
// never reaches the terminal as an escape sequence (SECURITY 34).

import { describe, expect, it } from "vitest";
import { formatFinding, terminalSafe } from "../../broker/onboarding/doctor.ts";

describe("doctor output", () => {
  it("shows ESC, OSC, BEL, C1 and newlines as visible \\xNN, keeping one line per finding", () => {
    const hostile = "Prod\u001b]0;pwned\u0007\u001b[2J\u009b31m\nFAIL [spoke] forged";
    const line = formatFinding({
      check: "spoke",
      status: "error",
      account: "222222222222",
      role: "GatehouseSpoke",
      message: `222222222222 (prod, OU ${hostile}) has no spoke role GatehouseSpoke`,
      fix: "create it",
    });
    expect(line).not.toMatch(/\p{Cc}/u);
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toContain("Prod\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\x0aFAIL [spoke] forged");
    expect(line).toMatch(/^FAIL \[spoke 222222222222 GatehouseSpoke\] /);
    expect(line).toContain(" — fix: create it");
  });

  it("leaves ordinary text (JSON fixes, unicode names) as it is", () => {
    const fix = '{"Effect":"Allow","Action":["sts:AssumeRole"]} — Zürich';
    expect(terminalSafe(fix)).toBe(fix);
  });
});
