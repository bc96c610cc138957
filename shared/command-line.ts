// A command typed on one line into the tray's "Record" field, split into argv the way a POSIX shell splits
// words (whitespace; '…' literal; "…" with \" \\ \$ \` escapes; a backslash outside quotes escapes the next
// character), and nothing else: no variables, globs, pipes or redirections. What the person sees as the argv is
// exactly what main shows in its confirmation and what is run, without a shell.

export type SplitResult = { ok: true; argv: string[] } | { ok: false; error: string };

export function splitCommandLine(text: string): SplitResult {
  const argv: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return { ok: false, error: "a ' quote is not closed" };
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < text.length) {
        const d = text[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === "\\" && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) {
          word += text[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      if (!closed) return { ok: false, error: 'a " quote is not closed' };
      inWord = true;
    } else if (c === "\\") {
      if (i + 1 >= text.length) return { ok: false, error: "the line ends with a lone backslash" };
      word += text[i + 1];
      inWord = true;
      i += 2;
    } else if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      if (inWord) argv.push(word);
      word = "";
      inWord = false;
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) argv.push(word);
  if (argv.length === 0) return { ok: false, error: "type a command to run" };
  return { ok: true, argv };
}
