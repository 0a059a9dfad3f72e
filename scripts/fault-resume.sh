#!/usr/bin/env bash
# Kill -9 and resume, as many times as asked: a 2 -> 3 move (hash) of three tables under a
# workload on both sources (inserts, updates, deletes, sharding-key and primary-key updates,
# multi-row transactions, two 100,000-row transactions) is killed with SIGKILL at a random
# instant (0.3 to 4 s after it starts: in the copy, the catch-up or the verification) and run
# again with the same command, CYCLES times; then run once more to the end. The oracle compares
# the sources' union with the targets' (the servers' own ordered dumps) and checks that every
# row is on the shard its keyspace id belongs to; the verification inside the move must have
# repaired nothing.
#
#   scripts/fault-resume.sh [CYCLES]        (default 50)
#   FAULTS=all scripts/fault-resume.sh 10   (also: target and source mariadbd killed and
#                                            restarted, connections killed, a full tablespace,
#                                            a kill in the middle of a large transaction)
#
# Prints the cycles run, the rows copied again per resume (median, max) and the oracle's verdict.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

CYCLES=${1:-50}
ensure_build_tools
scripts/db.sh up >/dev/null
filter=resume::a_move_killed_at_random
[[ ${FAULTS:-} == all ]] && filter=resume::
log=$(mktemp)
status=0
RESHARD_RESUME_CYCLES=$CYCLES cargo test --quiet -p reshard-cli --test integration -- "$filter" \
  --nocapture --test-threads 1 >"$log" 2>&1 || status=$?
grep -E "^(resume|resume at|target kill|source kill|connection kills|large transaction)" "$log" | cut -c1-300 || true
grep -E "^test result" "$log" || true
if ((status != 0)); then
  tail -n 60 "$log" >&2
  echo "fault-resume: FAILED (full output in $log)" >&2
  exit $status
fi
rm -f "$log"
