// Reads test reports (vitest JSON) and prints the one line CI reads: "N passed, N failed".
// A test file that fails to load counts as a failure, so a broken file cannot pass silently.
import { readFileSync } from "node:fs";

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
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  for (const suite of report.testResults ?? []) {
    const anyFailed = (suite.assertionResults ?? []).some((a) => a.status === "failed");
    if (suite.status === "failed" && !anyFailed) failed += 1;
  }
  if ((report.numTotalTests ?? 0) === 0) failed += 1;
}
// .ci/run counts a failed typecheck or lint as a failure of the run as well.
failed += Number(process.env.GATEHOUSE_CHECKS_FAILED ?? 0) || 0;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
