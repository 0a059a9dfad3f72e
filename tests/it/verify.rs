//! `reshard verify` on real servers: after a copy it finds the targets equal; differences
//! injected behind reshard's back (a missing row, an extra row, one bit of a 3 MB BLOB, NULL
//! against '', a trailing space, a microsecond, a DECIMAL's last digit, a row on the wrong shard,
//! two identical rows changed identically, a row on two targets) are each named by key and
//! kind, and nothing else is.

use std::collections::BTreeSet;

use std::time::{Duration, Instant};

use reshard_testkit::{TestDb, assert_same};

use crate::Run;
use crate::moves::servers;
use crate::reshard::{targets, union};

/// Runs `reshard command` from `sources` to `targets` with `extra` arguments.
async fn reshard(command: &str, sources: &[&TestDb], targets: &[&TestDb], extra: &[&str]) -> Run {
    let mut args = vec![command.to_owned()];
    args.extend(servers(sources, targets));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    crate::reshard::run(args).await
}

async fn verify(sources: &[&TestDb], targets: &[&TestDb], extra: &[&str]) -> Run {
    reshard("verify", sources, targets, extra).await
}

async fn copy(sources: &[&TestDb], targets: &[&TestDb], extra: &[&str]) {
    reshard("copy", sources, targets, extra)
        .await
        .expect_code(0);
}

/// (kind, target, belongs_on, key) of every listed row of the JSON report.
fn listed(run: &Run) -> BTreeSet<(String, String, String, String)> {
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    let field =
        |row: &serde_json::Value, name: &str| row[name].as_str().unwrap_or_default().to_owned();
    report["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .flat_map(|t| t["rows"].as_array().expect("rows").clone())
        .map(|row| {
            (
                field(&row, "kind"),
                field(&row, "target"),
                field(&row, "belongs_on"),
                field(&row, "key"),
            )
        })
        .collect()
}

/// Which of `targets` holds the row `id` of `t`.
async fn holder(targets: &[TestDb], id: u64) -> usize {
    for (i, t) in targets.iter().enumerate() {
        let n = t
            .query_column(&format!("SELECT COUNT(*) FROM t WHERE id = {id}"))
            .await;
        if n[0].as_deref() == Some("1") {
            return i;
        }
    }
    panic!("no target holds row {id}");
}

fn expected(
    rows: &[(&str, usize, Option<usize>, u64)],
) -> BTreeSet<(String, String, String, String)> {
    let names = ["-80", "80-"];
    rows.iter()
        .map(|(kind, target, belongs, id)| {
            (
                (*kind).to_owned(),
                names[*target].to_owned(),
                belongs.map(|b| names[b].to_owned()).unwrap_or_default(),
                format!("`id`={id}"),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_names_each_injected_difference_by_key_and_kind_and_nothing_else() {
    let source = TestDb::create("verify_injected", 1).await;
    source
        .exec(
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, note VARCHAR(20) NULL, vb VARBINARY(20),
                             dt DATETIME(6), amount DECIMAL(12,4), body LONGBLOB);
             INSERT INTO t SELECT seq, IF(seq = 2, NULL, CONCAT('n', seq)), 'x', '2024-02-29 12:00:00.250000',
                                  seq / 7, REPEAT('b', seq % 100) FROM seq_1_to_3000;
             UPDATE t SET note = 'same', vb = 'same', amount = 1, body = 'same' WHERE id IN (8, 9);
             UPDATE t SET body = REPEAT(X'5A', 3 * 1024 * 1024) WHERE id = 500;",
        )
        .await;
    let t = targets("verify_injected", 2).await;
    let target_refs: Vec<&TestDb> = t.iter().collect();
    let shard = ["--shard-by", "t=id:hash"];
    copy(&[&source], &target_refs, &shard).await;
    let clean = verify(&[&source], &target_refs, &shard).await;
    clean
        .expect_code(0)
        .stdout_has("`.`t`: equal (3000 source rows")
        .stdout_has("the targets hold exactly the sources' rows");

    let at = |id: u64| {
        let t = &t;
        async move { holder(t, id).await }
    };
    let (h1, h2, h3, h4, h6, h7, h8, h9, h10, h500) = (
        at(1).await,
        at(2).await,
        at(3).await,
        at(4).await,
        at(6).await,
        at(7).await,
        at(8).await,
        at(9).await,
        at(10).await,
        at(500).await,
    );
    t[h1].exec("DELETE FROM t WHERE id = 1").await;
    t[0].exec("INSERT INTO t VALUES (5000000, 'extra', 'x', NULL, 0, '')")
        .await;
    t[h500]
        .exec("UPDATE t SET body = CONCAT(LEFT(body, 1000000), X'5B', SUBSTRING(body, 1000002)) WHERE id = 500")
        .await;
    t[h2].exec("UPDATE t SET note = '' WHERE id = 2").await;
    t[h3].exec("UPDATE t SET vb = 'x ' WHERE id = 3").await;
    t[h4]
        .exec("UPDATE t SET dt = '2024-02-29 12:00:00.250001' WHERE id = 4")
        .await;
    t[h6]
        .exec("UPDATE t SET amount = amount + 0.0001 WHERE id = 6")
        .await;
    // Row 7 moves to the other shard; row 10 is copied there as well.
    for (id, holder, remove) in [(7, h7, true), (10, h10, false)] {
        let values = t[holder]
            .query_column(&format!(
                "SELECT CONCAT_WS(',', id, QUOTE(note), QUOTE(vb), QUOTE(dt), amount, QUOTE(body)) FROM t WHERE id = {id}"
            ))
            .await
            .remove(0)
            .expect("the row");
        t[1 - holder]
            .exec(&format!("INSERT INTO t VALUES ({values})"))
            .await;
        if remove {
            t[holder]
                .exec(&format!("DELETE FROM t WHERE id = {id}"))
                .await;
        }
    }
    // Rows 8 and 9 hold the same values; both change the same way (a bare XOR of their hashes
    // would not see it if their hashes were equal; their keys make them differ anyway).
    t[h8].exec("UPDATE t SET note = 'other' WHERE id = 8").await;
    t[h9].exec("UPDATE t SET note = 'other' WHERE id = 9").await;

    let run = verify(&[&source], &target_refs, &[shard[0], shard[1], "--json"]).await;
    run.expect_code(1).stderr_has("row(s) differ");
    assert_eq!(
        listed(&run),
        expected(&[
            ("missing", h1, None, 1),
            ("extra", 0, None, 5_000_000),
            ("different", h500, None, 500),
            ("different", h2, None, 2),
            ("different", h3, None, 3),
            ("different", h4, None, 4),
            ("different", h6, None, 6),
            ("misplaced", 1 - h7, Some(h7), 7),
            ("different", h8, None, 8),
            ("different", h9, None, 9),
            ("misplaced", 1 - h10, Some(h10), 10),
        ])
    );
    // The human report says the same, and the listing cap keeps the counts exact.
    let capped = verify(
        &[&source],
        &target_refs,
        &[shard[0], shard[1], "--max-rows-listed", "3"],
    )
    .await;
    capped
        .expect_code(1)
        .stdout_has("11 row(s) differ")
        .stdout_has("... and 8 more (raise --max-rows-listed to list them)");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_sources_reference_and_unsharded_tables_verify_against_their_targets() {
    let a = TestDb::create("verify_two_sources_a", 1).await;
    let b = TestDb::create("verify_two_sources_b", 2).await;
    for (db, parity) in [(&a, 0), (&b, 1)] {
        db.exec(&format!(
            "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v VARCHAR(10));
             INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_4000 WHERE seq % 2 = {parity};
             CREATE TABLE countries (code CHAR(2) NOT NULL PRIMARY KEY, name VARCHAR(20));
             CREATE TABLE audit (id INT NOT NULL PRIMARY KEY, what VARCHAR(10));"
        ))
        .await;
    }
    a.exec("INSERT INTO countries VALUES ('fr', 'France'), ('de', 'Germany'); INSERT INTO audit VALUES (1, 'x')")
        .await;
    let t = targets("verify_two_sources", 2).await;
    let target_refs: Vec<&TestDb> = t.iter().collect();
    let rules = [
        "--shard-by",
        "t=id:xxhash",
        "--tables",
        "t,countries",
        "--unsharded-target",
        "all",
    ];
    copy(&[&a, &b], &target_refs, &rules).await;
    verify(&[&a, &b], &target_refs, &rules)
        .await
        .expect_code(0)
        .stdout_has("`countries`: equal (2 source rows");
    // A reference table must be whole on every target.
    t[1].exec("DELETE FROM countries WHERE code = 'de'").await;
    let run = verify(
        &[&a, &b],
        &target_refs,
        &[
            rules[0], rules[1], rules[2], rules[3], rules[4], rules[5], "--json",
        ],
    )
    .await;
    run.expect_code(1);
    assert_eq!(
        listed(&run),
        BTreeSet::from([(
            String::from("missing"),
            String::from("80-"),
            String::new(),
            String::from("`code`='de'")
        )])
    );
    // A table the targets lack is refused before anything is compared, naming it.
    verify(
        &[&a, &b],
        &target_refs,
        &[
            "--shard-by",
            "t=id:xxhash",
            "--tables",
            "t,audit",
            "--unsharded-target",
            "1",
        ],
    )
    .await
    .expect_code(1)
    .stderr_has("nothing was verified")
    .stderr_has("has no table");
}

/// A row the copy writes wrong on a target (a trigger stands for an outside writer) is found by
/// the move's verification, repaired from its source, verified again and reported as one
/// repair; meanwhile an application keeps writing to the source, and no statement of it waits
/// (the longest is measured: no lock is taken on the sources).
#[tokio::test(flavor = "multi_thread")]
async fn a_move_repairs_a_row_altered_on_a_target_and_never_blocks_the_sources_writers() {
    let source = TestDb::create("verify_repair", 1).await;
    source
        .exec(
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(20));
             INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_20000;",
        )
        .await;
    let t = targets("verify_repair", 2).await;
    for target in &t {
        target
            .exec(
                "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(20));
                 CREATE TABLE tampered (n INT NOT NULL PRIMARY KEY);
                 CREATE TRIGGER tamper BEFORE INSERT ON t FOR EACH ROW
                   IF NEW.id = 777 AND NOT EXISTS (SELECT 1 FROM tampered) THEN
                     SET NEW.v = 'tampered'; INSERT INTO tampered VALUES (1);
                   END IF",
            )
            .await;
    }
    let target_refs: Vec<&TestDb> = t.iter().collect();
    // The application: updates and inserts on the source, each timed, through the copy and
    // the verification, until a while after the repair shows on a target.
    let writer = {
        let dsn = source.dsn();
        let targets: Vec<String> = t.iter().map(TestDb::dsn).collect();
        tokio::spawn(async move {
            use mysql_async::prelude::Queryable;
            let mut conn = mysql_async::Conn::from_url(dsn).await.expect("connecting");
            let mut watch = Vec::new();
            for dsn in targets {
                watch.push(mysql_async::Conn::from_url(dsn).await.expect("connecting"));
            }
            let (mut longest, mut statements) = (Duration::ZERO, 0u64);
            let mut n = 0u64;
            let mut repaired_at: Option<Instant> = None;
            let deadline = Instant::now() + Duration::from_secs(120);
            while repaired_at.is_none_or(|at| at.elapsed() < Duration::from_millis(1500)) {
                assert!(
                    Instant::now() < deadline,
                    "the row was not repaired within 120 s"
                );
                if repaired_at.is_none() && n.is_multiple_of(20) {
                    for w in &mut watch {
                        let v: Option<String> = w
                            .query_first("SELECT v FROM t WHERE id = 777")
                            .await
                            .unwrap_or(None);
                        if v.as_deref() == Some("v777") {
                            repaired_at = Some(Instant::now());
                        }
                    }
                }
                n += 1;
                let sql = if n.is_multiple_of(2) {
                    format!("UPDATE t SET v = 'w{n}' WHERE id = {}", 1 + n % 500)
                } else {
                    format!("INSERT INTO t VALUES ({}, 'new')", 100_000 + n)
                };
                let started = Instant::now();
                conn.query_drop(sql).await.expect("a source write");
                longest = longest.max(started.elapsed());
                statements += 1;
            }
            conn.disconnect().await.ok();
            (longest, statements)
        })
    };
    // The repair is visible once the copy wrote row 777 tampered and the verification fixed it:
    // before the copy, no target has the row at all.
    let run = reshard(
        "move",
        &[&source],
        &target_refs,
        &[
            "--shard-by",
            "t=id:hash",
            "--tables",
            "t",
            "--target-chunk-size",
            "64K",
            "--stop-when-caught-up=3s",
        ],
    )
    .await;
    let (longest, statements) = writer.await.expect("the writer");
    eprintln!("{statements} source statements during the move; the longest took {longest:?}");
    run.expect_code(0)
        .stdout_has("1 row(s) were repaired first")
        .stdout_has("`id`=777 on ")
        .stdout_has("the targets hold exactly the sources' rows");
    assert!(
        longest < Duration::from_secs(1),
        "a source statement waited {longest:?} during the move"
    );
    let holder = holder(&t, 777).await;
    assert_eq!(
        t[holder]
            .query_column("SELECT v FROM t WHERE id = 777")
            .await,
        vec![Some(String::from("v777"))],
        "the repaired row holds the source's value"
    );
    // The writer stopped before the move's quiet time: the targets hold every one of its writes.
    let sources: Vec<&TestDb> = vec![&source];
    assert_same(&union(&sources, "t").await, &union(&target_refs, "t").await);
    verify(
        &[&source],
        &target_refs,
        &["--shard-by", "t=id:hash", "--tables", "t"],
    )
    .await
    .expect_code(0);
}

/// `reshard move --defer-secondary-indexes`: the targets are created with their keys only, the
/// secondary indexes (a unique one too) are added back once the copy is done while changes keep
/// coming, then the move verifies; the targets end with the source's indexes and rows.
///
/// The writer keeps updating rows while the unique index is built: the applier writes each as a
/// delete and an insert of the same row in one transaction, which InnoDB's online `ADD UNIQUE`
/// takes for a duplicate (MariaDB 10.11: `Duplicate entry` though no two rows ever share a
/// value). The move must build it again with the applier held rather than fail.
#[tokio::test(flavor = "multi_thread")]
async fn a_move_with_deferred_indexes_adds_them_back_then_verifies() {
    const ROWS: u64 = 200_000;
    let source = TestDb::create("verify_defer", 1).await;
    source
        .exec(&format!(
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, email VARCHAR(40) NOT NULL, v INT,
                             UNIQUE KEY u_email (email), KEY k_v (v));
             INSERT INTO t SELECT seq, CONCAT('u', seq, '@x'), seq % 97 FROM seq_1_to_{ROWS};"
        ))
        .await;
    let t = targets("verify_defer", 2).await;
    let target_refs: Vec<&TestDb> = t.iter().collect();
    let writer = {
        let source_dsn = source.dsn();
        let target_dsns: Vec<String> = t.iter().map(TestDb::dsn).collect();
        tokio::spawn(async move {
            use mysql_async::prelude::Queryable;
            let mut conn = mysql_async::Conn::from_url(source_dsn)
                .await
                .expect("connecting");
            // Until every target has its unique index back (the move then catches up and ends),
            // or for at most 20,000 rounds.
            let mut n = 0u64;
            while n < 20_000 {
                if n.is_multiple_of(50) && unique_index_on_every(&target_dsns).await {
                    break;
                }
                let from = 1 + n * 7919 % ROWS;
                conn.query_drop(format!(
                    "UPDATE t SET v = v + 1 WHERE id BETWEEN {from} AND {from} + 20"
                ))
                .await
                .expect("an update");
                conn.query_drop(format!(
                    "INSERT INTO t VALUES ({}, 'new{n}@x', 1)",
                    1_000_000 + n
                ))
                .await
                .expect("an insert");
                n += 1;
            }
            n
        })
    };
    let run = reshard(
        "move",
        &[&source],
        &target_refs,
        &[
            "--shard-by",
            "t=id:hash",
            "--defer-secondary-indexes",
            "--stop-when-caught-up=2s",
        ],
    )
    .await;
    let rounds = writer.await.expect("the writer");
    assert!(rounds > 0, "the writer wrote");
    run.expect_code(0)
        .stdout_has("the targets hold exactly the sources' rows")
        .stderr_has("adding indexes")
        .stderr_has("analyzing");
    let want = indexes(&source).await;
    assert_eq!(want.len(), 3, "{want:?}");
    for target in &t {
        assert_eq!(indexes(target).await, want);
    }
    // The writer stopped before the move's quiet time: the targets hold every one of its writes.
    let sources: Vec<&TestDb> = vec![&source];
    assert_same(&union(&sources, "t").await, &union(&target_refs, "t").await);
}

/// Whether table `t` has its unique index `u_email` on every one of `targets`.
async fn unique_index_on_every(targets: &[String]) -> bool {
    use mysql_async::prelude::Queryable;
    for dsn in targets {
        let mut conn = mysql_async::Conn::from_url(dsn.as_str())
            .await
            .expect("connecting");
        let found: Option<u64> = conn
            .query_first(
                "SELECT COUNT(*) FROM information_schema.STATISTICS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't' AND INDEX_NAME = 'u_email'",
            )
            .await
            .expect("reading the indexes");
        let _ = conn.disconnect().await;
        if found != Some(1) {
            return false;
        }
    }
    true
}

/// `name unique columns` of each index of table `t`, by name.
async fn indexes(db: &TestDb) -> Vec<Option<String>> {
    db.query_column(&format!(
        "SELECT CONCAT(INDEX_NAME, ' ', NON_UNIQUE, ' ', GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX)) \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 't' \
         GROUP BY INDEX_NAME, NON_UNIQUE ORDER BY INDEX_NAME",
        db.name()
    ))
    .await
}

/// A row that an outside writer keeps altering on a target cannot be repaired: after its
/// rounds of repair the move stops (exit 1), naming the row, rather than end "caught up".
#[tokio::test(flavor = "multi_thread")]
async fn a_difference_that_persists_after_repairs_stops_the_move_naming_the_row() {
    let source = TestDb::create("verify_persist", 1).await;
    source
        .exec(
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(20));
             INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_3000;",
        )
        .await;
    let target = TestDb::create("verify_persist_t", 2).await;
    target
        .exec(
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(20));
             CREATE TRIGGER tamper BEFORE INSERT ON t FOR EACH ROW
               IF NEW.id = 1234 THEN SET NEW.v = 'always'; END IF",
        )
        .await;
    reshard("move", &[&source], &[&target], &["--stop-when-caught-up"])
        .await
        .expect_code(1)
        .stderr_has(
            "1 row(s) still differ between the sources and the targets after 3 rounds of repair",
        )
        .stderr_has("`id`=1234");
}
