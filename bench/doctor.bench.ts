// `gatehouse-broker doctor` over 200 accounts in 12 OUs (AWS Organizations) against the bare SDK calls
// it makes, fetched the same way (same clients, same concurrency) in the same run: base identity,
// central role, the OU tree and its accounts, then per account an AssumeRole of the spoke and its
// GetAccountAuthorizationDetails (roles). Goal: doctor ≤ 1.5× the SDK alone.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetAccountAuthorizationDetailsCommand, GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import {
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  ListRootsCommand,
  OrganizationsClient,
} from "@aws-sdk/client-organizations";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { type BrokerConfig, parseConfig } from "../broker/config.ts";
import { runDoctor } from "../broker/onboarding/doctor.ts";
import { CENTRAL_ACCOUNT, DEMO_KEY } from "../dev/aws/fixture.ts";
import { startEmulatorThread } from "./emulator-thread.ts";
import { defineBench } from "./lib.ts";

const ACCOUNTS = 200;
const OUS = 12;
const ROLES = 20;
const ROUNDS = 3;
const GOAL = 1.5;
const CENTRAL = `arn:aws:iam::${CENTRAL_ACCOUNT}:role/GatehouseCentral`;

function config(dir: string, aws: string): BrokerConfig {
  return parseConfig(
    `database: ${join(dir, "none.sqlite")}
oidc: { issuer: https://idp.example.com, audience: gatehouse-broker }
aws:
  endpoint: ${aws}
  base_identity: { type: static, access_key_id: ${DEMO_KEY.id}, secret_access_key: ${DEMO_KEY.secret} }
  central_role_arn: ${CENTRAL}
  spoke_role_name: GatehouseSpoke
  accounts_from: organizations
sync: { account_concurrency: 8 }
`,
    join(dir, "gatehouse.yaml"),
  );
}

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

/** The SDK alone making doctor's calls, with the broker's client settings and concurrency. */
async function bareCalls(c: BrokerConfig): Promise<number> {
  const cfg = (credentials: Creds) => ({
    region: c.aws.region,
    endpoint: c.aws.endpoint!,
    credentials,
    maxAttempts: c.sync.max_attempts,
    retryMode: "standard" as const,
  });
  const assume = async (sts: STSClient, RoleArn: string) => {
    const x = (await sts.send(new AssumeRoleCommand({ RoleArn, RoleSessionName: c.aws.broker_session_name })))
      .Credentials!;
    return {
      accessKeyId: x.AccessKeyId!,
      secretAccessKey: x.SecretAccessKey!,
      sessionToken: x.SessionToken!,
    };
  };
  const clients: { destroy(): void }[] = [];
  try {
    const base = new STSClient(cfg({ accessKeyId: DEMO_KEY.id, secretAccessKey: DEMO_KEY.secret }));
    clients.push(base);
    await base.send(new GetCallerIdentityCommand({}));
    const central = await assume(base, CENTRAL);
    const centralIam = new IAMClient(cfg(central));
    clients.push(centralIam);
    await centralIam.send(new GetRoleCommand({ RoleName: "GatehouseCentral" })).catch(() => undefined);
    const org = new OrganizationsClient({ ...cfg(central), region: "us-east-1" });
    clients.push(org);
    const root = (await org.send(new ListRootsCommand({}))).Roots![0]!.Id!;
    const parents = [root];
    const accounts: string[] = [];
    for (let i = 0; i < parents.length; i++) {
      let token: string | undefined;
      do {
        const r = await org.send(
          new ListOrganizationalUnitsForParentCommand({ ParentId: parents[i]!, NextToken: token }),
        );
        parents.push(...(r.OrganizationalUnits ?? []).map((u) => u.Id!));
        token = r.NextToken;
      } while (token);
    }
    for (const p of parents) {
      let token: string | undefined;
      do {
        const r = await org.send(new ListAccountsForParentCommand({ ParentId: p, NextToken: token }));
        accounts.push(
          ...(r.Accounts ?? []).filter((a) => (a.State ?? a.Status) === "ACTIVE").map((a) => a.Id!),
        );
        token = r.NextToken;
      } while (token);
    }
    const centralSts = new STSClient(cfg(central));
    clients.push(centralSts);
    const queue = accounts.filter((a) => a !== CENTRAL_ACCOUNT);
    let roles = 0;
    await Promise.all(
      Array.from({ length: c.sync.account_concurrency }, async () => {
        for (let a = queue.shift(); a; a = queue.shift()) {
          const iam = new IAMClient(cfg(await assume(centralSts, `arn:aws:iam::${a}:role/GatehouseSpoke`)));
          clients.push(iam);
          let marker: string | undefined;
          do {
            const page = await iam.send(
              new GetAccountAuthorizationDetailsCommand({ Filter: ["Role"], MaxItems: 1000, Marker: marker }),
            );
            roles += page.RoleDetailList?.length ?? 0;
            marker = page.IsTruncated ? page.Marker : undefined;
          } while (marker);
        }
      }),
    );
    return roles;
  } finally {
    for (const x of clients) x.destroy();
  }
}

defineBench({
  name: "doctor",
  description: `gatehouse-broker doctor over ${ACCOUNTS} accounts in ${OUS} OUs vs. the bare SDK calls it makes`,
  async run(ctx) {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-doctor-"));
    const emulator = await startEmulatorThread({ accounts: ACCOUNTS, roles: ROLES, users: 0, ous: OUS });
    try {
      const c = config(dir, emulator.url);
      console.log(
        `  ${ACCOUNTS} accounts (${ROLES} roles each) in ${OUS} OUs; accounts from Organizations; ` +
          `${c.sync.account_concurrency} accounts at a time; ${ROUNDS} rounds of each, interleaved`,
      );
      const opts = { maxSeconds: 3600, warmup: 1, iterations: ROUNDS, concurrency: 1 };
      const [, doctor] = await ctx.compare(
        [
          {
            name: "sdk.doctor-calls",
            note: "SDK alone: the same calls, parsed, nothing judged",
            ...opts,
            op: async () => {
              const roles = await bareCalls(c);
              if (roles < (ACCOUNTS - 5) * ROLES) throw new Error(`bare calls read ${roles} roles`);
            },
          },
          {
            name: "broker.doctor",
            note: "runDoctor: the same calls, every role judged with the shared evaluator",
            ...opts,
            baseline: "sdk.doctor-calls",
            op: async () => {
              const r = await runDoctor(c);
              const spokes = r.findings.filter((f) => f.check === "spoke");
              if (spokes.length < ACCOUNTS - 5) throw new Error(`doctor judged ${spokes.length} spokes`);
            },
          },
        ],
        { rounds: ROUNDS },
      );
      const ratio = doctor?.ratio;
      console.log(
        `  doctor / bare SDK calls: ${ratio?.toFixed(2)}x (goal ≤ ${GOAL}x) ${ratio !== undefined && ratio <= GOAL ? "ok" : "OVER GOAL"}`,
      );
    } finally {
      await emulator.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
