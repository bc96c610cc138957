// Where a lint finding is in the text: a small JSON scanner that records, for every path the lint speaks
// of (`Statement[0].Action[2]`, `Statement["aws:x"]`), the character range of that member (key and value
// for object members, the value for list items). The editor turns these into inline markers.

import type { Finding } from "./codes.ts";
import { child } from "./grammar.ts";

export interface Range {
  from: number;
  to: number;
}

/** Ranges by path; "" is the whole document. Unparseable text yields what was read before the fault. */
export function pathRanges(text: string): Map<string, Range> {
  const out = new Map<string, Range>();
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const fail = (): never => {
    throw new Error("stop");
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    if (i >= text.length) fail();
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail();
    }
  };
  const value = (path: string, memberStart?: number): void => {
    ws();
    const start = i;
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") i++;
      else
        for (;;) {
          ws();
          if (text[i] !== '"') fail();
          const keyStart = i;
          const key = str();
          ws();
          if (text[i] !== ":") fail();
          i++;
          value(child(path, key), keyStart);
          ws();
          if (text[i] === ",") i++;
          else if (text[i] === "}") {
            i++;
            break;
          } else fail();
        }
    } else if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") i++;
      else
        for (let n = 0; ; n++) {
          value(`${path}[${n}]`);
          ws();
          if (text[i] === ",") i++;
          else if (text[i] === "]") {
            i++;
            break;
          } else fail();
        }
    } else if (c === '"') str();
    else {
      const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
      if (!m) fail();
      i += m![0].length;
    }
    out.set(path, { from: memberStart ?? start, to: i });
  };
  try {
    value("");
  } catch {
    // keep what was read
  }
  if (!out.has("")) out.set("", { from: 0, to: 0 });
  return out;
}

/** The range of a finding: its path's, the nearest enclosing path's, or the JSON error's position. */
export function locate(text: string, findings: readonly Finding[]): (Finding & Range)[] {
  const ranges = pathRanges(text);
  return findings.map((f) => {
    if (f.code === "INVALID_JSON") {
      const pos = /position (\d+)/.exec(f.message);
      if (pos) {
        const at = Math.min(Number(pos[1]), text.length);
        return { ...f, from: at, to: Math.min(at + 1, text.length) };
      }
      return { ...f, from: Math.max(0, text.length - 1), to: text.length };
    }
    let p = f.path;
    for (;;) {
      const r = p === "" ? { from: 0, to: 0 } : ranges.get(p);
      if (r) return { ...f, from: r.from, to: r.to };
      const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
      if (cut <= 0) p = "";
      else p = p.slice(0, cut);
    }
  });
}
