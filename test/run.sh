#!/usr/bin/env bash
# `npm test`: installs what the tests need, then runs every test inside a private D-Bus session with an
# unlocked gnome-keyring (the real Secret Service): vitest (unit and integration), then the Playwright browser
# tests (`npm run test:e2e`: renderer build + Chromium). Between the two, the broker suites run a second
# time on PostgreSQL (GATEHOUSE_TEST_STORE=postgres: every test broker on a fresh database of a private
# cluster). Ends with one line "N passed, N failed" over all three reports.
# `npm run build:cli` comes first (the single-file CLI is tested as the AWS CLI's credential_process).
# Arguments go to the first vitest run only (and then skip the PostgreSQL pass); the browser tests always
# run in full.
set -uo pipefail
cd "$(dirname "$0")/.."

bash test/system-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

mkdir -p .tmp
rm -f .tmp/vitest.json .tmp/vitest-postgres.json .tmp/playwright.json
# The PostgreSQL pass: every broker-*/e2e-* integration suite (they start brokers through test/support),
# except a file that says it is about SQLite itself with a line "// test-store: sqlite-only".
pg_suites=()
if [ $# -eq 0 ]; then
  for f in test/integration/broker-*.test.ts test/integration/e2e-*.test.ts; do
    grep -q "^// test-store: sqlite-only" "$f" || pg_suites+=("$f")
  done
fi
# The single-file `gatehouse` (dist/cli/gatehouse) that test/integration/cli-single-file.test.ts runs.
npm run --silent build:cli || { echo "0 passed, 1 failed"; exit 1; }
# The keyring's password only unlocks this throw-away session's keyring, kept in a folder of its own: a
# login keyring left in ~/.local/share/keyrings with another password would otherwise stay locked.
keyrings=$(mktemp -d)
trap 'rm -rf "$keyrings"' EXIT
dbus-run-session -- env GATEHOUSE_TEST_KEYRINGS="$keyrings" GATEHOUSE_PG_SUITES="${pg_suites[*]}" bash -c '
  printf "gatehouse-test\n" | XDG_DATA_HOME="$GATEHOUSE_TEST_KEYRINGS" gnome-keyring-daemon --unlock --components=secrets >/dev/null
  npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json "$@"
  vitest=$?
  if [ -n "$GATEHOUSE_PG_SUITES" ]; then
    # shellcheck disable=SC2086 # a list of file names without spaces
    GATEHOUSE_TEST_STORE=postgres npx vitest run --reporter=default --reporter=json \
      --outputFile.json=.tmp/vitest-postgres.json $GATEHOUSE_PG_SUITES || vitest=1
  fi
  npm run --silent test:e2e
  e2e=$?
  [ $vitest -eq 0 ] && [ $e2e -eq 0 ]
' vitest "$@"
status=$?
reports=(.tmp/vitest.json .tmp/playwright.json)
[ ${#pg_suites[@]} -gt 0 ] && reports+=(.tmp/vitest-postgres.json)
node test/summary.mjs "${reports[@]}"
summary=$?
[ $status -eq 0 ] && [ $summary -eq 0 ] || exit 1
