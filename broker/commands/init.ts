// `gatehouse-broker init --config FILE --out DIR [--base-arn ARN]`: write the IAM set-up as JSON,
// CloudFormation and Terraform; `--apply [--profile ADMIN] [--admin-role NAME] [--yes]` also creates or
// updates the roles through IAM, after showing what would change.

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline/promises";
import { GatehouseError } from "../../shared/errors.ts";
import { lintPolicy } from "../../shared/policy-lint.ts";
import { AwsGateway } from "../aws.ts";
import type { AccountConfig, BrokerConfig } from "../config.ts";
import { AdminAccess, type AdminOptions } from "../onboarding/admin.ts";
import { apply, plan, targets } from "../onboarding/apply.ts";
import { principalArnOf } from "../onboarding/doctor.ts";
import { cloudFormationForm, documents, jsonForm, terraformForm } from "../onboarding/forms.ts";
import { discoverAccounts } from "../organizations.ts";

export interface InitInput {
  config: BrokerConfig;
  out?: string | undefined;
  baseArn?: string | undefined;
  apply: boolean;
  yes: boolean;
  admin?: AdminOptions | undefined;
  /** Answers the confirmation question (tests); default: the terminal. */
  confirm?: (question: string) => Promise<boolean>;
}

async function askTerminal(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new GatehouseError(
      "BAD_ARGUMENT",
      "init --apply asks before changing IAM; without a terminal pass --yes",
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export async function initCommand(
  input: InitInput,
  out: (line: string) => void = console.log,
): Promise<number> {
  const { config } = input;
  if (!config.aws.central_role_arn) {
    throw new GatehouseError(
      "BAD_ARGUMENT",
      "init sets up a central role: set aws.central_role_arn in the config",
    );
  }
  if (!input.out && !input.apply)
    throw new GatehouseError("BAD_ARGUMENT", "give --out DIR, --apply, or both");
  let baseArn = input.baseArn;
  if (!baseArn) {
    const aws = new AwsGateway(config);
    try {
      baseArn = principalArnOf((await aws.callerIdentity()).arn);
    } catch (e) {
      throw new GatehouseError(
        "BAD_ARGUMENT",
        `cannot learn the broker's identity (${(e as Error).message}); pass --base-arn ARN`,
        { cause: e },
      );
    } finally {
      aws.destroy();
    }
  }
  const admin = input.admin ? new AdminAccess(config, input.admin) : undefined;
  try {
    let accounts: readonly AccountConfig[] = config.aws.accounts;
    if (config.aws.accounts_from === "organizations") {
      if (!admin)
        throw new GatehouseError(
          "BAD_ARGUMENT",
          "with accounts_from: organizations, init reads the organisation as the administrator: pass --profile ADMIN",
        );
      const overrides = new Map(config.aws.accounts.map((a) => [a.id, a]));
      const found = await discoverAccounts(admin.organizations(), config.aws.organizations!);
      accounts = found.accounts.map((a) => ({
        ...(overrides.get(a.id) ?? {}),
        id: a.id,
        name: overrides.get(a.id)?.name ?? a.name,
      }));
    }
    const d = documents(config, baseArn);
    // Every permission document passes our own lint (warnings about the broker's necessary powers stay warnings).
    for (const [what, doc] of [
      ["central", d.central.permissions],
      ["spoke", d.spoke.permissions],
    ] as const) {
      const lint = await lintPolicy(JSON.stringify(doc));
      if (!lint.valid) {
        throw new GatehouseError(
          "INTERNAL",
          `the generated ${what} policy fails the lint: ${lint.findings.map((f) => f.code).join(", ")}`,
        );
      }
    }
    if (input.out) {
      const files = {
        ...jsonForm(d),
        ...cloudFormationForm(config, d),
        ...terraformForm(config, d, accounts),
      };
      for (const [rel, text] of Object.entries(files)) {
        const file = join(input.out, rel);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, text);
      }
      out(`wrote ${Object.keys(files).length} files to ${input.out} (json/, cloudformation/, terraform/)`);
    }
    if (!input.apply) return 0;
    if (!admin)
      throw new GatehouseError("BAD_ARGUMENT", "init --apply needs an administrator: pass --profile ADMIN");
    const changes = await plan(admin, targets(d, accounts));
    if (changes.length === 0) {
      out("nothing to change: every role already matches");
      return 0;
    }
    for (const c of changes) out(c.summary);
    const ok =
      input.yes || (await (input.confirm ?? askTerminal)(`Apply these ${changes.length} changes? [y/N] `));
    if (!ok) {
      out("nothing applied");
      return 1;
    }
    await apply(admin, changes);
    out(`applied ${changes.length} changes; check them with gatehouse-broker doctor`);
    return 0;
  } finally {
    admin?.destroy();
  }
}
