//! Runs that used to end with exit 0 (or a misleading error) and targets that differ from the
//! sources: a target with an extra unique key, a sharding rule that matches nothing, deferred
//! indexes never added back, cascading foreign keys under a move, foreign keys created before
//! their parents, a source user without `REPLICATION SLAVE`, and a caught-up move while
//! the application still writes. Each is checked on real servers with the oracle.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reshard_mysql::writer::{Duplicates, TableWriter};
use reshard_testkit::{TestDb, assert_same};
use reshard_types::Dsn;

use crate::Run;
use crate::moves::{Child, servers};
use crate::reshard::{assert_placed, union};

/// Runs the binary with `command` from `sources` to `targets` and `extra` arguments.
async fn run(command: &str, sources: &[&TestDb], targets: &[&TestDb], extra: &[&str]) -> Run {
    let mut args = vec![command.to_owned()];
    args.extend(servers(sources, targets));
    if command == "move" {
        args.push(String::from("--stop-when-caught-up"));
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    crate::reshard::run(args).await
}

/// The indexes of `table`, as `name: columns(prefix)` lines in a fixed order.
async fn indexes(db: &TestDb, table: &str) -> Vec<Option<String>> {
    db.query_column(&format!(
        "SELECT CONCAT(INDEX_NAME, ' ', NON_UNIQUE, ': ', GROUP_CONCAT(COLUMN_NAME, '(', IFNULL(SUB_PART, '-'), ')' \
                ORDER BY SEQ_IN_INDEX)) FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{table}' GROUP BY INDEX_NAME, NON_UNIQUE ORDER BY INDEX_NAME",
        db.name()
    ))
    .await
}

/// `constraint: rules` of the foreign keys of `table`.
async fn foreign_keys(db: &TestDb, table: &str) -> Vec<Option<String>> {
    db.query_column(&format!(
        "SELECT CONCAT(CONSTRAINT_NAME, ' -> ', REFERENCED_TABLE_NAME, ' ', DELETE_RULE, ' ', UPDATE_RULE) \
         FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '{}' AND TABLE_NAME = '{table}' \
         ORDER BY CONSTRAINT_NAME",
        db.name()
    ))
    .await
}

async fn count(db: &TestDb, table: &str) -> String {
    db.query_column(&format!("SELECT COUNT(*) FROM `{table}`"))
        .await
        .remove(0)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_with_a_unique_key_the_source_lacks_is_refused_by_copy_and_move() {
    let (source, target) = crate::copy::pair("safety_extra_unique").await;
    source
        .exec(
            "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, sku VARCHAR(20) NOT NULL, KEY k_sku (sku));
             INSERT INTO t SELECT seq, CONCAT('sku', seq % 5) FROM seq_1_to_100;",
        )
        .await;
    target
        .exec("CREATE TABLE t (id INT NOT NULL PRIMARY KEY, sku VARCHAR(20) NOT NULL, KEY k_sku (sku), UNIQUE KEY u_sku (sku))")
        .await;
    for command in ["copy", "move"] {
        run(command, &[&source], &[&target], &["--tables", "t"])
            .await
            .expect_code(1)
            .stderr_has("nothing was copied")
            .stderr_has("the target has UNIQUE KEY `u_sku` (`sku`), which the source lacks");
        assert_eq!(count(&target, "t").await, "0", "{command} wrote rows");
    }
    // A unique key whose prefix length differs is refused too; a plain index that differs cannot
    // lose a row, and is left as it is.
    source
        .exec("ALTER TABLE t ADD UNIQUE KEY u_id_sku (id, sku)")
        .await;
    target
        .exec("DROP TABLE t; CREATE TABLE t (id INT NOT NULL PRIMARY KEY, sku VARCHAR(20) NOT NULL, KEY k_sku (sku(4)), UNIQUE KEY u_id_sku (id, sku(3)))")
        .await;
    run("copy", &[&source], &[&target], &["--tables", "t"])
        .await
        .expect_code(1)
        .stderr_has("index `u_id_sku` is UNIQUE KEY `u_id_sku` (`id`, `sku`) on the source but UNIQUE KEY `u_id_sku` (`id`, `sku`(3)) on the target");
    target
        .exec("ALTER TABLE t DROP KEY u_id_sku, ADD UNIQUE KEY u_id_sku (id, sku)")
        .await;
    run("copy", &[&source], &[&target], &["--tables", "t"])
        .await
        .expect_code(0);
    assert_same(&source.dump("t").await, &target.dump("t").await);
}

/// The DSN and schema of `target`.`t` (two INT columns), and a batch whose rows are `values` in
/// both columns.
async fn two_int_columns(
    target: &TestDb,
    values: Vec<i32>,
) -> (Dsn, reshard_types::TableSchema, arrow_array::RecordBatch) {
    let dsn = Dsn::parse(&target.dsn()).unwrap();
    let mut session = reshard_mysql::connect(&dsn).await.unwrap();
    let schema = reshard_mysql::discover_table(&mut session, target.name(), "t")
        .await
        .unwrap();
    let column = Arc::new(arrow_array::Int32Array::from(values));
    let batch = arrow_array::RecordBatch::try_new(
        Arc::new(reshard_convert::schema::arrow_schema(&schema)),
        vec![column.clone(), column],
    )
    .unwrap();
    (dsn, schema, batch)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_on_a_key_other_than_the_row_key_fails_the_write_naming_it() {
    let target = TestDb::create("safety_dup_other", 2).await;
    target
        .exec(
            "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, u INT NOT NULL, UNIQUE KEY u_u (u));
             INSERT INTO t VALUES (100, 1);",
        )
        .await;
    let (dsn, schema, batch) = two_int_columns(&target, vec![1, 2]).await;
    let errors = tokio::task::spawn_blocking(move || {
        [Duplicates::Skip, Duplicates::Refuse].map(|policy| {
            let mut writer = TableWriter::open(&dsn, &schema, policy).unwrap();
            writer.write(&batch).unwrap_err().to_string()
        })
    })
    .await
    .unwrap();
    for error in errors {
        assert!(
            error.contains("collides on unique key `u_u`, not on the row key `PRIMARY`"),
            "{error}"
        );
    }
    // Skip leaves the rows that went in (id 2, from the first attempt); Refuse kept none of its
    // batch: a second row 2 would have been refused as a duplicate otherwise.
    assert_eq!(
        target.query_column("SELECT id FROM t ORDER BY id").await,
        [Some("2".to_owned()), Some("100".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_write_keeps_no_row_of_its_batch() {
    let target = TestDb::create("safety_refuse", 2).await;
    target
        .exec("CREATE TABLE t (id INT NOT NULL PRIMARY KEY, u INT NOT NULL); INSERT INTO t VALUES (3, 3)")
        .await;
    // Rows 1 and 2 are new, row 3 is a duplicate of the row key.
    let (dsn, schema, batch) = two_int_columns(&target, vec![1, 2, 3]).await;
    let error = tokio::task::spawn_blocking(move || {
        let mut writer = TableWriter::open(&dsn, &schema, Duplicates::Refuse).unwrap();
        writer.write(&batch).unwrap_err().to_string()
    })
    .await
    .unwrap();
    assert!(
        error.contains("1 row(s) written into")
            && error.contains("have a key the table already holds"),
        "{error}"
    );
    assert_eq!(
        target.query_column("SELECT id FROM t ORDER BY id").await,
        [Some("3".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sharding_rule_that_matches_no_table_is_refused_and_patterns_place_tables() {
    let source = TestDb::create("safety_rules", 1).await;
    let t = crate::reshard::targets("safety_rules", 2).await;
    source
        .exec(
            "CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, customer_id INT NOT NULL);
             INSERT INTO orders SELECT seq, seq % 97 FROM seq_1_to_500;
             CREATE TABLE sbtest1 (id INT NOT NULL PRIMARY KEY, c INT);
             INSERT INTO sbtest1 SELECT seq, seq FROM seq_1_to_300;
             CREATE TABLE sbtest2 LIKE sbtest1; INSERT INTO sbtest2 SELECT * FROM sbtest1;",
        )
        .await;
    let targets = [&t[0], &t[1]];
    // The typo: refused as bad input before anything is written (it went whole to both targets).
    run(
        "copy",
        &[&source],
        &targets,
        &[
            "--shard-by",
            "ordrs=customer_id:hash",
            "--unsharded-target",
            "all",
        ],
    )
    .await
    .expect_code(2)
    .stderr_has("--shard-by 'ordrs=customer_id:hash': 'ordrs' is not one of the moved tables");
    assert!(t[0].tables().await.is_empty() && t[1].tables().await.is_empty());
    run(
        "copy",
        &[&source],
        &targets,
        &[
            "--shard-by",
            "sbtest*=id:xxhash",
            "--shard-by",
            "nothing*=id:xxhash",
            "--unsharded-target",
            "all",
        ],
    )
    .await
    .expect_code(2)
    .stderr_has("the pattern 'nothing*' matches none of the moved tables");
    run("copy", &[&source], &targets, &["--tables", "orders,orders"])
        .await
        .expect_code(2)
        .stderr_has("--tables names 'orders' twice");
    assert!(t[0].tables().await.is_empty());

    // A pattern shards every table it matches.
    run(
        "copy",
        &[&source],
        &targets,
        &[
            "--shard-by",
            "sbtest*=id:xxhash",
            "--shard-by",
            "orders=customer_id:xxhash",
        ],
    )
    .await
    .expect_code(0);
    let ranges = [
        reshard_types::KeyRange::parse("-80").unwrap(),
        reshard_types::KeyRange::parse("80-").unwrap(),
    ];
    for (table, column) in [
        ("sbtest1", "id"),
        ("sbtest2", "id"),
        ("orders", "customer_id"),
    ] {
        let counts = assert_placed(&targets, &ranges, table, column, "xxhash").await;
        assert!(counts.iter().all(|&c| c > 0), "{table}: {counts:?}");
        assert_same(
            &union(&[&source], table).await,
            &union(&targets, table).await,
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn indexes_a_killed_deferred_copy_left_out_are_added_by_any_rerun() {
    let (source, target) = crate::copy::pair("safety_deferred").await;
    source
        .exec(
            "CREATE TABLE p (id INT NOT NULL PRIMARY KEY);
             INSERT INTO p SELECT seq FROM seq_1_to_50;
             CREATE TABLE t (id INT NOT NULL PRIMARY KEY, email VARCHAR(40) NOT NULL, name VARCHAR(40),
                             p_id INT NULL, UNIQUE KEY u_email (email(30)), KEY k_name (name, id),
                             CONSTRAINT fk_p FOREIGN KEY (p_id) REFERENCES p (id));
             INSERT INTO t SELECT seq, CONCAT('e', seq), CONCAT('n', seq % 9), seq % 50 + 1 FROM seq_1_to_400;",
        )
        .await;
    let want_indexes = indexes(&source, "t").await;
    let want_fks = foreign_keys(&source, "t").await;
    assert_eq!(want_indexes.len(), 4, "{want_indexes:?}");
    // What a --defer-secondary-indexes copy killed before the end leaves: the table without its
    // secondary indexes and foreign key, and some rows.
    target
        .exec(
            "CREATE TABLE p (id INT NOT NULL PRIMARY KEY);
             CREATE TABLE t (id INT NOT NULL PRIMARY KEY, email VARCHAR(40) NOT NULL, name VARCHAR(40), p_id INT NULL);
             INSERT INTO t VALUES (1, 'e1', 'n1', 2);",
        )
        .await;
    for extra in [
        &["--force"][..],
        &["--force", "--defer-secondary-indexes"][..],
    ] {
        let mut args = vec!["--target-chunk-size", "4K"];
        args.extend_from_slice(extra);
        run("copy", &[&source], &[&target], &args)
            .await
            .expect_code(0);
        assert_eq!(indexes(&target, "t").await, want_indexes, "{extra:?}");
        assert_eq!(foreign_keys(&target, "t").await, want_fks, "{extra:?}");
        assert_same(&source.dump("t").await, &target.dump("t").await);
        // Leave it short again for the next rerun: without the foreign key, and (the second
        // time) with the foreign key's index, which MariaDB names after the key, still there.
        target.exec("ALTER TABLE t DROP FOREIGN KEY fk_p").await;
        target
            .exec("ALTER TABLE t DROP KEY k_name, DROP KEY u_email")
            .await;
    }
    run("copy", &[&source], &[&target], &["--force"])
        .await
        .expect_code(0);
    assert_eq!(indexes(&target, "t").await, want_indexes);
    assert_eq!(foreign_keys(&target, "t").await, want_fks);
}

#[tokio::test(flavor = "multi_thread")]
async fn tables_with_foreign_keys_copy_in_any_order_without_deferring() {
    let (source, target) = crate::copy::pair("safety_fk_order").await;
    // `a_child` comes first by name and refers to `z_parent`.
    source
        .exec(
            "CREATE TABLE z_parent (id INT NOT NULL PRIMARY KEY);
             INSERT INTO z_parent SELECT seq FROM seq_1_to_30;
             CREATE TABLE a_child (id INT NOT NULL PRIMARY KEY, parent INT NOT NULL,
                                   CONSTRAINT fk_parent FOREIGN KEY (parent) REFERENCES z_parent (id));
             INSERT INTO a_child SELECT seq, seq % 30 + 1 FROM seq_1_to_200;",
        )
        .await;
    run("copy", &[&source], &[&target], &[])
        .await
        .expect_code(0);
    assert_same(&source.dump("a_child").await, &target.dump("a_child").await);
    assert_eq!(
        foreign_keys(&target, "a_child").await,
        foreign_keys(&source, "a_child").await
    );
    // Emptying a table first (--force) leaves the foreign key checks off for the tables created
    // after it.
    source
        .exec("CREATE TABLE a_first (id INT NOT NULL PRIMARY KEY); INSERT INTO a_first VALUES (1)")
        .await;
    target
        .exec("DROP TABLE a_child, z_parent; CREATE TABLE a_first (id INT NOT NULL PRIMARY KEY); INSERT INTO a_first VALUES (9)")
        .await;
    run("copy", &[&source], &[&target], &["--force"])
        .await
        .expect_code(0);
    for table in ["a_first", "a_child", "z_parent"] {
        assert_same(&source.dump(table).await, &target.dump(table).await);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_refuses_cascading_foreign_keys_before_anything_is_written() {
    let (source, target) = crate::copy::pair("safety_cascade").await;
    source
        .exec(
            "CREATE TABLE parents (id INT NOT NULL PRIMARY KEY);
             INSERT INTO parents SELECT seq FROM seq_1_to_10;
             CREATE TABLE plain (id INT NOT NULL PRIMARY KEY, p INT,
                                 CONSTRAINT fk_plain FOREIGN KEY (p) REFERENCES parents (id));",
        )
        .await;
    for (child, action) in [
        ("c_delete", "ON DELETE CASCADE"),
        ("c_update", "ON UPDATE CASCADE"),
        ("c_null", "ON DELETE SET NULL"),
    ] {
        source
            .exec(&format!(
                "CREATE TABLE {child} (id INT NOT NULL PRIMARY KEY, p INT NULL,
                                       CONSTRAINT fk_{child} FOREIGN KEY (p) REFERENCES parents (id) {action});
                 INSERT INTO {child} SELECT seq, seq % 10 + 1 FROM seq_1_to_100;"
            ))
            .await;
        let tables = format!("parents,plain,{child}");
        run("move", &[&source], &[&target], &["--tables", &tables])
            .await
            .expect_code(1)
            .stderr_has("nothing was copied")
            .stderr_has(&format!("has foreign key `fk_{child}` ({action})"))
            .stderr_has("the binary log does not carry those changes");
        assert!(target.tables().await.is_empty(), "{child}: written to");
    }
    // RESTRICT foreign keys move (the application's own deletes of children are in the binlog).
    run(
        "move",
        &[&source],
        &[&target],
        &["--tables", "parents,plain"],
    )
    .await
    .expect_code(0);
    // reshard copy of quiet sources follows cascades fine: nothing changes while it copies.
    run(
        "copy",
        &[&source],
        &[&target],
        &["--tables", "c_delete", "--force"],
    )
    .await
    .expect_code(0);
    assert_same(
        &source.dump("c_delete").await,
        &target.dump("c_delete").await,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unmappable_sharding_value_is_found_before_force_empties_a_target() {
    let source = TestDb::create("safety_order", 1).await;
    let t = crate::reshard::targets("safety_order", 2).await;
    source
        .exec(
            "CREATE TABLE s (code VARCHAR(30) NOT NULL PRIMARY KEY);
             INSERT INTO s VALUES ('1'), ('-2'), ('+3'), ('18446744073709551615'), ('-9223372036854775808'),
                                  ('0007'), ('x7');",
        )
        .await;
    for target in &t {
        target
            .exec("CREATE TABLE s (code VARCHAR(30) NOT NULL PRIMARY KEY); INSERT INTO s VALUES ('kept')")
            .await;
    }
    let targets = [&t[0], &t[1]];
    for command in ["copy", "move"] {
        run(
            command,
            &[&source],
            &targets,
            &["--shard-by", "s=code:hash", "--force"],
        )
        .await
        .expect_code(1)
        .stderr_has("sharding column `code`: the row with `code`='x7'")
        .stderr_has("the hash vindex needs an integer");
        for target in &t {
            assert_eq!(count(target, "s").await, "1", "{command} emptied a target");
        }
    }
    // Integers in text that Vitess parses pass the check (the largest unsigned, the smallest
    // signed, a sign, leading zeros), and one beyond 2^64 - 1 does not.
    source.exec("DELETE FROM s WHERE code = 'x7'").await;
    run(
        "copy",
        &[&source],
        &targets,
        &["--shard-by", "s=code:hash", "--force"],
    )
    .await
    .expect_code(0);
    assert_same(&union(&[&source], "s").await, &union(&targets, "s").await);
    source
        .exec("INSERT INTO s VALUES ('18446744073709551616')")
        .await;
    run(
        "copy",
        &[&source],
        &targets,
        &["--shard-by", "s=code:hash", "--force"],
    )
    .await
    .expect_code(1)
    .stderr_has("holds '18446744073709551616'");
    // Refused before --force emptied anything: the targets still hold the last copy.
    let held: u64 = [count(&t[0], "s").await, count(&t[1], "s").await]
        .iter()
        .map(|c| c.parse::<u64>().unwrap())
        .sum();
    assert_eq!(held, 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_user_without_replication_slave_is_refused_before_anything_is_written() {
    let (source, target) = crate::copy::pair("safety_grant").await;
    source
        .exec("CREATE TABLE t (id INT NOT NULL PRIMARY KEY); INSERT INTO t VALUES (1)")
        .await;
    let user = format!("norepl_{}", std::process::id());
    source
        .exec(&format!(
            "CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY 'pw';
             GRANT SELECT, RELOAD, BINLOG MONITOR ON *.* TO '{user}'@'%';
             GRANT ALL ON `{}`.* TO '{user}'@'%';",
            source.name()
        ))
        .await;
    let dsn = format!(
        "mysql://{user}:pw@127.0.0.1:{}/{}",
        source.server().port,
        source.name()
    );
    let mut args = vec![String::from("move"), String::from("--source"), dsn];
    args.extend([String::from("--target"), target.dsn()]);
    args.push(String::from("--stop-when-caught-up"));
    let out = crate::reshard::run(args).await;
    source.exec(&format!("DROP USER '{user}'@'%'")).await;
    out.expect_code(1)
        .stderr_has("nothing was written")
        .stderr_has("REPLICATION SLAVE");
    assert!(target.tables().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_waits_out_pauses_shorter_than_its_quiet_time() {
    let (source, target) = crate::copy::pair("safety_quiet").await;
    source
        .exec(
            "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, u INT NOT NULL, UNIQUE KEY u_u (u));
             INSERT INTO t SELECT seq, seq FROM seq_1_to_2000;",
        )
        .await;
    let mut args = servers(&[&source], &[&target]);
    args.extend(["--tables", "t", "--stop-when-caught-up=3s"].map(String::from));
    let child = Child::start(&args);
    crate::moves::until_set_up(&target, "t").await;
    // Bursts of writes with pauses of 400 ms (more than one 100 ms tick, less than the quiet
    // time), among them swaps of unique values between rows, for about 4 s after the copy.
    let writing = Arc::new(AtomicBool::new(true));
    let load = {
        let (source_conn, writing) = (source.conn().await, Arc::clone(&writing));
        tokio::spawn(async move {
            use mysql_async::prelude::Queryable;
            let mut conn = source_conn;
            for round in 0..12u32 {
                let a = round * 7 + 1;
                let b = a + 1;
                // The swap of unique values runs as three transactions, so a cycle can hold a
                // row's new value while the row that gave it up is not in the cycle.
                conn.query_drop(format!(
                    "UPDATE t SET u = -1 WHERE id = {a}; UPDATE t SET u = {a} WHERE id = {b};
                     UPDATE t SET u = {b} WHERE id = {a};
                     INSERT INTO t VALUES ({}, {}); DELETE FROM t WHERE id = {};",
                    10_000 + round,
                    10_000 + round,
                    1000 + round
                ))
                .await
                .unwrap();
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
            writing.store(false, Ordering::SeqCst);
        })
    };
    let exited_while_writing = tokio::task::spawn_blocking({
        let writing = Arc::clone(&writing);
        move || {
            let run = child.finish(Duration::from_secs(120));
            (run, writing.load(Ordering::SeqCst))
        }
    })
    .await
    .unwrap();
    load.await.unwrap();
    let (run, still_writing) = exited_while_writing;
    run.expect_code(0)
        .stdout_has("caught up after")
        .stdout_has("the targets equal this source as of binlog");
    assert!(!still_writing, "the move exited while the load was writing");
    assert_same(&source.dump("t").await, &target.dump("t").await);
}
