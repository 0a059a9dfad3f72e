//! `reshard move` under a live workload: 2 sources → 3 targets (hash, then xxhash) and 1 → 1.
//!
//! Each source starts with rows of three tables, disjoint between sources. The move starts, and
//! while it copies, workers on every source insert, update, delete, change sharding columns
//! (which moves a row to another shard), change primary keys, and run multi-row transactions;
//! one source also runs a transaction of 100,000 inserted rows and one of 100,000 updated
//! rows. After the workload stops and the move has reached the sources' binlog ends, the
//! union of the targets must equal the union of the sources by the oracle (the servers' own
//! ordered dumps), and every row must sit on the target whose range holds its keyspace id (the
//! scalar reference vindex, not the kernel the move used).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use reshard_engine::config::TopologyInput;
use reshard_engine::copy::{CopyOptions, SetupOptions, prepare_copy};
use reshard_engine::online::{
    MoveEnd, MoveOptions, MoveProgress, SourceLag, run_move, start_positions,
};
use reshard_engine::progress::{CopyProgress, TableProgress};
use reshard_engine::verify::VerifyOptions;
use reshard_mysql::reader::BatchLimits;
use reshard_testkit::{TestDb, assert_same};
use reshard_types::BinlogPosition;

use crate::reshard::{assert_placed, union};

/// Rows of each table before the move, over all sources.
const ROWS: u64 = 24_000;
/// Iterations of each workload worker.
const ITERATIONS: u64 = 120;
/// Workers per source.
const WORKERS: u64 = 3;
/// The sharded tables and their sharding columns.
pub(crate) const TABLES: [(&str, &str); 3] = [
    ("customers", "id"),
    ("orders", "customer_id"),
    ("events", "customer_id"),
];

/// Replica server ids no other test uses at the same time.
pub(crate) fn server_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    2_000_000_000 + std::process::id() % 100_000 * 100 + NEXT.fetch_add(4, Ordering::Relaxed)
}

/// Creates the tables on source `part` of `parts` with its share of the rows.
pub(crate) async fn fill(db: &TestDb, part: u64, parts: u64) {
    let keep = format!("seq % {parts} = {part}");
    let last = ROWS - 1;
    db.exec(&format!(
        "CREATE TABLE customers (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(60) NOT NULL,
                                 balance DECIMAL(14,2), updated DATETIME(6), KEY (name));
         INSERT INTO customers SELECT seq, CONCAT('cust ', seq), seq * 1.25,
                '2020-01-01' + INTERVAL seq SECOND FROM seq_0_to_{last} WHERE {keep};
         CREATE TABLE orders (order_ref VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL PRIMARY KEY,
                              customer_id BIGINT NOT NULL, amount DECIMAL(12,2), note TEXT);
         INSERT INTO orders SELECT CONCAT('ORD-', LPAD(seq, 6, '0')), seq % 500, seq / 7,
                IF(seq % 10 = 0, NULL, REPEAT('é', seq % 20)) FROM seq_0_to_{last} WHERE {keep};
         CREATE TABLE events (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, customer_id BIGINT NOT NULL,
                              kind ENUM('open','close') NOT NULL, payload BLOB);
         INSERT INTO events SELECT seq, CAST(seq % 700 AS SIGNED) - 350, IF(seq % 3, 'open', 'close'),
                IF(seq % 5 = 0, NULL, UNHEX(SHA2(seq, 256))) FROM seq_0_to_{last} WHERE {keep};"
    ))
    .await;
}

/// A key of this source's initial rows, picked by `r`.
fn existing(r: u64, part: u64, parts: u64) -> u64 {
    (r % (ROWS / parts)) * parts + part
}

/// A cheap deterministic sequence of picks.
fn next(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *state >> 33
}

/// How far the workload got, shared by its workers.
#[derive(Debug, Default)]
struct Load {
    /// Iterations done, by all workers.
    iterations: AtomicU64,
    /// Iterations done when a worker first saw the copy finished.
    at_copy_done: AtomicU64,
}

/// One workload worker on source `part`: every kind of change, at least `ITERATIONS` times and
/// until `ITERATIONS` more after the copy finished (so changes arrive both while chunks are
/// copied and after).
async fn worker(
    db: &TestDb,
    part: u64,
    parts: u64,
    worker: u64,
    progress: &MoveProgress,
    load: &Load,
) {
    let mut conn = db.conn().await;
    let mut state = part * 1000 + worker + 1;
    let mut after_copy = 0;
    for i in 0.. {
        if progress.copy_done() {
            if after_copy == 0 {
                let done = load.iterations.load(Ordering::Relaxed);
                let _ = load.at_copy_done.compare_exchange(
                    0,
                    done,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
            after_copy += 1;
        }
        if i >= ITERATIONS && after_copy > ITERATIONS {
            break;
        }
        load.iterations.fetch_add(1, Ordering::Relaxed);
        one_round(&mut conn, &mut state, part, parts, worker, i).await;
    }
    conn.disconnect().await.ok();
}

/// One round of the workload on source `part` of `parts` by worker `worker`, its `i`-th: an
/// insert, an update, a delete, a sharding-key update (the row moves shard), a primary-key
/// update, a multi-row insert, a multi-statement transaction, and every 20th round an update
/// of 300 rows.
pub(crate) async fn one_round(
    conn: &mut mysql_async::Conn,
    state: &mut u64,
    part: u64,
    parts: u64,
    worker: u64,
    i: u64,
) {
    let mut pick = || existing(next(state), part, parts);
    let fresh = 10_000_000 * (part + 1) + worker * 100_000 + i;
    let (a, b, c, d, e, f, g) = (pick(), pick(), pick(), pick(), pick(), pick(), pick());
    let statements = [
        format!("INSERT INTO customers VALUES ({fresh}, 'new {fresh}', {i}.5, NOW(6))"),
        format!(
            "UPDATE customers SET balance = balance + 1, name = CONCAT(name, '+') WHERE id = {a}"
        ),
        format!("DELETE FROM customers WHERE id = {b}"),
        // The key, which is also the sharding column: the row moves to another shard.
        format!("UPDATE customers SET id = id + 100000000 WHERE id = {c}"),
        // The sharding column of orders: the row moves, its key stays.
        format!(
            "UPDATE orders SET customer_id = customer_id + 7 WHERE order_ref = CONCAT('ORD-', LPAD({d}, 6, '0'))"
        ),
        // The key of orders: a delete and an insert on the same shard.
        format!(
            "UPDATE orders SET order_ref = CONCAT(order_ref, '-m{worker}') WHERE order_ref = CONCAT('ORD-', LPAD({e}, 6, '0'))"
        ),
        format!(
            "INSERT INTO orders VALUES (CONCAT('NEW-', {fresh}), {fresh} % 900, 1.5, 'fresh'), \
             (CONCAT('NEW-', {fresh}, 'b'), {fresh} % 901, NULL, NULL)"
        ),
    ];
    for sql in &statements {
        conn.query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    // A multi-row transaction over events.
    let mut tx = conn
        .start_transaction(mysql_async::TxOpts::default())
        .await
        .expect("BEGIN");
    for sql in [
        format!(
            "INSERT INTO events VALUES ({fresh}, {i}, 'open', 'x'), ({}, -{i}, 'close', NULL)",
            fresh + 50_000
        ),
        format!(
            "UPDATE events SET kind = 'close', payload = UNHEX('00FF') WHERE id BETWEEN {f} AND {f} + 20"
        ),
        format!("UPDATE events SET customer_id = customer_id - 3 WHERE id = {g}"),
        format!("DELETE FROM events WHERE id = {}", f + 30),
    ] {
        tx.query_drop(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    tx.commit().await.expect("COMMIT");
    if i.is_multiple_of(20) {
        let from = existing(next(state), part, parts);
        conn.query_drop(format!(
            "UPDATE customers SET balance = IF(balance > 1e9, balance / 1000, balance * 2) WHERE id BETWEEN {from} AND {from} + 300"
        ))
        .await
        .expect("a many-row update");
    }
}

/// The large transactions: 100,000 rows inserted in one, then updated in one.
pub(crate) async fn large_transactions(db: &TestDb) {
    db.exec(
        "INSERT INTO events SELECT 500000000 + seq, seq % 1000, 'open', NULL FROM seq_1_to_100000;
         UPDATE events SET kind = 'close', customer_id = customer_id + 1 WHERE id > 500000000;",
    )
    .await;
}

/// Where each source's binlog ends now.
async fn binlog_ends(sources: &[TestDb]) -> Vec<BinlogPosition> {
    let mut ends = Vec::new();
    for db in sources {
        let mut conn = db.conn().await;
        let status: Option<mysql_async::Row> = conn
            .query_first("SHOW MASTER STATUS")
            .await
            .expect("SHOW MASTER STATUS");
        let status = status.expect("binary logging is on");
        let (file, offset): (String, u64) = (status.get(0).unwrap(), status.get(1).unwrap());
        ends.push(BinlogPosition::new(file, offset));
        conn.disconnect().await.ok();
    }
    ends
}

/// Runs a move from `n_sources` to `n_targets` under the workload and checks the result.
async fn move_under_load(test: &str, n_sources: usize, n_targets: usize, vindex: Option<&str>) {
    move_under_load_with(test, n_sources, n_targets, vindex, false).await;
}

/// A customer no workload statement touches, which `tamper` has the copy write wrong.
const TAMPERED: u64 = 5_000_000_000;

/// [`move_under_load`]; with `tamper`, a trigger on every target (standing for a writer other
/// than reshard) alters customer [`TAMPERED`] once as the copy writes it: the verification must
/// find it, repair it and report exactly that one repair.
async fn move_under_load_with(
    test: &str,
    n_sources: usize,
    n_targets: usize,
    vindex: Option<&str>,
    tamper: bool,
) {
    let parts = n_sources as u64;
    let mut sources = Vec::new();
    for i in 0..n_sources {
        let db = TestDb::create(&format!("{test}_s{i}"), 1 + i).await;
        fill(&db, i as u64, parts).await;
        sources.push(db);
    }
    if tamper {
        sources[0]
            .exec(&format!(
                "INSERT INTO customers VALUES ({TAMPERED}, 'untouched', 1, NULL)"
            ))
            .await;
    }
    let mut targets = Vec::new();
    for i in 0..n_targets {
        targets.push(TestDb::create(&format!("{test}_t{i}"), 2 + i % 3).await);
    }
    let topology = TopologyInput {
        sources: sources.iter().map(TestDb::dsn).collect(),
        targets: targets.iter().map(TestDb::dsn).collect(),
        shard_by: vindex
            .map(|v| TABLES.iter().map(|(t, c)| format!("{t}={c}:{v}")).collect())
            .unwrap_or_default(),
        ..TopologyInput::default()
    }
    .topology()
    .expect("a valid topology");
    let source_dsns = topology.sources.clone();
    let positions = tokio::task::spawn_blocking(move || start_positions(&source_dsns))
        .await
        .unwrap()
        .expect("reading the start positions");
    let setup = prepare_copy(&topology, &SetupOptions::default())
        .await
        .expect("setting up the move");
    let plan = setup.plan(&topology);
    if tamper {
        for target in &targets {
            target
                .exec(&format!(
                    "CREATE TABLE tampered (n INT NOT NULL PRIMARY KEY);
                     CREATE TRIGGER tamper BEFORE INSERT ON customers FOR EACH ROW
                       IF NEW.id = {TAMPERED} AND NOT EXISTS (SELECT 1 FROM tampered) THEN
                         SET NEW.name = 'tampered'; INSERT INTO tampered VALUES (1);
                       END IF"
                ))
                .await;
        }
    }
    let ranges: Vec<_> = topology.targets.iter().map(|t| t.range.clone()).collect();
    let progress = Arc::new(MoveProgress::new(
        CopyProgress::new(
            setup
                .tables
                .iter()
                .map(|p| TableProgress::new(p.table.schema.qualified_name(), 0, n_targets))
                .collect(),
        ),
        plan.sources
            .iter()
            .zip(positions)
            .map(|(dsn, at)| SourceLag::new(dsn.to_string(), at))
            .collect(),
    ));
    let interrupt = Arc::new(AtomicBool::new(false));
    let options = MoveOptions {
        copy: CopyOptions {
            read_threads: 4,
            write_threads: 2,
            target_chunk_bytes: 48 << 10,
            batch: BatchLimits::default(),
            ..CopyOptions::default()
        },
        stop_when_caught_up: None,
        server_id: server_id(),
        tables_already_copied: false,
        verify: Some(VerifyOptions {
            target_chunk_bytes: 512 << 10,
            ..VerifyOptions::default()
        }),
    };
    let mover = {
        let (progress, interrupt) = (Arc::clone(&progress), Arc::clone(&interrupt));
        tokio::task::spawn_blocking(move || run_move(&plan, options, &progress, &interrupt))
    };

    // The workload, while the move copies.
    let sources = Arc::new(sources);
    let load = Arc::new(Load::default());
    let mut workers = Vec::new();
    for part in 0..n_sources {
        for w in 0..WORKERS {
            let (sources, progress, load) = (
                Arc::clone(&sources),
                Arc::clone(&progress),
                Arc::clone(&load),
            );
            workers.push(tokio::spawn(async move {
                worker(&sources[part], part as u64, parts, w, &progress, &load).await;
            }));
        }
    }
    // The large transactions run once the copy is done, so that the applier (not a chunk read
    // that sees their rows) must carry their 200,000 images.
    let big = {
        let (sources, progress) = (Arc::clone(&sources), Arc::clone(&progress));
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(240);
            while !progress.copy_done() {
                assert!(
                    Instant::now() < deadline,
                    "the copy did not finish within 240 s"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            large_transactions(&sources[0]).await;
        })
    };
    for task in workers {
        task.await.expect("a workload worker");
    }
    big.await.expect("the large transactions");

    // Wait until the move has copied everything and applied up to the sources' ends.
    let ends = binlog_ends(&sources).await;
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let changes = progress.changes();
        let caught_up = changes.copy_done
            && changes.held == 0
            && changes
                .sources
                .iter()
                .zip(&ends)
                .all(|(lag, end)| &lag.applied >= end);
        if caught_up {
            break;
        }
        assert!(
            !mover.is_finished(),
            "the move stopped before catching up: {:?}",
            changes
        );
        assert!(
            Instant::now() < deadline,
            "the move did not catch up within 240 s: {changes:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The verification ran once the copy was done, while the workload and the large
    // transactions went on: with the targets at each snapshot's position, nothing differs.
    let verification = loop {
        if let Some(report) = progress.verification() {
            break report;
        }
        assert!(
            !mover.is_finished(),
            "the move stopped before its verification ended"
        );
        assert!(
            Instant::now() < deadline,
            "the verification did not end within 240 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(verification.equal(), "{verification:#?}");
    let repaired: Vec<String> = verification
        .tables
        .iter()
        .flat_map(|t| {
            t.repaired_rows
                .iter()
                .map(move |r| format!("{} {}", t.table, r.key))
        })
        .collect();
    if tamper {
        assert_eq!(repaired.len(), 1, "{verification:#?}");
        assert!(
            repaired[0].contains("customers") && repaired[0].ends_with(&format!("`id`={TAMPERED}")),
            "{repaired:?}"
        );
    } else {
        assert_eq!(verification.repairs(), 0, "{verification:#?}");
    }
    assert_eq!(verification.tables.len(), TABLES.len());
    interrupt.store(true, Ordering::Relaxed);
    let end = mover
        .await
        .unwrap()
        .expect("the move ends without an error");
    assert_eq!(end, MoveEnd::Interrupted);
    let changes = progress.changes();
    assert!(
        changes.images >= 200_000,
        "the large transactions' 200,000 images were applied: {changes:?}"
    );
    let during_copy = load.at_copy_done.load(Ordering::Relaxed);
    assert!(
        during_copy > 0,
        "some of the workload ran while the copy did, or this test checks little; make the tables larger"
    );
    eprintln!(
        "{test}: {} workload iterations, {during_copy} of them during the copy; {changes:?}",
        load.iterations.load(Ordering::Relaxed)
    );

    let sources: Vec<&TestDb> = sources.iter().collect();
    let targets: Vec<&TestDb> = targets.iter().collect();
    for (table, column) in TABLES {
        assert_same(&union(&sources, table).await, &union(&targets, table).await);
        if let Some(vindex) = vindex {
            let counts = assert_placed(&targets, &ranges, table, column, vindex).await;
            assert!(
                counts.iter().all(|&c| c > 0),
                "every target holds rows of {table}: {counts:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_of_two_sources_to_three_targets_by_hash_loses_nothing_under_load() {
    move_under_load("move_hash", 2, 3, Some("hash")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_of_two_sources_to_three_targets_by_xxhash_loses_nothing_under_load() {
    move_under_load("move_xxhash", 2, 3, Some("xxhash")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_row_altered_on_a_target_during_a_move_under_load_is_repaired_once() {
    move_under_load_with("move_tamper", 2, 3, Some("hash"), true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_one_to_one_move_loses_nothing_under_load() {
    move_under_load("move_1to1", 1, 1, None).await;
}

/// A running `reshard move`.
pub(crate) struct Child(std::process::Child);

impl From<std::process::Child> for Child {
    fn from(child: std::process::Child) -> Child {
        Child(child)
    }
}

impl Child {
    /// Starts `reshard move` with `args`.
    pub(crate) fn start(args: &[String]) -> Child {
        Child(crate::spawn_reshard(
            std::iter::once("move").chain(args.iter().map(String::as_str)),
        ))
    }

    /// Its process id.
    pub(crate) fn id(&self) -> u32 {
        self.0.id()
    }

    /// Kills it at once (SIGKILL, as a crash or an OOM kill would) and returns what it printed.
    pub(crate) fn kill_now(mut self) -> crate::Run {
        self.0.kill().ok();
        crate::Run::from(self.0.wait_with_output().expect("reshard output"))
    }

    /// Waits for it to exit (killing it after `limit`).
    pub(crate) fn finish(mut self, limit: Duration) -> crate::Run {
        let deadline = Instant::now() + limit;
        while self.0.try_wait().expect("polling reshard").is_none() {
            if Instant::now() > deadline {
                self.0.kill().ok();
                let run = crate::Run::from(self.0.wait_with_output().expect("reshard output"));
                panic!("reshard move did not exit within {limit:?}:\n{}", run.all());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        crate::Run::from(self.0.wait_with_output().expect("reshard output"))
    }
}

/// `--source`/`--target` arguments.
pub(crate) fn servers(sources: &[&TestDb], targets: &[&TestDb]) -> Vec<String> {
    let mut args = Vec::new();
    for s in sources {
        args.extend([String::from("--source"), s.dsn()]);
    }
    for t in targets {
        args.extend([String::from("--target"), t.dsn()]);
    }
    args
}

/// Waits until the move has set up `table` on `target` (its streams' positions are taken by
/// then).
pub(crate) async fn until_set_up(target: &TestDb, table: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if target.tables().await.iter().any(|t| t == table) {
            return;
        }
        assert!(Instant::now() < deadline, "the move never created {table}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts `reshard move` of table `t` from `source` to `target` and waits until it is set up.
async fn move_table_t(source: &TestDb, target: &TestDb) -> Child {
    let mut args = servers(&[source], &[target]);
    args.extend([String::from("--tables"), String::from("t")]);
    let child = Child::start(&args);
    until_set_up(target, "t").await;
    child
}

#[tokio::test(flavor = "multi_thread")]
async fn the_move_command_catches_up_and_exits() {
    let source = TestDb::create("move_cli_src", 1).await;
    let targets = [
        TestDb::create("move_cli_t0", 2).await,
        TestDb::create("move_cli_t1", 3).await,
    ];
    fill(&source, 0, 1).await;
    source
        .exec("INSERT INTO customers VALUES (-5, 'late', 1, NULL)")
        .await;
    let mut args = servers(&[&source], &[&targets[0], &targets[1]]);
    args.extend(
        [
            "--shard-by",
            "customers=id:hash",
            "--shard-by",
            "orders=customer_id:xxhash",
            "--shard-by",
            "events=customer_id:hash",
            "--stop-when-caught-up",
        ]
        .map(String::from),
    );
    let run =
        tokio::task::spawn_blocking(move || Child::start(&args).finish(Duration::from_secs(120)))
            .await
            .unwrap();
    run.expect_code(0).stdout_has("caught up after");
    let targets: Vec<&TestDb> = targets.iter().collect();
    let ranges = [
        reshard_types::KeyRange::parse("-80").unwrap(),
        reshard_types::KeyRange::parse("80-").unwrap(),
    ];
    for ((table, column), vindex) in TABLES.iter().zip(["hash", "xxhash", "hash"]) {
        assert_same(
            &union(&[&source], table).await,
            &union(&targets, table).await,
        );
        assert_placed(&targets, &ranges, table, column, vindex).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ddl_on_a_moved_table_stops_the_move_naming_the_statement() {
    let source = TestDb::create("move_ddl_src", 1).await;
    let target = TestDb::create("move_ddl_t", 2).await;
    source
        .exec("CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t VALUES (1, 1), (2, 2)")
        .await;
    let child = move_table_t(&source, &target).await;
    source.exec("ALTER TABLE t ADD COLUMN w INT").await;
    let run = tokio::task::spawn_blocking(move || child.finish(Duration::from_secs(60)))
        .await
        .unwrap();
    run.expect_code(1)
        .stderr_has("ALTER TABLE t ADD COLUMN w INT")
        .stderr_has("concerns the moved table")
        .never_shows("reshard:reshard@");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_a_move_cleanly() {
    let source = TestDb::create("move_term_src", 1).await;
    let target = TestDb::create("move_term_t", 3).await;
    source
        .exec("CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t SELECT seq, seq FROM seq_1_to_1000")
        .await;
    let child = move_table_t(&source, &target).await;
    source.exec("UPDATE t SET v = -v WHERE id <= 10").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .expect("sending SIGTERM");
    assert!(status.success());
    let run = tokio::task::spawn_blocking(move || child.finish(Duration::from_secs(30)))
        .await
        .unwrap();
    run.expect_code(0)
        .stdout_has("stopped after")
        .stderr_has("interrupted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_without_row_binlogs_is_refused_before_anything_is_written() {
    let scratch = tokio::task::spawn_blocking(|| {
        reshard_testkit::ScratchServer::start(&["--binlog-format=STATEMENT"])
    })
    .await
    .unwrap();
    let source = TestDb::create_on("move_stmt_src", scratch.server().clone()).await;
    let target = TestDb::create("move_stmt_t", 2).await;
    source.exec("CREATE TABLE t (id INT PRIMARY KEY)").await;
    let args = servers(&[&source], &[&target]);
    let run =
        tokio::task::spawn_blocking(move || Child::start(&args).finish(Duration::from_secs(60)))
            .await
            .unwrap();
    run.expect_code(1)
        .stderr_has("cannot be moved from; nothing was written")
        .stderr_has("binlog_format");
    assert!(target.tables().await.is_empty(), "nothing was created");
    drop(source);
    drop(scratch);
}

#[tokio::test(flavor = "multi_thread")]
async fn integer_chunks_tile_the_whole_key_space_across_gaps() {
    use reshard_engine::chunker::{Chunker, Covers};
    let db = TestDb::create("move_tiles", 4).await;
    db.exec(
        "CREATE TABLE t (id BIGINT PRIMARY KEY, v CHAR(200));
         INSERT INTO t SELECT seq, 'x' FROM seq_1_to_2000;
         INSERT INTO t SELECT 1000000000 + seq, 'y' FROM seq_1_to_2000;",
    )
    .await;
    let dsn = reshard_types::Dsn::parse(&db.dsn()).unwrap();
    let mut session = reshard_mysql::connect(&dsn).await.unwrap();
    let schema = reshard_mysql::discover_table(&mut session, db.name(), "t")
        .await
        .unwrap();
    let key = reshard_mysql::tables::row_key(&mut session, &schema)
        .await
        .unwrap()
        .unwrap();
    let walk = reshard_mysql::keyset::KeyWalk::new(&schema, &key).unwrap();
    let table = reshard_mysql::reader::table_sql(&schema);
    let covers = tokio::task::spawn_blocking(move || {
        let mut conn = reshard_mysql::wire::RawConn::connect(&dsn).unwrap();
        let mut chunker = Chunker::new(&table, Some(walk), 64 << 10);
        let mut covers = Vec::new();
        while let Some(chunk) = chunker.next(&mut conn).unwrap() {
            // Reading each chunk's rows: empty ones make the chunker jump the gap.
            let predicate = chunk
                .predicate
                .clone()
                .unwrap_or_else(|| String::from("TRUE"));
            let mut rows = 0;
            conn.query_rows(
                &format!("SELECT id FROM {table} WHERE {predicate}"),
                &mut reshard_mysql::wire::Rows(|_: &[u8]| {
                    rows += 1;
                    Ok(())
                }),
            )
            .unwrap();
            chunker.done(&mut conn, &chunk, rows, rows * 200).unwrap();
            covers.push((chunk.covers(), rows));
        }
        covers
    })
    .await
    .unwrap();
    assert!(covers.len() > 3, "several chunks: {covers:?}");
    let mut expect_lo = i128::MIN;
    for (c, _) in &covers {
        let Covers::Int { lo, hi } = *c else {
            panic!("an integer key has integer chunks: {covers:?}")
        };
        assert_eq!(
            lo, expect_lo,
            "each chunk starts where the last ended: {covers:?}"
        );
        assert!(hi > lo);
        expect_lo = hi;
    }
    assert_eq!(expect_lo, i128::MAX, "the last chunk is open-ended");
    let rows: u64 = covers.iter().map(|(_, r)| r).sum();
    assert_eq!(rows, 4000, "every row in exactly one chunk");
    session.close().await.ok();
}
