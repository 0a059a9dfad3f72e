//! `reshard copy` with several sources and targets: every row on the target whose key range
//! holds its keyspace id, the union of the targets equal to the union of the sources.
//!
//! Both facts are checked without reshard's routing code: the oracle compares the servers' own
//! renderings of every row, and the placement of each row is recomputed from the sharding value
//! the target server returns, with the scalar reference vindexes (`reshard_kernels::vindex`, the
//! functions checked against Vitess's published vectors), not the columnar kernel the copy uses.
//! The database has a table for each of hash and xxhash over BIGINT and VARCHAR, a sharding
//! column that is not the key, and an unsharded table; another copies by the `unicode_loose`
//! vindexes (VARCHAR and INT).

use mysql_async::prelude::Queryable;
use reshard_kernels::vindex::{VindexKind, VindexValue, keyspace_id};
use reshard_testkit::{TableDump, TestDb, assert_same};
use reshard_types::KeyRange;

use crate::{Run, reshard};

/// The sharded tables: (table, sharding column, vindex).
const SHARDED: [(&str, &str, &str); 4] = [
    ("customers", "id", "hash"),         // BIGINT, hash
    ("orders", "order_ref", "xxhash"),   // VARCHAR (unicode, case-insensitive PK), xxhash
    ("events", "customer_id", "xxhash"), // BIGINT, not the key, xxhash
    ("accounts", "code", "hash"),        // VARCHAR of integers, hash
];

/// `--shard-by` arguments for [`SHARDED`].
fn shard_by() -> Vec<String> {
    SHARDED
        .iter()
        .flat_map(|(t, c, v)| [String::from("--shard-by"), format!("{t}={c}:{v}")])
        .collect()
}

/// Creates the tables and fills them with the rows whose number `n` satisfies
/// `n % parts == part` (so several sources hold disjoint rows of the same tables).
async fn fill(db: &TestDb, part: u32, parts: u32) {
    let keep = format!("seq % {parts} = {part}");
    db.exec(&format!(
        "CREATE TABLE customers (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(40) NOT NULL,
                                 balance DECIMAL(14,2), created DATETIME(6), KEY (name));
         INSERT INTO customers SELECT CAST(seq AS SIGNED) * 7919 - 5000000, CONCAT('cust ', seq), seq * 1.25,
                '2020-01-01' + INTERVAL seq SECOND FROM seq_1_to_3000 WHERE {keep};
         CREATE TABLE orders (order_ref VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL PRIMARY KEY,
                              customer_id BIGINT NOT NULL, amount DECIMAL(12,2), note TEXT);
         INSERT INTO orders SELECT CONCAT('ORD-', LPAD(seq, 6, '0')), seq % 500, seq / 7,
                IF(seq % 10 = 0, NULL, REPEAT('é', seq % 20)) FROM seq_1_to_4000 WHERE {keep};
         CREATE TABLE events (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, customer_id BIGINT NOT NULL,
                              kind ENUM('open','close') NOT NULL, payload BLOB);
         INSERT INTO events SELECT seq, CAST(seq % 700 AS SIGNED) - 350, IF(seq % 3, 'open', 'close'),
                IF(seq % 5 = 0, NULL, UNHEX(SHA2(seq, 256))) FROM seq_1_to_5000 WHERE {keep};
         CREATE TABLE accounts (code VARCHAR(20) NOT NULL PRIMARY KEY, owner BIGINT);
         INSERT INTO accounts SELECT CAST(seq * 104729 AS CHAR), seq FROM seq_1_to_2000 WHERE {keep};
         CREATE TABLE countries (iso CHAR(2) NOT NULL PRIMARY KEY, name VARCHAR(64) NOT NULL);
         INSERT INTO countries SELECT CONCAT(CHAR(64 + seq DIV 26 + 1), CHAR(65 + seq % 26)),
                CONCAT('country ', seq) FROM seq_0_to_99 WHERE {keep};"
    ))
    .await;
    if part == 0 {
        // Edge values, on the first source only.
        db.exec(
            "INSERT INTO customers VALUES (-9223372036854775808, 'min', NULL, NULL),
                    (9223372036854775807, 'max', 0, '0000-00-00 00:00:00'), (0, 'zero', -1, NULL), (-1, 'minus one', 1, NULL);
             INSERT INTO orders VALUES ('', 1, 0, 'empty ref'), ('ünïcödé-ref', 2, 1, NULL), ('a b ', 3, 2, 'trailing space');
             INSERT INTO events VALUES (18446744073709551615, -9223372036854775808, 'open', ''),
                    (0, 9223372036854775807, 'close', NULL);
             INSERT INTO accounts VALUES ('-1', NULL), ('18446744073709551615', 1), ('0', 0);",
        )
        .await;
    }
}

/// Runs `reshard` with these arguments, off the async runtime.
pub(crate) async fn run(args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        reshard(&args)
    })
    .await
    .expect("running reshard")
}

/// `reshard copy` from `sources` to `targets` with `extra` arguments.
async fn copy(sources: &[&TestDb], targets: &[&TestDb], extra: &[String]) -> Run {
    let mut args = vec![
        String::from("copy"),
        String::from("--target-chunk-size"),
        String::from("8K"),
    ];
    for s in sources {
        args.extend([String::from("--source"), s.dsn()]);
    }
    for t in targets {
        args.extend([String::from("--target"), t.dsn()]);
    }
    args.extend(extra.iter().cloned());
    run(args).await
}

/// Target databases for `test`, spread over the instances.
pub(crate) async fn targets(test: &str, n: usize) -> Vec<TestDb> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(TestDb::create(&format!("{test}_t{i}"), 2 + i % 3).await);
    }
    out
}

/// Runs `sql` on a new source database and copies it to 2 new targets with
/// `--shard-by shard_by`; returns the run and the targets.
async fn copy_to_two(test: &str, sql: &str, shard_by: &str) -> (Run, Vec<TestDb>) {
    let source = TestDb::create(test, 1).await;
    source.exec(sql).await;
    let t = targets(test, 2).await;
    let target_refs: Vec<&TestDb> = t.iter().collect();
    let run = copy(
        &[&source],
        &target_refs,
        &[String::from("--shard-by"), shard_by.to_owned()],
    )
    .await;
    (run, t)
}

/// The union of `table` over `dbs`, by the oracle, in a deterministic order.
pub(crate) async fn union(dbs: &[&TestDb], table: &str) -> TableDump {
    let mut parts = Vec::new();
    for db in dbs {
        parts.push(db.dump(table).await);
    }
    TableDump::union(&parts)
}

/// Panics unless every row of `table` on each target has a keyspace id (by the scalar reference
/// vindex, from the value the target server returns) inside that target's range. Returns the
/// rows per target.
pub(crate) async fn assert_placed(
    targets: &[&TestDb],
    ranges: &[KeyRange],
    table: &str,
    column: &str,
    vindex: &str,
) -> Vec<usize> {
    let kind = VindexKind::from_name(vindex).expect("a vindex");
    let mut counts = Vec::new();
    for (db, range) in targets.iter().zip(ranges) {
        let mut conn = db.conn().await;
        let values: Vec<mysql_async::Value> = conn
            .query(format!("SELECT `{column}` FROM `{table}`"))
            .await
            .expect("reading the sharding column");
        let mut id = Vec::new();
        for value in &values {
            let v = match value {
                mysql_async::Value::NULL => VindexValue::Null,
                mysql_async::Value::Bytes(b) => VindexValue::Bytes(b),
                mysql_async::Value::Int(i) => VindexValue::Int(*i),
                mysql_async::Value::UInt(u) => VindexValue::UInt(*u),
                other => panic!("unexpected value {other:?}"),
            };
            keyspace_id(kind, v, &mut id).expect("a mappable value");
            assert!(
                range.contains(&id),
                "{table}.{column} = {value:?} (keyspace id {}) is on the target of {range}",
                reshard_types::keyrange::hex(&id)
            );
        }
        counts.push(values.len());
        conn.disconnect().await.ok();
    }
    counts
}

/// Checks a finished resharding copy: every sharded table placed by its vindex and equal in
/// union to the sources; returns the row counts per target of each sharded table.
async fn assert_resharded(
    sources: &[&TestDb],
    targets: &[&TestDb],
    ranges: &[KeyRange],
) -> Vec<Vec<usize>> {
    let mut per_table = Vec::new();
    for (table, column, vindex) in SHARDED {
        let counts = assert_placed(targets, ranges, table, column, vindex).await;
        assert_same(&union(sources, table).await, &union(targets, table).await);
        per_table.push(counts);
    }
    per_table
}

#[tokio::test(flavor = "multi_thread")]
async fn one_source_to_two_targets_with_even_ranges() {
    let source = TestDb::create("reshard_1to2", 1).await;
    fill(&source, 0, 1).await;
    let t = targets("reshard_1to2", 2).await;
    let target_refs: Vec<&TestDb> = t.iter().collect();
    let mut extra = shard_by();
    extra.extend([String::from("--unsharded-target"), String::from("all")]);
    let run = copy(&[&source], &target_refs, &extra).await;
    run.expect_code(0)
        .stdout_has("copied 5 table(s)")
        .stdout_has("target 1 [-80]")
        .stdout_has("target 2 [80-]");
    let ranges = KeyRange::even(2).unwrap();
    let counts = assert_resharded(&[&source], &target_refs, &ranges).await;
    for c in &counts {
        assert!(
            c.iter().all(|&n| n > 0),
            "both targets get rows: {counts:?}"
        );
    }
    // The reference table is whole on every target.
    let countries = source.dump("countries").await;
    for target in &t {
        assert_same(&countries, &target.dump("countries").await);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_source_to_four_uneven_targets_from_a_vschema() {
    let source = TestDb::create("reshard_1to4", 1).await;
    fill(&source, 0, 1).await;
    let t = targets("reshard_1to4", 4).await;
    let target_refs: Vec<&TestDb> = t.iter().collect();
    let vschema = std::env::temp_dir().join(format!("reshard-it-vschema-{}.json", source.name()));
    std::fs::write(
        &vschema,
        r#"{
          "sharded": true,
          "vindexes": { "hash": { "type": "hash" }, "xxhash": { "type": "xxhash" },
                        "lookup": { "type": "consistent_lookup", "params": { "table": "x" } } },
          "tables": {
            "customers": { "column_vindexes": [ { "column": "id", "name": "hash" } ] },
            "orders": { "column_vindexes": [ { "column": "order_ref", "name": "xxhash" },
                                             { "column": "customer_id", "name": "lookup" } ] },
            "events": { "column_vindexes": [ { "columns": ["customer_id"], "name": "xxhash" } ] },
            "accounts": { "column_vindexes": [ { "column": "code", "name": "hash" } ] },
            "countries": { "type": "reference" }
          }
        }"#,
    )
    .unwrap();
    let ranges_text = "-40,40-a0,a0-c0,c0-";
    let run = copy(
        &[&source],
        &target_refs,
        &[
            String::from("--vschema"),
            vschema.display().to_string(),
            format!("--key-ranges={ranges_text}"),
        ],
    )
    .await;
    std::fs::remove_file(&vschema).ok();
    run.expect_code(0).stdout_has("target 3 [a0-c0]");
    let ranges = KeyRange::parse_list(ranges_text).unwrap();
    let counts = assert_resharded(&[&source], &target_refs, &ranges).await;
    // The uneven ranges get uneven shares: 40-a0 (3/8 of the keyspace) more than a0-c0 (1/8).
    let customers = &counts[0];
    assert!(customers[1] > customers[2] * 2, "{customers:?}");
    for target in &t {
        assert_same(
            &source.dump("countries").await,
            &target.dump("countries").await,
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_sources_to_three_targets_from_a_toml_file() {
    let a = TestDb::create("reshard_2to3_a", 1).await;
    let b = TestDb::create("reshard_2to3_b", 2).await;
    fill(&a, 0, 2).await;
    fill(&b, 1, 2).await;
    let t = targets("reshard_2to3", 3).await;
    let target_refs: Vec<&TestDb> = t.iter().collect();
    let config = std::env::temp_dir().join(format!("reshard-it-{}.toml", a.name()));
    let mut text = format!(
        "unsharded_target = \"55-aa\"\n\n[[sources]]\ndsn = \"{}\"\n[[sources]]\ndsn = \"{}\"\n",
        a.dsn(),
        b.dsn()
    );
    for target in &t {
        text.push_str(&format!("[[targets]]\ndsn = \"{}\"\n", target.dsn()));
    }
    text.push_str("[shard_by]\n");
    for (table, column, vindex) in SHARDED {
        text.push_str(&format!("{table} = \"{column}:{vindex}\"\n"));
    }
    std::fs::write(&config, text).unwrap();
    let outcome = run(vec![
        String::from("copy"),
        String::from("--config"),
        config.display().to_string(),
        String::from("--target-chunk-size"),
        String::from("8K"),
    ])
    .await;
    std::fs::remove_file(&config).ok();
    outcome.expect_code(0).stdout_has("target 2 [55-aa]");
    let ranges = KeyRange::even(3).unwrap();
    assert_resharded(&[&a, &b], &target_refs, &ranges).await;
    // The unsharded table is whole on the target named for it, and nowhere else.
    assert_same(
        &union(&[&a, &b], "countries").await,
        &union(&[&t[1]], "countries").await,
    );
    assert!(!t[0].tables().await.contains(&String::from("countries")));
    assert!(!t[2].tables().await.contains(&String::from("countries")));
}

/// Bad topologies: each is refused with a message that names the problem, and no target has
/// any table afterwards.
#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_are_refused_and_write_nothing() {
    let source = TestDb::create("reshard_bad", 1).await;
    fill(&source, 0, 1).await;
    let t = targets("reshard_bad", 2).await;
    let target_refs: Vec<&TestDb> = t.iter().collect();
    let vschema = std::env::temp_dir().join(format!("reshard-it-bad-{}.json", source.name()));
    std::fs::write(&vschema, "{\"sharded\": true, \"tables\": {\"customers\": ").unwrap();
    let with = |more: &[&str]| {
        let mut v = shard_by();
        v.extend(more.iter().map(|s| (*s).to_owned()));
        v
    };
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            with(&["--key-ranges=-80,70-", "--unsharded-target", "1"]),
            2,
            "the key ranges -80 and 70- overlap",
        ),
        (
            with(&["--key-ranges=-40,80-", "--unsharded-target", "1"]),
            2,
            "nothing covers 40-80",
        ),
        (
            vec![
                String::from("--shard-by"),
                String::from("customers=id:murmur"),
            ],
            2,
            "'murmur' is not a vindex",
        ),
        (
            vec![String::from("--vschema"), vschema.display().to_string()],
            2,
            "not a Vitess VSchema",
        ),
        (
            with(&[
                "--shard-by",
                "events=customer:xxhash",
                "--unsharded-target",
                "1",
            ]),
            1,
            "the sharding column `customer` of table",
        ),
        (
            with(&[
                "--shard-by",
                "customers=created:hash",
                "--unsharded-target",
                "1",
            ]),
            1,
            "is datetime(6); reshard shards by integer and string columns",
        ),
        (shard_by(), 1, "--unsharded-target"),
    ];
    for (extra, code, says) in cases {
        let run = copy(&[&source], &target_refs, &extra).await;
        run.expect_code(code).stderr_has(says);
        for target in &t {
            assert!(
                target.tables().await.is_empty(),
                "{says}: a target was written to"
            );
        }
    }
    std::fs::remove_file(&vschema).ok();

    // A target that is the source, reached by another host name: refused before any write.
    let source_again = source.dsn().replace("127.0.0.1", "localhost");
    let mut args = vec![
        String::from("copy"),
        String::from("--source"),
        source.dsn(),
        String::from("--target"),
        t[0].dsn(),
        String::from("--target"),
        source_again,
        String::from("--force"),
        String::from("--unsharded-target"),
        String::from("1"),
    ];
    args.extend(shard_by());
    run(args)
        .await
        .expect_code(1)
        .stderr_has("is the same server and database as source 1");
    assert!(t[0].tables().await.is_empty());
    assert_eq!(
        source.digest("customers").await.rows,
        3004,
        "the source is untouched"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sources_that_disagree_are_refused_showing_the_difference() {
    let a = TestDb::create("reshard_disagree_a", 1).await;
    let b = TestDb::create("reshard_disagree_b", 2).await;
    a.exec("CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(10))")
        .await;
    b.exec("CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(12))")
        .await;
    let t = targets("reshard_disagree", 2).await;
    let target_refs: Vec<&TestDb> = t.iter().collect();
    let run = copy(
        &[&a, &b],
        &target_refs,
        &[String::from("--shard-by"), String::from("t=id:hash")],
    )
    .await;
    run.expect_code(1)
        .stderr_has("the sources disagree on table `t`")
        .stderr_has("varchar(10)")
        .stderr_has("varchar(12)");
    for target in &t {
        assert!(target.tables().await.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_row_the_vindex_cannot_map_is_named_by_table_column_and_key() {
    let source = TestDb::create("reshard_unmappable", 1).await;
    source
        .exec(
            "CREATE TABLE t (id BIGINT PRIMARY KEY, owner BIGINT NULL);
             INSERT INTO t SELECT seq, seq FROM seq_1_to_100;
             UPDATE t SET owner = NULL WHERE id = 42;
             CREATE TABLE s (code VARCHAR(10) PRIMARY KEY);
             INSERT INTO s VALUES ('1'), ('2'), ('x7');",
        )
        .await;
    let t = targets("reshard_unmappable", 2).await;
    let target_refs: Vec<&TestDb> = t.iter().collect();
    let run = copy(
        &[&source],
        &target_refs,
        &[
            String::from("--tables"),
            String::from("t"),
            String::from("--shard-by"),
            String::from("t=owner:hash"),
        ],
    )
    .await;
    run.expect_code(1)
        .stderr_has("table `")
        .stderr_has("sharding column `owner`")
        .stderr_has("`id`=42")
        .stderr_has("NULL cannot be mapped by the hash vindex");
    let run = copy(
        &[&source],
        &target_refs,
        &[
            String::from("--tables"),
            String::from("s"),
            String::from("--shard-by"),
            String::from("s=code:numeric"),
        ],
    )
    .await;
    run.expect_code(1)
        .stderr_has("`code`='x7'")
        .stderr_has("the numeric vindex needs an integer");
    // Both were found before anything was written.
    for target in &t {
        assert!(target.tables().await.is_empty(), "a target was written to");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unicode_loose_vindexes_place_rows_by_their_loose_collation_key() {
    let source = TestDb::create("reshard_loose", 1).await;
    source
        .exec(
            "CREATE TABLE people (id BIGINT PRIMARY KEY,
                                  name VARCHAR(60) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
                                  KEY (name));
             INSERT INTO people SELECT seq, CONCAT(ELT(seq % 7 + 1, 'Ana', 'ÉMILE', 'straße', '한글',
                    '中文', 'Ωmega', '😀 smile'), ' ', seq) FROM seq_1_to_3000;
             INSERT INTO people VALUES (100001, 'Test'), (100002, 'TEST'), (100003, 'Tést'),
                    (100004, CONVERT(X'5465CC817374' USING utf8mb4)), (100005, 'test   '),
                    (100006, ' Test'), (100007, 'Test\t'), (100008, ''), (100009, NULL),
                    (100010, 'STRASSE'), (100011, 'Straße');
             CREATE TABLE tags (id INT PRIMARY KEY, tag INT NOT NULL);
             INSERT INTO tags SELECT seq, CAST(seq AS SIGNED) * 37 - 1000 FROM seq_1_to_2000;",
        )
        .await;
    let t = targets("reshard_loose", 3).await;
    let target_refs: Vec<&TestDb> = t.iter().collect();
    let run = copy(
        &[&source],
        &target_refs,
        &[
            String::from("--shard-by"),
            String::from("people=name:unicode_loose_xxhash"),
            String::from("--shard-by"),
            String::from("tags=tag:unicode_loose_md5"),
        ],
    )
    .await;
    run.expect_code(0).stdout_has("copied 2 table(s)");
    let ranges = KeyRange::even(3).unwrap();
    for (table, column, vindex) in [
        ("people", "name", "unicode_loose_xxhash"),
        ("tags", "tag", "unicode_loose_md5"),
    ] {
        let counts = assert_placed(&target_refs, &ranges, table, column, vindex).await;
        assert!(counts.iter().all(|&n| n > 0), "{table}: {counts:?}");
        assert_same(
            &union(&[&source], table).await,
            &union(&target_refs, table).await,
        );
    }
    // Case, accents, decomposed accents and trailing spaces do not change the shard.
    let mut homes = Vec::new();
    for target in &t {
        let ids: Vec<i64> = target
            .conn()
            .await
            .query("SELECT id FROM people WHERE id IN (100001, 100002, 100003, 100004, 100005)")
            .await
            .unwrap();
        homes.push(ids.len());
    }
    homes.sort_unstable();
    assert_eq!(
        homes,
        [0, 0, 5],
        "the five spellings of 'test' share one target"
    );

    // Bytes that are not UTF-8 have no loose key: the copy stops and names the row.
    let (run, _) = copy_to_two(
        "reshard_loose_bin",
        "CREATE TABLE b (id INT PRIMARY KEY, v VARBINARY(8) NOT NULL);
         INSERT INTO b VALUES (1, 'ok'), (2, X'FF00'), (3, 'fine');",
        "b=v:unicode_loose_xxhash",
    )
    .await;
    run.expect_code(1)
        .stderr_has("sharding column `v`")
        .stderr_has("`id`=2")
        .stderr_has("the unicode_loose_xxhash vindex needs UTF-8 text");

    // A latin1 column: Vitess would hash its values as utf8mb4, so reshard refuses to route by
    // its latin1 bytes, before writing anything.
    let (run, t) = copy_to_two(
        "reshard_loose_latin1",
        "CREATE TABLE l (id INT PRIMARY KEY, v VARCHAR(8) CHARACTER SET latin1 NOT NULL);
         INSERT INTO l VALUES (1, 'café');",
        "l=v:unicode_loose_xxhash",
    )
    .await;
    run.expect_code(1)
        .stderr_has("the sharding column `v`")
        .stderr_has("is in character set latin1")
        .stderr_has("convert the column to utf8mb4");
    for target in &t {
        assert!(target.tables().await.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_vindex_command_prints_ids_and_shards() {
    let ids = run([
        "vindex",
        "--vindex",
        "hash",
        "1",
        "2",
        "-1",
        "29999",
        "--key-ranges=-80,80-",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect())
    .await;
    ids.expect_code(0)
        .stdout_has("1      166b40b44aba4bd6  -80")
        .stdout_has("-1     355550b2150e2451  -80")
        .stdout_has("29999  fcd63e56d3374d88  80-");
    let json = run([
        "vindex",
        "--vindex",
        "xxhash",
        "--json",
        "--key-ranges",
        "4",
        "test1",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect())
    .await;
    json.expect_code(0)
        .stdout_has(r#""keyspace_id":"d01ab7e4d6978f0b""#)
        .stdout_has(r#""shard":"c0-""#);
    run(["vindex", "--vindex", "numeric", "abc"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect())
    .await
    .expect_code(2)
    .stderr_has("value 'abc': the numeric vindex needs an integer");
    run([
        "vindex",
        "--vindex",
        "unicode_loose_xxhash",
        "Tést",
        "TEST  ",
        "T",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect())
    .await
    .expect_code(0)
    .stdout_has("Tést    42d21361087a4c07")
    .stdout_has("TEST    42d21361087a4c07")
    .stdout_has("T       f81c3be2d501fe18");
}
