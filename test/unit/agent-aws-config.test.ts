// The managed block of ~/.aws/config: rendering, insert/replace/remove in place with everything outside
// kept byte for byte, conflicts with the user's profiles, broken markers, names, atomic writes, and the
// generated profiles read back by the JS SDK (through sh) and the AWS CLI v2 (through shlex).

import { execFile } from "node:child_process";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fromProcess } from "@aws-sdk/credential-provider-process";
import { afterAll, describe, expect, it } from "vitest";
import {
  applyManagedBlock,
  awsConfigPath,
  BEGIN_MARKER,
  commandLine,
  END_MARKER,
  type ManagedProfile,
  profileName,
  readAwsConfig,
  renderManagedBlock,
  writeAwsConfig,
} from "../../electron/agent/aws-config.ts";

const tmp = mkdtempSync(join(tmpdir(), "gatehouse-aws-config-"));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const PROFILES: ManagedProfile[] = [
  { name: "staging-Developer", role: "staging/Developer", region: "eu-west-1" },
  { name: "prod-ReadOnly", role: "arn:aws:iam::222222222222:role/ReadOnly", region: "us-east-1" },
];
const block = (profiles = PROFILES) => renderManagedBlock(profiles, { command: "gatehouse" });

// A user's file with the things editors and people leave behind: comments of both kinds, odd spacing,
// tabs, trailing blanks, an sso-session, a services section, and no managed block.
const USER = `# my config, keep this comment
[default]
region=eu-central-1
output =   json   \t

;  a semicolon comment
[profile   personal ]   ; inline
aws_access_key_id = ignored-here
\t
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start

[services local]
s3 =
  endpoint_url = http://localhost:4566
`;

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return "no error";
};

describe("renderManagedBlock", () => {
  it("one section per profile, sorted, between the markers", () => {
    expect(block()).toBe(
      `${BEGIN_MARKER}
[profile prod-ReadOnly]
credential_process = gatehouse credential-process --role arn:aws:iam::222222222222:role/ReadOnly
region = us-east-1

[profile staging-Developer]
credential_process = gatehouse credential-process --role staging/Developer
region = eu-west-1
${END_MARKER}
`,
    );
  });

  it("no profiles → no block", () => {
    expect(renderManagedBlock([], { command: "gatehouse" })).toBe("");
  });

  it("the region line is left out when there is none", () => {
    expect(
      renderManagedBlock([{ name: "a", role: "111111111111/Admin" }], { command: "gatehouse" }),
    ).not.toContain("region");
  });

  it("the command is used as given (already a command line)", () => {
    const b = renderManagedBlock([{ name: "a", role: "x/y" }], {
      command: "/usr/bin/node '/opt/Gate House/gatehouse.mjs'",
    });
    expect(b).toContain(
      "credential_process = /usr/bin/node '/opt/Gate House/gatehouse.mjs' credential-process --role x/y\n",
    );
  });

  it("two roles that would get the same profile name are refused", () => {
    expect(
      code(() =>
        block([
          { name: "a", role: "x/y" },
          { name: "a", role: "x/z" },
        ]),
      ),
    ).toBe("CONFIG_CONFLICT");
  });

  it.each([
    "prod ReadOnly",
    "prod/Read'Only",
    'prod/"ReadOnly"',
    "prod/$(id)",
    "prod/`id`",
    "prod/ReadOnly;id",
    "prod/ReadOnly #x",
    "prod/Read\nOnly",
    "prod/Read\tOnly",
    "prod/*",
    "",
  ])("role reference %j is refused", (role) => {
    expect(code(() => block([{ name: "a", role }]))).toBe("BAD_ARGUMENT");
  });

  it.each([
    "prod/ReadOnly",
    "123456789012/ReadOnly",
    "arn:aws:iam::123456789012:role/path/to/Admin",
    "acct/Role+With=Odd,Chars@x.y_z-1",
  ])("role reference %j is accepted as it is", (role) => {
    expect(block([{ name: "a", role }])).toContain(`--role ${role}\n`);
  });

  it.each(["bad name", "a]b", "", "__proto__", "x\n[profile y]"])("profile name %j is refused", (name) => {
    expect(code(() => block([{ name, role: "x/y" }]))).toBe("BAD_ARGUMENT");
  });

  it.each(["us-east-1\n[profile evil]", "US-EAST-1", "us-east", ""])("region %j is refused", (region) => {
    expect(code(() => block([{ name: "a", role: "x/y", region }]))).toBe("BAD_ARGUMENT");
  });

  it.each(["", "gatehouse\n[profile x]", "gatehouse #", "gatehouse;id"])(
    "command %j is refused",
    (command) => {
      expect(code(() => renderManagedBlock([{ name: "a", role: "x/y" }], { command }))).toBe("BAD_ARGUMENT");
    },
  );
});

describe("applyManagedBlock", () => {
  it("into an empty file: the block alone", () => {
    expect(applyManagedBlock("", block())).toBe(block());
  });

  it("appends after one blank line, the user's text untouched byte for byte", () => {
    const out = applyManagedBlock(USER, block());
    expect(out).toBe(`${USER}\n${block()}`);
    expect(out.startsWith(USER)).toBe(true);
  });

  it("a file without a final newline gets one, then the blank line", () => {
    expect(applyManagedBlock("[default]\nregion = x", block())).toBe(`[default]\nregion = x\n\n${block()}`);
  });

  it("is idempotent", () => {
    const once = applyManagedBlock(USER, block());
    expect(applyManagedBlock(once, block())).toBe(once);
    expect(applyManagedBlock(applyManagedBlock(once, block()), block())).toBe(once);
  });

  it("replaces the block in place, text before and after kept byte for byte", () => {
    const before = "# top\n[profile mine]\nregion = eu-west-3\n\n";
    const after = "\n# added by hand after the block  \n[profile later]\t\nregion = ap-south-1\n";
    const old = `${before}${BEGIN_MARKER}\n[profile gone]\ncredential_process = x\n${END_MARKER}\n${after}`;
    const out = applyManagedBlock(old, block());
    expect(out).toBe(`${before}${block()}${after}`);
  });

  it("a hand-edited block is overwritten, marker wording changes included", () => {
    const old = `${USER}\n# >>> gatehouse managed profiles (old wording) >>>\nedited = by hand\n# <<< gatehouse managed profiles — old <<<\n`;
    expect(applyManagedBlock(old, block())).toBe(`${USER}\n${block()}`);
  });

  it("an empty block removes the block; insert then remove gives the original back", () => {
    const withBlock = applyManagedBlock(USER, block());
    expect(applyManagedBlock(withBlock, renderManagedBlock([], { command: "gatehouse" }))).toBe(USER);
    expect(applyManagedBlock(USER, "")).toBe(USER);
    expect(applyManagedBlock("", "")).toBe("");
  });

  it("removing a block in the middle keeps both sides exactly", () => {
    const old = `# a\n\n${block()}\n# b\n`;
    expect(applyManagedBlock(old, "")).toBe("# a\n\n\n# b\n");
  });

  it("pruning: a role no longer available disappears from the block", () => {
    const both = applyManagedBlock(USER, block());
    const one = applyManagedBlock(both, block([PROFILES[0]!]));
    expect(one).toContain("[profile staging-Developer]");
    expect(one).not.toContain("prod-ReadOnly");
    expect(one.startsWith(`${USER}\n`)).toBe(true);
  });

  it("CRLF files: the block is written with CRLF and the rest kept byte for byte", () => {
    const crlf = USER.replaceAll("\n", "\r\n");
    const out = applyManagedBlock(crlf, block());
    expect(out).toBe(`${crlf}\r\n${block().replaceAll("\n", "\r\n")}`);
    expect(out.replaceAll("\r\n", "")).not.toContain("\n");
    expect(applyManagedBlock(out, block())).toBe(out);
    expect(applyManagedBlock(out, "")).toBe(crlf);
  });

  it("a BOM and non-ASCII comments outside the block are kept", () => {
    const text = "\uFEFF# Zürich 🔑\n[profile x]\nregion = eu-central-2\n";
    expect(applyManagedBlock(text, block())).toBe(`${text}\n${block()}`);
  });

  describe("the user's profiles are never shadowed", () => {
    it.each([
      ["[profile staging-Developer]", "staging-Developer"],
      ["[profile   staging-Developer  ]", "staging-Developer"],
      ['[profile "staging-Developer"]', "staging-Developer"],
      ["  [profile staging-Developer] ; mine", "staging-Developer"],
      ["[staging-Developer]", "staging-Developer"],
    ])("%s outside the block → CONFIG_CONFLICT", (header) => {
      const text = `# mine\n${header}\nregion = eu-west-1\n`;
      expect(code(() => applyManagedBlock(text, block()))).toBe("CONFIG_CONFLICT");
      // Also when a block already exists: the clash is with the user's section, not ours.
      const withBlock = `${applyManagedBlock("", block([PROFILES[1]!]))}${text}`;
      expect(code(() => applyManagedBlock(withBlock, block()))).toBe("CONFIG_CONFLICT");
    });

    it("the message names the profile and says what to do", () => {
      expect(() => applyManagedBlock("[profile prod-ReadOnly]\n", block())).toThrow(
        /prod-ReadOnly.*rename or remove/,
      );
    });

    it("[default] clashes with a managed profile named default", () => {
      const mine = block([{ name: "default", role: "x/y" }]);
      expect(code(() => applyManagedBlock("[default]\nregion = us-east-1\n", mine))).toBe("CONFIG_CONFLICT");
      expect(code(() => applyManagedBlock("[profile default]\n", mine))).toBe("CONFIG_CONFLICT");
    });

    it.each([
      "# [profile staging-Developer]",
      "; [profile staging-Developer]",
      "[sso-session staging-Developer]",
      "[services staging-Developer]",
      "[profile staging-Developer-old]",
      "credential_process = [profile staging-Developer]",
    ])("%s is no clash", (line) => {
      const text = `${line}\n`;
      expect(applyManagedBlock(text, block())).toBe(`${text}\n${block()}`);
    });

    it("a profile of the same name inside the block is ours to replace", () => {
      const once = applyManagedBlock(USER, block());
      expect(applyManagedBlock(once, block())).toBe(once);
    });

    it("removing the block is allowed even when the user has profiles of those names", () => {
      expect(applyManagedBlock("[profile prod-ReadOnly]\n", "")).toBe("[profile prod-ReadOnly]\n");
    });
  });

  describe("broken markers are refused, never guessed at", () => {
    const b = block();
    it.each([
      ["two blocks", `${b}\n${b}`],
      ["a start without an end", `${USER}${BEGIN_MARKER}\n[profile x]\n`],
      ["an end without a start", `${USER}${END_MARKER}\n`],
      ["end before start", `${END_MARKER}\n${USER}${BEGIN_MARKER}\n`],
      ["two starts, one end", `${BEGIN_MARKER}\n${b}`],
    ])("%s → CONFIG_CONFLICT", (_name, text) => {
      expect(code(() => applyManagedBlock(text, block()))).toBe("CONFIG_CONFLICT");
      expect(code(() => applyManagedBlock(text, ""))).toBe("CONFIG_CONFLICT");
    });
  });
});

describe("profileName", () => {
  const vars = { account: "staging", accountId: "333333333333", role: "Developer" };
  it.each([
    ["{account}-{role}", vars, "staging-Developer"],
    ["{accountId}.{role}", vars, "333333333333.Developer"],
    ["gh_{account}_{role}", vars, "gh_staging_Developer"],
    ["{account}/{role}", vars, "staging-Developer"],
    ["{account}-{role}", { ...vars, account: "My Team's Account" }, "My-Team-s-Account-Developer"],
    ["{account}-{role}", { ...vars, account: "Zürich 🔑" }, "Z-rich---Developer"],
    ["{account}-{role}", { ...vars, account: "[x]\nregion" }, "-x--region-Developer"],
    ["{role}", vars, "Developer"],
  ])("%s with %j → %s", (template, v, expected) => {
    expect(profileName(template, v)).toBe(expected);
  });

  it("an unknown token is refused", () => {
    expect(code(() => profileName("{acount}-{role}", vars))).toBe("BAD_ARGUMENT");
  });

  it("a name that sanitises to nothing usable is refused", () => {
    expect(code(() => profileName("{role}", { ...vars, role: "" }))).toBe("BAD_ARGUMENT");
    expect(code(() => profileName("{role}", { ...vars, role: "__proto__" }))).toBe("BAD_ARGUMENT");
  });

  it("every name it gives renders", () => {
    const name = profileName("{account}-{role}", { ...vars, account: "a b;c#d'e" });
    expect(() => block([{ name, role: "x/y" }])).not.toThrow();
  });
});

describe("commandLine", () => {
  it("leaves plain paths alone and single-quotes the rest for sh and shlex", () => {
    expect(commandLine(["/usr/local/bin/gatehouse"], "linux")).toBe("/usr/local/bin/gatehouse");
    expect(commandLine(["/usr/bin/node", "/opt/Gate House/it's.mjs"], "linux")).toBe(
      "/usr/bin/node '/opt/Gate House/it'\\''s.mjs'",
    );
  });

  it("double-quotes for cmd.exe on Windows", () => {
    expect(commandLine(["C:\\Program Files\\Gatehouse\\gatehouse.exe"], "win32")).toBe(
      '"C:\\Program Files\\Gatehouse\\gatehouse.exe"',
    );
    expect(commandLine(["C:\\bin\\gatehouse.exe"], "win32")).toBe("C:\\bin\\gatehouse.exe");
  });
});

describe("awsConfigPath", () => {
  it("AWS_CONFIG_FILE wins, with ~ expanded; else ~/.aws/config", () => {
    expect(awsConfigPath({ AWS_CONFIG_FILE: "/x/config" })).toBe("/x/config");
    expect(awsConfigPath({ AWS_CONFIG_FILE: "~/cfg" })).toMatch(/\/cfg$/);
    expect(awsConfigPath({ AWS_CONFIG_FILE: "~/cfg" })).not.toContain("~");
    expect(awsConfigPath({})).toMatch(/\/\.aws\/config$/);
  });
});

describe("writeAwsConfig and readAwsConfig", () => {
  it("a new file is 0600 in a parent created 0700", async () => {
    const dir = join(tmp, "new", ".aws");
    const path = join(dir, "config");
    expect(readAwsConfig(path)).toBe("");
    writeAwsConfig(path, "[default]\n");
    expect(readFileSync(path, "utf8")).toBe("[default]\n");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readAwsConfig(path)).toBe("[default]\n");
  });

  it.each([0o644, 0o640, 0o600])(
    "an existing file keeps its mode %o, and no temp file is left",
    async (mode) => {
      const dir = join(tmp, `mode-${mode.toString(8)}`);
      mkdirSync(dir);
      const path = join(dir, "config");
      writeFileSync(path, "old\n", { mode });
      const inode = statSync(path).ino;
      writeAwsConfig(path, "new\n");
      expect(readFileSync(path, "utf8")).toBe("new\n");
      expect(statSync(path).mode & 0o777).toBe(mode);
      // Replaced by rename, not rewritten: a reader never sees a half-written file.
      expect(statSync(path).ino).not.toBe(inode);
      expect(readdirSync(dir)).toEqual(["config"]);
    },
  );

  it("a symlinked config (dotfile managers) is written through to its target, the link kept", async () => {
    const dir = join(tmp, "link");
    mkdirSync(join(dir, "dotfiles"), { recursive: true });
    writeFileSync(join(dir, "dotfiles", "aws-config"), "old\n", { mode: 0o600 });
    symlinkSync(join(dir, "dotfiles", "aws-config"), join(dir, "config"));
    writeAwsConfig(join(dir, "config"), "new\n");
    expect(lstatSync(join(dir, "config")).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, "dotfiles", "aws-config"), "utf8")).toBe("new\n");
  });

  it("a failed rename is a coded error and leaves no temp file (a directory stands where the file goes)", async () => {
    const dir = join(tmp, "blocked");
    mkdirSync(join(dir, "config", "inside"), { recursive: true });
    expect(code(() => writeAwsConfig(join(dir, "config"), "new\n"))).toBe("INTERNAL");
    expect(readdirSync(dir)).toEqual(["config"]);
    expect(readdirSync(join(dir, "config"))).toEqual(["inside"]);
  });

  it("a parent that is a file is a coded error", async () => {
    writeFileSync(join(tmp, "a-file"), "");
    expect(code(() => writeAwsConfig(join(tmp, "a-file", "config"), "x"))).toBe("INTERNAL");
  });
});

describe("the generated profiles, read by the real SDK and CLI", () => {
  const run = promisify(execFile);
  // A stand-in for gatehouse at a path with spaces; it hands the --role it received back as the token.
  const binDir = join(tmp, "bin dir");
  mkdirSync(binDir);
  const fake = join(binDir, "fake gatehouse.mjs");
  writeFileSync(
    fake,
    `const args = process.argv.slice(2);
if (args.length !== 3 || args[0] !== "credential-process" || args[1] !== "--role") {
  console.error("unexpected arguments " + JSON.stringify(args));
  process.exit(2);
}
process.stdout.write(JSON.stringify({
  Version: 1,
  AccessKeyId: "ASIAFAKEGATEHOUSE001",
  SecretAccessKey: "fake-secret",
  SessionToken: args[2],
  Expiration: new Date(Date.now() + 3600000).toISOString(),
}));
`,
  );
  const roles = [
    "staging/Developer",
    "arn:aws:iam::222222222222:role/path/Admin",
    "acct/Role+With=Odd,Chars@x.y",
  ];
  const configPath = join(tmp, "sdk", "config");
  const profiles = roles.map((role, i) => ({ name: `p${i}`, role, region: "eu-west-1" }));

  it("are written next to the user's profiles", async () => {
    const text = applyManagedBlock(
      USER,
      renderManagedBlock(profiles, { command: commandLine([process.execPath, fake]) }),
    );
    writeAwsConfig(configPath, text);
    expect(readFileSync(configPath, "utf8").startsWith(USER)).toBe(true);
  });

  it.each(roles.map((role, i) => [role, `p${i}`]))(
    "JS SDK fromProcess (through sh): %s",
    async (role, profile) => {
      const creds = await fromProcess({
        profile,
        configFilepath: configPath,
        filepath: join(tmp, "no-credentials"),
        ignoreCache: true,
      })();
      expect(creds.accessKeyId).toBe("ASIAFAKEGATEHOUSE001");
      expect(creds.sessionToken).toBe(role);
    },
  );

  it.each(roles.map((role, i) => [role, `p${i}`]))(
    "AWS CLI v2 (through shlex): %s",
    async (role, profile) => {
      const { stdout } = await run(
        "/usr/bin/aws",
        ["configure", "export-credentials", "--profile", profile, "--format", "process"],
        {
          env: {
            PATH: process.env.PATH,
            HOME: tmp,
            AWS_CONFIG_FILE: configPath,
            AWS_SHARED_CREDENTIALS_FILE: join(tmp, "no-credentials"),
          },
        },
      );
      const out = JSON.parse(stdout);
      expect(out.AccessKeyId).toBe("ASIAFAKEGATEHOUSE001");
      expect(out.SessionToken).toBe(role);
    },
  );
});
