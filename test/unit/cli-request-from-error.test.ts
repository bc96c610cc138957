// `request from-error`'s input: the text from words or standard input, its size limit, and the draft's summary.

import { describe, expect, it } from "vitest";
import { formatDraft, readErrorText } from "../../electron/cli/commands/request-from-error.ts";
import { UsageError } from "../../electron/cli/io.ts";
import { draftFromDenials } from "../../shared/denials/draft.ts";
import { parseDenials } from "../../shared/denials/parse.ts";

const never = () => {
  throw new Error("standard input must not be read");
};

describe("readErrorText", () => {
  it("reads standard input for no word and for -", () => {
    expect(readErrorText([], "u", () => "from stdin")).toBe("from stdin");
    expect(readErrorText(["-"], "u", () => "from stdin")).toBe("from stdin");
  });
  it("joins the words of an unquoted paste, without reading standard input", () => {
    expect(readErrorText(["User:", "arn:aws:iam::1:user/a", "is", "not"], "u", never)).toBe(
      "User: arn:aws:iam::1:user/a is not",
    );
  });
  it("empty or blank text, and more than 1 MiB, are usage errors", () => {
    expect(() => readErrorText([], "u", () => "  \n")).toThrow(UsageError);
    expect(() => readErrorText([], "u", () => "x".repeat(1024 * 1024 + 1))).toThrow(/larger than 1024 KiB/);
  });
});

describe("formatDraft", () => {
  it("names the target and the actions, with control characters escaped", async () => {
    const text =
      "User: arn:aws:sts::111111111111:assumed-role/Dev/alice is not authorized to perform: s3:ListBucket on resource: arn:aws:s3:::b because no identity-based policy allows the s3:ListBucket action";
    const draft = await draftFromDenials(
      parseDenials(text),
      [
        {
          arn: "arn:aws:iam::111111111111:role/Dev\u001b[31m",
          accountId: "111111111111",
          type: "role",
          name: "Dev",
        },
      ],
      async () => ({
        name: "s3:ListBucket",
        wildcardOnly: false,
        dependentActions: ["s3:GetBucketLocation"],
      }),
    );
    const out = formatDraft(draft);
    expect(out).toContain("From 1 denial: arn:aws:iam::111111111111:role/Dev");
    expect(out).toContain(
      "Actions: s3:GetBucketLocation, s3:ListBucket (dependent, added: s3:GetBucketLocation)",
    );
    expect(out).not.toContain("\u001b");
  });
});
