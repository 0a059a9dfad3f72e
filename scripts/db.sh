#!/usr/bin/env bash
# Local MariaDB servers for reshard's tests, demo and benchmarks.
#
#   scripts/db.sh up        install mariadb-server if missing, start the instances, wait for them
#   scripts/db.sh down      stop every instance this script started (found by its pid file)
#   scripts/db.sh status    one line per instance
#   scripts/db.sh destroy   down, then delete the data directories
#   scripts/db.sh env       print the DSNs of the instances, one per line
#
# Used by the test kit to start throwaway servers with other settings (one source of truth for the
# server configuration):
#   scripts/db.sh start-one DIR PORT SERVER_ID [extra mariadbd options...]
#   scripts/db.sh stop-one DIR
#
# Every instance is an independent `mariadbd` on 127.0.0.1 with its own data directory, socket,
# pid file, error log and tmpdir under $RESHARD_DB_ROOT (default: .db/ in the repository, git-ignored),
# the binary log on in ROW format with FULL row images, a unique server_id, local_infile on, and the
# user $RESHARD_DB_USER / $RESHARD_DB_PASSWORD with all privileges.
#
# Environment (all optional):
#   RESHARD_DB_INSTANCES   how many instances `up` starts            (default 4)
#   RESHARD_DB_PORT_BASE   port of the first one; the rest follow     (default 33061)
#   RESHARD_DB_ROOT        where data directories live                (default <repo>/.db)
#   RESHARD_DB_USER        the user for tests and the demo            (default reshard)
#   RESHARD_DB_PASSWORD    its password                               (default reshard)
#   RESHARD_DB_BUFFER_POOL innodb_buffer_pool_size per instance       (default 256M)
#   RESHARD_DB_LOG_FILE    innodb_log_file_size per instance          (default 256M)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INSTANCES=${RESHARD_DB_INSTANCES:-4}
PORT_BASE=${RESHARD_DB_PORT_BASE:-33061}
ROOT=${RESHARD_DB_ROOT:-$REPO/.db}
DB_USER=${RESHARD_DB_USER:-reshard}
DB_PASSWORD=${RESHARD_DB_PASSWORD:-reshard}
BUFFER_POOL=${RESHARD_DB_BUFFER_POOL:-256M}
LOG_FILE_SIZE=${RESHARD_DB_LOG_FILE:-256M}
START_TIMEOUT_S=60

die() { echo "db.sh: $*" >&2; exit 1; }
say() { echo "db.sh: $*" >&2; }

[[ "$INSTANCES" =~ ^[1-9][0-9]*$ ]] || die "RESHARD_DB_INSTANCES must be a positive number, got '$INSTANCES'"
[[ "$PORT_BASE" =~ ^[1-9][0-9]*$ ]] && ((PORT_BASE + INSTANCES - 1 <= 65535)) ||
  die "RESHARD_DB_PORT_BASE must be a port such that all $INSTANCES instances fit below 65536, got '$PORT_BASE'"

# Finds a MariaDB program in PATH or the sbin directories a non-root PATH may lack.
find_prog() {
  local name
  for name in "$@"; do
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
    for dir in /usr/sbin /usr/local/sbin /usr/bin; do
      if [[ -x "$dir/$name" ]]; then echo "$dir/$name"; return 0; fi
    done
  done
  return 1
}

# Installs Debian's mariadb-server when mariadbd is missing, without starting the system service.
ensure_installed() {
  if find_prog mariadbd mysqld >/dev/null && find_prog mariadb-install-db mysql_install_db >/dev/null &&
    find_prog mariadb-admin mysqladmin >/dev/null; then
    return 0
  fi
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "mariadb-server is not installed and this is not root: run 'apt-get install mariadb-server' as root"
    sudo="sudo"
  fi
  say "mariadbd not found: installing mariadb-server with apt-get (once)"
  # Keep the package from starting the system-wide server on port 3306: these scripts run their own.
  local policy_added=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  local rc=0
  {
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        mariadb-server mariadb-client >/dev/null
  } || rc=$?
  if ((policy_added)); then $sudo rm -f /usr/sbin/policy-rc.d; fi
  ((rc == 0)) || die "apt-get install mariadb-server failed (exit $rc): see the output above"
  find_prog mariadbd mysqld >/dev/null || die "mariadb-server installed but mariadbd is still not found"
}

instance_dir() { echo "$ROOT/instances/$1"; }

# Writes the instance's option file. Everything an instance needs is in this one file.
write_config() {
  local dir=$1 port=$2 server_id=$3
  mkdir -p "$dir/data" "$dir/tmp"
  cat >"$dir/my.cnf" <<EOF
# Written by scripts/db.sh; rewritten on every start.
[mariadbd]
datadir=$dir/data
tmpdir=$dir/tmp
socket=$dir/mariadbd.sock
pid-file=$dir/mariadbd.pid
log-error=$dir/error.log
port=$port
bind-address=127.0.0.1
skip-name-resolve
server-id=$server_id
log-bin=$dir/data/binlog
binlog_format=ROW
binlog_row_image=FULL
binlog_expire_logs_seconds=86400
local_infile=1
max_allowed_packet=256M
character-set-server=utf8mb4
innodb_buffer_pool_size=$BUFFER_POOL
innodb_log_file_size=$LOG_FILE_SIZE
innodb_flush_log_at_trx_commit=2
sync_binlog=0
# Interleaved auto-increment locking (MySQL 8's default; safe with ROW binlogs): with MariaDB's
# default (1) every bulk insert into a table with an AUTO_INCREMENT column, explicit ids or not,
# holds a table-level lock to its end, so parallel loads into one table run one at a time.
innodb_autoinc_lock_mode=2
performance_schema=OFF
max_connections=500
init-file=$dir/init.sql
EOF
  # Runs at every start, before the first connection is accepted; kept out of the binary log so
  # that tests reading the binlog see only their own events.
  cat >"$dir/init.sql" <<EOF
SET sql_log_bin = 0;
CREATE USER IF NOT EXISTS '$DB_USER'@'%' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost' WITH GRANT OPTION;
EOF
}

# Prints the pid of the instance in DIR if it is running (a mariadbd started with its my.cnf).
running_pid() {
  local dir=$1 pid
  [[ -f "$dir/mariadbd.pid" ]] || return 1
  pid=$(cat "$dir/mariadbd.pid" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # A recycled pid belongs to some other process: only ours has our option file on its command line.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--defaults-file=$dir/my.cnf" || return 1
  echo "$pid"
}

ping() {
  local port=$1
  "$ADMIN" --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -u"$DB_USER" -p"$DB_PASSWORD" \
    --connect-timeout=2 ping >/dev/null 2>&1
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_one() {
  local dir=$1 port=$2 server_id=$3
  shift 3
  local pid
  if pid=$(running_pid "$dir"); then
    ping "$port" && return 0
    die "instance in $dir (pid $pid) runs but does not answer on port $port: see $dir/error.log"
  fi
  if [[ -f "$dir/mariadbd.pid" ]]; then
    say "removing stale pid file $dir/mariadbd.pid (no such server is running)"
    rm -f "$dir/mariadbd.pid"
  fi
  if port_in_use "$port"; then
    die "port $port is already taken by another program: stop it or set RESHARD_DB_PORT_BASE to free ports"
  fi
  write_config "$dir" "$port" "$server_id"
  local user_opt=()
  if [[ $(id -u) -eq 0 ]]; then user_opt=(--user=root); fi
  if [[ ! -d "$dir/data/mysql" ]]; then
    if ! "$INSTALL_DB" --defaults-file="$dir/my.cnf" "${user_opt[@]}" --skip-test-db \
      --auth-root-authentication-method=socket >"$dir/install.log" 2>&1; then
      rm -rf "$dir/data"
      die "mariadb-install-db failed for $dir: see $dir/install.log"
    fi
  fi
  : >"$dir/error.log"
  nohup "$MARIADBD" --defaults-file="$dir/my.cnf" "${user_opt[@]}" "$@" \
    </dev/null >>"$dir/error.log" 2>&1 &
}

# Waits until the instance answers, or fails naming its error log.
wait_ready() {
  local dir=$1 port=$2 deadline=$((SECONDS + START_TIMEOUT_S))
  while ! ping "$port"; do
    if ((SECONDS > deadline)); then
      tail -n 20 "$dir/error.log" >&2 || true
      die "instance on port $port did not accept connections within ${START_TIMEOUT_S}s: see $dir/error.log"
    fi
    # It exited: no point waiting for the timeout.
    if [[ -s "$dir/error.log" ]] && grep -q '\[ERROR\] Aborting' "$dir/error.log"; then
      tail -n 20 "$dir/error.log" >&2 || true
      die "instance on port $port failed to start: see $dir/error.log"
    fi
    sleep 0.1
  done
}

stop_one() {
  local dir=$1 pid
  pid=$(running_pid "$dir") || { rm -f "$dir/mariadbd.pid"; return 0; }
  kill -TERM "$pid"
  local deadline=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS > deadline)); then
      say "instance in $dir (pid $pid) did not stop within 60s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.1
  done
}

resolve_programs() {
  MARIADBD=$(find_prog mariadbd mysqld) || die "mariadbd not found: run 'scripts/db.sh up' as root once to install it"
  INSTALL_DB=$(find_prog mariadb-install-db mysql_install_db) || die "mariadb-install-db not found"
  ADMIN=$(find_prog mariadb-admin mysqladmin) || die "mariadb-admin not found (package mariadb-client)"
}

cmd_up() {
  ensure_installed
  resolve_programs
  local i started=()
  for ((i = 1; i <= INSTANCES; i++)); do
    local dir port
    dir=$(instance_dir "$i")
    port=$((PORT_BASE + i - 1))
    if running_pid "$dir" >/dev/null && ping "$port"; then continue; fi
    start_one "$dir" "$port" "$i"
    started+=("$i")
  done
  for i in "${started[@]}"; do
    wait_ready "$(instance_dir "$i")" $((PORT_BASE + i - 1))
  done
  if ((${#started[@]} == 0)); then
    say "all $INSTANCES instances already up (ports $PORT_BASE..$((PORT_BASE + INSTANCES - 1)))"
  else
    say "started instance(s) ${started[*]}; $INSTANCES up on ports $PORT_BASE..$((PORT_BASE + INSTANCES - 1))"
  fi
}

# Stops every instance under $ROOT, whatever RESHARD_DB_INSTANCES says now, and leftover test-kit
# scratch servers; nothing else.
cmd_down() {
  local dir stopped=0
  shopt -s nullglob
  for dir in "$ROOT"/instances/* "$ROOT"/scratch/*; do
    if running_pid "$dir" >/dev/null; then
      stop_one "$dir"
      stopped=$((stopped + 1))
    fi
  done
  say "stopped $stopped instance(s)"
}

cmd_status() {
  resolve_programs
  local i
  for ((i = 1; i <= INSTANCES; i++)); do
    local dir port pid state
    dir=$(instance_dir "$i")
    port=$((PORT_BASE + i - 1))
    if pid=$(running_pid "$dir"); then
      if ping "$port"; then state="up (pid $pid)"; else state="running (pid $pid) but not answering"; fi
    else
      state="down"
    fi
    printf 'instance %d  127.0.0.1:%d  %s  %s\n' "$i" "$port" "$state" "$dir"
  done
}

cmd_env() {
  local i
  for ((i = 1; i <= INSTANCES; i++)); do
    echo "mysql://$DB_USER:$DB_PASSWORD@127.0.0.1:$((PORT_BASE + i - 1))/"
  done
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  destroy)
    cmd_down
    rm -rf "$ROOT/instances" "$ROOT/scratch"
    say "deleted data directories under $ROOT"
    ;;
  start-one)
    (($# >= 4)) || die "usage: db.sh start-one DIR PORT SERVER_ID [mariadbd options...]"
    shift
    dir=$1 port=$2 server_id=$3
    shift 3
    ensure_installed
    resolve_programs
    start_one "$dir" "$port" "$server_id" "$@"
    wait_ready "$dir" "$port"
    ;;
  stop-one)
    (($# == 2)) || die "usage: db.sh stop-one DIR"
    stop_one "$2"
    ;;
  *)
    sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
