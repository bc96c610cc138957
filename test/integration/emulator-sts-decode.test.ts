// sts:DecodeAuthorizationMessage in the emulator with the official @aws-sdk/client-sts: an encoded failure
// message (as EC2 returns it) decodes to AWS's JSON shape for a principal allowed to decode; a forged or
// altered message, and a principal without the permission, are refused. The denial parser finds the message.

import { DecodeAuthorizationMessageCommand } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeAuthorizationMessage } from "../../dev/aws/authorization-message.ts";
import type { Emulator } from "../../dev/aws/server.ts";
import { parseDenials } from "../../shared/denials/parse.ts";
import { expectAwsError, failure, PROD, viaCentral, workRole } from "../support/aws.ts";
import { type Credentials, startDemoEmulator, sts } from "../support/emulator.ts";

let e: Emulator;
let admin: Credentials;
let billing: Credentials;
const SESSION = `arn:aws:sts::${PROD}:assumed-role/ReadOnly/alice`;

beforeAll(async () => {
  e = await startDemoEmulator();
  admin = await viaCentral(e, workRole(PROD, "Admin"), "admin");
  billing = await viaCentral(e, workRole(PROD, "Billing"), "billing");
});
afterAll(() => e?.close());

const failureOf = () =>
  encodeAuthorizationMessage(e.world, {
    principal: { id: "AROAEXAMPLE:alice", arn: SESSION },
    action: "ec2:RunInstances",
    resource: `arn:aws:ec2:us-east-1:${PROD}:instance/*`,
    explicitDeny: false,
    conditions: { "ec2:InstanceType": ["t3.micro"], "aws:Region": ["us-east-1"] },
  });

describe("sts:DecodeAuthorizationMessage", () => {
  it("an EC2-style error's encoded message, found by the parser, decodes to AWS's JSON shape", async () => {
    const error = `An error occurred (UnauthorizedOperation) when calling the RunInstances operation: You are not authorized to perform this operation. Encoded authorization failure message: ${failureOf()}`;
    const [d] = parseDenials(error);
    expect(d!.cause).toBe("encoded");
    const out = await sts(e, admin).send(
      new DecodeAuthorizationMessageCommand({ EncodedMessage: d!.encoded! }),
    );
    expect(JSON.parse(out.DecodedMessage!)).toEqual({
      allowed: false,
      explicitDeny: false,
      matchedStatements: { items: [] },
      failures: { items: [] },
      context: {
        principal: { id: "AROAEXAMPLE:alice", arn: SESSION },
        action: "ec2:RunInstances",
        resource: `arn:aws:ec2:us-east-1:${PROD}:instance/*`,
        conditions: {
          items: [
            { key: "ec2:InstanceType", values: { items: [{ value: "t3.micro" }] } },
            { key: "aws:Region", values: { items: [{ value: "us-east-1" }] } },
          ],
        },
      },
    });
  });

  it("a forged, altered or malformed message is InvalidAuthorizationMessageException", async () => {
    const good = failureOf();
    const flipped = `${good.slice(0, 40)}${good[40] === "A" ? "B" : "A"}${good.slice(41)}`;
    for (const EncodedMessage of [flipped, "A".repeat(200), "not base64 at all!", good.slice(0, 30)]) {
      const err = await failure(
        sts(e, admin).send(new DecodeAuthorizationMessageCommand({ EncodedMessage })),
      );
      expect(err.name).toBe("InvalidAuthorizationMessageException");
      expect((err.$metadata as { httpStatusCode?: number }).httpStatusCode).toBe(400);
    }
  });

  it("a principal not allowed sts:DecodeAuthorizationMessage is denied with AWS's message", async () => {
    await expectAwsError(
      sts(e, billing).send(new DecodeAuthorizationMessageCommand({ EncodedMessage: failureOf() })),
      "AccessDenied",
      403,
      /is not authorized to perform: sts:DecodeAuthorizationMessage on resource: \* because no identity-based policy allows/,
    );
  });
});
