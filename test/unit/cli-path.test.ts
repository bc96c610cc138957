// What generated profiles run: an absolute command in every case, and profiles moved when it moves.

import { resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  managedBlockCommand,
  renderManagedBlock,
  retargetManagedBlock,
} from "../../electron/agent/aws-config.ts";
import { cliCommand } from "../../electron/agent/cli-path.ts";
import common from "../../electron/cli/agent-common.cjs";

const ROOT = resolve(import.meta.dirname, "../..");

describe("cliCommand", () => {
  afterEach(() => {
    common.self.command = undefined;
  });

  it("the settings' command wins; then GATEHOUSE_CLI (the tray's installed tool), quoted when needed", () => {
    expect(
      cliCommand({ cliCommand: "/opt/x/gatehouse" }, { GATEHOUSE_CLI: "/usr/local/bin/gatehouse" }),
    ).toBe("/opt/x/gatehouse");
    expect(
      cliCommand({}, { GATEHOUSE_CLI: "/Applications/Gate House.app/Contents/Resources/cli/gatehouse" }),
    ).toBe("'/Applications/Gate House.app/Contents/Resources/cli/gatehouse'");
  });

  it("the single-file binary names itself; from a checkout or npm it is Node and bin/gatehouse.cjs, both absolute", () => {
    common.self.command = ["/home/alice/.local/bin/gatehouse"];
    expect(cliCommand({}, {})).toBe("/home/alice/.local/bin/gatehouse");
    common.self.command = undefined;
    expect(cliCommand({}, {})).toBe(`${process.execPath} ${resolve(ROOT, "bin/gatehouse.cjs")}`);
  });
});

describe("retargetManagedBlock", () => {
  const block = renderManagedBlock(
    [
      { name: "a", role: "prod/ReadOnly", region: "eu-west-1" },
      { name: "b", role: "staging/Developer" },
    ],
    { command: "/usr/bin/node /old/bin/gatehouse.cjs" },
  );
  const text = `[profile mine]\ncredential_process = /usr/bin/node /old/bin/gatehouse.cjs credential-process --role x/y\n\n${block}`;

  it("points every profile inside the block at the new command and leaves the rest byte for byte", () => {
    const after = retargetManagedBlock(text, "/usr/local/bin/gatehouse");
    expect(after).toBe(
      text.replace(
        /^credential_process = \/usr\/bin\/node \/old\/bin\/gatehouse\.cjs (credential-process --role (prod|staging)\/\S+)$/gm,
        "credential_process = /usr/local/bin/gatehouse $1",
      ),
    );
    expect(after.startsWith("[profile mine]\ncredential_process = /usr/bin/node /old/")).toBe(true);
    expect(managedBlockCommand(after)).toBe("/usr/local/bin/gatehouse");
    expect(retargetManagedBlock(after, "/usr/local/bin/gatehouse")).toBe(after);
  });

  it("keeps CRLF line ends, does nothing without a block, and refuses a command that would break the file", () => {
    const crlf = text.replace(/\n/g, "\r\n");
    expect(retargetManagedBlock(crlf, "/x/gatehouse")).toContain(
      "credential_process = /x/gatehouse credential-process --role staging/Developer\r\n",
    );
    expect(retargetManagedBlock("[default]\nregion = eu-west-1\n", "/x")).toBe(
      "[default]\nregion = eu-west-1\n",
    );
    expect(managedBlockCommand("[default]\n")).toBeUndefined();
    expect(() => retargetManagedBlock(text, "/x/gatehouse\n[profile evil]")).toThrow(
      expect.objectContaining({ code: "BAD_ARGUMENT" }),
    );
  });
});
