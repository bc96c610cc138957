#!/usr/bin/env node
// The verdict of `npm run lint:electron`. Electronegativity always exits 0, so this script reads its
// CSV and fails unless every finding is explained by a reviewed entry of
// build/electronegativity-allowlist.json ({check, file, reason}, optionally `description`: a text the
// finding's description must contain, and `count`: exactly how many findings the entry covers). It also
// fails on entries that no longer match anything (a stale explanation hides the next real finding, and
// a run that lost its findings would otherwise pass).
//
//   node build/electronegativity-check.mjs [CSV] [ALLOWLIST]
// CSV defaults to .tmp/electronegativity.csv (electronegativity run with -i electron/ -r: its paths are
// relative to electron/, reported here relative to the repository).
//
// `npm run lint:electron` pins the Electron version (-e 40.8.5, so no network is needed) and skips
// AvailableSecurityFixesGlobalCheck (-x): that check only judges an electron version found in a
// package.json under the scanned directory (electron/ has none) and would download Electron's release
// list to do it. Keeping Electron current is the dependency review's job.
//
// It also runs electronegativity with UV_THREADPOOL_SIZE=1: electronegativity writes the CSV header
// (truncating) and appends the findings as two concurrent async writes; on a busy machine the header
// write can land after the findings and overwrite their start (a CSV with an unterminated quote). With
// one libuv thread the writes happen in the order they were issued.

import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const HEADER = ["issue", "severity", "confidence", "filename", "location", "sample", "description", "url"];

/**
 * @typedef {{ check: string, severity: string, confidence: string, file: string, location: string,
 *   sample: string, description: string }} Finding
 * @typedef {{ check: string, file: string, reason: string, description?: string, count?: number }} Entry
 */

/**
 * RFC 4180 CSV: quoted fields may hold commas, doubled quotes and newlines.
 * @param {string} text
 * @returns {string[][]}
 */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      if (row.some((f) => f !== "")) rows.push(row);
      row = [];
      field = "";
    } else field += ch;
  }
  if (quoted) throw new Error("unterminated quoted field");
  row.push(field);
  if (row.some((f) => f !== "")) rows.push(row);
  return rows;
}

/**
 * Findings from electronegativity's CSV; `inputDir` turns its relative paths into repository paths.
 * @param {string} text
 * @returns {Finding[]}
 */
export function findingsFromCsv(text, inputDir = "electron") {
  const rows = parseCsv(text);
  const header = rows.shift()?.map((h) => h.trim());
  if (!header || header.join(",") !== HEADER.join(","))
    throw new Error(`not an electronegativity CSV (header: ${header?.join(",") ?? "none"})`);
  return rows.map((r, i) => {
    if (r.length !== HEADER.length)
      throw new Error(`row ${i + 2} has ${r.length} fields, not ${HEADER.length}`);
    const [check, severity, confidence, filename, location, sample, description] = r;
    const file = filename === "N/A" ? "N/A" : join(inputDir, filename).split("\\").join("/");
    return { check, severity, confidence, file, location, sample, description };
  });
}

/**
 * @param {unknown} entries
 * @returns {Entry[]}
 */
export function validateAllowlist(entries) {
  if (!Array.isArray(entries)) throw new Error("the allow-list must be a JSON array");
  entries.forEach((e, i) => {
    for (const key of ["check", "file", "reason"])
      if (typeof e?.[key] !== "string" || e[key].trim() === "")
        throw new Error(`allow-list entry ${i}: "${key}" must be a non-empty string`);
    if (e.reason.trim().length < 40)
      throw new Error(
        `allow-list entry ${i} (${e.check} in ${e.file}): the reason is too short to be a review`,
      );
    if (e.count !== undefined && !(Number.isInteger(e.count) && e.count > 0))
      throw new Error(`allow-list entry ${i}: "count" must be a positive integer`);
    if (e.description !== undefined && typeof e.description !== "string")
      throw new Error(`allow-list entry ${i}: "description" must be a string`);
  });
  return entries;
}

/** @param {Entry} entry @param {Pick<Finding, "check" | "file" | "description">} f */
const matches = (entry, f) =>
  entry.check === f.check &&
  entry.file === f.file &&
  (entry.description === undefined || f.description.includes(entry.description));

/**
 * What makes the check fail: findings no entry explains, entries that match nothing, wrong counts.
 * @param {Pick<Finding, "check" | "file" | "description">[]} findings
 * @param {Entry[]} allowlist
 */
export function checkFindings(findings, allowlist) {
  const unexplained = findings.filter((f) => !allowlist.some((e) => matches(e, f)));
  const stale = [];
  const miscounted = [];
  for (const e of allowlist) {
    const n = findings.filter((f) => matches(e, f)).length;
    if (n === 0) stale.push(e);
    else if (e.count !== undefined && n !== e.count) miscounted.push({ entry: e, found: n });
  }
  return { unexplained, stale, miscounted };
}

function main(argv) {
  const csvPath = resolve(argv[0] ?? join(ROOT, ".tmp/electronegativity.csv"));
  const listPath = resolve(argv[1] ?? join(ROOT, "build/electronegativity-allowlist.json"));
  let findings;
  let allowlist;
  try {
    findings = findingsFromCsv(readFileSync(csvPath, "utf8"));
    allowlist = validateAllowlist(JSON.parse(readFileSync(listPath, "utf8")));
  } catch (e) {
    console.error(`lint:electron: ${e.message}`);
    return 1;
  }
  const { unexplained, stale, miscounted } = checkFindings(findings, allowlist);
  for (const f of unexplained)
    console.error(
      `lint:electron: unexplained ${f.check} (${f.severity}) at ${f.file}:${f.location}: ${f.description}` +
        (f.sample && f.sample !== "N/A" ? `\n    ${f.sample.trim()}` : ""),
    );
  for (const e of stale)
    console.error(`lint:electron: allow-list entry ${e.check} in ${e.file} matches no finding; remove it`);
  for (const { entry, found } of miscounted)
    console.error(
      `lint:electron: ${entry.check} in ${entry.file}: ${found} findings, the allow-list reviewed ${entry.count}`,
    );
  const failed = unexplained.length + stale.length + miscounted.length;
  if (failed > 0) {
    console.error(`lint:electron: FAILED (${findings.length} findings, ${failed} problems)`);
    return 1;
  }
  console.log(
    `lint:electron: ${findings.length} findings, all explained in ${listPath.slice(ROOT.length + 1)}`,
  );
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  process.exitCode = main(process.argv.slice(2));
