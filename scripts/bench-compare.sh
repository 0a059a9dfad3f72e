#!/usr/bin/env bash
# Copying one 5M-row, ~1 GB table between two servers: reshard copy against the server's own
# copy, mydumper + myloader and mariadb-dump | mariadb, on the same machine in the same run.
#
#   scripts/bench-compare.sh
#   ROWS=1000000 THREADS=4 scripts/bench-compare.sh      (THREADS defaults to 2: the cores here)
#
# Restarts the local instances with the settings of ../shared/reference/measured-limits.md
# (4 GiB buffer pool, 1 GiB redo log; the rest as scripts/db.sh always sets them: binlog on, ROW,
# flush at commit 2, sync_binlog 0, interleaved auto-increment locks), makes `bench.orders` on
# instance 1 (kept between runs while it has ROWS rows), then runs, one after the other:
#
#   server copy   INSERT INTO orders_copy SELECT * FROM orders in 50 PK chunks, 2 at a time, on
#                 instance 1 itself: the write ceiling of one server
#   mydumper      mydumper -t THREADS -r 100000 (chunks for parallel loads) from instance 1, then
#                 myloader -t THREADS -e into instance 2
#   dump|load     mariadb-dump --single-transaction from instance 1 | mariadb into instance 2
#   reshard       reshard copy --threads THREADS --write-threads THREADS, instance 1 -> 2, once
#                 as it is and once with --defer-secondary-indexes (the index built after the load)
#
# and prints each one's wall time, rows/s and ratio to reshard's wall time; for reshard also its
# own CPU seconds, the CPU seconds of both servers during its copy (from /proc), its peak RSS,
# and the same copy of a 1M-row prefix of the table, to show that peak RSS does not grow with
# the table. The targets' CHECKSUM TABLE is compared with the source's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ROWS=${ROWS:-5000000}
THREADS=${THREADS:-2}
SMALL_ROWS=${SMALL_ROWS:-1000000}
base=${RESHARD_DB_PORT_BASE:-33061}
src_port=$base
dst_port=$((base + 1))
user=${RESHARD_DB_USER:-reshard}
password=${RESHARD_DB_PASSWORD:-reshard}
root=${RESHARD_DB_ROOT:-$PWD/.db}
src_dsn="mysql://$user:$password@127.0.0.1:$src_port/bench"
dst_dsn="mysql://$user:$password@127.0.0.1:$dst_port/bench"
src_sql() { mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$src_port" -u"$user" -p"$password" "$@"; }
dst_sql() { mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$dst_port" -u"$user" -p"$password" "$@"; }

ensure_build_tools
ensure_packages mydumper time
echo "== restarting instances 1 and 2 with the reference settings" >&2
scripts/db.sh down >/dev/null 2>&1 || true
RESHARD_DB_INSTANCES=2 RESHARD_DB_BUFFER_POOL=4G RESHARD_DB_LOG_FILE=1G scripts/db.sh up
ensure_orders_table src_sql bench "$ROWS"
cargo build --release --quiet -p reshard-cli
reshard=target/release/reshard

# CPU seconds (user + system) a mariadbd has used so far, from its pid file and /proc.
server_cpu() {
  local pid ticks
  pid=$(cat "$root/instances/$1/mariadbd.pid")
  ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
fresh_target() { dst_sql -e "DROP DATABASE IF EXISTS bench; CREATE DATABASE bench"; }
checksum() { "$1" -N -e "CHECKSUM TABLE bench.$2" | awk '{ print $2 }'; }

declare -A wall
echo "== warming the source's buffer pool" >&2
src_sql -N -e "SELECT COUNT(*), SUM(LENGTH(note)) FROM bench.orders" >/dev/null
want=$(checksum src_sql orders)

echo "== server copy: INSERT ... SELECT in 50 chunks, 2 at a time" >&2
src_sql bench -e "DROP TABLE IF EXISTS orders_copy; CREATE TABLE orders_copy LIKE orders"
step=$(((ROWS + 49) / 50))
t0=$(now)
seq 0 49 | xargs -P 2 -I{} bash -c "mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P$src_port -u$user -p$password bench \
  -e \"INSERT INTO orders_copy SELECT * FROM orders WHERE id > {} * $step AND id <= ({} + 1) * $step\""
wall[server]=$(elapsed "$t0" "$(now)")
src_sql bench -e "DROP TABLE orders_copy"

echo "== mydumper + myloader -e, $THREADS threads" >&2
fresh_target
dump_dir=$(mktemp -d)
t0=$(now)
mydumper -h 127.0.0.1 -P "$src_port" -u "$user" -p "$password" -B bench -T orders -t "$THREADS" -r 100000 -o "$dump_dir" >/dev/null
myloader -h 127.0.0.1 -P "$dst_port" -u "$user" -p "$password" -B bench -d "$dump_dir" -t "$THREADS" -e -o >/dev/null
wall[mydumper]=$(elapsed "$t0" "$(now)")
rm -rf "$dump_dir"
[ "$(checksum dst_sql orders)" = "$want" ] || echo "   (mydumper's copy has another checksum)" >&2

echo "== mariadb-dump | mariadb" >&2
fresh_target
t0=$(now)
mariadb-dump --no-defaults --protocol=tcp -h127.0.0.1 -P"$src_port" -u"$user" -p"$password" --single-transaction bench orders |
  dst_sql bench
wall[dump]=$(elapsed "$t0" "$(now)")

# reshard copy of TABLE into a fresh target (more flags after it): wall, own CPU and peak RSS
# (GNU time), servers' CPU.
run_reshard() {
  local table=$1 out s1 s2 t0 t1
  shift
  fresh_target
  s1=$(server_cpu 1); s2=$(server_cpu 2)
  t0=$(now)
  out=$(/usr/bin/time -f "cpu_s=%U+%S rss_kb=%M" "$reshard" copy --source "$src_dsn" --target "$dst_dsn" \
    --tables "$table" --threads "$THREADS" --write-threads "$THREADS" "$@" 2>&1 >/dev/null | tail -1)
  t1=$(now)
  local own rss
  own=$(sed -E 's/.*cpu_s=([0-9.]+)\+([0-9.]+).*/\1 \2/' <<<"$out" | awk '{ printf "%.2f", $1 + $2 }')
  rss=$(sed -E 's/.*rss_kb=([0-9]+).*/\1/' <<<"$out")
  echo "$(elapsed "$t0" "$t1") $own $(awk -v a="$s1" -v b="$(server_cpu 1)" 'BEGIN { printf "%.2f", b - a }') \
$(awk -v a="$s2" -v b="$(server_cpu 2)" 'BEGIN { printf "%.2f", b - a }') $rss"
}

echo "== reshard copy, $THREADS read and $THREADS write threads" >&2
read -r wall[reshard] cpu_own cpu_src cpu_dst rss_big <<<"$(run_reshard orders)"
got=$(checksum dst_sql orders)
echo "== reshard copy --defer-secondary-indexes" >&2
read -r wall[deferred] dcpu_own dcpu_src dcpu_dst _ <<<"$(run_reshard orders --defer-secondary-indexes)"
got_deferred=$(checksum dst_sql orders)

echo "== reshard copy of a $SMALL_ROWS-row prefix (peak RSS)" >&2
src_sql bench -e "DROP TABLE IF EXISTS orders_small; CREATE TABLE orders_small LIKE orders;
  INSERT INTO orders_small SELECT * FROM orders WHERE id <= $SMALL_ROWS"
read -r wall_small _ _ _ rss_small <<<"$(run_reshard orders_small)"
src_sql bench -e "DROP TABLE orders_small"

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(mariadbd --version 2>/dev/null | awk '{ print $3 }' || echo mariadb)"
printf "%-44s %8s %10s %12s\n" "copy of $ROWS rows" "wall s" "rows/s" "x reshard"
for tool in server mydumper dump reshard deferred; do
  case $tool in
    server) name="server: INSERT...SELECT, 50 chunks, 2 at a time" ;;
    mydumper) name="mydumper + myloader -e, $THREADS threads" ;;
    dump) name="mariadb-dump | mariadb" ;;
    reshard) name="reshard copy, $THREADS+$THREADS threads" ;;
    deferred) name="  the same, --defer-secondary-indexes" ;;
  esac
  awk -v n="$name" -v w="${wall[$tool]}" -v r="$ROWS" -v base="${wall[reshard]}" \
    'BEGIN { printf "%-44s %8.2f %10.0f %12.2f\n", n, w, r / w, w / base }'
done
cpu_line() { # label, own, source, target
  awk -v l="$1" -v o="$2" -v s="$3" -v d="$4" 'BEGIN {
    printf "%s CPU: own %.2f s, source server %.2f s, target server %.2f s: own share %.1f%% of %.2f s\n", l, o, s, d, 100 * o / (o + s + d), o + s + d }'
}
cpu_line "reshard copy" "$cpu_own" "$cpu_src" "$cpu_dst"
cpu_line "reshard copy --defer-secondary-indexes" "$dcpu_own" "$dcpu_src" "$dcpu_dst"
echo "reshard peak RSS: $((rss_small / 1024)) MiB for $SMALL_ROWS rows (${wall_small} s), $((rss_big / 1024)) MiB for $ROWS rows"
if [ "$got" = "$want" ] && [ "$got_deferred" = "$want" ]; then
  echo "CHECKSUM TABLE: both reshard targets equal the source ($want)"
else
  echo "CHECKSUM TABLE: targets $got and $got_deferred, source $want: DIFFERENT"
  exit 1
fi
