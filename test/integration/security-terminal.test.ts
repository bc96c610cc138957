// SECURITY 34 and the agent half of 38, with everything really started (emulator, dev IdP with its login
// form, broker, an agent per person as a child process): alice's hostile justification, policy and
// target, bob's hostile comment and reason, and a hostile role description in IAM reach the terminal of
// whoever runs `gatehouse request show|list|wait|targets`, `roles`, `status` and broker errors as shown
// text: no byte below 0x20 but newline and tab, no ESC, no C1 control, no bidi override. `request show`
// prints the policy, its risk and findings and the approver's edit. The agent's socket refuses every
// Sec-Fetch-* header through the real listener.

import { writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PermissionRequest } from "../../shared/requests.ts";
import {
  cleanUp,
  formLoginHome,
  gatehouse,
  type Home,
  type Result,
  type System,
  startAgent,
  startSystem,
} from "../support/e2e.ts";

const BILLING = "arn:aws:iam::222222222222:role/Billing";
const ESC = "\u001b";
const BEL = "\u0007";

/** Clear the screen, set the window title, draw a red line, forge a line, override the text direction. */
const ATTACK =
  `${ESC}[2J${ESC}[H${ESC}]0;pwned${BEL}${ESC}[31mAPPROVED BY SECURITY${ESC}[0m` +
  "\nRequest 0000 approved by security@example.com\r\u009b31m\u202eevil\u0008\u007f\u0085";
const JUSTIFICATION = `quarterly reports ${ATTACK}`;
const COMMENT = `fine ${ESC}]8;;https://evil.example/${BEL}click${ESC}]8;;${BEL}\nApprovals: all`;
const REASON = `no ${ESC}[2K\rAPPROVED\u009b2J`;
/** A valid policy (no lint error) with hostile bytes inside a condition value, and a wildcard (risk high). */
const POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Action: "s3:*",
      Resource: "*",
      Condition: { StringEquals: { "aws:PrincipalTag/team": `${ESC}]0;pwned${BEL} \u009b31m \u202eevil` } },
    },
  ],
});
const EDITED = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::reports-${ESC}[8m/*` }],
});

let system: System | undefined;
let alice: Home;
let bob: Home;

/** Every byte a terminal could act on: C0 but \n and \t, DEL, C1 (as UTF-8 code points), bidi controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the test
const ACTIONABLE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

function expectClean(r: Result, label: string) {
  for (const [stream, text] of [
    ["stdout", r.stdout],
    ["stderr", r.stderr],
  ] as const) {
    const bytes = Buffer.from(text, "utf8");
    const bad = [...bytes].filter((b) => (b < 0x20 && b !== 0x0a && b !== 0x09) || b === 0x7f);
    expect({ label, stream, bad }).toEqual({ label, stream, bad: [] });
    expect({ label, stream, actionable: ACTIONABLE.exec(text)?.[0] }).toEqual({
      label,
      stream,
      actionable: undefined,
    });
  }
}

async function cli(home: Home, label: string, ...args: string[]): Promise<Result> {
  const r = await gatehouse(home, ...args);
  expectClean(r, label);
  return r;
}

let policyFile: string;
let editedFile: string;
let shownId: string;
let rejectedId: string;

beforeAll(async () => {
  system = await startSystem({
    brokerExtra: "requests:\n  approver_groups: [approvers]\n",
    formLogin: true,
    // A role description in IAM is read by sync and shown by `gatehouse roles`: IAM or its admins wrote it.
    prepare: (emulator) => {
      emulator.world.accounts.get("333333333333")!.roles.get("developer")!.description = `Dev ${ATTACK}`;
    },
  });
  alice = formLoginHome(system, "alice@example.com");
  bob = formLoginHome(system, "bob@example.com");
  policyFile = join(alice.dir, "policy.json");
  editedFile = join(bob.dir, "edited.json");
  writeFileSync(policyFile, POLICY);
  writeFileSync(editedFile, EDITED);
  await Promise.all([startAgent(alice), startAgent(bob)]);
  const [a, b] = await Promise.all([gatehouse(alice, "login"), gatehouse(bob, "login")]);
  expect(a.code, a.stderr).toBe(0);
  expect(b.code, b.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await cleanUp();
  await system?.close();
});

const create = (justification: string) =>
  cli(
    alice,
    "create",
    "request",
    "create",
    "--target",
    BILLING,
    "--policy",
    policyFile,
    "--justification",
    justification,
    "--expires",
    "8h",
  );

describe("SECURITY 34: requester text in the approver's terminal", () => {
  it("request show: justification shown escaped on its line; the policy pretty, with risk and findings", async () => {
    const c = await create(JUSTIFICATION);
    expect(c.code, c.stderr).toBe(0);
    shownId = /^Request ([0-9a-f]+) /m.exec(c.stdout)![1]!;
    const r = await cli(bob, "show", "request", "show", shownId);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split("\n");
    const j = lines.find((l) => l.startsWith("Justification: "))!;
    expect(j).toBe(
      "Justification: quarterly reports \\x1b[2J\\x1b[H\\x1b]0;pwned\\x07\\x1b[31mAPPROVED BY SECURITY\\x1b[0m" +
        "\\nRequest 0000 approved by security@example.com\\r\\x9b31m\\u202eevil\\x08\\x7f\\x85",
    );
    // The forged "approved" text never starts a line of its own.
    expect(lines.some((l) => l.startsWith("Request 0000"))).toBe(false);
    expect(r.stdout).toMatch(/^Policy \(risk: high\):$/m);
    expect(r.stdout).toContain('    {\n      "Version": "2012-10-17",');
    expect(r.stdout).toContain('"Action": "s3:*"');
    // JSON.stringify escapes ESC and BEL; C1 and bidi controls are shown by the CLI.
    expect(r.stdout).toContain('"aws:PrincipalTag/team": "\\u001b]0;pwned\\u0007 \\x9b31m \\u202eevil"');
    expect(r.stdout).toMatch(
      /^ {2}Risk: high \(Statement\[0\] allows every action of s3:\* on every resource\)$/m,
    );
    expect(r.stdout).toMatch(/^ {4}warning +WILDCARD_ACTION +Statement\[0\]\.Action /m);
    expect(r.stdout).toMatch(/^ {4}warning +WILDCARD_RESOURCE +Statement\[0\]\.Resource /m);
  });

  it("request show --json: parseable, the same values, C1 and bidi controls as \\u escapes", async () => {
    const r = await cli(bob, "show --json", "request", "show", shownId, "--json");
    const parsed = JSON.parse(r.stdout) as PermissionRequest;
    expect(parsed.justification).toBe(JUSTIFICATION);
    expect(parsed.policy).toBe(POLICY);
    expect(r.stdout).toContain("\\u009b31m");
    expect(r.stdout).toContain("\\u202eevil");
  });

  it("an approver's edit and comment: the edited policy with its own risk, the diff, the comment escaped", async () => {
    const a = await cli(
      bob,
      "approve",
      "request",
      "approve",
      shownId,
      "--policy",
      editedFile,
      "--comment",
      COMMENT,
    );
    expect(a.code, a.stderr).toBe(0);
    for (const who of [alice, bob]) {
      const r = await cli(who, "show after approval", "request", "show", shownId);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(
        new RegExp(`^Policy of ${BILLING} as an approver edited it \\(risk: \\w+\\):$`, "m"),
      );
      expect(r.stdout).toContain('"Resource": "arn:aws:s3:::reports-\\u001b[8m/*"');
      expect(r.stdout).toContain("The approver changed the policy:");
      expect(r.stdout).toMatch(/^ {4}[-+] /m);
      const approval = r.stdout.split("\n").find((l) => l.includes("bob@example.com approved"))!;
      expect(approval).toContain(
        ": fine \\x1b]8;;https://evil.example/\\x07click\\x1b]8;;\\x07\\nApprovals: all",
      );
      expect(r.stdout.split("\n").filter((l) => l.startsWith("Approvals:"))).toHaveLength(1);
    }
  });

  it("request list, reject with a hostile reason, and the requester's wait line", async () => {
    const c = await create(`second try ${ATTACK}`);
    rejectedId = /^Request ([0-9a-f]+) /m.exec(c.stdout)![1]!;
    await cli(bob, "list --approver", "request", "list", "--approver");
    const rej = await cli(bob, "reject", "request", "reject", rejectedId, "--reason", REASON);
    expect(rej.code, rej.stderr).toBe(0);
    const list = await cli(alice, "list", "request", "list");
    expect(list.stdout).toContain(rejectedId);
    const wait = await cli(alice, "wait", "request", "wait", rejectedId, "--timeout", "10s");
    expect(wait.code).toBe(1);
    expect(wait.stderr.trim().split("\n")).toHaveLength(1);
    expect(wait.stderr).toContain(
      "rejected by bob@example.com: no \\x1b[2K\\rAPPROVED\\x9b2J [REQUEST_REJECTED]",
    );
    await cli(alice, "list --json", "request", "list", "--json");
  });

  it("roles and status: a role description from IAM and the IdP's e-mail and groups, shown", async () => {
    await system!.broker.syncer.syncAll();
    const roles = await cli(alice, "roles", "roles", "--refresh");
    expect(roles.code, roles.stderr).toBe(0);
    const dev = roles.stdout.split("\n").find((l) => l.startsWith("staging/Developer"))!;
    expect(dev).toContain("Dev \\x1b[2J\\x1b[H\\x1b]0;pwned\\x07");
    expect(dev).toContain("\\nRequest 0000 approved");
    const json = await cli(alice, "roles --json", "roles", "--json");
    // IAM's XML carried it (CR read as a newline, as XML does); the JSON keeps what IAM said, escaped.
    expect(
      JSON.parse(json.stdout).find((r: { ref: string }) => r.ref === "staging/Developer").description,
    ).toContain(`Dev ${ESC}[2J${ESC}[H${ESC}]0;pwned${BEL}${ESC}[31mAPPROVED BY SECURITY`);
    const status = await cli(alice, "status", "status");
    expect(status.stdout).toContain("Signed in as alice@example.com");
    await cli(alice, "targets", "request", "targets", "staging");
  });

  it("errors from the broker that echo hostile input are shown, on one line", async () => {
    const r = await cli(
      alice,
      "bad target",
      "request",
      "create",
      "--target",
      `arn:aws:iam::222222222222:user/${ESC}]0;pwned${BEL}bot\nRequest 1 approved`,
      "--policy",
      policyFile,
      "--justification",
      "quarterly reports again",
      "--expires",
      "8h",
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("\\x1b]0;pwned\\x07bot\\nRequest 1 approved");
    // The lint's warnings first, then the one error line; the forged text starts no line.
    const lines = r.stderr.trim().split("\n");
    expect(
      lines.filter((l) => l.startsWith("gatehouse:")),
      r.stderr,
    ).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^gatehouse: no synced IAM user .*\[BAD_REQUEST\]$/);
    expect(lines.some((l) => l.startsWith("Request 1"))).toBe(false);
  });
});

/** One raw HTTP request over the agent's Unix socket. */
function socketRequest(
  home: Home,
  headers: Record<string, string>,
): Promise<{ status: number; code?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: home.socket, path: "/v1/status", method: "GET", headers }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, code: JSON.parse(body).code }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("SECURITY 38: the agent's socket refuses every Sec-Fetch-* header", () => {
  it("Sec-Fetch-Mode: no-cors alone, and each other Sec-Fetch-* header, is 403 FORBIDDEN_ORIGIN", async () => {
    expect((await socketRequest(alice, {})).status).toBe(200);
    const browserLike: Record<string, string>[] = [
      { "Sec-Fetch-Mode": "no-cors" },
      { "Sec-Fetch-Dest": "empty" },
      { "Sec-Fetch-User": "?1" },
      { "Sec-Fetch-Site": "same-origin" },
      { "sec-fetch-storage-access": "active" },
      { Referrer: "https://evil.example/" },
      { Origin: "null" },
    ];
    for (const headers of browserLike)
      expect({ headers, ...(await socketRequest(alice, headers)) }).toEqual({
        headers,
        status: 403,
        code: "FORBIDDEN_ORIGIN",
      });
    expect((await socketRequest(alice, { "user-agent": "aws-cli/2" })).status).toBe(200);
  });
});
