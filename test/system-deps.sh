#!/usr/bin/env bash
# Installs (Debian, as root) or names (elsewhere) the system packages the tests need: the real AWS CLI v2,
# Chromium for browser tests, a Secret Service (gnome-keyring on D-Bus) for keychain tests, and the
# PostgreSQL server binaries (the tests start private clusters of their own; the system service is unused).
set -euo pipefail

missing=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
need() { # package, check command
  local pkg=$1; shift
  if command -v dpkg-query >/dev/null 2>&1; then have_pkg "$pkg" || missing+=("$pkg")
  else "$@" >/dev/null 2>&1 || missing+=("$pkg"); fi
}
need awscli test -x /usr/bin/aws
need chromium test -x /usr/bin/chromium
need gnome-keyring command -v gnome-keyring-daemon
need dbus command -v dbus-run-session
need dbus-x11 command -v dbus-launch
need libsecret-1-dev pkg-config --exists libsecret-1
# Any installed major version will do (dev/postgres.ts takes the newest under /usr/lib/postgresql).
have_initdb() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || [ -x "${GATEHOUSE_PG_BIN:-/nonexistent}/initdb" ]; }
have_initdb || missing+=(postgresql)

if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ -r /etc/debian_version ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "test set-up: installing ${missing[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "test set-up: these system packages are missing: ${missing[*]}" >&2
  echo "install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}; elsewhere the AWS CLI v2, Chromium," >&2
  echo "gnome-keyring, D-Bus, libsecret and the PostgreSQL server (set GATEHOUSE_PG_BIN to its bin folder)" >&2
  echo "from your package manager) and run the tests again." >&2
  exit 1
fi
