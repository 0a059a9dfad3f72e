#!/usr/bin/env bash
# The demo of reshard's main job on local servers.
#
# Brings up the local MariaDB servers, makes a `shop` database with generated `orders` (200,000
# rows) and `customers` tables on instance 1 and empty databases on instances 2 and 3, runs
# `reshard check` on them as one source and two targets (and once more on a target that does not
# exist, to show how a problem is reported), then copies `shop` from instance 1 to instance 2
# with `reshard copy` and compares the servers' own CHECKSUM TABLE of both sides. Then it reshards
# `shop` from instance 1 into two shards (instances 3 and 4: key ranges -80 and 80-), orders by
# `customer_id` with `hash` and customers by `email` with `xxhash`, shows where a few values go
# with `reshard vindex`, and checks with the servers' own SQL that the shards together hold
# exactly the source's rows.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ensure_build_tools
scripts/db.sh up
cargo build --release -p reshard-cli --quiet
reshard=target/release/reshard

port() { echo $((${RESHARD_DB_PORT_BASE:-33061} + $1 - 1)); }
user=${RESHARD_DB_USER:-reshard}
password=${RESHARD_DB_PASSWORD:-reshard}
sql() {
  local instance=$1
  shift
  mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$(port "$instance")" -u"$user" -p"$password" "$@"
}

echo "== preparing: shop.orders (200,000 rows) and shop.customers on instance 1, empty shop databases on instances 2 and 3"
sql 1 -e "DROP DATABASE IF EXISTS shop; CREATE DATABASE shop"
sql 1 shop <<'SQL'
CREATE TABLE orders (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id BIGINT NOT NULL,
  sku VARCHAR(32) NOT NULL,
  price DECIMAL(12,2) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  note VARCHAR(200) NULL,
  KEY idx_customer (customer_id)
);
INSERT INTO orders SELECT seq, CRC32(seq) % 1000, CONCAT('SKU-', seq % 977), (seq % 100000) / 100,
  TIMESTAMP('2024-01-01') + INTERVAL seq MINUTE, IF(seq % 5 = 0, NULL, CONCAT('note ', seq))
FROM seq_1_to_200000;
CREATE TABLE customers (
  email VARCHAR(100) COLLATE utf8mb4_unicode_ci NOT NULL PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  since DATE NOT NULL
);
INSERT INTO customers SELECT CONCAT(ELT(1 + seq % 4, 'ana', 'Bo', 'émile', 'Zoë'), seq, '@example.com'),
  CONCAT('Customer ', seq), DATE('2020-01-01') + INTERVAL seq % 1500 DAY
FROM seq_1_to_1000;
SQL
for i in 2 3 4; do sql "$i" -e "DROP DATABASE IF EXISTS shop; CREATE DATABASE shop"; done

dsn() { echo "mysql://$user:$password@127.0.0.1:$(port "$1")/$2"; }

echo
echo "== reshard check: one source, two targets"
"$reshard" check --source "$(dsn 1 shop)" --target "$(dsn 2 shop)" --target "$(dsn 3 shop)"

echo
echo "== reshard check with a mistake: the target database does not exist (exit status 1 expected)"
if "$reshard" check --source "$(dsn 1 shop)" --target "$(dsn 4 no_such_db)"; then
  echo "demo: the mistake went unnoticed" >&2
  exit 1
fi
echo
echo "== reshard copy: shop from instance 1 to instance 2"
"$reshard" copy --source "$(dsn 1 shop)" --target "$(dsn 2 shop)" --defer-secondary-indexes
echo
echo "== the servers' own checksums of both sides"
for i in 1 2; do echo "instance $i:"; sql "$i" -N -e "CHECKSUM TABLE shop.orders, shop.customers"; done
if [ "$(sql 1 -N -e 'CHECKSUM TABLE shop.orders, shop.customers')" != \
     "$(sql 2 -N -e 'CHECKSUM TABLE shop.orders, shop.customers')" ]; then
  echo "demo: the copy differs from the source" >&2
  exit 1
fi

echo
echo "== reshard copy: shop from instance 1 into two shards, -80 on instance 3 and 80- on instance 4"
"$reshard" copy --source "$(dsn 1 shop)" --target "$(dsn 3 shop)" --target "$(dsn 4 shop)" \
  --shard-by orders=customer_id:hash --shard-by customers=email:xxhash
echo
echo "== reshard vindex: where customers 1, 2 and 3 of orders went"
"$reshard" vindex --vindex hash --key-ranges=-80,80- 1 2 3

# Rows and a sum of per-row CRC32s (the server's own functions): additive, so the two shards must
# add up to the source.
fingerprint() {
  sql "$1" -N shop -e "SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('|', id, customer_id, sku, price, created_at, IFNULL(note, 'NULL')))), 0) FROM orders;
                       SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('|', email, name, since))), 0) FROM customers"
}
echo
echo "== rows and CRC32 sums (orders, then customers): source, shard -80, shard 80-"
read -r -d '' source_fp < <(fingerprint 1) || true
read -r -d '' shard1_fp < <(fingerprint 3) || true
read -r -d '' shard2_fp < <(fingerprint 4) || true
printf 'source:\n%s\nshard -80:\n%s\nshard 80-:\n%s\n' "$source_fp" "$shard1_fp" "$shard2_fp"
summed=$(paste <(echo "$shard1_fp") <(echo "$shard2_fp") | awk '{ printf "%d\t%d\n", $1 + $3, $2 + $4 }')
if [ "$summed" != "$(echo "$source_fp" | awk '{ printf "%d\t%d\n", $1, $2 }')" ]; then
  echo "demo: the shards do not add up to the source" >&2
  exit 1
fi
echo "the shards add up to the source"

echo
echo "demo finished: the servers stay up (scripts/db.sh down stops them)"
