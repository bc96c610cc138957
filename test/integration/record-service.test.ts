// The tray app's "Record" service without Electron: real child processes, the real emulator, the real AWS CLI
// (client-side monitoring) and a JS SDK v3 script (the recording proxy), Developer's real credentials. The
// injected `confirm` stands in for the native dialog: it must be asked with the exact argv, role and folder,
// and a refusal (or a dialog that fails) starts nothing.

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../dev/aws/server.ts";
import {
  type ConfirmRecording,
  type RecordProposal,
  RecordService,
  type RecordServiceOptions,
} from "../../electron/agent/record/record-service.ts";
import { deniedText } from "../../electron/agent/record/report.ts";
import { confirmed, recordDialog } from "../../electron/main/record-dialog.ts";
import { GatehouseError } from "../../shared/errors.ts";
import { recordStateSchema } from "../../shared/recording.ts";
import { viaCentral } from "../support/aws.ts";
import { AWS_CLI, ROOT } from "../support/e2e.ts";
import { startDemoEmulator } from "../support/emulator.ts";

const STAGING = "333333333333";
const DEVELOPER = `arn:aws:iam::${STAGING}:role/Developer`;
const ROLE = "staging/Developer";
const SLOW = 90_000;
const V3_SCRIPT = join(ROOT, "test/support/iam-v3-script.mjs");

let emulator: Emulator;
const dir = mkdtempSync(join(tmpdir(), "gatehouse-record-service-"));

/** Developer's credentials as the agent would hand them out, fetched once. */
let creds: { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: string };

/** A recorder whose confirm answers `answer` and keeps every proposal it was shown. */
function recorder(
  answer: boolean | (() => Promise<boolean>),
  extra: Partial<RecordServiceOptions> = {},
): { svc: RecordService; asked: RecordProposal[] } {
  const asked: RecordProposal[] = [];
  const confirm: ConfirmRecording = async (p) => {
    asked.push(structuredClone(p));
    return typeof answer === "function" ? answer() : answer;
  };
  const svc = new RecordService({
    confirm,
    credentials: async (role) => {
      if (role !== ROLE) throw new GatehouseError("ROLE_NOT_FOUND");
      return creds;
    },
    roleInfo: async (role) => (role === ROLE ? { accountId: STAGING, partition: "aws" } : undefined),
    region: () => "us-east-1",
    baseEnv: { ...process.env, GATEHOUSE_SECRET_OF_THE_APP: "must-not-leak" },
    minIntervalMs: 0,
    upstream: emulator.url,
    ...extra,
  });
  return { svc, asked };
}

/** IAM calls with the real AWS CLI: ListRoles is allowed to Developer, ListUsers and GetRole are not. */
function cliScript(): string[] {
  const aws = `${AWS_CLI} --endpoint-url ${emulator.url} --output json`;
  return [
    "sh",
    "-c",
    [
      `${aws} iam list-roles > /dev/null && echo listed-roles`,
      `${aws} iam list-users > /dev/null 2>&1 || echo denied-users`,
      `${aws} iam get-role --role-name DataPipeline > /dev/null 2>&1 || echo denied-role`,
    ].join("\n"),
  ];
}

beforeAll(async () => {
  emulator = await startDemoEmulator();
  const c = await viaCentral(emulator, DEVELOPER, "alice@example.com");
  creds = {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    sessionToken: c.sessionToken!,
    expiration: new Date(Date.now() + 3600_000).toISOString(),
  };
}, 30_000);

afterAll(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the confirmation", () => {
  it("a refusal starts nothing; the person was asked with the exact argv, role and folder", async () => {
    const marker = join(dir, "ran");
    const { svc, asked } = recorder(false);
    const command = ["sh", "-c", `touch '${marker}'`, "two words", 'quote"d'];
    const err = await svc.start({ role: ROLE, command, cwd: dir, proxy: false }).catch((e) => e);
    expect(err).toBeInstanceOf(GatehouseError);
    expect(err.code).toBe("RECORDING_REFUSED");
    expect(asked).toEqual([{ role: ROLE, command, cwd: dir, proxy: false }]);
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(marker)).toBe(false);
    expect(svc.status().state).toBe("idle");
  });

  it("a dialog that fails is a no", async () => {
    const marker = join(dir, "ran-2");
    const { svc, asked } = recorder(() => Promise.reject(new Error("no display")));
    const err = await svc
      .start({ role: ROLE, command: ["touch", marker], cwd: dir, proxy: false })
      .catch((e) => e);
    expect(err.code).toBe("RECORDING_REFUSED");
    expect(asked).toHaveLength(1);
    expect(existsSync(marker)).toBe(false);
  });

  it("a role the person cannot use or a folder that is not one is refused before anyone is asked", async () => {
    const { svc, asked } = recorder(true);
    const unknown = await svc
      .start({ role: "prod/Nope", command: ["true"], cwd: dir, proxy: false })
      .catch((e) => e);
    expect(unknown.code).toBe("ROLE_NOT_FOUND");
    for (const cwd of ["relative/path", join(dir, "missing"), V3_SCRIPT]) {
      const bad = await svc.start({ role: ROLE, command: ["true"], cwd, proxy: false }).catch((e) => e);
      expect(bad.code).toBe("BAD_REQUEST");
    }
    const empty = await svc.start({ role: ROLE, command: [""], cwd: dir, proxy: false }).catch((e) => e);
    expect(empty.code).toBe("BAD_REQUEST");
    const nul = await svc.start({ role: ROLE, command: ["a\0b"], cwd: dir, proxy: false }).catch((e) => e);
    expect(nul.code).toBe("BAD_REQUEST");
    expect(asked).toEqual([]);
  });

  it("the native dialog shows every argument verbatim, the role and the folder; Cancel is the default", () => {
    const d = recordDialog({
      role: ROLE,
      command: ["sh", "-c", "rm -rf ~\n# hidden"],
      cwd: dir,
      proxy: true,
    });
    expect(d.buttons[d.defaultId]).toBe("Cancel");
    expect(d.cancelId).toBe(d.defaultId);
    expect(d.detail).toContain('program: "sh"');
    expect(d.detail).toContain('arg 1: "-c"');
    // A newline in an argument cannot push the rest out of sight: it is shown escaped.
    expect(d.detail).toContain('arg 2: "rm -rf ~\\n# hidden"');
    expect(d.detail).toContain(`Role: "${ROLE}"`);
    expect(d.detail).toContain(`Working folder: ${JSON.stringify(dir)}`);
    expect(confirmed({ response: 1 })).toBe(true);
    expect(confirmed({ response: 0 })).toBe(false);
    expect(confirmed({ response: -1 })).toBe(false);
  });
});

describe("a confirmed recording", () => {
  it(
    "runs the AWS CLI script: the allowed and denied calls with their actions, the output, the policy",
    async () => {
      const { svc, asked } = recorder(true);
      const command = cliScript();
      const started = await svc.start({ role: ROLE, command, cwd: dir, proxy: false });
      expect(["running", "done"]).toContain(started.state);
      expect(asked).toEqual([{ role: ROLE, command, cwd: dir, proxy: false }]);
      const s = recordStateSchema.parse(await svc.settled());
      expect(s.state).toBe("done");
      expect(s.exitCode).toBe(0);
      expect(s.output).toContain("listed-roles");
      expect(s.output).toContain("denied-users");
      expect(s.output).toContain("denied-role");
      expect(s.calls.map((c) => `${c.api}:${c.outcome}`)).toEqual([
        "ListRoles:allowed",
        "ListUsers:denied",
        "GetRole:denied",
      ]);
      const r = svc.finished();
      expect(r.role).toBe(ROLE);
      expect(r.command).toEqual(command);
      expect(r.policy.Statement.flatMap((st) => st.Action).sort()).toEqual([
        "iam:GetRole",
        "iam:ListRoles",
        "iam:ListUsers",
      ]);
      const denied = deniedText(r);
      expect(denied).toContain("is not authorized to perform: iam:ListUsers");
      expect(denied).toContain("is not authorized to perform: iam:GetRole");
      // No secret in what the window gets.
      const everything = JSON.stringify(s);
      for (const secret of [creds.secretAccessKey, creds.sessionToken, creds.accessKeyId])
        expect(everything).not.toContain(secret);
    },
    SLOW,
  );

  it(
    "records a JS SDK v3 script through the proxy, the denied call's resource filled in",
    async () => {
      const { svc } = recorder(true);
      await svc.start({
        role: ROLE,
        command: [process.execPath, V3_SCRIPT, "Developer"],
        cwd: dir,
        proxy: true,
      });
      const s = await svc.settled();
      expect(s.output).toContain("OK ListRoles");
      expect(s.output).toContain("DENIED GetRole Developer AccessDenied");
      expect(s.calls.map((c) => `${c.source}:${c.api}:${c.outcome}`)).toEqual([
        "proxy:ListRoles:allowed",
        "proxy:ListUsers:denied",
        "proxy:GetRole:denied",
      ]);
      expect(s.calls[2]!.resources).toEqual([`arn:aws:iam::${STAGING}:role/Developer`]);
      expect(JSON.stringify(s)).not.toMatch(/PRIVATE KEY|CERTIFICATE/);
    },
    SLOW,
  );

  it("the command gets only the inherited basics, the role's credentials and the recording's variables", async () => {
    const { svc } = recorder(true);
    await svc.start({ role: ROLE, command: ["env"], cwd: dir, proxy: true });
    const s = await svc.settled();
    const names = s.output
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => l.slice(0, l.indexOf("=")))
      .sort();
    expect(names).not.toContain("GATEHOUSE_SECRET_OF_THE_APP");
    expect(names).toContain("PATH");
    for (const v of ["AWS_CSM_ENABLED", "AWS_CSM_PORT", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "HTTPS_PROXY"])
      expect(names).toContain(v);
    const allowed = new Set([
      "PATH",
      "HOME",
      "USER",
      "LOGNAME",
      "LANG",
      "LC_ALL",
      "LC_CTYPE",
      "TZ",
      "TMPDIR",
      "TEMP",
      "TMP",
      "GATEHOUSE_ROLE",
      "AWS_REGION",
      "AWS_DEFAULT_REGION",
      "NO_PROXY",
      "no_proxy",
      "https_proxy",
      "NODE_EXTRA_CA_CERTS",
      "NODE_USE_ENV_PROXY",
      "SSL_CERT_FILE",
    ]);
    for (const n of names)
      expect(allowed.has(n) || /^AWS_(CSM|CONTAINER|CA_BUNDLE)|^HTTPS_PROXY$/.test(n)).toBe(true);
  });

  it("caps the output it keeps, and still lets the command finish", async () => {
    const { svc } = recorder(true, { maxOutput: 1000 });
    await svc.start({
      role: ROLE,
      command: ["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x; echo end"],
      cwd: dir,
      proxy: false,
    });
    const s = await svc.settled();
    expect(s.exitCode).toBe(0);
    expect(s.output).toHaveLength(1000);
    expect(s.outputTruncated).toBe(true);
  });

  it("one at a time; Stop ends the command and what it started; the next proposal waits its turn", async () => {
    const { svc, asked } = recorder(true, { minIntervalMs: 60_000 });
    const marker = join(dir, "after-sleep");
    const t0 = Date.now();
    const first = await svc.start({
      role: ROLE,
      command: ["sh", "-c", `sleep 30; touch '${marker}'`],
      cwd: dir,
      proxy: false,
    });
    expect(first.state).toBe("running");
    const busy = await svc.start({ role: ROLE, command: ["true"], cwd: dir, proxy: false }).catch((e) => e);
    expect(busy.code).toBe("RECORDING_BUSY");
    const stopped = await svc.stop();
    expect(stopped.state).toBe("done");
    expect(stopped.stopped).toBe(true);
    expect(stopped.exitCode).toBe(143);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(svc.finished().calls).toEqual([]);
    // Too soon after the last proposal, even though nothing runs now.
    const tooSoon = await svc
      .start({ role: ROLE, command: ["true"], cwd: dir, proxy: false })
      .catch((e) => e);
    expect(tooSoon.code).toBe("RECORDING_RATE_LIMITED");
    expect(asked).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(marker)).toBe(false);
  }, 20_000);

  it("a program that does not exist: a clear error, the listeners closed", async () => {
    const { svc } = recorder(true);
    const s = await svc.start({ role: ROLE, command: ["/no/such/program"], cwd: dir, proxy: false });
    const done = await svc.settled();
    expect([s.state, done.state]).toContain("done");
    expect(done.error).toMatch(/Cannot run "\/no\/such\/program"/);
    expect(() => svc.finished()).toThrow(/no finished recording/);
  });

  it(
    "Save policy writes the whole policy where the person chose; a cancelled dialog writes nothing",
    async () => {
      const target = join(dir, "policy.json");
      let answer: string | null = target;
      const { svc } = recorder(true, { choosePolicyPath: async () => answer });
      await expect(svc.savePolicy()).rejects.toMatchObject({ code: "NO_RECORDING" });
      await svc.start({ role: ROLE, command: cliScript(), cwd: dir, proxy: false });
      await svc.settled();
      expect(await svc.savePolicy()).toEqual({ path: target });
      expect(JSON.parse(readFileSync(target, "utf8"))).toEqual(svc.finished().policy);
      answer = null;
      rmSync(target);
      expect(await svc.savePolicy()).toEqual({ path: null });
      expect(existsSync(target)).toBe(false);
    },
    SLOW,
  );
});
