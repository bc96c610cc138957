// EC2's decoded authorization messages (as sts:DecodeAuthorizationMessage returns them) made into denials,
// and what a decoder that returns garbage, or refuses, does to `request from-error`: nothing is drafted.

import { describe, expect, it } from "vitest";
import { decodedShape } from "../../dev/aws/authorization-message.ts";
import { decodeDenials, parseDecodedMessage, parseDenials } from "../../shared/denials/parse.ts";
import { denialSchema } from "../../shared/denials/types.ts";
import { GatehouseError } from "../../shared/errors.ts";

const SESSION = "arn:aws:sts::333333333333:assumed-role/Developer/alice@example.com";
const ENCODED = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCdEfGh";
const EC2 = `An error occurred (UnauthorizedOperation) when calling the RunInstances operation: You are not authorized to perform this operation. Encoded authorization failure message: ${ENCODED}`;
const decoded = (explicitDeny: boolean) =>
  JSON.stringify(
    decodedShape({
      principal: { id: "AROAX:alice", arn: SESSION },
      action: "ec2:RunInstances",
      resource: "arn:aws:ec2:us-east-1:333333333333:instance/*",
      explicitDeny,
    }),
  );

describe("decoded authorization messages", () => {
  it("an implicit deny becomes a fixable identity-based denial, keeping the operation and the message", async () => {
    const seen: string[] = [];
    const [d] = await decodeDenials(parseDenials(EC2), async (e) => {
      seen.push(e);
      return decoded(false);
    });
    expect(seen).toEqual([ENCODED]);
    expect(denialSchema.parse(d)).toMatchObject({
      principal: SESSION,
      action: "ec2:RunInstances",
      resource: "arn:aws:ec2:us-east-1:333333333333:instance/*",
      operation: "RunInstances",
      cause: "implicit",
      policyType: "identity-based",
      encoded: ENCODED,
      fixable: true,
    });
  });

  it("an explicit deny is not fixable and says an administrator must look", async () => {
    const [d] = await decodeDenials(parseDenials(EC2), async () => decoded(true));
    expect(d).toMatchObject({ cause: "explicit", fixable: false });
    expect(d!.fixer).toMatch(/IAM administrator/);
  });

  it("denials that are not encoded are passed on without calling the decoder", async () => {
    const text = `User: ${SESSION} is not authorized to perform: iam:ListUsers on resource: * because no identity-based policy allows the iam:ListUsers action`;
    const out = await decodeDenials(parseDenials(text), async () => {
      throw new Error("not called");
    });
    expect(out).toEqual(parseDenials(text));
  });

  it.each([
    ["not JSON", "<html>"],
    ["JSON of another shape", '{"allowed":false}'],
    [
      "a principal that is not a string",
      JSON.stringify({
        ...JSON.parse(decoded(false)),
        context: { principal: { arn: 7 }, action: "a:b", resource: "*" },
      }),
    ],
    ["an empty action", decoded(false).replace('"ec2:RunInstances"', '""')],
    ["a giant resource", decoded(false).replace("instance/*", "x".repeat(5000))],
  ])("%s → DENIAL_UNDECODABLE, nothing drafted", async (_name, json) => {
    expect(parseDecodedMessage(json)).toBeNull();
    const err = await decodeDenials(parseDenials(EC2), async () => json).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatehouseError);
    expect((err as GatehouseError).code).toBe("DENIAL_UNDECODABLE");
  });

  it("a decoder's refusal (the broker's FORBIDDEN) propagates", async () => {
    const err = await decodeDenials(parseDenials(EC2), async () => {
      throw new GatehouseError("FORBIDDEN", "not yours");
    }).catch((e: unknown) => e);
    expect((err as GatehouseError).code).toBe("FORBIDDEN");
  });
});
