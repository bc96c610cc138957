// Organisations for onboarding tests (doctor, init): a healthy one built from the same documents `init`
// generates, and helpers to break one link at a time.

import { join } from "node:path";
import { type BrokerConfig, parseConfig } from "../../broker/config.ts";
import {
  centralPermissions,
  spokePermissions,
  spokeTrust,
  workRoleTrust,
} from "../../broker/onboarding/policies.ts";
import { testBrokerDatabase } from "./pg.ts";

export const ADMIN_KEY = { accessKeyId: "AKIAORGADMIN00000001", secretAccessKey: "org-admin-secret" };
export const CENTRAL_ARN = "arn:aws:iam::111111111111:role/GatehouseCentral";
export const BROKER_ARN = "arn:aws:iam::111111111111:user/gatehouse-broker";

export function orgConfigYaml(o: {
  awsUrl: string;
  database: string;
  extra?: string;
  filters?: string;
  issuer?: string;
}): string {
  return `listen: { host: 127.0.0.1, port: 0 }
database: ${o.database}
log_level: warn
oidc: { issuer: ${o.issuer ?? "https://idp.example.com"}, audience: gatehouse-broker }
aws:
  endpoint: ${o.awsUrl}
  federation_url: ${o.awsUrl}/federation
  base_identity: { type: static, access_key_id: AKIAGATEHOUSEDEMO001, secret_access_key: gatehouse-demo-secret }
  central_role_arn: ${CENTRAL_ARN}
  spoke_role_name: GatehouseSpoke
  accounts_from: organizations
  organizations:
${o.filters ?? "    include_ous: [Workloads]"}
${o.extra ?? ""}access:
  admin_groups: [platform-admins]
sync: { interval_seconds: 3600, requests_per_second: 100, max_attempts: 3 }
`;
}

export const orgConfig = (awsUrl: string, dir: string, extra?: string): BrokerConfig =>
  parseConfig(
    orgConfigYaml({ awsUrl, database: testBrokerDatabase(dir), ...(extra ? { extra } : {}) }),
    join(dir, "gatehouse.yaml"),
  );

const ADMIN_ROLE = {
  name: "OrganizationAccountAccessRole",
  trust: {
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Principal: { AWS: "arn:aws:iam::111111111111:root" }, Action: "sts:AssumeRole" },
    ],
  },
  managed_policies: ["arn:aws:iam::aws:policy/AdministratorAccess"],
};

type Json = Record<string, unknown>;
export interface OrgFixture {
  organization: Json;
  accounts: (Json & { id: string; name: string; roles: Json[] })[];
}

/** The central account with the broker's user and an administrator; the central role when `withCentral`. */
export function centralAccount(config: BrokerConfig, withCentral: boolean): OrgFixture["accounts"][number] {
  return {
    id: "111111111111",
    name: "central",
    users: [
      {
        name: "gatehouse-broker",
        access_keys: [{ id: "AKIAGATEHOUSEDEMO001", secret: "gatehouse-demo-secret" }],
        policies: {
          AssumeCentral: {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: CENTRAL_ARN }],
          },
        },
      },
      {
        name: "org-admin",
        access_keys: [{ id: ADMIN_KEY.accessKeyId, secret: ADMIN_KEY.secretAccessKey }],
        managed_policies: ["arn:aws:iam::aws:policy/AdministratorAccess"],
      },
    ],
    roles: withCentral
      ? [
          {
            name: "GatehouseCentral",
            trust: {
              Version: "2012-10-17",
              Statement: [{ Effect: "Allow", Principal: { AWS: BROKER_ARN }, Action: "sts:AssumeRole" }],
            },
            policies: {
              GatehouseCentral: centralPermissions(config),
              // The emulator's management account reads Organizations with the central role.
            },
          },
        ]
      : [],
  };
}

export function memberAccount(
  config: BrokerConfig,
  id: string,
  name: string,
  withSpoke = true,
): OrgFixture["accounts"][number] {
  return {
    id,
    name,
    roles: [
      ADMIN_ROLE,
      ...(withSpoke
        ? [
            {
              name: "GatehouseSpoke",
              trust: spokeTrust(config),
              policies: { GatehouseSpoke: spokePermissions(config, id) },
            },
          ]
        : []),
      ...(withSpoke
        ? [
            {
              name: "Developer",
              trust: workRoleTrust(config),
              tags: { "gatehouse-authorized": "engineers:alice@example.com" },
              policies: {
                Read: {
                  Version: "2012-10-17",
                  Statement: [
                    { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::reports/*" },
                  ],
                },
              },
            },
          ]
        : []),
    ],
  };
}

/** A healthy organisation: Workloads/{Prod,Staging,Dev} with one account each, set up as init would. */
export function healthyOrg(config: BrokerConfig, members: [string, string, string][] = []): OrgFixture {
  const accounts = [
    ["222222222222", "prod", "Prod"],
    ["333333333333", "staging", "Staging"],
    ["444444444444", "dev", "Dev"],
    ...members,
  ] as [string, string, string][];
  const ous = [...new Set(accounts.map((a) => a[2]))];
  return {
    organization: {
      management_account: "111111111111",
      units: [
        {
          name: "Workloads",
          units: ous.map((ou) => ({
            name: ou,
            accounts: accounts.filter((a) => a[2] === ou).map((a) => a[0]),
          })),
        },
      ],
    },
    accounts: [
      centralAccount(config, true),
      ...accounts.map(([id, name]) => memberAccount(config, id, name)),
    ],
  };
}

export function roleOf(
  org: OrgFixture,
  account: string,
  role: string,
): Json & { trust: Json; policies: Record<string, Json>; name: string } {
  const r = org.accounts.find((a) => a.id === account)?.roles.find((x) => x.name === role);
  if (!r) throw new Error(`no role ${role} in ${account}`);
  return r as Json & { trust: Json; policies: Record<string, Json>; name: string };
}
