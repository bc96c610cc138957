// `gatehouse exec --record`'s flags: every misuse is a usage error before anything starts (no agent call, no
// listener), and the text handed to `request from-error` holds each denied call's message once.

import { describe, expect, it } from "vitest";
import { summarize } from "../../electron/agent/record/recording.ts";
import { run } from "../../electron/cli/commands/exec.ts";
import { deniedText, recordingText } from "../../electron/cli/commands/exec-record.ts";
import { UsageError } from "../../electron/cli/io.ts";
import type { RecordedCall } from "../../shared/recording.ts";

describe("exec --record flags", () => {
  it.each([
    [
      "--save without --record",
      ["staging/Developer", "--save", "f", "--", "true"],
      /--save goes with --record/,
    ],
    ["--json without --record", ["staging/Developer", "--json", "--", "true"], /--json goes with --record/],
    [
      "--request-denied without a justification",
      ["--record", "staging/Developer", "--request-denied", "--expires", "8h", "--", "true"],
      /needs --justification and --expires/,
    ],
    [
      "a justification without --request-denied",
      ["--record", "staging/Developer", "--justification", "x", "--", "true"],
      /go with --request-denied/,
    ],
    [
      "a bad duration",
      [
        "--record",
        "staging/Developer",
        "--request-denied",
        "--justification",
        "x",
        "--expires",
        "forever",
        "--",
        "true",
      ],
      /not a duration/,
    ],
    [
      "--record-upstream without the proxy",
      ["--record", "staging/Developer", "--record-upstream", "http://127.0.0.1:1", "--", "true"],
      /goes with --record-proxy/,
    ],
    [
      "--record-upstream not http(s)",
      ["--record-proxy", "staging/Developer", "--record-upstream", "file:///etc/passwd", "--", "true"],
      /must be an http\(s\) URL/,
    ],
    ["no command", ["--record", "staging/Developer"], /name one role and a command/],
  ])("%s → usage error", async (_name, argv, message) => {
    const e = await run(argv).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toMatch(message);
  });
});

describe("what --request-denied hands to request from-error", () => {
  const call = (over: Partial<RecordedCall>): RecordedCall => ({
    source: "csm",
    service: "IAM",
    api: "ListUsers",
    region: null,
    status: 403,
    errorCode: "AccessDenied",
    errorMessage: "User: a is not authorized to perform: iam:ListUsers",
    outcome: "denied",
    actions: ["iam:ListUsers"],
    mapping: "dataset",
    dependent: [],
    resources: [],
    at: "t",
    ...over,
  });
  it("each denied message once; allowed calls and empty messages left out", () => {
    const r = summarize(
      [
        call({}),
        call({}),
        call({ api: "GetRole", errorMessage: "User: a is not authorized to perform: iam:GetRole" }),
        call({ api: "ListRoles", outcome: "allowed", status: 200, errorCode: null, errorMessage: null }),
        call({ api: "GetUser", errorMessage: null }),
      ],
      { role: "r", command: [], exitCode: 0, startedAt: "t", ignored: 0 },
    );
    expect(deniedText(r)).toBe(
      "User: a is not authorized to perform: iam:ListUsers\nUser: a is not authorized to perform: iam:GetRole",
    );
  });
});

describe("the terminal report", () => {
  it("AWS's messages and hostile service or API names are shown escaped, never executed", () => {
    const r = summarize(
      [
        {
          source: "proxy",
          service: "iam\u001b[31m",
          api: "GetRole",
          region: null,
          status: 403,
          errorCode: "AccessDenied\u001b[2J",
          errorMessage: "User: x\u001b]0;pwned\u0007 is not authorized\nforged line",
          outcome: "denied",
          actions: ["iam:GetRole"],
          mapping: "dataset",
          dependent: [],
          resources: [],
          at: "t",
        },
      ],
      { role: "staging/Developer", command: [], exitCode: 0, startedAt: "t", ignored: 0 },
    );
    const text = recordingText(r);
    expect(text).toContain("Denied");
    expect(text).not.toContain("\u001b");
    expect(text).not.toContain("\u0007");
    expect(text).not.toMatch(/^forged line/m);
  });
});
