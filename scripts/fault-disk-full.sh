#!/usr/bin/env bash
# A copy into a target whose file system fills up: reshard must stop promptly (every thread,
# including writers the server makes wait "for someone to free space"), exit non-zero, and name
# the tables it left in part on the target.
#
#   scripts/fault-disk-full.sh            (ROWS=1500000, TMPFS_SIZE=160M; RESHARD_BIN=path to try another binary)
#
# Needs root (it mounts a small tmpfs). The target is a scratch mariadbd whose whole data
# directory is on that tmpfs; the source is instance 1 of scripts/db.sh. Prints how long reshard
# took to exit after the first "No space left" error, its exit status and its last words, and
# fails if it took longer than DEADLINE_S (default 60) or exited 0.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ROWS=${ROWS:-1500000}
TMPFS_SIZE=${TMPFS_SIZE:-160M}
DEADLINE_S=${DEADLINE_S:-60}
local_instances
db=fault_disk_full

[[ $(id -u) -eq 0 ]] || { echo "fault-disk-full.sh: needs root to mount a tmpfs" >&2; exit 1; }
ensure_build_tools
scripts/db.sh up >/dev/null
cargo build --quiet -p reshard-cli

mnt=$(mktemp -d /tmp/reshard-full-XXXXXX)
port=$((base + 40))
cleanup() {
  scripts/db.sh stop-one "$mnt/server" >/dev/null 2>&1 || true
  umount "$mnt" 2>/dev/null || true
  rmdir "$mnt" 2>/dev/null || true
}
trap cleanup EXIT
mount -t tmpfs -o size="$TMPFS_SIZE" tmpfs "$mnt"
RESHARD_DB_BUFFER_POOL=32M RESHARD_DB_LOG_FILE=16M scripts/db.sh start-one "$mnt/server" "$port" "$port" >/dev/null
echo "== target: a mariadbd on a $TMPFS_SIZE tmpfs ($(df -h --output=avail "$mnt" | tail -1 | tr -d ' ') free)"

sql_at "$base" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
sql_at "$base" "$db" -e "CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(200) NOT NULL);
  INSERT INTO t SELECT seq, REPEAT(CHAR(97 + seq % 26), 200) FROM seq_1_to_$ROWS;
  CREATE TABLE u LIKE t; INSERT INTO u SELECT * FROM t WHERE id <= $((ROWS / 2))"
sql_at "$port" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
echo "== source: $ROWS + $((ROWS / 2)) rows of ~200 bytes on instance 1"

log=$(mktemp)
start=$(date +%s.%N)
set +e
timeout 600 "${RESHARD_BIN:-target/debug/reshard}" copy --source "$(dsn_at "$base" "$db")" \
  --target "$(dsn_at "$port" "$db")" --retry-for 20s >/dev/null 2>"$log"
status=$?
set -e
end=$(date +%s.%N)
first_error=$(grep -m1 -n -i "no space\|is full\|errno 28" "$log" || true)
echo "== reshard copy exited with status $status after $(echo "$end - $start" | bc) s"
echo "   first disk-full message: ${first_error:-none}"
tail -n 3 "$log" | sed 's/\x1b\[[0-9;]*m//g'
echo "== statements of the copy still in the target server:"
sql_at "$port" -N -e "SELECT ID, COMMAND, TIME, STATE FROM information_schema.PROCESSLIST WHERE DB = '$db' AND COMMAND <> 'Sleep'" || true
sql_at "$base" -e "DROP DATABASE IF EXISTS $db"
elapsed=$(echo "$end - $start" | bc | cut -d. -f1)
if [[ $status -eq 0 ]]; then echo "fault-disk-full.sh: reshard exited 0 on a full disk" >&2; exit 1; fi
if ((elapsed > DEADLINE_S)); then echo "fault-disk-full.sh: reshard took ${elapsed}s to stop" >&2; exit 1; fi
echo "fault-disk-full.sh: stopped cleanly"
