import { describe, expect, it } from "vitest";
import { completeActions } from "../../shared/policy/complete.ts";

describe("completeActions", () => {
  it("completes actions of a service from the catalogue, case-insensitively, with access levels", async () => {
    const hits = await completeActions("s3:getobj", 100);
    const names = hits.map((h) => h.action);
    expect(names).toContain("s3:GetObject");
    expect(names).toContain("s3:GetObjectAcl");
    expect(names.every((n) => n.toLowerCase().startsWith("s3:getobj"))).toBe(true);
    const get = hits.find((h) => h.action === "s3:GetObject")!;
    expect(get.accessLevel).toBe("Read");
    expect(get.description.length).toBeGreaterThan(5);
  });

  it("completes service prefixes before the colon", async () => {
    const hits = await completeActions("dynamo");
    expect(hits.map((h) => h.action)).toContain("dynamodb:");
    expect(hits[0]!.accessLevel).toBe("Service");
  });

  it("takes wildcards, honours the limit, and finds nothing for an unknown service", async () => {
    const list = await completeActions("sqs:*Message", 50);
    expect(list.map((h) => h.action)).toEqual(
      expect.arrayContaining(["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"]),
    );
    expect(await completeActions("s3:", 5)).toHaveLength(5);
    expect(await completeActions("nosuchservice:Get")).toEqual([]);
  });
});
