// Reads test reports (vitest JSON, Playwright JSON) and prints the one line CI reads: "N passed, N failed".
// A test file that fails to load counts as a failure, so a broken file cannot pass silently; a report with no
// tests at all counts as one failure; a skipped test is never counted as passed.
import { readFileSync } from "node:fs";

/** Vitest's JSON reporter: totals, plus suites that failed without a failed test (a file that did not load). */
function vitest(report) {
  const passed = report.numPassedTests ?? 0;
  let failed = report.numFailedTests ?? 0;
  for (const suite of report.testResults ?? []) {
    const anyFailed = (suite.assertionResults ?? []).some((a) => a.status === "failed");
    if (suite.status === "failed" && !anyFailed) failed += 1;
  }
  if ((report.numTotalTests ?? 0) === 0) failed += 1;
  return { passed, failed, skipped: report.numPendingTests ?? 0 };
}

/**
 * Playwright's JSON reporter: every test by its final status (expected or flaky: passed; unexpected:
 * failed; skipped: neither), and each error outside a test (a spec file that does not load) as a failure.
 */
function playwright(report) {
  const n = { passed: 0, failed: 0, skipped: 0 };
  const walk = (suite) => {
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests ?? []) {
        if (t.status === "expected" || t.status === "flaky") n.passed += 1;
        else if (t.status === "unexpected") n.failed += 1;
        else n.skipped += 1;
      }
    }
    for (const s of suite.suites ?? []) walk(s);
  };
  for (const s of report.suites ?? []) walk(s);
  n.failed += (report.errors ?? []).length;
  if (n.passed + n.failed + n.skipped === 0) n.failed += 1;
  return n;
}

let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    console.error(`no test report at ${file}`);
    failed += 1;
    continue;
  }
  const isPlaywright = Array.isArray(report.suites) && typeof report.config === "object";
  const n = isPlaywright ? playwright(report) : vitest(report);
  passed += n.passed;
  failed += n.failed;
  if (n.skipped > 0) console.error(`${file}: ${n.skipped} skipped (not counted as passed)`);
}
// .ci/run counts a failed typecheck or lint as a failure of the run as well.
failed += Number(process.env.GATEHOUSE_CHECKS_FAILED ?? 0) || 0;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
