// The verdict script of `npm run lint:electron`: electronegativity's CSV parsed (quotes, commas and
// newlines inside fields), every finding matched to a reviewed allow-list entry, and stale or
// miscounted entries failing the check — then the real allow-list against the real source tree.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  checkFindings,
  findingsFromCsv,
  parseCsv,
  validateAllowlist,
} from "../../build/electronegativity-check.mjs";

const ROOT = resolve(import.meta.dirname, "../..");
const HEADER = "issue, severity, confidence, filename, location, sample, description, url\n";
const row = (check: string, file: string, sample: string, description: string) =>
  `${check},"MEDIUM","TENTATIVE","${file}","10:2","${sample.replaceAll('"', '""')}","${description}",https://github.com/doyensec/electronegativity/wiki/${check}\n`;
const REASON = "reviewed: the only call passes the URL through the allow-list first, unit-tested";

const tmp = mkdtempSync(join(tmpdir(), "gatehouse-en-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("parseCsv", () => {
  it("reads quoted fields with commas, doubled quotes and newlines", () => {
    expect(parseCsv('a,"b, c","say ""hi""","two\nlines",N/A\r\nx,y,z,w,v\n')).toEqual([
      ["a", "b, c", 'say "hi"', "two\nlines", "N/A"],
      ["x", "y", "z", "w", "v"],
    ]);
    expect(() => parseCsv('a,"open')).toThrow(/unterminated/);
  });
});

describe("findingsFromCsv", () => {
  it("maps electronegativity's rows to repository paths", () => {
    const csv =
      HEADER +
      row("OPEN_EXTERNAL_JS_CHECK", "main/main.ts", 'await shell.openExternal(url, { x: "," });', "Review") +
      `CSP_GLOBAL_CHECK,"MEDIUM","CERTAIN","N/A","0:0",N/A,"No CSP",https://x\n`;
    expect(findingsFromCsv(csv)).toEqual([
      {
        check: "OPEN_EXTERNAL_JS_CHECK",
        severity: "MEDIUM",
        confidence: "TENTATIVE",
        file: "electron/main/main.ts",
        location: "10:2",
        sample: 'await shell.openExternal(url, { x: "," });',
        description: "Review",
      },
      {
        check: "CSP_GLOBAL_CHECK",
        severity: "MEDIUM",
        confidence: "CERTAIN",
        file: "N/A",
        location: "0:0",
        sample: "N/A",
        description: "No CSP",
      },
    ]);
  });

  it("refuses something that is not its CSV (a garbled or truncated report must not pass)", () => {
    expect(() => findingsFromCsv("")).toThrow(/not an electronegativity CSV/);
    expect(() => findingsFromCsv(row("X", "a.ts", "s", "d") + HEADER)).toThrow(
      /not an electronegativity CSV/,
    );
    expect(() => findingsFromCsv(`${HEADER}X,"LOW"\n`)).toThrow(/has 2 fields/);
  });
});

describe("checkFindings", () => {
  const f = (check: string, file: string, description = "d") =>
    ({ check, file, description }) as ReturnType<typeof findingsFromCsv>[number];

  it("passes when every finding has an entry, and fails on the unexplained", () => {
    const list = [{ check: "A", file: "x.ts", reason: REASON }];
    expect(checkFindings([f("A", "x.ts"), f("A", "x.ts")], list)).toEqual({
      unexplained: [],
      stale: [],
      miscounted: [],
    });
    const r = checkFindings([f("A", "x.ts"), f("A", "y.ts"), f("B", "x.ts")], list);
    expect(r.unexplained.map((u) => `${u.check} ${u.file}`)).toEqual(["A y.ts", "B x.ts"]);
  });

  it("fails on entries matching nothing (stale, or a run that lost its findings)", () => {
    const list = [{ check: "A", file: "x.ts", reason: REASON }];
    expect(checkFindings([], list).stale).toEqual(list);
  });

  it("holds an entry to its count and description", () => {
    const list = [{ check: "A", file: "x.ts", reason: REASON, count: 1, description: "parse" }];
    expect(checkFindings([f("A", "x.ts", "Failed to parse")], list).miscounted).toEqual([]);
    expect(checkFindings([f("A", "x.ts", "parse"), f("A", "x.ts", "parse")], list).miscounted).toEqual([
      { entry: list[0], found: 2 },
    ]);
    expect(checkFindings([f("A", "x.ts", "weak policy")], list).unexplained).toHaveLength(1);
  });

  it("validates the allow-list: check, file and a real reason", () => {
    expect(() => validateAllowlist({})).toThrow(/array/);
    expect(() => validateAllowlist([{ check: "A", file: "x.ts" }])).toThrow(/"reason"/);
    expect(() => validateAllowlist([{ check: "A", file: "x.ts", reason: "ok" }])).toThrow(/too short/);
    expect(() => validateAllowlist([{ check: "A", file: "x.ts", reason: REASON, count: 0 }])).toThrow(
      /count/,
    );
  });
});

describe("the script", () => {
  const run = (csv: string, list: unknown) => {
    const csvPath = join(tmp, "en.csv");
    const listPath = join(tmp, "allow.json");
    writeFileSync(csvPath, csv);
    writeFileSync(listPath, JSON.stringify(list));
    return spawnSync(process.execPath, ["build/electronegativity-check.mjs", csvPath, listPath], {
      cwd: ROOT,
      encoding: "utf8",
    });
  };

  it("exits 1 naming the unexplained finding, 0 when all are explained", () => {
    const csv = HEADER + row("OPEN_EXTERNAL_JS_CHECK", "main/x.ts", "shell.openExternal(u)", "Review");
    const bad = run(csv, []);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("unexplained OPEN_EXTERNAL_JS_CHECK (MEDIUM) at electron/main/x.ts:10:2");
    const good = run(csv, [{ check: "OPEN_EXTERNAL_JS_CHECK", file: "electron/main/x.ts", reason: REASON }]);
    expect(good.status).toBe(0);
    expect(good.stdout).toContain("1 findings, all explained");
  });

  it("every entry of the real allow-list is reviewed, and names a file that exists", () => {
    const list = validateAllowlist(
      JSON.parse(readFileSync(resolve(ROOT, "build/electronegativity-allowlist.json"), "utf8")),
    );
    for (const e of list)
      if (e.file !== "N/A") expect(() => readFileSync(resolve(ROOT, e.file))).not.toThrow();
  });

  it("electronegativity itself reports on the shell, and the allow-list explains all of it", () => {
    // What `npm run lint:electron` runs, into a temporary CSV (electronegativity works offline with -e).
    const csv = join(tmp, "real.csv");
    execFileSync(
      resolve(ROOT, "node_modules/.bin/electronegativity"),
      [
        "-i",
        "electron/",
        "-o",
        csv,
        "-e",
        "40.8.5",
        "-x",
        "AvailableSecurityFixesGlobalCheck",
        "-r",
        "-v",
        "false",
      ],
      // One libuv thread, as in `npm run lint:electron`: see build/electronegativity-check.mjs.
      { cwd: ROOT, stdio: "pipe", env: { ...process.env, UV_THREADPOOL_SIZE: "1" } },
    );
    const r = spawnSync(process.execPath, ["build/electronegativity-check.mjs", csv], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  }, 120_000);
});
