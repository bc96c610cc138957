// SECURITY 31 in the CLI: `gatehouse request list` / `show` (and what create/approve print) mark a
// break-glass request, with its reasons in `show`; an ordinary request carries no marker.

import { describe, expect, it } from "vitest";
import { formatCreated, formatList, formatShow } from "../../electron/cli/commands/request.ts";
import type { PermissionRequest } from "../../shared/requests.ts";

const base: PermissionRequest = {
  id: "0123456789abcdef",
  kind: "inline-policy",
  requester: { email: "alice@example.com", groups: ["engineers"] },
  justification: "fixing the Developer role",
  expirySeconds: 14_400,
  policy: "{}",
  createdAt: "2026-12-07T00:00:00.000Z",
  breakGlass: false,
  breakGlassReasons: [],
  targets: [
    {
      n: 0,
      arn: "arn:aws:iam::333333333333:role/Developer",
      accountId: "333333333333",
      type: "role",
      name: "Developer",
      state: "pending",
      policyName: "gatehouse-0123456789abcdef-0",
      policy: "{}",
      approvals: 0,
      expiresAt: null,
      appliedAt: null,
      error: null,
      drift: null,
    },
  ],
  approvals: [],
  events: [],
};
const glass: PermissionRequest = {
  ...base,
  breakGlass: true,
  breakGlassReasons: ["PRIVILEGE_ESCALATION at Statement[0].Action: grants iam:PutRolePolicy"],
};

describe("SECURITY 31: the CLI marks break-glass requests", () => {
  it("list, show and the created/approved summary say BREAK-GLASS; show gives the reasons", () => {
    expect(formatList([glass])).toMatch(/^0123456789abcdef .*BREAK-GLASS\n$/);
    expect(formatCreated(glass).split("\n")[0]).toBe(
      "Request 0123456789abcdef (inline-policy) [BREAK-GLASS: needs an admin approver]",
    );
    expect(formatShow(glass)).toContain(
      "Break-glass: PRIVILEGE_ESCALATION at Statement[0].Action: grants iam:PutRolePolicy\n",
    );
  });

  it("an ordinary request, or one from a broker that does not say, has no marker", () => {
    const { breakGlass: _b, breakGlassReasons: _r, ...older } = base;
    for (const r of [base, older as PermissionRequest])
      for (const text of [formatList([r]), formatCreated(r), formatShow(r)])
        expect(text).not.toMatch(/break-glass/i);
  });
});
