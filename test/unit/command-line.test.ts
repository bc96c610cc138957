import { describe, expect, it } from "vitest";
import { splitCommandLine } from "../../shared/command-line.ts";

const argv = (t: string) => {
  const r = splitCommandLine(t);
  if (!r.ok) throw new Error(r.error);
  return r.argv;
};

describe("splitCommandLine", () => {
  it("splits on white space, as a shell would", () => {
    expect(argv("  aws  iam\tlist-roles ")).toEqual(["aws", "iam", "list-roles"]);
  });
  it("keeps quoted text as one word, literally in single quotes", () => {
    expect(argv(`sh -c 'aws iam list-users; echo "$HOME"'`)).toEqual([
      "sh",
      "-c",
      'aws iam list-users; echo "$HOME"',
    ]);
    expect(argv(`echo "a \\"b\\" \\\\ \\n"`)).toEqual(["echo", 'a "b" \\ \\n']);
    expect(argv(`a'b'"c" ''`)).toEqual(["abc", ""]);
  });
  it("a backslash escapes the next character outside quotes", () => {
    expect(argv("touch my\\ file \\'x")).toEqual(["touch", "my file", "'x"]);
  });
  it("does nothing a shell would expand: no variables, globs or pipes", () => {
    expect(argv("echo $HOME * | cat > out")).toEqual(["echo", "$HOME", "*", "|", "cat", ">", "out"]);
  });
  it("refuses unclosed quotes, a trailing backslash and an empty line", () => {
    for (const t of ["echo 'a", 'echo "a', "echo \\", "   "]) expect(splitCommandLine(t).ok).toBe(false);
  });
});
