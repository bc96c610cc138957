// SECURITY 33/34: the one function that shows control characters and escape sequences instead of letting
// a terminal or a chat act on them, and the Slack quoting of the webhook built on it.

import { describe, expect, it } from "vitest";
import { slackQuote } from "../../broker/webhook.ts";
import { visible, visibleJson } from "../../shared/visible-text.ts";

describe("SECURITY 34: visible()", () => {
  it("shows ESC, CSI and OSC sequences, C0, DEL and C1 controls instead of passing them", () => {
    expect(visible("\u001b[2J\u001b[H\u001b]0;pwned\u0007APPROVED")).toBe(
      "\\x1b[2J\\x1b[H\\x1b]0;pwned\\x07APPROVED",
    );
    expect(visible("a\u009b31mred\u009d0;t\u009c")).toBe("a\\x9b31mred\\x9d0;t\\x9c");
    expect(visible("x\u0000\u0008\u007f\u0085y")).toBe("x\\x00\\x08\\x7f\\x85y");
    expect(visible("line\nnext\r\tend")).toBe("line\\nnext\\r\\tend");
  });

  it("keeps newlines and tabs only when asked, never CR", () => {
    expect(visible("a\n\tb\rc\u001bd", { lines: true })).toBe("a\n\tb\\rc\\x1bd");
  });

  it("shows bidi overrides, isolates and marks and the Unicode line separators", () => {
    expect(visible("\u202agood\u202e\u2066\u2069\u200e\u200f\u061c\u2028\u2029")).toBe(
      "\\u202agood\\u202e\\u2066\\u2069\\u200e\\u200f\\u061c\\u2028\\u2029",
    );
  });

  it("leaves printable text alone, other scripts and emoji included", () => {
    const text = "Grüße, 日本語, émoji 🚀, quotes \"'` and \\ backslash";
    expect(visible(text)).toBe(text);
  });

  it("never lets a byte below 0x20 (but newline and tab) or an ESC through, for every code point up to U+FFFF", () => {
    let all = "";
    for (let c = 0; c < 0x10000; c++) if (c < 0xd800 || c > 0xdfff) all += String.fromCharCode(c);
    const out = visible(all, { lines: true });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the test
    expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
  });
});

describe("SECURITY 34: visibleJson()", () => {
  it("escapes C1 controls and bidi overrides as \\u, and parses back to the same value", () => {
    const value = { a: "\u001b[2J\u009b31m\u202eevil\u2028\u007f", b: ["ok ü"] };
    const text = visibleJson(value);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the test
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u202e]/);
    expect(text).toContain("\\u009b31m\\u202eevil\\u2028\\u007f");
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe("SECURITY 33: slackQuote()", () => {
  it("escapes &, < and >, keeps the text on one line, and cannot leave its code span", () => {
    expect(slackQuote("<!channel> & <https://evil.example|x>")).toBe(
      "`&lt;!channel&gt; &amp; &lt;https://evil.example|x&gt;`",
    );
    expect(slackQuote("a\nb`c")).toBe("`a\\nbˋc`");
    expect(slackQuote("")).toBe("` `");
  });

  it("cuts long text at a number of code points", () => {
    expect(slackQuote("🚀".repeat(10), 3)).toBe("`🚀🚀🚀…`");
  });
});
