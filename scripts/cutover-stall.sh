#!/usr/bin/env bash
# The application's write stall across a cutover: runs the deferred-cutover test
# (tests/it/cutover.rs: a 2 -> 3 move, three connections writing to the sources until the hook
# switches them to the targets, every write retried until it succeeds) REPEAT times and prints
# the longest write of each run (lock wait, catch-up under the lock, hook and renames included),
# then the largest. Each run also checks, with the oracle, that no write was lost.
#
#   scripts/cutover-stall.sh            (REPEAT=5)
#
# Needs the local servers (scripts/db.sh up).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPEAT=${REPEAT:-5}
worst=0
for i in $(seq 1 "$REPEAT"); do
  line=$(cargo test -q -p reshard-cli --test integration -- \
    cutover::a_deferred_cutover_switches_a_writing_application_without_losing_a_write \
    --exact --nocapture 2>&1 | grep 'write stall across the cutover') || {
    echo "run $i failed" >&2
    exit 1
  }
  echo "run $i: $line"
  ms=$(sed -E 's/.*longest application write ([0-9]+) ms.*/\1/' <<<"$line")
  ((ms > worst)) && worst=$ms
done
echo "largest write stall over $REPEAT cutovers: $worst ms"
