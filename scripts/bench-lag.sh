#!/usr/bin/env bash
# Replication lag over time: reshard move of a table while a workload writes to the source at its
# full rate, during the copy and after it.
#
#   scripts/bench-lag.sh                  (ROWS=2000000, SECONDS_OF_LOAD=60, CLIENTS=2)
#
# On the local instances (scripts/db.sh): makes bench_lag.t with ROWS rows on instance 1, then
# starts `reshard move --stop-when-caught-up=5s` to instance 2 and at once CLIENTS mariadb clients
# that, for SECONDS_OF_LOAD seconds, run as fast as the source takes them: single-row updates of
# random rows, inserts and deletes, each its own transaction. When the load stops, the move
# catches up and exits. Prints the move's progress lines (every 10 s: rows copied, and per source
# the lag in seconds and binlog bytes), the workload's rate, and checks that the target equals the
# source.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ROWS=${ROWS:-2000000}
SECONDS_OF_LOAD=${SECONDS_OF_LOAD:-60}
CLIENTS=${CLIENTS:-2}
base=${RESHARD_DB_PORT_BASE:-33061}
user=${RESHARD_DB_USER:-reshard}
password=${RESHARD_DB_PASSWORD:-reshard}
db=bench_lag
sql() { local port=$1; shift; mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -u"$user" -p"$password" "$@"; }
dsn() { echo "mysql://$user:$password@127.0.0.1:$1/$db"; }
src=$base
dst=$((base + 1))

ensure_build_tools
scripts/db.sh up >/dev/null
cargo build --release --quiet -p reshard-cli
for port in $src $dst; do sql "$port" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"; done
echo "== bench_lag.t with $ROWS rows on instance 1" >&2
sql $src $db -e "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, k BIGINT NOT NULL, v VARCHAR(64) NOT NULL,
                                  n DECIMAL(12,2), ts DATETIME(6), KEY (k));
                 INSERT INTO t SELECT seq, seq * 7 % 100003, CONCAT('row ', seq), seq / 4, '2024-01-01' + INTERVAL seq SECOND
                 FROM seq_1_to_$ROWS"

log=$(mktemp)
start=$(date +%s.%N)
target/release/reshard move --source "$(dsn $src)" --target "$(dsn $dst)" --stop-when-caught-up=5s >"$log.out" 2>"$log" &
mover=$!

# One client: SECONDS_OF_LOAD seconds of single-row changes, as fast as the source takes them.
client() {
  local c=$1 end=$(($(date +%s) + SECONDS_OF_LOAD)) i=0
  while (($(date +%s) < end)); do
    for ((j = i + 1; j <= i + 200; j++)); do
      echo "UPDATE t SET v = CONCAT('u', $j), n = n + 1 WHERE id = $(((RANDOM * 32768 + RANDOM) % ROWS + 1));"
      echo "INSERT INTO t VALUES ($((ROWS + c * 100000000 + j)), $j, 'new', 1, NOW(6));"
      echo "DELETE FROM t WHERE id = $(((RANDOM * 32768 + RANDOM) % ROWS + 1));"
    done | sql $src $db
    i=$((i + 200))
    echo $((i * 3)) >"$log.client$c"
  done
}
for ((c = 1; c <= CLIENTS; c++)); do client "$c" & done
wait $(jobs -p | grep -v "^$mover$") 2>/dev/null || true
load_end=$(date +%s.%N)
changes=0
for ((c = 1; c <= CLIENTS; c++)); do changes=$((changes + $(cat "$log.client$c"))); done
wait "$mover"
end=$(date +%s.%N)

echo "== progress of the move (t = seconds since it started)"
grep -E "progress:|changes:|copy is done|catching up" "$log" | sed 's/\x1b\[[0-9;]*m//g' |
  awk -v s="$start" '{ split($1, a, /[T:Z]/); print }'
cat "$log.out"
awk -v n="$changes" -v a="$start" -v b="$load_end" -v e="$end" 'BEGIN {
  printf "workload: %d row changes in %.1f s (%.0f/s); the move caught up %.1f s after the load stopped\n", n, b - a, n / (b - a), e - b }'
checksum() { sql "$1" $db -N -e "SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', id, k, v, IFNULL(n, 'N'), IFNULL(ts, 'N')))) FROM t"; }
want=$(checksum $src); got=$(checksum $dst)
if [[ "$want" != "$got" ]]; then echo "bench-lag: the target differs ($got, not $want)" >&2; exit 1; fi
echo "target identical: $want (rows, checksum)"
rm -f "$log" "$log".*
