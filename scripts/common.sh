# Shared by the scripts in this folder (sourced, not run): make sure the build tools are there.
# On a fresh Debian 12 machine as root this installs what is missing; elsewhere it says what to do.

ensure_build_tools() {
  if ! command -v cc >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
      echo "common.sh: no C compiler (mimalloc needs one): installing build-essential" >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends build-essential >/dev/null
    else
      echo "common.sh: no C compiler found: install one (apt-get install build-essential)" >&2
      return 1
    fi
  fi
  if [[ -f "$HOME/.cargo/env" ]]; then
    # shellcheck disable=SC1091
    source "$HOME/.cargo/env"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    if command -v curl >/dev/null 2>&1; then
      echo "common.sh: no Rust toolchain: installing it with rustup (https://rustup.rs)" >&2
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
      # shellcheck disable=SC1091
      source "$HOME/.cargo/env"
    else
      echo "common.sh: no Rust toolchain: install it from https://rustup.rs (curl is needed for that)" >&2
      return 1
    fi
  fi
}

# The reference `orders` table (../shared/reference/measured-limits.md; the same DDL and values as
# reshard_testkit::generate): ensure_orders_table SQL_FN DATABASE ROWS keeps DATABASE.orders if it
# already has ROWS rows, else (re)creates it with ids 1..ROWS. SQL_FN is a function running the
# mariadb client against the server meant.
ensure_orders_table() {
  local sql_fn=$1 db=$2 rows=$3 chunk=500000 have start end
  have=$($sql_fn -N -e "SELECT COUNT(*) FROM \`$db\`.orders" 2>/dev/null || echo 0)
  [ "$have" = "$rows" ] && return 0
  echo "== generating $db.orders with $rows rows" >&2
  $sql_fn -e "DROP DATABASE IF EXISTS \`$db\`; CREATE DATABASE \`$db\`"
  $sql_fn "$db" <<'SQL'
CREATE TABLE orders (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id BIGINT NOT NULL,
  sku VARCHAR(32) NOT NULL,
  status TINYINT NOT NULL,
  qty INT NOT NULL,
  price DECIMAL(12,2) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  note VARCHAR(200) NULL,
  payload JSON NULL,
  flag BIT(1) NOT NULL,
  KEY idx_customer (customer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
SQL
  start=1
  while [ "$start" -le "$rows" ]; do
    end=$((start + chunk - 1)); [ "$end" -gt "$rows" ] && end=$rows
    $sql_fn "$db" -e "INSERT INTO orders (id, customer_id, sku, status, qty, price, created_at, note, payload, flag)
      SELECT seq, CRC32(seq) % 1000003, CONCAT('SKU-', LPAD(CRC32(seq * 7) % 100000, 6, '0')), seq % 7,
             1 + CRC32(seq * 3) % 20, (CRC32(seq * 5) % 10000000) / 100,
             TIMESTAMP('2024-01-01') + INTERVAL (seq * 37) SECOND + INTERVAL (seq % 1000000) MICROSECOND,
             IF(seq % 5 = 0, NULL, REPEAT(CONCAT('note ', seq, ' '), 1 + seq % 8)),
             IF(seq % 10 < 3, NULL, JSON_OBJECT('k', seq, 'tag', CONCAT('t', seq % 13), 'ok', seq % 2 = 0)),
             seq % 2
      FROM seq_${start}_to_${end}"
    start=$((end + 1))
  done
}

# Installs Debian packages that are missing (as root), or says which to install.
ensure_packages() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]} == 0)) && return 0
  if [[ $(id -u) -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "common.sh: install ${missing[*]} (apt-get install ${missing[*]})" >&2
    return 1
  fi
}

# The local instances of scripts/db.sh, for the benchmark scripts: sets base (the first port),
# user and password from the same environment db.sh reads.
local_instances() {
  base=${RESHARD_DB_PORT_BASE:-33061}
  user=${RESHARD_DB_USER:-reshard}
  password=${RESHARD_DB_PASSWORD:-reshard}
}
# sql_at PORT [mariadb args...]: the mariadb client on local instance PORT, over TCP.
sql_at() { local port=$1; shift; mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -u"$user" -p"$password" "$@"; }
# dsn_at PORT DATABASE: reshard's DSN for it.
dsn_at() { echo "mysql://$user:$password@127.0.0.1:$1/$2"; }
# apply_workload ROWS CHANGES [HOT_ROWS]: the change-application workload of bench-apply and
# bench-checkpoint, as SQL on stdout, for table t(id, k, v, n, ts) holding ids 1..ROWS: per round
# of 5,000 row changes, 2,000 updates (of ids from 1 up, or over the first HOT_ROWS ids when
# given), 2,000 inserts above ROWS and 1,000 deletes from 2/3 × ROWS up; each statement its own
# transaction.
apply_workload() {
  local rows=$1 rounds=$(($2 / 5000)) hot=${3:-0} r u d i
  for ((r = 0; r < rounds; r++)); do
    if ((hot > 0)); then u=$((r * 2000 % hot + 1)); else u=$((r * 2000 + 1)); fi
    d=$((rows * 2 / 3 + r * 1000 + 1)); i=$((rows + r * 2000))
    echo "UPDATE t SET v = CONCAT('updated ', id), n = n + 1, ts = NOW(6) WHERE id BETWEEN $u AND $((u + 999));"
    echo "UPDATE t SET v = CONCAT('updated ', id), k = k + 1 WHERE id BETWEEN $((u + 1000)) AND $((u + 1999));"
    echo "INSERT INTO t SELECT $i + seq, seq, CONCAT('new ', seq), 1.5, NOW(6) FROM seq_1_to_1000;"
    echo "INSERT INTO t SELECT $((i + 1000)) + seq, seq, CONCAT('new ', seq), NULL, NULL FROM seq_1_to_1000;"
    echo "DELETE FROM t WHERE id BETWEEN $d AND $((d + 999));"
  done
}
