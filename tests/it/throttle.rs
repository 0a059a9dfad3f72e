//! Throttling on real servers: a move whose source is busy (a statement that runs for seconds)
//! holds back while it is, says so, and completes with the rows right.

use std::time::{Duration, Instant};

use reshard_testkit::{TestDb, assert_same};

use crate::moves::servers;
use crate::reshard::{targets, union};

#[tokio::test(flavor = "multi_thread")]
async fn a_move_waits_while_a_source_runs_more_threads_than_allowed() {
    let source = TestDb::create("throttle_threads", 1).await;
    source
        .exec(
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(40));
             INSERT INTO t SELECT seq, REPEAT('x', seq % 40) FROM seq_1_to_50000;",
        )
        .await;
    let t = targets("throttle_threads", 2).await;
    let target_refs: Vec<&TestDb> = t.iter().collect();
    // A statement running for 3 s on the source: with the move's own binlog stream that is two
    // running threads, over a limit of one, from before the copy starts.
    let busy = {
        let source_dsn = source.dsn();
        tokio::spawn(async move {
            use mysql_async::prelude::Queryable;
            let mut conn = mysql_async::Conn::from_url(source_dsn)
                .await
                .expect("connecting");
            conn.query_drop("SELECT SLEEP(3)").await.expect("sleeping");
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut args = vec![String::from("move")];
    args.extend(servers(&[&source], &target_refs));
    args.extend(
        [
            "--shard-by",
            "t=id:hash",
            "--max-threads-running",
            "1",
            "--stop-when-caught-up",
        ]
        .map(String::from),
    );
    let run = crate::reshard::run(args).await;
    busy.await.expect("the busy statement");
    run.expect_code(0)
        .stderr_has("throttling: ")
        .stderr_has("threads running, over --max-threads-running 1")
        .stdout_has("(threads_running ")
        .stdout_has("the targets hold exactly the sources' rows");
    let throttled: f64 = run
        .stdout
        .split("throttled ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no throttled time in:\n{}", run.stdout));
    assert!(throttled > 0.0, "{}", run.stdout);
    let sources: Vec<&TestDb> = vec![&source];
    assert_same(&union(&sources, "t").await, &union(&target_refs, "t").await);
}

/// The rows of `t` in `db` now.
async fn count(db: &TestDb) -> u64 {
    db.query_column("SELECT COUNT(*) FROM t").await[0]
        .as_deref()
        .unwrap_or("0")
        .parse()
        .unwrap_or(0)
}

/// A copy watching a real replica of its target (a scratch `mariadbd` replicating the target
/// database): while the replica's SQL thread is stopped, its lag is unknown, the copy holds back
/// (the target's row count stands still) and says why; once it runs again the copy finishes, with
/// the rows right.
#[tokio::test(flavor = "multi_thread")]
async fn a_copy_waits_while_a_replica_of_its_target_lags() {
    use mysql_async::prelude::Queryable;

    let source = TestDb::create("throttle_replica_src", 1).await;
    source
        .exec(
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(200));
             INSERT INTO t SELECT seq, REPEAT('r', 100 + seq % 100) FROM seq_1_to_60000;",
        )
        .await;
    // The replica follows instance 2 from now on, replicating only the target's database.
    let primary = reshard_testkit::servers::instance(2);
    let replica = reshard_testkit::ScratchServer::start(&[]);
    let target_name = format!("throttle_replica_dst_{}", std::process::id());
    let mut on_primary = mysql_async::Conn::new(primary.opts(None))
        .await
        .expect("primary");
    let (file, position): (String, u64) = on_primary
        .query_first("SHOW MASTER STATUS")
        .await
        .expect("SHOW MASTER STATUS")
        .map(|row: mysql_async::Row| (row.get(0).expect("file"), row.get(1).expect("position")))
        .expect("the primary's binlog position");
    let mut on_replica = mysql_async::Conn::new(replica.server().opts(None))
        .await
        .expect("replica");
    on_replica
        .query_drop(format!(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='{}', \
             MASTER_PASSWORD='{}', MASTER_LOG_FILE='{file}', MASTER_LOG_POS={position};
             SET GLOBAL replicate_do_db = '{target_name}';
             START SLAVE;",
            primary.port, primary.user, primary.password
        ))
        .await
        .expect("starting replication");
    on_primary
        .query_drop(format!("CREATE DATABASE `{target_name}`"))
        .await
        .expect("the target database");
    let target_dsn = primary.dsn(&target_name);
    let (source_dsn, replica_dsn) = (source.dsn(), replica.dsn(""));
    let copy = crate::spawn_reshard([
        "copy",
        "--source",
        &source_dsn,
        "--target",
        &target_dsn,
        "--target-chunk-size",
        "256K",
        "--threads",
        "1",
        "--write-threads",
        "1",
        "--max-replica-lag",
        "2",
        "--throttle-replica",
        &replica_dsn,
    ]);
    let target = TestDb::attach(&target_name, primary.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !target.tables().await.iter().any(|t| t == "t") {
        assert!(Instant::now() < deadline, "the copy created no table");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while count(&target).await == 0 {
        assert!(Instant::now() < deadline, "the copy wrote nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    on_replica
        .query_drop("STOP SLAVE SQL_THREAD")
        .await
        .expect("stopping the SQL thread");
    // The batches under way end; then nothing new is written while the lag is unknown.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let held = count(&target).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let still = count(&target).await;
    assert_eq!(
        held, still,
        "the copy went on while the replica's lag was unknown"
    );
    assert!(
        still < 60_000,
        "the copy was done before the replica stopped; make the table larger"
    );
    on_replica
        .query_drop("START SLAVE SQL_THREAD")
        .await
        .expect("starting the SQL thread");
    let out = tokio::task::spawn_blocking(move || copy.wait_with_output())
        .await
        .unwrap()
        .expect("the copy");
    let run = crate::Run::from(out);
    on_replica
        .query_drop("STOP SLAVE; RESET SLAVE ALL")
        .await
        .ok();
    run.expect_code(0)
        .stderr_has("does not know its lag (its SQL thread is stopped")
        .stdout_has("(replica_lag ");
    assert_same(&source.dump("t").await, &target.dump("t").await);
}

/// `--max-rows-per-second` paces the writers, and `--throttle-file` changes the limits of a
/// running copy (here: lifts the rate limit), which the summary and log show; a limits file
/// that cannot be read is refused before anything is written.
#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limit_paces_a_copy_and_a_limits_file_changes_it_while_it_runs() {
    let source = TestDb::create("throttle_rate_src", 1).await;
    let target = TestDb::create("throttle_rate_dst", 2).await;
    source
        .exec(
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(40));
             INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_20000;",
        )
        .await;
    let dir = std::env::temp_dir().join(format!("reshard_throttle_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let limits = dir.join("limits.toml");
    std::fs::write(&limits, "max_rows_per_second = 3000\n").unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "max_rows_per_sec = 3000\n").unwrap();
    let copy = |file: &std::path::Path| {
        let file = file.to_string_lossy();
        crate::spawn_reshard([
            "copy",
            "--source",
            &source.dsn(),
            "--target",
            &target.dsn(),
            "--target-chunk-size",
            "64K",
            "--throttle-file",
            &file,
        ])
    };
    let refused = crate::Run::from(copy(&bad).wait_with_output().unwrap());
    refused
        .expect_code(2)
        .stderr_has("--throttle-file")
        .stderr_has("max_rows_per_sec");
    assert!(
        target.tables().await.is_empty(),
        "a refused copy created tables"
    );
    let running = copy(&limits);
    // Let it write some rows at 3,000 a second, then lift the limit.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !target.tables().await.iter().any(|t| t == "t") || count(&target).await == 0 {
        assert!(Instant::now() < deadline, "the copy wrote nothing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::fs::write(&limits, "max_rows_per_second = 100000000\n").unwrap();
    let run = crate::Run::from(
        tokio::task::spawn_blocking(move || running.wait_with_output())
            .await
            .unwrap()
            .unwrap(),
    );
    let _ = std::fs::remove_dir_all(&dir);
    run.expect_code(0)
        .stderr_has("throttle limits now")
        .stderr_has("max_rows_per_second: Some(100000000)")
        .stdout_has("rate limit: writers slept");
    assert_same(&source.dump("t").await, &target.dump("t").await);
}
