// An IAM client for a spoke account of the emulator, signed as Gatehouse itself signs there (the broker's
// key → GatehouseCentral → GatehouseSpoke), for tests that look at what the broker applied. No test runner
// imports: Vitest and Playwright specs both use it.

import type { IAMClient } from "@aws-sdk/client-iam";
import { AssumeRoleCommand, type AssumeRoleCommandOutput } from "@aws-sdk/client-sts";
import { type Credentials, DEMO_KEY, iam, sts } from "./emulator.ts";

const CENTRAL_ROLE = "arn:aws:iam::111111111111:role/GatehouseCentral";

function credentials(out: AssumeRoleCommandOutput): Credentials {
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
    throw new Error("AssumeRole returned no credentials");
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
}

export async function spokeIam(emulator: { url: string }, accountId: string): Promise<IAMClient> {
  const central = credentials(
    await sts(emulator, DEMO_KEY, 1).send(
      new AssumeRoleCommand({ RoleArn: CENTRAL_ROLE, RoleSessionName: "test-central" }),
    ),
  );
  const spoke = credentials(
    await sts(emulator, central, 1).send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${accountId}:role/GatehouseSpoke`,
        RoleSessionName: "test-check",
      }),
    ),
  );
  return iam(emulator, spoke, 1);
}
