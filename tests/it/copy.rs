//! `reshard copy` end to end: the real binary copies from instance 1 to instance 2, and the oracle
//! (the servers' own renderings of every row) says whether the target equals the source.
//!
//! Small `--target-chunk-size` values make even small tables go through many chunks, so that
//! chunk boundaries fall everywhere: in gaps, between equal leading key columns, between strings
//! whose byte order differs from their collation order.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use reshard_testkit::generate::{fill_orders, orders_ddl};
use reshard_testkit::{TestDb, assert_same, torture};

use crate::{Run, reshard};

/// Runs `reshard copy` from `source` to `target` with `extra` arguments, off the async runtime.
async fn copy(source: &TestDb, target: &TestDb, extra: &[&str]) -> Run {
    let mut args: Vec<String> = vec![
        "copy".into(),
        "--source".into(),
        source.dsn(),
        "--target".into(),
        target.dsn(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        reshard(&args)
    })
    .await
    .expect("running reshard")
}

/// A source database on instance 1 and an empty target database on instance 2.
pub(crate) async fn pair(test: &str) -> (TestDb, TestDb) {
    (TestDb::create(test, 1).await, TestDb::create(test, 2).await)
}

/// Panics unless `table` is the same on both sides, by the oracle.
async fn assert_copied(source: &TestDb, target: &TestDb, table: &str) {
    let (s, t) = (source.dump(table).await, target.dump(table).await);
    assert_same(&s, &t);
}

#[tokio::test(flavor = "multi_thread")]
async fn integer_keys_with_huge_gaps_copy_identical() {
    let (source, target) = pair("copy_gaps").await;
    source
        .exec(
            "CREATE TABLE s (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(64) NOT NULL);
             INSERT INTO s SELECT seq, REPEAT('x', seq % 50) FROM seq_1_to_3000;
             INSERT INTO s SELECT 1000000000000 + seq, 'far' FROM seq_0_to_1999;
             INSERT INTO s VALUES (-9223372036854775808, 'min'), (-1000000000000000, 'neg'), (0, 'zero'),
                                  (9223372036854775806, 'max-1'), (9223372036854775807, 'max');
             CREATE TABLE u (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, v INT);
             INSERT INTO u VALUES (0, 0), (1, 1), (18446744073709551615, 2), (9223372036854775808, 3);
             INSERT INTO u SELECT 5000000000 * seq, seq FROM seq_1_to_500;
             CREATE TABLE tiny (id TINYINT UNSIGNED NOT NULL PRIMARY KEY, v CHAR(1));
             INSERT INTO tiny SELECT seq, 'a' FROM seq_0_to_255;",
        )
        .await;
    let run = copy(&source, &target, &["--target-chunk-size", "4K"]).await;
    run.expect_code(0)
        .stdout_has("copied 3 table(s), 5765 rows");
    // Gaps are crossed by asking the server for the next key, not by walking them.
    run.stderr_has("jumping over a gap");
    for table in ["s", "u", "tiny"] {
        assert_copied(&source, &target, table).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn composite_and_datetime_keys_copy_identical() {
    let (source, target) = pair("copy_composite").await;
    source
        .exec(
            "CREATE TABLE c (a INT NOT NULL, b VARCHAR(20) NOT NULL, d DATETIME(6) NOT NULL, v TEXT,
                             PRIMARY KEY (a, b, d));
             INSERT INTO c SELECT seq % 7, CONCAT('k', seq % 13), TIMESTAMP('2020-01-01') + INTERVAL seq SECOND
                                  + INTERVAL seq MICROSECOND, REPEAT('v', seq % 100) FROM seq_1_to_6000;
             INSERT INTO c VALUES (-2147483648, '', '0000-00-00 00:00:00', NULL), (2147483647, 'zz', '9999-12-31 23:59:59.999999', '');
             CREATE TABLE dt (d DATETIME NOT NULL PRIMARY KEY, v INT);
             INSERT INTO dt SELECT TIMESTAMP('2000-01-01') + INTERVAL seq * 3 HOUR, seq FROM seq_1_to_2000;",
        )
        .await;
    copy(&source, &target, &["--target-chunk-size", "8K"])
        .await
        .expect_code(0)
        .stdout_has("copied 2 table(s), 8002 rows");
    assert_copied(&source, &target, "c").await;
    assert_copied(&source, &target, "dt").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn case_insensitive_string_keys_are_ordered_by_the_server() {
    let (source, target) = pair("copy_ci").await;
    // Byte order and collation order disagree: 'B' < 'a' in bytes, 'a' < 'B' in the collation;
    // 'é' sorts with 'e' in utf8mb4_unicode_ci and after 'z' in bytes; latin1 bytes are not UTF-8.
    source
        .exec(
            "CREATE TABLE ci (k VARCHAR(40) COLLATE utf8mb4_unicode_ci NOT NULL PRIMARY KEY, v INT);
             INSERT INTO ci SELECT CONCAT(ELT(1 + seq % 8, 'a', 'B', 'é', 'Z', 'ö', '_', 'ß', '😀'), seq), seq
             FROM seq_1_to_5000;
             CREATE TABLE l1 (k VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci NOT NULL PRIMARY KEY);
             INSERT INTO l1 SELECT CONCAT(ELT(1 + seq % 5, 'å', 'Ä', 'o', 'Ö', 'y'), seq) FROM seq_1_to_3000;",
        )
        .await;
    copy(&source, &target, &["--target-chunk-size", "2K"])
        .await
        .expect_code(0)
        .stdout_has("copied 2 table(s), 8000 rows");
    assert_copied(&source, &target, "ci").await;
    assert_copied(&source, &target, "l1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_keys_copy_identical() {
    let (source, target) = pair("copy_binary").await;
    source
        .exec(
            "CREATE TABLE b (id BINARY(16) NOT NULL PRIMARY KEY, v VARBINARY(8));
             INSERT INTO b SELECT UNHEX(MD5(seq)), UNHEX(LPAD(HEX(seq), 8, '0')) FROM seq_1_to_4000;
             INSERT INTO b VALUES (REPEAT(X'00', 16), X''), (REPEAT(X'FF', 16), NULL), (X'01', X'00');",
        )
        .await;
    copy(&source, &target, &["--target-chunk-size", "4K"])
        .await
        .expect_code(0)
        .stdout_has("4003 rows");
    assert_copied(&source, &target, "b").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_and_one_row_tables_copy_identical() {
    let (source, target) = pair("copy_small").await;
    source
        .exec(
            "CREATE TABLE empty_int (id INT NOT NULL PRIMARY KEY, v INT);
             CREATE TABLE empty_str (k VARCHAR(10) NOT NULL PRIMARY KEY);
             CREATE TABLE one (id INT NOT NULL PRIMARY KEY, v VARCHAR(5));
             INSERT INTO one VALUES (42, 'only');",
        )
        .await;
    copy(&source, &target, &[])
        .await
        .expect_code(0)
        .stdout_has("copied 3 table(s), 1 rows");
    for table in ["empty_int", "empty_str", "one"] {
        assert_copied(&source, &target, table).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_torture_table_copies_identical() {
    let (source, target) = pair("copy_torture").await;
    source.create_table(&torture::ddl("torture")).await;
    let mut conn = source.conn().await;
    for statement in torture::edge_rows("torture") {
        conn.query_drop(&statement)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    conn.disconnect().await.ok();
    copy(&source, &target, &["--target-chunk-size", "1"])
        .await
        .expect_code(0)
        .stdout_has("copied 1 table(s), 15 rows");
    assert_copied(&source, &target, "torture").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_million_rows_copy_identical() {
    let (source, target) = pair("copy_million").await;
    source.create_table(&orders_ddl("orders")).await;
    let mut conn = source.conn().await;
    fill_orders(&mut conn, "orders", 1_000_000, 100_000).await;
    conn.disconnect().await.ok();
    copy(&source, &target, &["--defer-secondary-indexes"])
        .await
        .expect_code(0)
        .stdout_has("copied 1 table(s), 1000000 rows")
        // The stage counters of `reshard bench` feed the copy's summary too.
        .stdout_has("  limiting stage: ");
    assert_eq!(source.digest("orders").await, target.digest("orders").await);
    // The deferred secondary index is back.
    let indexes = target
        .query_column(&format!(
            "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 'orders' ORDER BY 1",
            target.name()
        ))
        .await;
    assert_eq!(
        indexes,
        [Some("idx_customer".to_owned()), Some("PRIMARY".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_tables_copy_at_once() {
    let (source, target) = pair("copy_twenty").await;
    let mut conn = source.conn().await;
    for i in 0..20u64 {
        let table = format!("t{i:02}");
        conn.query_drop(orders_ddl(&table)).await.unwrap();
        // Sizes from 0 to a few thousand rows, so tables finish at different times.
        fill_orders(&mut conn, &table, i * i * 15, 10_000).await;
    }
    conn.disconnect().await.ok();
    let expected: u64 = (0..20u64).map(|i| i * i * 15).sum();
    copy(
        &source,
        &target,
        &["--target-chunk-size", "64K", "--threads", "3"],
    )
    .await
    .expect_code(0)
    .stdout_has(&format!("copied 20 table(s), {expected} rows"));
    for i in 0..20 {
        assert_copied(&source, &target, &format!("t{i:02}")).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_write_connection_is_retried_and_the_copy_ends_identical() {
    let (source, target) = pair("copy_kill").await;
    source.create_table(&orders_ddl("orders")).await;
    let mut conn = source.conn().await;
    fill_orders(&mut conn, "orders", 300_000, 100_000).await;
    conn.disconnect().await.ok();

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_reshard"))
        .args([
            "copy",
            "--source",
            &source.dsn(),
            "--target",
            &target.dsn(),
            "--target-chunk-size",
            "1M",
            "--write-threads",
            "2",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting reshard");
    // Kill the first LOAD DATA seen running into the target database.
    let mut admin = target.conn().await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut killed = None;
    while killed.is_none() && Instant::now() < deadline {
        if child.try_wait().expect("polling reshard").is_some() {
            break;
        }
        let ids: Vec<u64> = admin
            .exec(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE 'LOAD DATA%'",
                (target.name(),),
            )
            .await
            .unwrap();
        if let Some(id) = ids.first() {
            admin.query_drop(format!("KILL {id}")).await.unwrap();
            killed = Some(*id);
        } else {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    admin.disconnect().await.ok();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .expect("waiting for reshard");
    let run = Run::from(output);
    assert!(
        killed.is_some(),
        "no LOAD DATA was seen to kill:\n{}",
        run.all()
    );
    run.expect_code(0)
        .stdout_has("copied 1 table(s), 300000 rows")
        .stdout_has("transient error(s) retried")
        .stderr_has("retrying on a fresh connection");
    assert_eq!(source.digest("orders").await, target.digest("orders").await);
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_name_the_table_and_write_nothing() {
    let (source, target) = pair("copy_refuse").await;
    source
        .exec(
            "CREATE TABLE good (id INT NOT NULL PRIMARY KEY, v INT);
             INSERT INTO good VALUES (1, 1);
             CREATE TABLE nokey (v INT, w INT NULL, UNIQUE KEY uw (w));
             INSERT INTO nokey VALUES (1, 1);",
        )
        .await;
    // No primary key and no NOT NULL unique key: refused, and `good` is not even created.
    copy(&source, &target, &[])
        .await
        .expect_code(1)
        .stderr_has("nothing was copied")
        .stderr_has(&format!("`{}`.`nokey` has no primary key", source.name()));
    assert!(target.tables().await.is_empty());

    // A table that is missing on the source.
    copy(&source, &target, &["--tables", "good,missing"])
        .await
        .expect_code(1)
        .stderr_has(&format!(
            "`{}`.`missing` does not exist on the source",
            source.name()
        ));
    assert!(target.tables().await.is_empty());

    // A target table that is not empty: refused, then emptied and copied with --force.
    target
        .exec("CREATE TABLE good (id INT NOT NULL PRIMARY KEY, v INT); INSERT INTO good VALUES (7, 7)")
        .await;
    copy(&source, &target, &["--tables", "good"])
        .await
        .expect_code(1)
        .stderr_has("is not empty")
        .stderr_has("--force");
    copy(&source, &target, &["--tables", "good", "--force"])
        .await
        .expect_code(0);
    assert_copied(&source, &target, "good").await;

    // A target table of another shape: the difference is shown.
    target
        .exec("DROP TABLE good; CREATE TABLE good (id INT NOT NULL PRIMARY KEY, v BIGINT)")
        .await;
    copy(&source, &target, &["--tables", "good"])
        .await
        .expect_code(1)
        .stderr_has("differs from the source's")
        .stderr_has("column `v`: int(11) NULL on the source, bigint(20) NULL on the target");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_not_null_unique_key_stands_in_for_a_missing_primary_key() {
    let (source, target) = pair("copy_unique").await;
    source
        .exec(
            "CREATE TABLE u (a VARCHAR(10) NOT NULL, b INT NOT NULL, v TEXT, UNIQUE KEY ab (a, b), KEY v (v(10)));
             INSERT INTO u SELECT CONCAT('k', seq % 17), seq, REPEAT('t', seq % 30) FROM seq_1_to_3000;",
        )
        .await;
    copy(
        &source,
        &target,
        &["--target-chunk-size", "4K", "--defer-secondary-indexes"],
    )
    .await
    .expect_code(0)
    .stderr_has(
        "its unique index `ab` (a, b), whose columns are NOT NULL, identifies its rows instead",
    )
    .stdout_has("3000 rows");
    assert_copied(&source, &target, "u").await;
}
