#!/usr/bin/env bash
# `npm test`: installs what the tests need, then runs every test inside a private D-Bus session with an
# unlocked gnome-keyring (the real Secret Service): vitest (unit and integration), then the Playwright browser
# tests (`npm run test:e2e`: renderer build + Chromium). Ends with one line "N passed, N failed" over both.
# `npm run build:cli` comes first (the single-file CLI is tested as the AWS CLI's credential_process).
# Arguments go to vitest only; the browser tests always run in full.
set -uo pipefail
cd "$(dirname "$0")/.."

bash test/system-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

mkdir -p .tmp
rm -f .tmp/vitest.json .tmp/playwright.json
# The single-file `gatehouse` (dist/cli/gatehouse) that test/integration/cli-single-file.test.ts runs.
npm run --silent build:cli || { echo "0 passed, 1 failed"; exit 1; }
# The keyring's password only unlocks this throw-away session's keyring, kept in a folder of its own: a
# login keyring left in ~/.local/share/keyrings with another password would otherwise stay locked.
keyrings=$(mktemp -d)
trap 'rm -rf "$keyrings"' EXIT
dbus-run-session -- env GATEHOUSE_TEST_KEYRINGS="$keyrings" bash -c '
  printf "gatehouse-test\n" | XDG_DATA_HOME="$GATEHOUSE_TEST_KEYRINGS" gnome-keyring-daemon --unlock --components=secrets >/dev/null
  npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json "$@"
  vitest=$?
  npm run --silent test:e2e
  e2e=$?
  [ $vitest -eq 0 ] && [ $e2e -eq 0 ]
' vitest "$@"
status=$?
node test/summary.mjs .tmp/vitest.json .tmp/playwright.json
summary=$?
[ $status -eq 0 ] && [ $summary -eq 0 ] || exit 1
