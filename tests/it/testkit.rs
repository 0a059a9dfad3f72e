//! The test kit itself: isolation of test databases, and an oracle that can tell tables apart.

use reshard_testkit::generate::{SqlValue, fill_orders, insert_rows, orders_ddl};
use reshard_testkit::{TableDump, TestDb, assert_same};

const TYPES_DDL: &str = "CREATE TABLE t (
    id BIGINT NOT NULL PRIMARY KEY,
    u BIGINT UNSIGNED NULL,
    d DECIMAL(65,30) NULL,
    f FLOAT NULL,
    g DOUBLE NULL,
    s VARCHAR(20) NULL,
    b VARBINARY(20) NULL,
    ts TIMESTAMP(6) NULL
) DEFAULT CHARSET=utf8mb4";

const TYPES_COLUMNS: &[&str] = &["id", "u", "d", "f", "g", "s", "b", "ts"];

fn base_row() -> Vec<SqlValue> {
    vec![
        SqlValue::Int(1),
        SqlValue::Int(i128::from(u64::MAX)),
        SqlValue::Expr(
            "-99999999999999999999999999999999999.999999999999999999999999999999".into(),
        ),
        SqlValue::Double(f64::from(0.1f32)),
        SqlValue::Double(0.1),
        SqlValue::Text("a ".into()),
        SqlValue::Bytes(vec![0, 0xff, 0x80]),
        SqlValue::Expr("'2024-03-31 01:30:00.000001'".into()),
    ]
}

async fn table_with(test: &str, instance: usize, row: Vec<SqlValue>) -> (TestDb, TableDump) {
    let db = TestDb::create(test, instance).await;
    db.create_table(TYPES_DDL).await;
    let mut conn = db.conn().await;
    insert_rows(&mut conn, "t", TYPES_COLUMNS, [row]).await;
    let dump = db.dump("t").await;
    (db, dump)
}

#[tokio::test(flavor = "multi_thread")]
async fn test_databases_are_isolated_and_dropped() {
    let a = TestDb::create("isolation", 1).await;
    let b = TestDb::create("isolation", 1).await;
    assert_ne!(a.name(), b.name());
    a.exec("CREATE TABLE only_in_a (id INT PRIMARY KEY)").await;
    let in_b = b
        .query_column(&format!(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}'",
            b.name()
        ))
        .await;
    assert!(in_b.is_empty(), "{in_b:?}");
    let name = a.name().to_owned();
    drop(a);
    let left = b
        .query_column(&format!(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"
        ))
        .await;
    assert!(left.is_empty(), "database {name} was not dropped");
}

#[tokio::test(flavor = "multi_thread")]
async fn oracle_finds_equal_tables_on_two_servers_equal() {
    let (_a, left) = table_with("oracle_eq_a", 1, base_row()).await;
    let (_b, right) = table_with("oracle_eq_b", 2, base_row()).await;
    assert_same(&left, &right);
    // The renderings are exact: the full unsigned maximum, every decimal digit, float widened.
    let row = &left.rows[0];
    assert_eq!(row[1].as_deref(), Some("18446744073709551615"));
    assert_eq!(
        row[2].as_deref(),
        Some("-99999999999999999999999999999999999.999999999999999999999999999999")
    );
    assert_eq!(row[3].as_deref(), Some("0.10000000149011612"));
    assert_eq!(row[4].as_deref(), Some("0.1"));
    assert_eq!(
        row[5].as_deref(),
        Some("6120"),
        "trailing space kept as bytes"
    );
    assert_eq!(row[6].as_deref(), Some("00FF80"));
}

#[tokio::test(flavor = "multi_thread")]
async fn oracle_tells_apart_rows_differing_in_any_one_value() {
    let (_a, original) = table_with("oracle_diff_base", 3, base_row()).await;
    let changes: Vec<(usize, SqlValue)> = vec![
        (1, SqlValue::Int(i128::from(u64::MAX) - 1)),
        (1, SqlValue::Null),
        (
            2,
            SqlValue::Expr(
                "-99999999999999999999999999999999999.999999999999999999999999999998".into(),
            ),
        ),
        (
            3,
            SqlValue::Double(f64::from(f32::from_bits(0.1f32.to_bits() + 1))),
        ),
        (4, SqlValue::Double(f64::from_bits(0.1f64.to_bits() + 1))),
        (5, SqlValue::Text("a".into())),
        (5, SqlValue::Text(String::new())),
        (5, SqlValue::Null),
        (6, SqlValue::Bytes(vec![0, 0xff, 0x81])),
        (6, SqlValue::Bytes(vec![0, 0xff])),
        (7, SqlValue::Expr("'2024-03-31 01:30:00.000002'".into())),
    ];
    for (i, (column, value)) in changes.into_iter().enumerate() {
        let mut row = base_row();
        row[column] = value.clone();
        let (_b, changed) = table_with(&format!("oracle_diff_{i}"), 4, row).await;
        let diff = original
            .diff(&changed)
            .unwrap_or_else(|| panic!("column {column} set to {value:?} went unnoticed"));
        assert!(
            diff.contains(&format!("column `{}`", TYPES_COLUMNS[column])),
            "{diff}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn oracle_notices_missing_rows_and_different_columns() {
    let a = TestDb::create("oracle_rows_a", 1).await;
    let b = TestDb::create("oracle_rows_b", 2).await;
    for db in [&a, &b] {
        db.exec("CREATE TABLE t (id INT PRIMARY KEY, v INT)").await;
    }
    a.exec("INSERT INTO t VALUES (1, 1), (2, 2)").await;
    b.exec("INSERT INTO t VALUES (1, 1)").await;
    let diff = a
        .dump("t")
        .await
        .diff(&b.dump("t").await)
        .expect("a missing row");
    assert!(
        diff.contains("row counts differ: left 2, right 1"),
        "{diff}"
    );
    b.exec("ALTER TABLE t MODIFY v BIGINT; INSERT INTO t VALUES (2, 2)")
        .await;
    let diff = a
        .dump("t")
        .await
        .diff(&b.dump("t").await)
        .expect("a different column type");
    assert!(diff.contains("columns differ"), "{diff}");
}

#[tokio::test(flavor = "multi_thread")]
async fn timestamps_render_the_same_whatever_the_session_time_zone() {
    let db = TestDb::create("oracle_tz", 1).await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, ts TIMESTAMP NULL)")
        .await;
    db.exec("SET time_zone = '+00:00'; INSERT INTO t VALUES (1, '2024-03-31 01:30:00')")
        .await;
    let dump = db.dump("t").await;
    assert_eq!(
        dump.rows[0][1].as_deref(),
        Some(&*hex("2024-03-31 01:30:00"))
    );
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02X}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn generated_orders_are_deterministic_and_shards_union_back() {
    let a = TestDb::create("orders_a", 1).await;
    let b = TestDb::create("orders_b", 2).await;
    for db in [&a, &b] {
        db.create_table(&orders_ddl("orders")).await;
        fill_orders(&mut db.conn().await, "orders", 2_000, 700).await;
    }
    let source = a.dump("orders").await;
    assert_eq!(source.rows.len(), 2_000);
    assert_same(&source, &b.dump("orders").await);
    let nulls = source.rows.iter().filter(|r| r[7].is_none()).count();
    assert_eq!(nulls, 400, "every fifth note is NULL");

    // Split by id parity into two "shards"; their union is the source, and losing a row shows.
    for (db, parity) in [(&a, 0), (&b, 1)] {
        db.exec(&format!("CREATE TABLE shard LIKE orders; INSERT INTO shard SELECT * FROM orders WHERE id % 2 = {parity}"))
            .await;
    }
    let shards = [a.dump("shard").await, b.dump("shard").await];
    assert_same(
        &source.clone().sorted_by_rendered_key(),
        &TableDump::union(&shards),
    );
    b.exec("DELETE FROM shard WHERE id = 7").await;
    let shards = [a.dump("shard").await, b.dump("shard").await];
    assert!(
        source
            .sorted_by_rendered_key()
            .diff(&TableDump::union(&shards))
            .is_some()
    );
}
