#!/usr/bin/env bash
# Runs reshard's whole test suite against real local MariaDB servers.
#
#   scripts/test.sh [extra cargo test arguments]
#
# Installs what is missing (MariaDB, build tools), brings the servers of scripts/db.sh up, runs
# every unit, property and integration test, and exits non-zero on any failure. Servers that were
# not running before are stopped again at the end; RESHARD_KEEP_SERVERS=1 leaves them up.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ensure_build_tools

started_here=0
if ! scripts/db.sh status 2>/dev/null | grep -q ' up '; then started_here=1; fi
scripts/db.sh up
if ((started_here)) && [[ "${RESHARD_KEEP_SERVERS:-0}" != 1 ]]; then
  trap 'scripts/db.sh down' EXIT
fi

# Integration tests mostly wait on servers: run more of them at once than there are cores.
log=$(mktemp)
status=0
cargo test --workspace "$@" -- --test-threads="${RESHARD_TEST_THREADS:-6}" 2>&1 | tee "$log" || status=$?

if ((started_here)) && [[ "${RESHARD_KEEP_SERVERS:-0}" != 1 ]]; then
  trap - EXIT
  scripts/db.sh down
fi

# cargo prints one result line per test binary, the last often an empty doc-test run: close with
# the totals over all of them.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
exit "$status"
