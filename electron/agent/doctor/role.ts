// Doctor --role ROLE: credentials end to end, each step timed — from the agent, through the profile's
// credential_process as the AWS CLI runs it, and to AWS with the AWS CLI (sts get-caller-identity).

import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { agentRequest, explain } from "../../cli/agent-client.mjs";
import { awsConfigPath } from "../agent.ts";
import { which } from "./aws-cli.ts";
import { profileSections, splitCommand } from "./aws-files.ts";
import { type Check, type DoctorContext, type Finding, fail, ok, skip } from "./check.ts";

function runProgram(file: string, args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(file, args, { env, timeout: 60_000 }, (e, stdout, stderr) =>
      resolve({ code: e ? Number((e as { code?: unknown }).code) || 1 : 0, stdout, stderr }),
    );
  });
}

const usable = (c: { Version?: number; AccessKeyId?: string; SessionToken?: string; Expiration?: string }) =>
  c.Version === 1 && !!c.AccessKeyId && !!c.SessionToken && Date.parse(c.Expiration ?? "") > Date.now();

export const roleCheck: Check = {
  id: "role",
  async run(ctx: DoctorContext): Promise<Finding[]> {
    const role = ctx.role;
    if (!role) return [];
    const out: Finding[] = [];
    let t = Date.now();
    try {
      const c = (await agentRequest("POST", "/v1/credentials", { role }, ctx.env)) as { Expiration: string };
      out.push(
        ok(
          "role.agent",
          `the agent handed out credentials for ${role}, valid until ${c.Expiration}`,
          Date.now() - t,
        ),
      );
    } catch (e) {
      const code = (e as { code?: string }).code ?? "AGENT_UNREACHABLE";
      const fix =
        code === "NOT_SIGNED_IN"
          ? "run `gatehouse login`"
          : code === "ROLE_NOT_FOUND"
            ? "`gatehouse roles` lists the roles you may use; `gatehouse request create --role` asks for one"
            : "see the agent and broker lines above";
      return [
        fail("role.agent", `${explain(code, (e as Error).message, role)} [${code}]`, fix, Date.now() - t),
      ];
    }

    const configPath = awsConfigPath(ctx.settings, ctx.env);
    let text = "";
    try {
      text = readFileSync(configPath, "utf8");
    } catch {}
    const profile = profileSections(text, "config").find((s) => {
      const words = splitCommand(s.keys.credential_process ?? "");
      return words.includes("credential-process") && words[words.indexOf("--role") + 1] === role;
    });
    if (!profile) {
      out.push(
        fail(
          "role.profile",
          `no profile in ${configPath} runs credential_process for ${role}`,
          "run `gatehouse config generate`",
        ),
        skip("role.aws", "no profile to call AWS with"),
      );
      return out;
    }
    const [file, ...args] = splitCommand(profile.keys.credential_process!);
    t = Date.now();
    const cp = await runProgram(file!, args, ctx.env);
    let parsed: Parameters<typeof usable>[0] = {};
    try {
      parsed = JSON.parse(cp.stdout);
    } catch {}
    if (cp.code !== 0 || !usable(parsed)) {
      out.push(
        fail(
          "role.profile",
          `profile ${profile.name}: its credential_process failed (exit ${cp.code}): ${cp.stderr.trim().split("\n")[0] ?? ""}`,
          "run `gatehouse config generate`, then try again",
          Date.now() - t,
        ),
        skip("role.aws", "the profile gives no credentials"),
      );
      return out;
    }
    out.push(
      ok(
        "role.profile",
        `profile ${profile.name}: credential_process printed usable credentials`,
        Date.now() - t,
      ),
    );

    const aws = which("aws", ctx.env);
    if (!aws) {
      out.push(skip("role.aws", "no AWS CLI on PATH to call AWS with"));
      return out;
    }
    t = Date.now();
    const r = await runProgram(
      aws,
      ["sts", "get-caller-identity", "--profile", profile.name, "--output", "json"],
      ctx.env,
    );
    let arn: string | undefined;
    try {
      arn = (JSON.parse(r.stdout) as { Arn?: string }).Arn;
    } catch {}
    out.push(
      r.code === 0 && arn
        ? ok("role.aws", `aws sts get-caller-identity --profile ${profile.name}: ${arn}`, Date.now() - t)
        : fail(
            "role.aws",
            `aws sts get-caller-identity --profile ${profile.name} failed: ${r.stderr.trim().split("\n").pop() ?? ""}`,
            "see the clock and environment lines above; AWS's message says the rest",
            Date.now() - t,
          ),
    );
    return out;
  },
};
