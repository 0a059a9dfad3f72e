//! The binlog reader against real servers: the row images MariaDB writes for every column type
//! decode into the very Arrow values the copy's reader gets from `SELECT` (two decoders that
//! share no code but the schema, compared row by row), and the reader's positions and refusals.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, RecordBatch};
use mysql_async::prelude::Queryable;
use reshard_convert::binlog::{ChangeBatch, ChangeOp};
use reshard_convert::canonical::RowEncoder;
use reshard_convert::schema::arrow_schema;
use reshard_mysql::binlog::{BinlogError, BinlogReader, MovedTable, Step, current_position};
use reshard_mysql::reader::{BatchLimits, TableReader};
use reshard_mysql::{connect, discover_table};
use reshard_testkit::{ScratchServer, TestDb, torture};
use reshard_types::{BinlogPosition, Dsn, TableSchema};

/// A replica server id no other test uses at the same time.
fn server_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    4_000_000 + std::process::id() % 100_000 * 100 + NEXT.fetch_add(1, Ordering::Relaxed)
}

async fn discover(db: &TestDb, table: &str) -> TableSchema {
    let mut session = connect(&Dsn::parse(&db.dsn()).unwrap()).await.unwrap();
    discover_table(&mut session, db.name(), table)
        .await
        .unwrap()
}

async fn position(db: &TestDb) -> BinlogPosition {
    let mut session = connect(&Dsn::parse(&db.dsn()).unwrap()).await.unwrap();
    current_position(&mut session).await.unwrap()
}

fn moved(db: &TestDb, schema: &TableSchema) -> MovedTable {
    MovedTable {
        database: db.name().to_owned(),
        name: schema.name.clone(),
        schema: Arc::new(arrow_schema(schema)),
    }
}

/// Streams from `from` until a transaction boundary at or past `until`, and returns the changes.
async fn changes_between(
    db: &TestDb,
    tables: Vec<MovedTable>,
    from: BinlogPosition,
    until: &BinlogPosition,
) -> Result<Vec<(usize, ChangeBatch)>, BinlogError> {
    let dsn = Dsn::parse(&db.dsn()).unwrap();
    let mut reader = BinlogReader::start(&dsn, from, tables, server_id()).await?;
    let mut out = Vec::new();
    while reader.committed() < until {
        if reader.next().await? == Step::Commit {
            out.extend(reader.take_changes()?);
        }
    }
    Ok(out)
}

/// Applies change rows in order: the last image of each `id` wins, a delete removes it.
fn final_images(batches: &[ChangeBatch]) -> BTreeMap<i32, (usize, usize)> {
    let mut state = BTreeMap::new();
    for (b, batch) in batches.iter().enumerate() {
        let ids = batch.images.column(0).as_primitive::<Int32Type>();
        for (row, op) in batch.ops.iter().enumerate() {
            let id = ids.value(row);
            match op {
                ChangeOp::Insert | ChangeOp::UpdateAfter => {
                    state.insert(id, (b, row));
                }
                // An update's before image leaves its key (its after image, next, may come back
                // under the same key or another).
                ChangeOp::Delete | ChangeOp::UpdateBefore => {
                    state.remove(&id);
                }
            }
        }
    }
    state
}

/// Every row's canonical bytes, each batch encoded once.
fn canonical_rows(batch: &RecordBatch) -> Vec<Vec<u8>> {
    let mut encoder = RowEncoder::new();
    encoder.encode(batch).unwrap();
    (0..batch.num_rows())
        .map(|i| encoder.row(i).to_vec())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn binlog_images_of_every_type_decode_to_what_select_returns() {
    let db = TestDb::create("binlog_torture", 1).await;
    db.create_table(&torture::ddl("torture")).await;
    let schema = discover(&db, "torture").await;
    let from = position(&db).await;
    let mut conn = db.conn().await;
    for statement in torture::edge_rows("torture") {
        conn.query_drop(&statement)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    // Negative TIMEs with fractions at every fsp: the server stores their fraction as its
    // complement.
    conn.query_drop(
        "INSERT INTO torture (id, t1, t2, t3, t4, t5, t6) VALUES \
         (500, '-1:02:03.5', '-1:02:03.25', '-0:00:01.125', '-838:59:58.9999', '-0:00:00.00001', '-12:00:00.000001'), \
         (501, '-0:00:00.1', '-0:00:00.01', '-0:00:00.001', '-0:00:00.0001', '-0:00:01.00001', '-0:00:00.999999')",
    )
    .await
    .unwrap();
    // Updates and deletes too: before images of every type, and rows that change twice.
    conn.query_drop(
        "UPDATE torture SET i64 = IF(id = 2, i64 + 1, i64 - 1), txt = CONCAT('u', COALESCE(txt, '')) WHERE id IN (2, 3)",
    )
    .await
    .unwrap();
    conn.query_drop("UPDATE torture SET id = id + 100 WHERE id = 4")
        .await
        .unwrap();
    conn.query_drop("DELETE FROM torture WHERE id = 1")
        .await
        .unwrap();
    let until = position(&db).await;

    let changes = changes_between(&db, vec![moved(&db, &schema)], from, &until)
        .await
        .unwrap();
    let batches: Vec<ChangeBatch> = changes
        .into_iter()
        .map(|(t, b)| {
            assert_eq!(t, 0);
            b
        })
        .collect();
    let ops: Vec<ChangeOp> = batches.iter().flat_map(|b| b.ops.clone()).collect();
    assert!(ops.contains(&ChangeOp::Delete) && ops.contains(&ChangeOp::UpdateBefore));
    let from_binlog = final_images(&batches);

    // The oracle side: the same rows as the copy reads them.
    let dsn = db.dsn();
    let schema_for_read = schema.clone();
    let selected = tokio::task::spawn_blocking(move || {
        let mut reader = TableReader::open(
            &Dsn::parse(&dsn).unwrap(),
            &schema_for_read,
            BatchLimits::default(),
        )
        .unwrap();
        let sql = format!("{} ORDER BY id", reader.select_all_sql());
        let mut batches = Vec::new();
        reader
            .read(&sql, &[], |batch| {
                batches.push(batch);
                Ok(())
            })
            .unwrap();
        batches
    })
    .await
    .unwrap();
    let mut selected_rows = BTreeMap::new();
    for batch in &selected {
        let ids = batch.column(0).as_primitive::<Int32Type>();
        for (row, bytes) in canonical_rows(batch).into_iter().enumerate() {
            selected_rows.insert(ids.value(row), bytes);
        }
    }
    assert_eq!(
        from_binlog.keys().collect::<Vec<_>>(),
        selected_rows.keys().collect::<Vec<_>>()
    );
    assert!(
        selected_rows.len() >= 4,
        "the torture table has its edge rows"
    );
    let encoded: Vec<Vec<Vec<u8>>> = batches.iter().map(|b| canonical_rows(&b.images)).collect();
    for (id, (b, row)) in &from_binlog {
        let batch = &batches[*b].images;
        if encoded[*b][*row] != selected_rows[id] {
            // Name the first column that differs.
            let select_row = selected
                .iter()
                .find_map(|b| {
                    let ids = b.column(0).as_primitive::<Int32Type>();
                    (0..b.num_rows())
                        .find(|&r| ids.value(r) == *id)
                        .map(|r| b.slice(r, 1))
                })
                .unwrap();
            let binlog_row = batch.slice(*row, 1);
            for (c, field) in select_row.schema().fields().iter().enumerate() {
                assert_eq!(
                    select_row.column(c),
                    binlog_row.column(c),
                    "row id {id}, column {}",
                    field.name()
                );
            }
            panic!("row id {id} differs in its canonical bytes only");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn positions_are_transaction_boundaries_and_follow_rotations() {
    let db = TestDb::create("binlog_positions", 2).await;
    db.create_table("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))")
        .await;
    let schema = discover(&db, "t").await;
    let from = position(&db).await;
    let mut conn = db.conn().await;
    conn.query_drop("INSERT INTO t VALUES (1, 'a')")
        .await
        .unwrap();
    // A multi-statement transaction, then a rotation, then more.
    conn.query_drop("BEGIN").await.unwrap();
    conn.query_drop("INSERT INTO t VALUES (2, 'b')")
        .await
        .unwrap();
    conn.query_drop("UPDATE t SET v = 'c' WHERE id = 1")
        .await
        .unwrap();
    conn.query_drop("COMMIT").await.unwrap();
    conn.query_drop("FLUSH BINARY LOGS").await.unwrap();
    conn.query_drop("DELETE FROM t WHERE id = 2").await.unwrap();
    let until = position(&db).await;
    assert!(until.file_number() > from.file_number());

    let dsn = Dsn::parse(&db.dsn()).unwrap();
    let mut reader =
        BinlogReader::start(&dsn, from.clone(), vec![moved(&db, &schema)], server_id())
            .await
            .unwrap();
    let mut commits = Vec::new();
    let mut rows_at_commit = Vec::new();
    let mut boundary = reader.committed().clone();
    while reader.committed() < &until {
        let step = reader.next().await.unwrap();
        if reader.in_transaction() {
            // Inside a transaction the recorded position stays at the last boundary.
            assert_eq!(reader.committed(), &boundary);
        } else {
            boundary = reader.committed().clone();
        }
        if step == Step::Commit {
            commits.push(reader.committed().clone());
            rows_at_commit.push(
                reader
                    .take_changes()
                    .unwrap()
                    .iter()
                    .map(|(_, b)| b.ops.len())
                    .sum::<usize>(),
            );
        }
    }
    assert_eq!(reader.committed(), &until);
    // Three row transactions: 1 insert; insert + update (3 images); 1 delete. Other commits
    // (the FLUSH is not one) carry no rows of `t`.
    let with_rows: Vec<usize> = rows_at_commit.into_iter().filter(|&n| n > 0).collect();
    assert_eq!(with_rows, vec![1, 3, 1]);
    assert!(commits.windows(2).all(|w| w[0] < w[1]), "{commits:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_ddl_on_a_moved_table_naming_the_statement() {
    let db = TestDb::create("binlog_ddl", 3).await;
    db.create_table("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
        .await;
    db.create_table("CREATE TABLE other (id INT PRIMARY KEY)")
        .await;
    let schema = discover(&db, "t").await;
    let from = position(&db).await;
    db.exec("ALTER TABLE other ADD COLUMN x INT").await;
    db.exec("INSERT INTO t VALUES (1, 1)").await;
    db.exec("ALTER TABLE t ADD COLUMN w INT").await;
    let until = position(&db).await;
    let error = changes_between(&db, vec![moved(&db, &schema)], from, &until)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, BinlogError::Statement { .. }), "{text}");
    assert!(text.contains("ALTER TABLE t ADD COLUMN w INT"), "{text}");
    assert!(text.contains(&format!("`{}`.`t`", db.name())), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ddl_on_a_same_named_table_of_another_database_passes() {
    let db = TestDb::create("binlog_ddl_elsewhere", 3).await;
    let other = TestDb::create("binlog_ddl_elsewhere_other", 3).await;
    db.create_table("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
        .await;
    let schema = discover(&db, "t").await;
    let from = position(&db).await;
    other.exec("CREATE TABLE t (id INT PRIMARY KEY)").await;
    other.exec("ALTER TABLE t ADD COLUMN x INT").await;
    db.exec("INSERT INTO t VALUES (1, 1)").await;
    let until = position(&db).await;
    let batches = changes_between(&db, vec![moved(&db, &schema)], from, &until)
        .await
        .expect("DDL on `t` of another database does not concern the moved `t`");
    let rows: usize = batches.iter().map(|(_, b)| b.ops.len()).sum();
    assert_eq!(rows, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_compressed_events() {
    // log_bin_compress is global: a server of its own.
    let scratch = tokio::task::spawn_blocking(|| {
        ScratchServer::start(&["--log-bin-compress=ON", "--log-bin-compress-min-len=10"])
    })
    .await
    .unwrap();
    let db = TestDb::create_on("binlog_compressed", scratch.server().clone()).await;
    db.create_table("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(200))")
        .await;
    let schema = discover(&db, "t").await;
    let from = position(&db).await;
    db.exec("INSERT INTO t VALUES (1, REPEAT('compressible ', 10))")
        .await;
    let until = position(&db).await;
    let error = changes_between(&db, vec![moved(&db, &schema)], from, &until)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, BinlogError::Compressed { .. }), "{text}");
    assert!(text.contains("log_bin_compress=OFF"), "{text}");
    drop(db);
    drop(scratch);
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_an_event_it_does_not_understand() {
    // MariaDB logs the PREPARE of a two-phase XA transaction as an XA_PREPARE event (type 38),
    // after the transaction's rows: reshard does not follow it, and stops before applying them.
    let db = TestDb::create("binlog_xa", 3).await;
    db.create_table("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
        .await;
    let schema = discover(&db, "t").await;
    let from = position(&db).await;
    db.exec(
        "INSERT INTO t VALUES (1, 1);
         XA START 'reshard-probe'; INSERT INTO t VALUES (2, 2); XA END 'reshard-probe';
         XA PREPARE 'reshard-probe'; XA COMMIT 'reshard-probe';",
    )
    .await;
    let until = position(&db).await;
    let dsn = Dsn::parse(&db.dsn()).unwrap();
    let mut reader = BinlogReader::start(&dsn, from, vec![moved(&db, &schema)], server_id())
        .await
        .unwrap();
    let mut applied_rows = 0;
    let error = loop {
        match reader.next().await {
            Ok(Step::Commit) => {
                applied_rows += reader
                    .take_changes()
                    .unwrap()
                    .iter()
                    .map(|(_, b)| b.ops.len())
                    .sum::<usize>();
            }
            Ok(_) => assert!(reader.committed() < &until, "streamed past the XA PREPARE"),
            Err(error) => break error,
        }
    };
    let text = error.to_string();
    assert!(
        matches!(error, BinlogError::UnknownEvent { code: 38, .. }),
        "{text}"
    );
    assert!(text.contains("an event of type 38 (XA PREPARE"), "{text}");
    assert!(text.contains("does not follow two-phase XA"), "{text}");
    // The plain insert before it was delivered; the XA transaction's row was not.
    assert_eq!(applied_rows, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_xa_transaction_on_another_table_is_passed_over() {
    let db = TestDb::create("binlog_xa_other", 3).await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, v INT); CREATE TABLE other (id INT PRIMARY KEY)")
        .await;
    let schema = discover(&db, "t").await;
    let from = position(&db).await;
    db.exec(
        "INSERT INTO t VALUES (1, 1);
         XA START 'reshard-other'; INSERT INTO other VALUES (2); XA END 'reshard-other';
         XA PREPARE 'reshard-other'; XA COMMIT 'reshard-other';
         XA START 'reshard-gone'; INSERT INTO other VALUES (3); XA END 'reshard-gone';
         XA PREPARE 'reshard-gone'; XA ROLLBACK 'reshard-gone';
         INSERT INTO t VALUES (4, 4);",
    )
    .await;
    let until = position(&db).await;
    let changes = changes_between(&db, vec![moved(&db, &schema)], from, &until)
        .await
        .unwrap();
    let ids: Vec<i32> = changes
        .iter()
        .flat_map(|(_, b)| {
            let ids = b.images.column(0).as_primitive::<Int32Type>();
            (0..b.images.num_rows())
                .map(|r| ids.value(r))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(ids, [1, 4]);
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_row_images_that_are_not_full() {
    let db = TestDb::create("binlog_minimal", 3).await;
    db.create_table("CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT)")
        .await;
    let schema = discover(&db, "t").await;
    let from = position(&db).await;
    let mut conn = db.conn().await;
    conn.query_drop("INSERT INTO t VALUES (1, 1, 1)")
        .await
        .unwrap();
    conn.query_drop("SET SESSION binlog_row_image = 'MINIMAL'")
        .await
        .unwrap();
    conn.query_drop("UPDATE t SET a = 2 WHERE id = 1")
        .await
        .unwrap();
    let until = position(&db).await;
    let error = changes_between(&db, vec![moved(&db, &schema)], from, &until)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, BinlogError::NotFullRowImage { .. }),
        "{text}"
    );
    assert!(text.contains("binlog_row_image=FULL"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_a_purged_binlog() {
    let db = TestDb::create("binlog_purged", 4).await;
    // A position in a file that never existed stands for one that was purged: the server
    // answers both with the same error.
    let gone = BinlogPosition::new(
        format!(
            "{}.999999",
            position(&db).await.file().rsplit_once('.').unwrap().0
        ),
        4,
    );
    let dsn = Dsn::parse(&db.dsn()).unwrap();
    let mut reader = BinlogReader::start(&dsn, gone, Vec::new(), server_id())
        .await
        .unwrap();
    let error = loop {
        match reader.next().await {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    let text = error.to_string();
    assert!(matches!(error, BinlogError::Purged { .. }), "{text}");
    assert!(text.contains("start again"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_source_after_a_rotation_reaches_its_binlog_end() {
    let db = TestDb::create("binlog_idle_rotation", 3).await;
    db.create_table("CREATE TABLE t (id INT PRIMARY KEY)").await;
    let schema = discover(&db, "t").await;
    let from = position(&db).await;
    db.exec("FLUSH BINARY LOGS").await;
    // The new file's header events put the end past the file's first byte; nothing else comes.
    let until = position(&db).await;
    assert!(until.file_number() > from.file_number() && until.offset() > 4);
    let dsn = Dsn::parse(&db.dsn()).unwrap();
    let mut reader = BinlogReader::start(&dsn, from, vec![moved(&db, &schema)], server_id())
        .await
        .unwrap();
    let reached = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while reader.committed() < &until {
            reader.next().await.unwrap();
        }
    })
    .await;
    assert!(
        reached.is_ok(),
        "the reader stayed at {} below the end {until}",
        reader.committed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn inet6_and_uuid_values_decode_to_what_select_returns() {
    let db = TestDb::create("binlog_inet6_uuid", 4).await;
    db.create_table("CREATE TABLE t (id INT PRIMARY KEY, ip INET6 NULL, u UUID NULL)")
        .await;
    let schema = discover(&db, "t").await;
    // Every pattern of zero and non-zero groups (which decides where `::` goes), with groups of
    // 1 to 4 digits; the IPv4-compatible and IPv4-mapped forms; UUIDs of every version and
    // variant nibble, given as text and as 16 raw bytes (which MariaDB converts).
    let groups = [0x1u16, 0xabcd, 0xffff, 0x10, 0xf00, 0x2];
    let mut rows: Vec<(String, String)> = Vec::new();
    for mask in 0u32..256 {
        let mut hex = String::new();
        for g in 0..8 {
            let word = if mask & (1 << g) != 0 {
                groups[(g + mask as usize) % groups.len()]
            } else {
                0
            };
            hex.push_str(&format!("{word:04x}"));
        }
        let version = mask % 16;
        let uuid = format!(
            "{mask:08x}-abcd-{version:x}123-{:x}456-0123456789ab",
            (mask / 16) % 16
        );
        rows.push((format!("X'{hex}'"), format!("X'{}'", uuid.replace('-', ""))));
    }
    for (ip, uuid) in [
        ("'::'", "'00000000-0000-0000-0000-000000000000'"),
        ("'::1'", "'ffffffff-ffff-4fff-bfff-ffffffffffff'"),
        ("'::2'", "'6ccd780c-baba-1026-9564-5b8c656024db'"),
        ("'::1.2.3.4'", "'01890a5d-ac96-774b-bcce-b302099a8057'"),
        ("'::ffff:1.2.3.4'", "'12345678-1234-5678-1234-567812345678'"),
        ("'::ffff:0.0.0.0'", "'00000000-0000-0000-0000-000000000001'"),
        ("'::ffff:0:1.2.3.4'", "NULL"),
        ("'1::'", "'a0000000-0000-1000-8000-000000000000'"),
        ("'1:0:0:1::'", "NULL"),
        ("'fe80::1:0:0:1'", "NULL"),
        ("NULL", "'10000000-0000-0000-0000-000000000000'"),
    ] {
        rows.push((ip.to_owned(), uuid.to_owned()));
    }
    let values: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, (ip, u))| format!("({i}, {ip}, {u})"))
        .collect();
    let from = position(&db).await;
    db.exec(&format!("INSERT INTO t VALUES {}", values.join(", ")))
        .await;
    let until = position(&db).await;
    let changes = changes_between(&db, vec![moved(&db, &schema)], from, &until)
        .await
        .unwrap();
    let mut decoded = BTreeMap::new();
    for (_, batch) in &changes {
        let ids = batch.images.column(0).as_primitive::<Int32Type>();
        let (ip, u) = (
            batch.images.column(1).as_string::<i32>(),
            batch.images.column(2).as_string::<i32>(),
        );
        for row in 0..batch.images.num_rows() {
            let text =
                |a: &arrow_array::StringArray| (!a.is_null(row)).then(|| a.value(row).to_owned());
            decoded.insert(ids.value(row), (text(ip), text(u)));
        }
    }
    let mut conn = db.conn().await;
    let selected: Vec<(i32, Option<String>, Option<String>)> = conn
        .query("SELECT id, CAST(ip AS CHAR), CAST(u AS CHAR) FROM t ORDER BY id")
        .await
        .unwrap();
    assert_eq!(selected.len(), rows.len());
    assert_eq!(decoded.len(), rows.len());
    for (id, ip, u) in selected {
        assert_eq!(decoded[&id], (ip, u), "row {id}: binlog, then SELECT");
    }
}
