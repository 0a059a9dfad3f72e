//! Checkpoint and resume, on real servers: `reshard move` killed with SIGKILL at random instants
//! and run again with the same command under a live workload; servers killed and restarted
//! under it; its connections killed; and every refusal of a resume that cannot be proved safe,
//! each shown to write nothing. The oracle is the servers' own ordered dumps (sources' union
//! against targets' union) and the scalar vindex for placement.
//!
//! The number of kill/resume cycles is `RESHARD_RESUME_CYCLES` (3 by default: CI);
//! `scripts/fault-resume.sh N` runs N.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reshard_testkit::{ScratchServer, TestDb, assert_same};
use reshard_types::KeyRange;

use crate::moves::{Child, TABLES, fill, large_transactions, one_round, servers};
use crate::reshard::{assert_placed, union};

/// Runs of `reshard move` that resume, killed at random instants.
fn cycles() -> usize {
    std::env::var("RESHARD_RESUME_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// A small deterministic generator of delays.
struct Picks(u64);

impl Picks {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// Rows a run deleted from the targets because their chunks were in flight when the run before
/// it was killed: what it copies again.
fn recopied(stderr: &str) -> u64 {
    stderr
        .lines()
        .filter(|l| l.contains("deleted rows of chunks that were in flight"))
        .filter_map(|l| l.rsplit("rows=").next()?.trim().parse::<u64>().ok())
        .sum()
}

/// The workload: `workers` per source, rounds of every kind of change, until `stop`.
fn start_workload(
    sources: &Arc<Vec<TestDb>>,
    workers: u64,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<u64>> {
    let parts = sources.len() as u64;
    let mut tasks = Vec::new();
    for part in 0..parts {
        for w in 0..workers {
            let (sources, stop) = (Arc::clone(sources), Arc::clone(stop));
            tasks.push(tokio::spawn(async move {
                let db = &sources[usize::try_from(part).unwrap()];
                let mut conn = db.conn().await;
                let mut state = 77 + part * 1000 + w;
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    one_round(&mut conn, &mut state, part, parts, w, i).await;
                    i += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                i
            }));
        }
    }
    tasks
}

/// The three tables' rule arguments, by hash.
fn hash_rules() -> Vec<String> {
    TABLES
        .iter()
        .flat_map(|(t, c)| [String::from("--shard-by"), format!("{t}={c}:hash")])
        .collect()
}

/// Checks that the union of `targets` equals the union of `sources` for every table, and that
/// every row sits in its range.
async fn oracle(sources: &[&TestDb], targets: &[&TestDb], ranges: &[KeyRange]) {
    for (table, column) in TABLES {
        assert_same(&union(sources, table).await, &union(targets, table).await);
        assert_placed(targets, ranges, table, column, "hash").await;
    }
}

fn median(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_killed_at_random_instants_and_run_again_loses_nothing() {
    let mut sources = Vec::new();
    for i in 0..2 {
        let db = TestDb::create(&format!("resume_kill_s{i}"), 1 + i).await;
        fill(&db, i as u64, 2).await;
        sources.push(db);
    }
    let targets = [
        TestDb::create("resume_kill_t0", 2).await,
        TestDb::create("resume_kill_t1", 3).await,
        TestDb::create("resume_kill_t2", 4 % reshard_testkit::servers::count() + 1).await,
    ];
    let mut args = servers(
        &sources.iter().collect::<Vec<_>>(),
        &targets.iter().collect::<Vec<_>>(),
    );
    args.extend(hash_rules());
    // Small chunks and a rate limit stretch the copy over several runs, so that kills land in
    // the copy, then in the catch-up and the verification.
    args.extend(
        [
            "--target-chunk-size",
            "64K",
            "--max-rows-per-second",
            "15000",
        ]
        .map(String::from),
    );
    let sources = Arc::new(sources);
    let stop = Arc::new(AtomicBool::new(false));
    let workload = start_workload(&sources, 2, &stop);
    let mut picks = Picks(u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos(),
    ));
    let cycles = cycles();
    let mut recopies = Vec::new();
    let mut phases = Vec::new();
    for cycle in 0..cycles {
        if cycle == 1 {
            large_transactions(&sources[0]).await;
        }
        // One cycle in three is killed at any instant (mostly in the copy); the others once
        // the checkpoint says the copy is done (catch-up, verification), or the tables are
        // verified (replicating), then at a random instant within 1.5 s.
        let wait_for = match cycle % 3 {
            0 => None,
            1 => Some("\"phase\":\"verifying\""),
            _ => Some("\"phase\":\"replicating\""),
        };
        let delay = match wait_for {
            None => Duration::from_millis(300 + picks.next() % 3700),
            Some(_) => Duration::from_millis(picks.next() % 1500),
        };
        let child = {
            let args = args.clone();
            tokio::task::spawn_blocking(move || Child::start(&args))
                .await
                .unwrap()
        };
        if let Some(phase) = wait_for {
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                // None yet when the run before was killed before its first save.
                let state = if targets[0]
                    .tables()
                    .await
                    .iter()
                    .any(|t| t == "_reshard_checkpoint")
                {
                    targets[0]
                        .query_column("SELECT state FROM _reshard_checkpoint")
                        .await
                } else {
                    Vec::new()
                };
                let reached = state.iter().flatten().any(|s| {
                    s.contains(phase) || (phase.contains("verifying") && s.contains("replicating"))
                });
                if reached {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        tokio::time::sleep(delay).await;
        let run = tokio::task::spawn_blocking(move || child.kill_now())
            .await
            .unwrap();
        assert!(
            run.code.is_none(),
            "cycle {cycle}: reshard move exited by itself before the kill:\n{}",
            run.all()
        );
        if cycle > 0 {
            recopies.push(recopied(&run.stderr));
        }
        phases.push(
            ["copy is done", "verified during the move"]
                .iter()
                .filter(|p| run.stderr.contains(*p))
                .count()
                .max(usize::from(run.stderr.contains("replicating (verified)")) * 2),
        );
    }
    stop.store(true, Ordering::Relaxed);
    let mut rounds = 0;
    for task in workload {
        rounds += task.await.expect("a workload worker");
    }
    // The last run resumes once more and goes to the end.
    let mut last = args.clone();
    last.push(String::from("--stop-when-caught-up"));
    let run =
        tokio::task::spawn_blocking(move || Child::start(&last).finish(Duration::from_secs(300)))
            .await
            .unwrap();
    run.expect_code(0).stdout_has("caught up after");
    // The verification found nothing to repair: the resumes lost nothing themselves.
    assert!(!run.stdout.contains("repaired"), "{}", run.all());
    if cycles > 0 {
        run.stderr_has("resuming this move from its checkpoint");
        recopies.push(recopied(&run.stderr));
    }
    let sources_ref: Vec<&TestDb> = sources.iter().collect();
    let targets_ref: Vec<&TestDb> = targets.iter().collect();
    let ranges = ["-55", "55-aa", "aa-"].map(|r| KeyRange::parse(r).unwrap());
    oracle(&sources_ref, &targets_ref, &ranges).await;
    let in_copy = phases.iter().filter(|&&p| p == 0).count();
    let verifying = phases.iter().filter(|&&p| p == 1).count();
    eprintln!(
        "resume: {cycles} kill -9 cycles ({in_copy} killed while copying, {verifying} in the catch-up or verification, {} once verified), {rounds} workload rounds; rows re-copied per resume: median {}, max {}; oracle: equal, every row on its shard",
        cycles - in_copy - verifying,
        median(&mut recopies.clone()),
        recopies.iter().max().copied().unwrap_or(0)
    );
}

/// A one-source move of table `t` (integer key, 40,000 rows) to two targets, as arguments.
async fn small_move(test: &str) -> (TestDb, [TestDb; 2], Vec<String>) {
    let source = TestDb::create(&format!("{test}_s"), 1).await;
    source
        .exec(
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(100) NOT NULL, k INT);
             INSERT INTO t SELECT seq, REPEAT('v', seq % 90), seq % 97 FROM seq_1_to_40000;",
        )
        .await;
    let targets = [
        TestDb::create(&format!("{test}_t0"), 2).await,
        TestDb::create(&format!("{test}_t1"), 3).await,
    ];
    let mut args = servers(&[&source], &[&targets[0], &targets[1]]);
    args.extend(["--shard-by", "t=id:hash", "--tables", "t"].map(String::from));
    (source, targets, args)
}

/// Rows of `t` matching `filter` on all of `targets` together.
async fn rows_on(targets: &[TestDb], filter: &str) -> u64 {
    let mut rows = 0;
    for t in targets {
        if let Some(Some(n)) = t
            .query_column(&format!("SELECT COUNT(*) FROM t WHERE {filter}"))
            .await
            .first()
            .cloned()
        {
            rows += n.parse::<u64>().unwrap_or(0);
        }
    }
    rows
}

/// Runs `reshard COMMAND args` to its end, off the runtime's threads.
async fn command(command: &str, args: &[String]) -> crate::Run {
    let mut all = vec![command.to_owned()];
    all.extend(args.iter().cloned());
    tokio::task::spawn_blocking(move || {
        crate::reshard(&all.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap()
}

/// Runs `reshard move` with `args` to its end (`--stop-when-caught-up`).
async fn move_to_end(args: &[String]) -> crate::Run {
    let mut args = args.to_vec();
    args.push(String::from("--stop-when-caught-up"));
    tokio::task::spawn_blocking(move || Child::start(&args).finish(Duration::from_secs(120)))
        .await
        .unwrap()
}

/// Everything a refused run could have written: each target's rows of `t` and the checkpoint.
async fn written(targets: &[TestDb]) -> Vec<String> {
    let mut state = Vec::new();
    for t in targets {
        state.push(format!("{:?}", t.digest("t").await));
    }
    state.push(format!(
        "{:?}",
        targets[0]
            .query_column("SELECT CONCAT(id, HEX(state), saved_at) FROM _reshard_checkpoint")
            .await
    ));
    state
}

/// Runs `reshard move` with `args` (expecting a refusal) and checks that it wrote nothing.
async fn refused(args: &[String], targets: &[TestDb], says: &str) {
    let before = written(targets).await;
    let run = move_to_end(args).await;
    run.expect_code(1)
        .stderr_has("cannot resume")
        .stderr_has("nothing was written")
        .stderr_has(says);
    assert_eq!(written(targets).await, before, "a refused run wrote");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resume_that_cannot_be_proved_safe_is_refused_before_anything_is_written() {
    let (source, targets, args) = small_move("resume_refuse").await;
    move_to_end(&args).await.expect_code(0);
    // Run again, it resumes from its checkpoint and finds nothing to do.
    let run = move_to_end(&args).await;
    run.expect_code(0)
        .stderr_has("resuming this move from its checkpoint")
        .stdout_has("copied 0 rows");

    // Other rules.
    let mut other = args.clone();
    let rule = other.iter().position(|a| a == "t=id:hash").unwrap();
    other[rule] = String::from("t=k:hash");
    refused(
        &other,
        &targets,
        "its rows went by `id` under vindex Hash, this run sends them by `k`",
    )
    .await;
    // Other targets.
    let third = TestDb::create(
        "resume_refuse_t2",
        4 % reshard_testkit::servers::count() + 1,
    )
    .await;
    let mut more = args.clone();
    more.extend([String::from("--target"), third.dsn()]);
    refused(&more, &targets, "targets: the checkpoint's are").await;
    // A schema change since, on the source and the targets alike.
    for db in [&source, &targets[0], &targets[1]] {
        db.exec("ALTER TABLE t MODIFY v VARCHAR(120) NOT NULL")
            .await;
    }
    refused(
        &args,
        &targets,
        "its columns changed since the move started",
    )
    .await;
    for db in [&source, &targets[0], &targets[1]] {
        db.exec("ALTER TABLE t MODIFY v VARCHAR(100) NOT NULL")
            .await;
    }
    // Target tables holding rows no checkpoint accounts for (the checkpoint is gone).
    targets[0]
        .exec("CREATE TABLE kept AS SELECT * FROM _reshard_checkpoint; DELETE FROM _reshard_checkpoint")
        .await;
    let before = written(&targets).await;
    let run = move_to_end(&args).await;
    run.expect_code(1)
        .stderr_has("is not empty")
        .stderr_has("--force");
    assert_eq!(written(&targets).await, before, "a refused run wrote");
    targets[0]
        .exec("INSERT INTO _reshard_checkpoint SELECT * FROM kept; DROP TABLE kept")
        .await;
    // A target table emptied since.
    targets[0].exec("TRUNCATE TABLE t").await;
    targets[1].exec("TRUNCATE TABLE t").await;
    refused(&args, &targets, "it was emptied since").await;

    // `reshard status` reads the checkpoint; --force discards it and starts over.
    let shown = command("status", &args).await;
    shown
        .expect_code(0)
        .stdout_has("phase: replicating (verified); tables t")
        .stdout_has("copy: 1 of 1 (source, table) copies done")
        .stdout_has("binlog bytes behind its end")
        .stdout_has("verified: t");
    let mut forced = args.clone();
    forced.push(String::from("--force"));
    move_to_end(&forced)
        .await
        .expect_code(0)
        .stderr_has("--force: discarding this move's checkpoint")
        .stdout_has("copied 40000 rows");
    let targets_ref: Vec<&TestDb> = targets.iter().collect();
    assert_same(
        &union(&[&source], "t").await,
        &union(&targets_ref, "t").await,
    );

    // `reshard reset` empties the targets and deletes the checkpoint.
    let run = command("reset", &args).await;
    run.expect_code(0)
        .stdout_has("discarded the move of t")
        .stdout_has("emptied t on target -80");
    for t in &targets {
        assert_eq!(
            t.query_column("SELECT COUNT(*) FROM t").await,
            [Some(String::from("0"))]
        );
    }
    assert!(
        targets[0]
            .query_column("SELECT id FROM _reshard_checkpoint")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resume_whose_binlog_was_purged_is_refused() {
    let scratch = tokio::task::spawn_blocking(|| ScratchServer::start(&[]))
        .await
        .unwrap();
    let source = TestDb::create_on("resume_purged_s", scratch.server().clone()).await;
    source
        .exec(
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v INT);
             INSERT INTO t SELECT seq, seq FROM seq_1_to_1000;",
        )
        .await;
    let targets = [
        TestDb::create("resume_purged_t0", 2).await,
        TestDb::create("resume_purged_t1", 3).await,
    ];
    let mut args = servers(&[&source], &[&targets[0], &targets[1]]);
    args.extend(["--shard-by", "t=id:hash", "--tables", "t"].map(String::from));
    move_to_end(&args).await.expect_code(0);
    source
        .exec("FLUSH BINARY LOGS; FLUSH BINARY LOGS; INSERT INTO t VALUES (5000, 1)")
        .await;
    let status: mysql_async::Row = {
        use mysql_async::prelude::Queryable;
        let mut conn = source.conn().await;
        conn.query_first("SHOW MASTER STATUS")
            .await
            .unwrap()
            .unwrap()
    };
    let file: String = status.get(0).unwrap();
    // A file a binlog dump thread still reads is kept: purge until the server lets it go (the
    // last run's stream may take a moment to be gone).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        source.exec(&format!("PURGE BINARY LOGS TO '{file}'")).await;
        let first: mysql_async::Row = {
            use mysql_async::prelude::Queryable;
            let mut conn = source.conn().await;
            conn.query_first("SHOW BINARY LOGS").await.unwrap().unwrap()
        };
        if first.get::<String, _>(0).unwrap() == file {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the old binlogs were never purged"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    refused(&args, &targets, "no longer has binlog file").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_whose_copy_was_nine_tenths_done_copies_again_only_what_was_in_flight() {
    let (source, targets, mut args) = small_move("resume_90").await;
    args.extend(
        [
            "--target-chunk-size",
            "64K",
            "--max-rows-per-second",
            "20000",
            "--threads",
            "2",
        ]
        .map(String::from),
    );
    let child = {
        let args = args.clone();
        tokio::task::spawn_blocking(move || Child::start(&args))
            .await
            .unwrap()
    };
    crate::moves::until_set_up(&targets[0], "t").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while rows_on(&targets, "TRUE").await < 36_000 {
        assert!(Instant::now() < deadline, "the copy never reached 90%");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed = tokio::task::spawn_blocking(move || child.kill_now())
        .await
        .unwrap();
    assert!(killed.code.is_none(), "{}", killed.all());
    let remaining = 40_000 - rows_on(&targets, "TRUE").await;
    let run = move_to_end(&args).await;
    run.expect_code(0);
    let copied: u64 = run
        .stdout
        .split("copied ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the summary says how many rows were copied");
    let again = recopied(&run.stderr);
    eprintln!(
        "resume at 90%: {remaining} rows remained at the kill; the resumed run copied {copied} ({again} of them copied again: the chunks in flight)"
    );
    assert_eq!(copied, remaining + again, "every other row is copied once");
    // Two readers, chunks of 64 KiB (about 600 rows of t): what was in flight is a few chunks.
    assert!(again <= 6 * 1_000, "{again} rows copied again");
    let targets_ref: Vec<&TestDb> = targets.iter().collect();
    assert_same(
        &union(&[&source], "t").await,
        &union(&targets_ref, "t").await,
    );
}

/// A scratch server of its own (for faults that would disturb other tests' servers).
async fn scratch_server() -> Arc<ScratchServer> {
    Arc::new(
        tokio::task::spawn_blocking(|| ScratchServer::start(&[]))
            .await
            .unwrap(),
    )
}

/// A writer on `db`'s table `t` until `stop`: inserts, updates (of the sharding key too) and
/// deletes, going on through errors (the server may be down); returns the statements that
/// succeeded.
fn start_writer(db: &TestDb, stop: &Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
    let (server, name, stop) = (db.server().clone(), db.name().to_owned(), Arc::clone(stop));
    tokio::spawn(async move {
        use mysql_async::prelude::Queryable;
        let mut ok = 0u64;
        let mut picks = Picks(7);
        let mut conn: Option<mysql_async::Conn> = None;
        let mut next_id = 1_000_000u64;
        while !stop.load(Ordering::Relaxed) {
            if conn.is_none() {
                conn = mysql_async::Conn::new(server.opts(Some(&name))).await.ok();
                if conn.is_none() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            }
            let k = 1 + picks.next() % 40_000;
            next_id += 1;
            let sql = match picks.next() % 4 {
                0 => format!("INSERT INTO t VALUES ({next_id}, 'new', 1)"),
                1 => format!("UPDATE t SET v = CONCAT(v, 'u'), k = k + 1 WHERE id = {k}"),
                2 => format!("DELETE FROM t WHERE id = {k}"),
                _ => format!("UPDATE t SET id = id + 2000000 WHERE id = {k}"),
            };
            match conn.as_mut().expect("connected").query_drop(&sql).await {
                Ok(()) => ok += 1,
                Err(_) => conn = None,
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        ok
    })
}

/// A move of `t` from `source` to two targets, one of them `scratch` (or the source on it),
/// with a writer on the source, during which `fault` runs; ends with a run to the end (the
/// same command once more when the first stopped) and the oracle.
async fn move_through<F, Fut>(
    test: &str,
    source: TestDb,
    targets: [TestDb; 2],
    extra: &[&str],
    fault: F,
) where
    F: FnOnce(Child) -> Fut,
    Fut: Future<Output = Option<crate::Run>>,
{
    source
        .exec(
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(200) NOT NULL, k INT);
             INSERT INTO t SELECT seq, REPEAT('v', seq % 90), seq % 97 FROM seq_1_to_40000;",
        )
        .await;
    let mut args = servers(&[&source], &[&targets[0], &targets[1]]);
    args.extend(
        [
            "--shard-by",
            "t=id:hash",
            "--tables",
            "t",
            "--target-chunk-size",
            "64K",
        ]
        .map(String::from),
    );
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = start_writer(&source, &stop);
    let child = {
        let args = args.clone();
        tokio::task::spawn_blocking(move || Child::start(&args))
            .await
            .unwrap()
    };
    crate::moves::until_set_up(&targets[0], "t").await;
    let first = fault(child).await;
    stop.store(true, Ordering::Relaxed);
    let writes = writer.await.unwrap();
    let resumed = first.is_some();
    let run = move_to_end(&args).await;
    run.expect_code(0);
    assert!(!run.stdout.contains("repaired"), "{}", run.all());
    if resumed {
        run.stderr_has("resuming this move from its checkpoint");
    }
    let targets_ref: Vec<&TestDb> = targets.iter().collect();
    assert_same(
        &union(&[&source], "t").await,
        &union(&targets_ref, "t").await,
    );
    let ranges = ["-80", "80-"].map(|r| KeyRange::parse(r).unwrap());
    assert_placed(&targets_ref, &ranges, "t", "id", "hash").await;
    eprintln!("{test}: {writes} writes during the move; oracle equal");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_killed_and_restarted_mid_move_is_waited_for_and_the_move_goes_on() {
    let scratch = scratch_server().await;
    let source = TestDb::create("resume_tkill_s", 1).await;
    let targets = [
        TestDb::create("resume_tkill_t0", 2).await,
        TestDb::create_on("resume_tkill_t1", scratch.server().clone()).await,
    ];
    let _keep = Arc::clone(&scratch);
    move_through(
        "target kill -9",
        source,
        targets,
        &["--max-rows-per-second", "15000"],
        |child| async move {
            tokio::time::sleep(Duration::from_millis(1200)).await;
            let scratch2 = Arc::clone(&scratch);
            tokio::task::spawn_blocking(move || {
                scratch2.kill();
                std::thread::sleep(Duration::from_secs(3));
                scratch2.restart();
            })
            .await
            .unwrap();
            // The move waited for the target and goes on; let it run a little, then stop it.
            tokio::time::sleep(Duration::from_secs(3)).await;
            let run = tokio::task::spawn_blocking(move || child.kill_now())
                .await
                .unwrap();
            assert!(
                run.code.is_none(),
                "the move did not survive the target's restart:\n{}",
                run.all()
            );
            assert!(run.stderr.contains("retrying"), "{}", run.all());
            Some(run)
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_that_stays_away_stops_the_move_cleanly_and_a_rerun_resumes() {
    let scratch = scratch_server().await;
    let source = TestDb::create_on("resume_skill_s", scratch.server().clone()).await;
    let targets = [
        TestDb::create("resume_skill_t0", 2).await,
        TestDb::create("resume_skill_t1", 3).await,
    ];
    let _keep = Arc::clone(&scratch);
    move_through(
        "source kill -9",
        source,
        targets,
        &["--max-rows-per-second", "15000", "--retry-for", "3s"],
        |child| async move {
            tokio::time::sleep(Duration::from_millis(1200)).await;
            let scratch2 = Arc::clone(&scratch);
            tokio::task::spawn_blocking(move || scratch2.kill())
                .await
                .unwrap();
            let run = tokio::task::spawn_blocking(move || child.finish(Duration::from_secs(60)))
                .await
                .unwrap();
            run.expect_code(1)
                .stderr_has(&format!("127.0.0.1:{}", scratch.server().port));
            let scratch2 = Arc::clone(&scratch);
            tokio::task::spawn_blocking(move || scratch2.restart())
                .await
                .unwrap();
            Some(run)
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_killed_again_and_again_do_not_stop_a_move() {
    let scratch = scratch_server().await;
    let target_scratch = scratch_server().await;
    let source = TestDb::create_on("resume_ckill_s", scratch.server().clone()).await;
    let targets = [
        TestDb::create_on("resume_ckill_t0", target_scratch.server().clone()).await,
        TestDb::create("resume_ckill_t1", 3).await,
    ];
    let _keep = (Arc::clone(&scratch), Arc::clone(&target_scratch));
    move_through("connection kills", source, targets, &["--max-rows-per-second", "15000"], |child| async move {
        // Every 300 ms for 6 s, every connection of reshard's on the source and the first
        // target (the binlog stream, readers, writers, the applier, the checkpoint) is killed.
        let mut killed = 0;
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            for server in [scratch.server(), target_scratch.server()] {
                use mysql_async::prelude::Queryable;
                let Ok(mut conn) = mysql_async::Conn::new(server.opts(None)).await else { continue };
                let ids: Vec<u64> = conn
                    .query("SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER = 'reshard'")
                    .await
                    .unwrap_or_default();
                for id in ids {
                    if conn.query_drop(format!("KILL {id}")).await.is_ok() {
                        killed += 1;
                    }
                }
                conn.disconnect().await.ok();
            }
        }
        let run = tokio::task::spawn_blocking(move || child.kill_now()).await.unwrap();
        assert!(run.code.is_none(), "the move stopped after its connections were killed:\n{}", run.all());
        eprintln!("connection kills: {killed} connections killed");
        assert!(killed > 20, "{killed}");
        Some(run)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_target_stops_the_move_naming_it_and_a_rerun_once_space_is_freed_resumes() {
    // A target whose InnoDB tablespace cannot grow past 12 MB: "The table is full" (1114), as a
    // full disk gives.
    let scratch = Arc::new(
        tokio::task::spawn_blocking(|| {
            ScratchServer::start(&[
                "--innodb-data-file-path=ibdata1:12M",
                "--innodb-file-per-table=0",
            ])
        })
        .await
        .unwrap(),
    );
    let source = TestDb::create("resume_full_s", 1).await;
    source
        .exec(
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(200) NOT NULL, k INT);
             INSERT INTO t SELECT seq, REPEAT('v', 150), seq % 97 FROM seq_1_to_60000;",
        )
        .await;
    let targets = [
        TestDb::create("resume_full_t0", 2).await,
        TestDb::create_on("resume_full_t1", scratch.server().clone()).await,
    ];
    let mut args = servers(&[&source], &[&targets[0], &targets[1]]);
    args.extend(["--shard-by", "t=id:hash", "--tables", "t"].map(String::from));
    let run = move_to_end(&args).await;
    run.expect_code(1)
        .stderr_has("is full")
        .stderr_has("ran out of space")
        .stderr_has("run the same command again")
        .stderr_has(&format!("127.0.0.1:{}", scratch.server().port))
        .stderr_has("`t`");
    // Space freed: the tablespace may grow again.
    let restarted = Arc::clone(&scratch);
    tokio::task::spawn_blocking(move || {
        restarted.stop();
        restarted.restart_with(&[
            "--innodb-data-file-path=ibdata1:12M:autoextend",
            "--innodb-file-per-table=0",
        ]);
    })
    .await
    .unwrap();
    let run = move_to_end(&args).await;
    run.expect_code(0)
        .stderr_has("resuming this move from its checkpoint");
    let targets_ref: Vec<&TestDb> = targets.iter().collect();
    assert_same(
        &union(&[&source], "t").await,
        &union(&targets_ref, "t").await,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_killed_while_applying_a_large_transaction_in_parts_resumes_it() {
    let (source, targets, args) = small_move("resume_bigtx").await;
    let child = {
        let args = args.clone();
        tokio::task::spawn_blocking(move || Child::start(&args))
            .await
            .unwrap()
    };
    crate::moves::until_set_up(&targets[0], "t").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while rows_on(&targets, "id <= 40000").await < 40_000 {
        assert!(Instant::now() < deadline, "the copy never finished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // One transaction of 300,000 rows (about 40 MB of row data): applied in parts.
    source
        .exec("INSERT INTO t SELECT 1000000 + seq, REPEAT('x', 100), seq % 13 FROM seq_1_to_300000")
        .await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let applied = loop {
        let n = rows_on(&targets, "id > 1000000").await;
        if n > 0 {
            break n;
        }
        assert!(
            Instant::now() < deadline,
            "the transaction was never applied"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let killed = tokio::task::spawn_blocking(move || child.kill_now())
        .await
        .unwrap();
    assert!(killed.code.is_none(), "{}", killed.all());
    let at_kill = rows_on(&targets, "id > 1000000").await;
    let checkpoint = targets[0]
        .query_column("SELECT state FROM _reshard_checkpoint")
        .await;
    eprintln!(
        "large transaction: {applied} of its 300000 rows on the targets when the kill was sent, {at_kill} after; checkpoint: {}",
        checkpoint[0]
            .clone()
            .unwrap_or_default()
            .chars()
            .take(400)
            .collect::<String>()
    );
    assert!(
        at_kill < 300_000,
        "the kill came after the whole transaction was applied: this test checks nothing; make it larger"
    );
    let run = move_to_end(&args).await;
    run.expect_code(0)
        .stderr_has("resuming this move from its checkpoint");
    assert!(!run.stdout.contains("repaired"), "{}", run.all());
    let targets_ref: Vec<&TestDb> = targets.iter().collect();
    assert_same(
        &union(&[&source], "t").await,
        &union(&targets_ref, "t").await,
    );
}
