#!/usr/bin/env bash
# Reading one table into Arrow: reshard against ConnectorX, same server, same run.
#
#   scripts/bench-read.sh            # the 5M-row `orders` table of ../shared/reference/measured-limits.md
#   ROWS=500000 scripts/bench-read.sh
#
# Makes `bench.orders` on instance 1 (kept between runs while it has ROWS rows), installs
# ConnectorX and pyarrow into .bench-venv, then reads the whole table ROUNDS times with each tool,
# alternating, each over one connection (ConnectorX with one partition). Also drains the same
# rows over the text and the binary protocol without decoding: the protocol choice alone. Prints
# rows/s and client CPU seconds (user + system of the reading process) per run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ROWS=${ROWS:-5000000}
ROUNDS=${ROUNDS:-2}
port=${RESHARD_DB_PORT_BASE:-33061}
user=${RESHARD_DB_USER:-reshard}
password=${RESHARD_DB_PASSWORD:-reshard}
dsn="mysql://$user:$password@127.0.0.1:$port/bench"
sql() { mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -u"$user" -p"$password" "$@"; }

ensure_build_tools
scripts/db.sh up

ensure_orders_table sql bench "$ROWS"

if [ ! -x .bench-venv/bin/python ]; then
  python3 -m venv .bench-venv
fi
.bench-venv/bin/python -c "import connectorx, pyarrow" 2>/dev/null || .bench-venv/bin/pip install --quiet connectorx pyarrow

cargo build --release --quiet -p reshard-mysql --example read_table
reshard_read=target/release/examples/read_table

connectorx() {
  .bench-venv/bin/python - "$dsn" <<'PY'
import resource, sys, time
import connectorx as cx
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
c0, t0 = cpu(), time.perf_counter()
table = cx.read_sql(sys.argv[1], "SELECT * FROM orders", return_type="arrow")
wall, used = time.perf_counter() - t0, cpu() - c0
print(f"rows={table.num_rows} wall_s={wall:.3f} cpu_s={used:.2f}")
PY
}

report() { # tool, "rows=… wall_s=… cpu_s=…"
  local tool=$1 line=$2 rows wall cpu
  rows=$(sed -E 's/.*rows=([0-9]+).*/\1/' <<<"$line")
  wall=$(sed -E 's/.*wall_s=([0-9.]+).*/\1/' <<<"$line")
  cpu=$(sed -E 's/.*cpu_s=([0-9.]+).*/\1/' <<<"$line")
  awk -v t="$tool" -v r="$rows" -v w="$wall" -v c="$cpu" \
    'BEGIN { printf "%-26s %9d rows %8.2f s %10.0f rows/s %7.2f CPU s %6.2f µs CPU/row\n", t, r, w, r / w, c, c * 1e6 / r }'
}

echo "== warming the server's caches"
"$reshard_read" "$dsn" orders >/dev/null
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round"
  report "reshard (binary, Arrow)" "$("$reshard_read" "$dsn" orders)"
  report "ConnectorX (1 partition)" "$(connectorx)"
  report "drain, text protocol" "$("$reshard_read" "$dsn" orders --drain text)"
  report "drain, binary protocol" "$("$reshard_read" "$dsn" orders --drain binary)"
done
