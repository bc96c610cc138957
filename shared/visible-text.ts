// Text from requesters and the IdP made safe to show: control characters and escape sequences are shown
// (`\x1b`, `\u202e`), never executed by a terminal nor read as line breaks by a chat (SECURITY 33, 34).

/**
 * What is shown escaped: C0 controls (ESC starts ANSI/OSC sequences, CR overwrites a line, BS erases),
 * DEL, C1 controls (0x9b is a one-byte CSI, 0x9d a one-byte OSC), Unicode line and paragraph separators,
 * and the bidirectional overrides and marks that make text read in another order than it is stored.
 * \n and \t only when the caller shows multi-line text on purpose.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE_BUT_LINES = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

const SHORT: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function shown(c: string): string {
  const short = SHORT[c];
  if (short) return short;
  const code = c.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * `text` with every control character, escape sequence introducer and bidi override replaced by its
 * escaped form. `lines` keeps newlines and tabs (for multi-line text such as a pretty-printed policy);
 * otherwise the result is always one line.
 */
export function visible(text: string, opts: { lines?: boolean } = {}): string {
  return text.replace(opts.lines ? UNSAFE_BUT_LINES : UNSAFE, shown);
}

const UNSAFE_IN_JSON = /[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * JSON for a terminal: JSON.stringify escapes C0 controls but writes DEL, C1 controls (a one-byte CSI)
 * and bidi overrides raw; these become `\uXXXX` escapes too, so the JSON parses to the same value.
 */
export function visibleJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    UNSAFE_IN_JSON,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
