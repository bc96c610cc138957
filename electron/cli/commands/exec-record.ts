// `gatehouse exec --record ROLE -- CMD…`: run CMD under a recording, print what it called, save the policy,
// and optionally request every denied action in one request (the `request from-error` path).

import { writeFileSync } from "node:fs";
import type { Role } from "../../../shared/api.ts";
import type { Recording } from "../../../shared/recording.ts";
import type { PermissionRequest } from "../../../shared/requests.ts";
import { parseRoleRef } from "../../../shared/roles.ts";
import { visible } from "../../../shared/visible-text.ts";
import { type ExecOptions, runExec } from "../../agent/exec.ts";
import { startRecording } from "../../agent/record/recording.ts";
import { deniedText, formatRecording } from "../../agent/record/report.ts";
import { agent, one, print, printError, printJson, report } from "../io.ts";
import { formatCreated } from "./request.ts";
import { requestFromError } from "./request-from-error.ts";

export interface RecordInput {
  exec: Omit<ExecOptions, "extraEnv" | "reraise" | "stdio">;
  proxy: boolean;
  upstream?: string;
  json: boolean;
  save?: string;
  savePolicy?: string;
  request?: { justification: string; expiry: number };
}

/** The role's account, to fill resource ARNs in; none when the agent's list does not have it. */
async function roleOf(ref: string): Promise<Role | undefined> {
  const parsed = parseRoleRef(ref);
  if (!parsed) return undefined;
  const { roles } = await agent<{ roles: Role[] }>("GET", "/v1/roles");
  return roles.find((r) =>
    parsed.kind === "arn"
      ? r.arn === parsed.arn
      : r.roleName === parsed.role && (r.accountName === parsed.account || r.accountId === parsed.account),
  );
}

// The tray's "Request what was denied" reads the same text (report.ts).
export { deniedText };

export async function runRecorded(input: RecordInput): Promise<number> {
  const role = await roleOf(input.exec.role).catch(() => undefined);
  const recording = await startRecording({
    csm: true,
    proxy: input.proxy,
    ...(input.upstream ? { upstream: input.upstream } : {}),
    ...(role ? { accountId: role.accountId, partition: role.arn.split(":")[1] ?? "aws" } : {}),
  });
  const meta = { role: input.exec.role, command: input.exec.command };
  let exitCode: number;
  try {
    // No re-raise: a command killed by a signal still leaves its recording to show.
    exitCode = await runExec({ ...input.exec, extraEnv: recording.env });
  } catch (e) {
    // CMD could not start: stop the listeners, show nothing.
    await recording.stop({ ...meta, exitCode: 1 });
    throw e;
  }
  const result = await recording.stop({ ...meta, exitCode });
  if (input.save) writeFileSync(input.save, `${JSON.stringify(result, null, 2)}\n`, { mode: 0o600 });
  if (input.savePolicy) writeFileSync(input.savePolicy, `${JSON.stringify(result.policy, null, 2)}\n`);
  if (!input.json) process.stderr.write(recordingText(result));

  let request: PermissionRequest | undefined;
  let failed = 0;
  if (input.request) {
    const text = deniedText(result);
    if (text === "") printError("gatehouse: nothing was denied; no request made");
    else
      try {
        const made = await requestFromError(text, { ...input.request, json: input.json });
        request = made.request;
        if (!request) failed = 1;
        else if (!input.json) print(formatCreated(request));
      } catch (e) {
        failed = report(e, input.exec.role);
      }
  }
  if (input.json) printJson(request ? { ...result, request } : result);
  if (input.save && !input.json) printError(`gatehouse: recording saved to ${one(input.save)}`);
  return exitCode !== 0 ? exitCode : failed;
}

/** The recording for the terminal, escaped once more as every CLI output is (SECURITY 34). */
export function recordingText(r: Recording): string {
  return visible(formatRecording(r), { lines: true });
}
