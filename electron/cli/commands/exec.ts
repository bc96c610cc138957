// `gatehouse exec ROLE [--env] -- CMD…`: run CMD with credentials for ROLE, served ECS-style on loopback
// so SDKs refresh by themselves (or, with --env, as environment variables). With --record, every AWS call CMD
// makes is recorded (see exec-record.ts).

import { runExec } from "../../agent/exec.ts";
import { roleRegion } from "../../agent/region.ts";
import { credentialsFor, flags, helped, UsageError } from "../io.ts";
import type { RecordInput } from "./exec-record.ts";
import { parseDuration } from "./request.ts";

export const USAGE = `usage: gatehouse exec ROLE [--env] -- COMMAND [ARGS…]
       gatehouse exec --record ROLE [--record-proxy] [--record-upstream URL] [--json] [--save FILE]
                      [--save-policy FILE] [--request-denied --justification TEXT --expires DURATION]
                      -- COMMAND [ARGS…]

--record           record every AWS call COMMAND makes (AWS client-side monitoring: the AWS CLI, botocore,
                   Go v1, JS v2, Java v1); then show the calls allowed, the calls denied with their messages,
                   and the least-privilege policy for all of them (on stderr; --json: JSON on stdout)
--record-proxy     also record through an HTTPS proxy with a CA made for this recording only (JS v3, Go v2,
                   Terraform); implies --record
--record-upstream  send the proxied AWS calls to this http(s) endpoint instead of their host
--save FILE        write the whole recording (JSON) to FILE
--save-policy FILE write the least-privilege policy to FILE
--request-denied   make one request with every denied action (as \`request from-error\` does)`;

export async function run(argv: string[]): Promise<number> {
  const dash = argv.indexOf("--");
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const command = dash >= 0 ? argv.slice(dash + 1) : [];
  const { values, positionals } = flags(
    own,
    {
      env: { type: "boolean" },
      record: { type: "boolean" },
      "record-proxy": { type: "boolean" },
      "record-upstream": { type: "string" },
      json: { type: "boolean" },
      save: { type: "string" },
      "save-policy": { type: "string" },
      "request-denied": { type: "boolean" },
      justification: { type: "string" },
      expires: { type: "string" },
    },
    USAGE,
  );
  if (values.help) return helped(USAGE);
  if (positionals.length !== 1 || command.length === 0)
    throw new UsageError(`name one role and a command after --\n${USAGE}`);
  const role = positionals[0]!;
  const record = Boolean(values.record || values["record-proxy"]);
  const recordOnly = [
    "record-upstream",
    "json",
    "save",
    "save-policy",
    "request-denied",
    "justification",
    "expires",
  ] as const;
  if (!record)
    for (const flag of recordOnly)
      if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with --record\n${USAGE}`);
  if (values["record-upstream"] !== undefined && !values["record-proxy"])
    throw new UsageError(`--record-upstream goes with --record-proxy\n${USAGE}`);
  if (!values["request-denied"] && (values.justification !== undefined || values.expires !== undefined))
    throw new UsageError(`--justification and --expires go with --request-denied\n${USAGE}`);
  let request: RecordInput["request"];
  if (values["request-denied"]) {
    if (!values.justification?.trim() || !values.expires)
      throw new UsageError(`--request-denied needs --justification and --expires\n${USAGE}`);
    request = { justification: values.justification, expiry: parseDuration(values.expires) };
  }
  if (values["record-upstream"] !== undefined && !/^https?:\/\/[^\s]+$/.test(values["record-upstream"]))
    throw new UsageError(`--record-upstream must be an http(s) URL\n${USAGE}`);
  // Fail before starting anything when the role cannot be used.
  await credentialsFor(role);
  const exec = {
    role,
    command,
    mode: values.env ? ("env" as const) : ("server" as const),
    // The caller's environment as it came (the entry points add nothing to process.env), plus the region.
    env: process.env,
    region: roleRegion(role),
    getCredentials: () => credentialsFor(role),
  };
  // Loaded only to record: a plain `exec` does not pay for the recorder's start-up.
  if (record)
    return (await import("./exec-record.ts")).runRecorded({
      exec,
      proxy: Boolean(values["record-proxy"]),
      ...(values["record-upstream"] ? { upstream: values["record-upstream"] } : {}),
      json: Boolean(values.json),
      ...(values.save ? { save: values.save } : {}),
      ...(values["save-policy"] ? { savePolicy: values["save-policy"] } : {}),
      ...(request ? { request } : {}),
    });
  // A command killed by a signal makes `gatehouse exec` die by the same signal, as a shell expects.
  return runExec({ ...exec, reraise: true });
}
