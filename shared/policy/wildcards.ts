// IAM wildcards: action patterns as regular expressions, and whether two ARN patterns can name one resource.

const regexCache = new Map<string, RegExp>();

/** `*` is any run, `?` one character; IAM compares action names case-insensitively. */
export function actionPattern(pattern: string): RegExp {
  const key = pattern.toLowerCase();
  let re = regexCache.get(key);
  if (!re) {
    const body = key
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".");
    re = new RegExp(`^${body}$`, "is");
    regexCache.set(key, re);
  }
  return re;
}

export function hasWildcard(s: string): boolean {
  return s.includes("*") || s.includes("?");
}

/**
 * One position of a pattern: a literal character, one character, or a run of characters, the last two
 * never containing the characters in `not`. A policy's `*` excludes nothing; a catalogue ARN format's
 * `${Account}` excludes ":" and "/", which is what lets `arn:aws:s3:::bucket` be told from an object ARN.
 */
export type Token = { t: "lit"; c: string } | { t: "one"; not: string } | { t: "run"; not: string };

const ESCAPES: Record<string, string> = { "${*}": "*", "${?}": "?", "${$}": "$" };

/**
 * A policy's Resource as tokens. Policy variables (`${aws:username}`) are unknown until the request, so
 * they may be anything; comparison is case-insensitive to stay on the side of "it may fit".
 */
export function resourceTokens(pattern: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "$" && pattern[i + 1] === "{") {
      const end = pattern.indexOf("}", i);
      if (end > 0) {
        const whole = pattern.slice(i, end + 1);
        const escaped = ESCAPES[whole];
        // A variable is one principal's own value, never a name nobody wrote: see NOBODY in escalation.ts.
        out.push(escaped ? { t: "lit", c: escaped } : { t: "run", not: "\0" });
        i = end;
        continue;
      }
    }
    if (ch === "*") out.push({ t: "run", not: "" });
    else if (ch === "?") out.push({ t: "one", not: "" });
    else out.push({ t: "lit", c: ch.toLowerCase() });
  }
  return out;
}

/** A catalogue ARN format (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`) as tokens. */
export function formatTokens(format: string): Token[] {
  const out: Token[] = [];
  let colons = 0;
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch === "$" && format[i + 1] === "{") {
      const end = format.indexOf("}", i);
      if (end > 0) {
        const name = format.slice(i + 2, end);
        // Partition, region and account never hold ":" or "/", nor does a bucket name; other names
        // (paths, object keys) may hold anything.
        const not = colons < 5 ? ":/" : name === "BucketName" ? "/" : "";
        out.push({ t: "run", not });
        i = end;
        continue;
      }
    }
    if (ch === ":") colons++;
    out.push({ t: "lit", c: ch.toLowerCase() });
  }
  return out;
}

function fits(a: Token, b: Token): boolean {
  if (a.t === "lit") return b.t === "lit" ? a.c === b.c : !b.not.includes(a.c);
  if (b.t === "lit") return !a.not.includes(b.c);
  return true;
}

/** Past this many states the answer is "yes": a lint must not spend seconds on one resource. */
const MAX_STATES = 1_000_000;

/**
 * Whether some string matches both patterns: a walk over pairs of positions. Two runs never consume a
 * character together, since a shortest common string needs no such step; that keeps the walk finite.
 */
export function overlaps(a: Token[], b: Token[]): boolean {
  const n = a.length;
  const m = b.length;
  const width = m + 1;
  if ((n + 1) * width > MAX_STATES) return true;
  const seen = new Uint8Array((n + 1) * width);
  const stack = [0];
  seen[0] = 1;
  const visit = (i: number, j: number) => {
    const k = i * width + j;
    if (!seen[k]) {
      seen[k] = 1;
      stack.push(k);
    }
  };
  while (stack.length > 0) {
    const k = stack.pop()!;
    const i = Math.floor(k / width);
    const j = k % width;
    if (i === n && j === m) return true;
    const x = a[i];
    const y = b[j];
    if (x?.t === "run") visit(i + 1, j);
    if (y?.t === "run") visit(i, j + 1);
    if (x && y && fits(x, y) && !(x.t === "run" && y.t === "run")) {
      visit(x.t === "run" ? i : i + 1, y.t === "run" ? j : j + 1);
    }
  }
  return false;
}

export interface Arn {
  partition: string;
  service: string;
  region: string;
  account: string;
  resource: string;
}

/** The six parts of an ARN, the last one keeping its own colons; undefined when there are fewer. */
export function splitArn(s: string): Arn | undefined {
  const parts = s.split(":");
  if (parts.length < 6 || parts[0] !== "arn") return undefined;
  const [, partition, service, region, account] = parts as [string, string, string, string, string];
  return { partition, service, region, account, resource: parts.slice(5).join(":") };
}
