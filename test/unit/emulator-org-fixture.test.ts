// Organisation fixtures are parsed strictly (a wrong OU tree is an error naming what is wrong), and an
// organisation survives the emulator's state file.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { worldFromObject } from "../../dev/aws/fixture.ts";
import { World } from "../../dev/aws/model.ts";

const accounts = [
  { id: "111111111111", name: "central" },
  { id: "222222222222", name: "prod" },
];
const bad = (raw: unknown) => {
  try {
    worldFromObject(raw);
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error("expected the fixture to be refused");
};

describe("organisation fixtures", () => {
  it("refuse a wrong OU tree, naming the problem", () => {
    const org = (units: unknown, extra: Record<string, unknown> = {}) => ({
      organization: { management_account: "111111111111", units, ...extra },
      accounts,
    });
    expect(bad(org([{ name: "Prod", accounts: ["999999999999"] }])).message).toContain(
      "Root/Prod: account 999999999999 is not one of the accounts",
    );
    expect(
      bad(
        org([
          { name: "A", accounts: ["222222222222"] },
          { name: "B", accounts: ["222222222222"] },
        ]),
      ).message,
    ).toContain("account 222222222222 is already in another OU");
    expect(bad(org([{ name: "A" }, { name: "A" }])).message).toContain("Root/A is listed twice");
    expect(bad(org([{ name: "A", acounts: [] }])).code).toBe("BAD_FIXTURE");
    const deep = {
      name: "L1",
      units: [
        {
          name: "L2",
          units: [{ name: "L3", units: [{ name: "L4", units: [{ name: "L5", units: [{ name: "L6" }] }] }] }],
        },
      ],
    };
    expect(bad(org([deep])).message).toContain("five levels");
    expect(bad({ ...org([]), organization: { management_account: "333333333333" } }).message).toContain(
      "management_account 333333333333 is not one of the accounts",
    );
    // Organisation-only account fields without an organisation would be ignored silently: refused.
    expect(bad({ accounts: [{ id: "111111111111", name: "c", status: "SUSPENDED" }] }).message).toContain(
      "add an organization section",
    );
    expect(bad({ ...org([]), accounts: [{ id: "111111111111", name: "c", status: "GONE" }] }).code).toBe(
      "BAD_FIXTURE",
    );
  });

  it("an organisation and its accounts' membership survive the state file", () => {
    const world = worldFromObject({
      organization: {
        management_account: "111111111111",
        units: [{ name: "Prod", tags: { k: "v" }, accounts: ["222222222222"] }],
      },
      accounts: [accounts[0], { ...accounts[1], status: "SUSPENDED", tags: { env: "prod" } }],
    });
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-org-state-"));
    try {
      const file = join(dir, "state.json");
      world.attachStateFile(file);
      world.persist();
      const back = World.fromStateFile(file);
      expect(back.organization?.id).toBe(world.organization?.id);
      expect([...back.organization!.units.values()]).toEqual([...world.organization!.units.values()]);
      expect(back.accounts.get("222222222222")?.org).toEqual({
        email: "aws+222222222222@example.com",
        status: "SUSPENDED",
        parentId: [...world.organization!.units.keys()][0],
        tags: [{ Key: "env", Value: "prod" }],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
