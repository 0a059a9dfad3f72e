#!/usr/bin/env bash
# Memory of a move applying one large source transaction: peak RSS of `reshard move` (release)
# while it applies a transaction of N rows (about 200 bytes each), next to a quiet move of the
# same table, in one run.
#
#   scripts/bench-bigtx.sh                 (SIZES="300000 1500000 5000000")
#
# On the local instances (scripts/db.sh): bench_bigtx.t (200,000 rows) on instance 1 moved to
# instances 2 and 3 (hash of id). For each size, a fresh move is started; once it has copied,
# one INSERT ... SELECT of N rows commits on the source; when every row is on the targets the
# move's peak RSS (VmHWM) is read and it is stopped (SIGTERM). The quiet move does the same
# without the transaction. Every target ends with the source's rows (a checksum).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

SIZES=${SIZES:-"300000 1500000 5000000"}
BASE_ROWS=200000
local_instances
db=bench_bigtx
sql() { sql_at "$@"; }
dsn() { echo "mysql://$user@127.0.0.1:$1/$db"; }
export RESHARD_SOURCE_PASSWORD=$password RESHARD_TARGET_PASSWORD=$password
src=$base; t1=$((base + 1)); t2=$((base + 2))

ensure_build_tools
scripts/db.sh up >/dev/null
cargo build --release --quiet -p reshard-cli
reshard=target/release/reshard

count() { # rows with id > $1 on both targets
  local n=0 m
  for port in $t1 $t2; do m=$(sql "$port" $db -N -e "SELECT COUNT(*) FROM t WHERE id > $1" 2>/dev/null || echo 0); n=$((n + m)); done
  echo $n
}
checksum() { sql "$1" $db -N -e "SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', id, k, v, n))) FROM t"; }

run() { # rows of the transaction (0: quiet) -> peak RSS in MiB
  local rows=$1 pid hwm
  for port in $src $t1 $t2; do sql "$port" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"; done
  sql $src $db -e "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, k INT NOT NULL, v VARCHAR(200) NOT NULL, n DECIMAL(12,2));
                   INSERT INTO t SELECT seq, seq % 1000, REPEAT('v', 150), seq / 3 FROM seq_1_to_$BASE_ROWS"
  $reshard move --source "$(dsn $src)" --target "$(dsn $t1)" --target "$(dsn $t2)" --shard-by t=id:hash \
    >/dev/null 2>/tmp/bench-bigtx.log &
  pid=$!
  until [[ $(count 0) -ge $BASE_ROWS ]]; do sleep 0.2; done
  if ((rows > 0)); then
    sql $src $db -e "INSERT INTO t SELECT 10000000 + seq, seq % 1000, REPEAT('x', 150), seq / 3 FROM seq_1_to_$rows"
    until [[ $(count 10000000) -ge $rows ]]; do sleep 0.2; done
  else
    sleep 5
  fi
  hwm=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")
  kill -TERM $pid
  wait $pid || true
  local want got
  want=$(checksum $src)
  got=$( { checksum $t1; checksum $t2; } | awk '{ c += $1; s += $2 } END { printf "%d\t%d", c, s }')
  [[ "$got" == "$(awk '{ printf "%d\t%d", $1, $2 }' <<<"$want")" ]] ||
    { echo "bench-bigtx: the targets differ from the source ($got, not $want)" >&2; exit 1; }
  echo "$hwm"
}

quiet=$(run 0)
printf '%-28s %14s %10s\n' "move" "peak RSS MiB" "x quiet"
printf '%-28s %14s %10s\n' "quiet (no transaction)" "$quiet" "1.00"
for rows in $SIZES; do
  hwm=$(run "$rows")
  printf '%-28s %14s %10s\n' "one transaction of $rows rows" "$hwm" "$(awk -v a="$hwm" -v b="$quiet" 'BEGIN { printf "%.2f", a / b }')"
done
echo "every target equals the source (checksum over every column)"
