//! The engine's examples, run against the local servers: what an embedder copies from them works.

use std::sync::Arc;

use arrow_array::RecordBatch;
use reshard_convert::canonical::RowEncoder;
use reshard_engine::table::TableSource;
use reshard_testkit::{TestDb, torture};
use reshard_types::Dsn;

#[path = "../../crates/engine/examples/copy.rs"]
mod copy_example;
#[path = "../../crates/engine/examples/export_ipc.rs"]
mod export_ipc;
#[path = "../../crates/engine/examples/move_with_progress.rs"]
mod move_example;

/// Every row's canonical bytes (the encoding checksums and diffs use), in order.
fn canonical(batches: &[RecordBatch]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for batch in batches {
        let mut encoder = RowEncoder::new();
        encoder.encode(batch).unwrap();
        out.extend((0..batch.num_rows()).map(|i| encoder.row(i).to_vec()));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_export_example_writes_an_ipc_file_that_reads_back_as_the_table() {
    let db = TestDb::create("example_export", 1).await;
    db.create_table(&torture::ddl("torture")).await;
    {
        // One connection: the edge rows begin with the session settings they need.
        use mysql_async::prelude::Queryable;
        let mut conn = db.conn().await;
        for statement in torture::edge_rows("torture") {
            conn.query_drop(&statement).await.unwrap();
        }
    }
    db.exec("INSERT INTO torture (id) SELECT 1000 + seq FROM seq_1_to_5000")
        .await;
    let count: usize = db.query_column("SELECT COUNT(*) FROM torture").await[0]
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    let dsn = Dsn::parse(&db.dsn()).unwrap();
    let path = std::env::temp_dir().join(format!("reshard-export-{}.arrow", std::process::id()));
    let (exported, from_file, from_table) = tokio::task::spawn_blocking({
        let path = path.clone();
        move || {
            let exported = export_ipc::export(&dsn, "torture", &path).unwrap();
            let reader =
                arrow_ipc::reader::FileReader::try_new(std::fs::File::open(&path).unwrap(), None)
                    .unwrap();
            let from_file: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
            let from_table: Vec<RecordBatch> = TableSource::open(&dsn, "torture")
                .unwrap()
                .map(Result::unwrap)
                .collect();
            (exported, from_file, from_table)
        }
    })
    .await
    .unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(
        usize::try_from(exported).unwrap(),
        count,
        "rows exported, as the server counts them"
    );
    let (file_rows, table_rows) = (canonical(&from_file), canonical(&from_table));
    assert_eq!(file_rows.len(), count);
    assert!(
        file_rows == table_rows,
        "the file's rows differ from the table's"
    );
    // The schema survives the file, field metadata (the MySQL types) included.
    assert_eq!(
        Arc::clone(from_file[0].schema_ref()),
        Arc::clone(from_table[0].schema_ref())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_source_feeds_a_sink_and_a_router_splits_by_shard() {
    use reshard_engine::table::{ShardRouter, SinkDuplicates, TableSink};
    use reshard_kernels::vindex::VindexKind;
    use reshard_testkit::assert_same;

    let source = TestDb::create("example_sink", 1).await;
    let shards = [
        TestDb::create("example_sink_0", 2).await,
        TestDb::create("example_sink_1", 3).await,
    ];
    let ddl =
        "CREATE TABLE t (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL, note VARCHAR(40))";
    source.exec(ddl).await;
    source
        .exec("INSERT INTO t SELECT seq, seq % 97, IF(seq % 7 = 0, NULL, CONCAT('n', seq)) FROM seq_1_to_20000")
        .await;
    for shard in &shards {
        shard.exec(ddl).await;
    }
    let dsns: Vec<Dsn> = std::iter::once(&source)
        .chain(&shards)
        .map(|db| Dsn::parse(&db.dsn()).unwrap())
        .collect();
    tokio::task::spawn_blocking(move || {
        let ranges = reshard_types::KeyRange::even(2).unwrap();
        let mut router = ShardRouter::new(&ranges, VindexKind::Xxhash).unwrap();
        let mut sinks: Vec<TableSink> = dsns[1..]
            .iter()
            .map(|dsn| TableSink::open(dsn, "t", SinkDuplicates::Refuse).unwrap())
            .collect();
        for batch in TableSource::open(&dsns[0], "t").unwrap() {
            for (shard, rows) in router.split(&batch.unwrap(), "customer_id").unwrap() {
                sinks[shard].write(&rows).unwrap();
            }
        }
    })
    .await
    .unwrap();
    let targets: Vec<&TestDb> = shards.iter().collect();
    assert_same(
        &crate::reshard::union(&[&source], "t").await,
        &crate::reshard::union(&targets, "t").await,
    );
    let counts = crate::reshard::assert_placed(
        &targets,
        &reshard_types::KeyRange::even(2).unwrap(),
        "t",
        "customer_id",
        "xxhash",
    )
    .await;
    assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_copy_example_reshards_into_two_targets() {
    let source = TestDb::create("example_copy", 1).await;
    let targets = crate::reshard::targets("example_copy", 2).await;
    source
        .exec(
            "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL);
             INSERT INTO orders SELECT seq, seq % 101 FROM seq_1_to_10000;
             CREATE TABLE countries (iso CHAR(2) PRIMARY KEY); INSERT INTO countries VALUES ('DE'), ('FR');",
        )
        .await;
    let target_dsns: Vec<String> = targets.iter().map(TestDb::dsn).collect();
    let source_dsn = source.dsn();
    let rows = tokio::task::spawn_blocking(move || {
        copy_example::copy(
            &source_dsn,
            &target_dsns,
            &[String::from("orders=customer_id:hash")],
            (None, None),
        )
        .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(rows, 10_002);
    let shards: Vec<&TestDb> = targets.iter().collect();
    reshard_testkit::assert_same(
        &crate::reshard::union(&[&source], "orders").await,
        &crate::reshard::union(&shards, "orders").await,
    );
    let ranges = reshard_types::KeyRange::even(2).unwrap();
    crate::reshard::assert_placed(&shards, &ranges, "orders", "customer_id", "hash").await;
    for shard in &shards {
        reshard_testkit::assert_same(
            &source.dump("countries").await,
            &shard.dump("countries").await,
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_move_example_reports_progress_and_catches_up() {
    let (source, target) = crate::copy::pair("example_move").await;
    source
        .exec("CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t SELECT seq, seq FROM seq_1_to_20000")
        .await;
    let report = move_example::move_until(
        &source.dsn(),
        &target.dsn(),
        std::time::Duration::from_secs(120),
    )
    .await
    .unwrap();
    assert_eq!(report.end, reshard_engine::online::MoveEnd::CaughtUp);
    assert!(report.progress.copy_done());
    reshard_testkit::assert_same(&source.dump("t").await, &target.dump("t").await);
}
