#!/usr/bin/env bash
# What checkpoints cost: copy and apply throughput of a move with its checkpoint kept (the
# default) and without (--no-checkpoint), in one run, on the same data.
#
#   scripts/bench-checkpoint.sh            (ROWS=2000000 rows to copy, CHANGES=500000 to apply)
#
# On the local instances (scripts/db.sh):
#   copy   reshard move --stop-when-caught-up of bench_ck.t (ROWS rows) from instance 1 to
#          instance 3, with and without a checkpoint (REPEAT times each, alternating which goes
#          first); the copy
#          time is from the move's start to its "the copy is done" line.
#   apply  crates/engine/examples/apply_bench (a move whose tables are copied, applying a binlog
#          range until caught up) into two copies of the table on instance 2, without then with
#          a checkpoint (APPLY_CHECKPOINT=1), over the same CHANGES row changes.
# Every target ends with the source's rows (a checksum over every column).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ROWS=${ROWS:-2000000}
CHANGES=${CHANGES:-500000}
REPEAT=${REPEAT:-4}
local_instances
db=bench_ck
sql() { sql_at "$@"; }
dsn() { echo "mysql://$user@127.0.0.1:$1/$2"; }
export RESHARD_SOURCE_PASSWORD=$password RESHARD_TARGET_PASSWORD=$password
src=$base
applier=$((base + 1))
mover=$((base + 2))

ensure_build_tools
scripts/db.sh up >/dev/null
cargo build --release --quiet -p reshard-cli
cargo build --release --quiet -p reshard-engine --example apply_bench
reshard=target/release/reshard
checksum() { sql "$1" "$2" -N -e "SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', id, k, v, IFNULL(n, 'N'), IFNULL(ts, 'N')))) FROM t"; }

echo "== $db.t with $ROWS rows on instance 1" >&2
sql $src -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
sql $src $db -e "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, k BIGINT NOT NULL, v VARCHAR(64) NOT NULL,
                                  n DECIMAL(12,2), ts DATETIME(6), KEY (k));
                 INSERT INTO t SELECT seq, seq * 7 % 100003, CONCAT('row ', seq), seq / 4, '2024-01-01' + INTERVAL seq SECOND
                 FROM seq_1_to_$ROWS"
want=$(checksum $src $db)

# Copy: one move per mode, alternating, into a fresh database each time.
copy_seconds() { # mode -> seconds from the first log line to "the copy is done"
  local flag=$1 log
  log=$(mktemp)
  sql $mover -e "DROP DATABASE IF EXISTS ${db}_m; CREATE DATABASE ${db}_m"
  RUST_LOG=info $reshard move --source "$(dsn $src $db)" --target "$(dsn $mover ${db}_m)" --tables t \
    $flag --stop-when-caught-up >/dev/null 2>"$log"
  [[ $(checksum $mover ${db}_m) == "$want" ]] || { echo "bench-checkpoint: the moved table differs" >&2; exit 1; }
  awk '
    function secs(ts) { split(substr(ts, 12, 15), p, ":"); return p[1] * 3600 + p[2] * 60 + p[3] }
    NR == 1 { start = secs($1) }
    /the copy is done/ { printf "%.2f\n", secs($1) - start; exit }' "$log"
  rm -f "$log"
}
declare -a off on
for ((i = 0; i < REPEAT; i++)); do
  # Alternating which goes first, so that neither always runs on a warmer server.
  if ((i % 2 == 0)); then
    off+=("$(copy_seconds --no-checkpoint)")
    on+=("$(copy_seconds "")")
  else
    on+=("$(copy_seconds "")")
    off+=("$(copy_seconds --no-checkpoint)")
  fi
done

# Apply: two copies of the table, one binlog range.
for d in a b; do
  sql $applier -e "DROP DATABASE IF EXISTS ${db}_$d; CREATE DATABASE ${db}_$d"
  $reshard copy --source "$(dsn $src $db)" --target "$(dsn $applier ${db}_$d)" --tables t >/dev/null 2>&1
done
workload=$(mktemp)
apply_workload "$ROWS" "$CHANGES" >"$workload"
sql $src -e "FLUSH BINARY LOGS"
read -r file start < <(sql $src -N -e "SHOW MASTER STATUS" | awk '{ print $1, $2 }')
echo "== workload: $CHANGES row changes from $file:$start" >&2
sql $src $db <"$workload"
rm -f "$workload"
want=$(checksum $src $db)
apply_json() { # database, APPLY_CHECKPOINT
  APPLY_CHECKPOINT=$2 RUST_LOG=warn target/release/examples/apply_bench "mysql://$user:$password@127.0.0.1:$src/$db" \
    "mysql://$user:$password@127.0.0.1:$applier/$1" t "$file:$start"
}
apply_off=$(apply_json ${db}_a 0)
apply_on=$(apply_json ${db}_b 1)
for d in a b; do
  [[ $(checksum $applier ${db}_$d) == "$want" ]] || { echo "bench-checkpoint: ${db}_$d differs" >&2; exit 1; }
done

rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
field() { sed -E "s/.*\"$1\":([0-9.]+).*/\1/" <<<"$2"; }
echo
printf '%-32s %12s %12s\n' "" "checkpoint off" "checkpoint on"
for ((i = 0; i < REPEAT; i++)); do
  printf '%-32s %12s %12s\n' "copy of $ROWS rows, s (run $((i + 1)))" "${off[$i]}" "${on[$i]}"
done
best() { printf '%s\n' "$@" | sort -n | head -1; }
b_off=$(best "${off[@]}"); b_on=$(best "${on[@]}")
printf '%-32s %12s %12s\n' "copy rows/s (best)" "$(rate "$ROWS" "$b_off")" "$(rate "$ROWS" "$b_on")"
printf '%-32s %12s %12s\n' "apply images/s" "$(field images_per_second "$apply_off")" "$(field images_per_second "$apply_on")"
printf '%-32s %12s %12s\n' "apply cycles" "$(field cycles "$apply_off")" "$(field cycles "$apply_on")"
awk -v a="$b_off" -v b="$b_on" -v c="$(field images_per_second "$apply_off")" -v d="$(field images_per_second "$apply_on")" \
  'BEGIN { printf "checkpoint on / off: copy throughput %.3f, apply throughput %.3f\n", a / b, d / c }'
echo "every target equals the source (checksum over every column)"
