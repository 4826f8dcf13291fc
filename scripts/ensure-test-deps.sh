#!/usr/bin/env bash
# Installs the Debian packages the test suites need when they are missing: nginx (upstream fixture
# and X-Accel-Redirect front end) and curl (the real client of the e2e suites). `--bench` adds wrk.
# Idempotent and quiet; costs one `command -v` per tool when everything is already there.
# Skipped when PITH_SKIP_TEST_DEPS=1 or when the machine has no apt-get (the suites that need a
# missing tool then fail loudly rather than skip silently).
set -euo pipefail

[[ "${PITH_SKIP_TEST_DEPS:-}" == 1 ]] && exit 0

want=()
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || want+=(nginx-light)
command -v curl >/dev/null 2>&1 || want+=(curl)
command -v sha256sum >/dev/null 2>&1 || want+=(coreutils)
if [[ "${1:-}" == --bench ]]; then
  command -v wrk >/dev/null 2>&1 || want+=(wrk)
fi
((${#want[@]} == 0)) && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-deps: missing ${want[*]} and no apt-get here; install them by hand" >&2
  exit 1
fi
sudo=()
if [[ $(id -u) != 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo -n); else
    echo "ensure-test-deps: missing ${want[*]}; run as root: apt-get install -y ${want[*]}" >&2
    exit 1
  fi
fi

echo "ensure-test-deps: installing ${want[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${want[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "ensure-test-deps: apt-get failed for ${want[*]}" >&2
  exit 1
fi
# The Debian nginx package starts a system service on port 80; the tests run their own instances.
if [[ " ${want[*]} " == *" nginx-light "* ]] && command -v systemctl >/dev/null 2>&1; then
  "${sudo[@]}" systemctl disable --now nginx >/dev/null 2>&1 || true
fi
