// No file the repository tracks keeps a merge's conflict markers: biome and tsc never read stylesheets,
// fixtures or docs, so a marker left there would break only the renderer build (it once did) or ship.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const MARKER = /^(<{7}|>{7})(?: |$)|^={7}$/m;

it("no tracked text file holds a conflict marker", () => {
  const files = execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8" })
    .split("\0")
    .filter((f) => f && /\.(ts|tsx|mts|mjs|cjs|js|css|html|md|json|ya?ml|sh|txt)$/.test(f));
  expect(files.length).toBeGreaterThan(100);
  const marked = files.filter((f) => {
    let text: string;
    try {
      text = readFileSync(resolve(ROOT, f), "utf8");
    } catch {
      return false; // listed but not checked out (sparse clone)
    }
    return MARKER.test(text);
  });
  expect(marked).toEqual([]);
});
