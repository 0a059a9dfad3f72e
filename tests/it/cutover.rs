//! Cutover on real servers, with an application writing through it: a deferred cutover (sentinel,
//! re-verification), a failing hook, and `kill -9` at each step followed by a rerun.
//!
//! The oracle is the servers' own renderings: after a cutover the sources' `<table>_old` tables
//! must equal the union of the targets without the rows the application wrote after it was
//! switched, and every write the application was told succeeded must be where its time says
//! (before the switch: in `_old` and on the targets; after it: on the targets only).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use reshard_kernels::vindex::{VindexKind, VindexValue, keyspace_id};
use reshard_testkit::{TableDump, TestDb, assert_same};
use reshard_types::KeyRange;

use crate::Run;
use crate::moves::servers;
use crate::reshard::{run, targets, union};

/// Keys the writer inserts on the sources, before the switch.
const BEFORE_SWITCH: u64 = 10_000_000;
/// Keys it inserts on the targets, after.
const AFTER_SWITCH: u64 = 20_000_000;

/// A scratch directory for a test's hook files.
pub(crate) fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reshard-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a scratch directory");
    dir
}

/// A hook that records each run and the positions it was given, and switches the writer.
pub(crate) fn recording_hook(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "echo \"$RESHARD_SOURCE_POSITIONS|$RESHARD_TARGET_POSITIONS|$RESHARD_TABLES\" >> {d}/runs; touch {d}/switched"
    )
}

/// The lines of `file` (none if it is missing).
pub(crate) fn lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Source `s` of `n` holding the keys `k` with `k % n == s` of `1..=rows`.
pub(crate) async fn sources(test: &str, n: usize, rows: u64) -> Vec<TestDb> {
    let mut out = Vec::new();
    for s in 0..n {
        let db = TestDb::create(&format!("{test}_s{s}"), 1 + s % 2).await;
        db.exec(&format!(
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v INT NOT NULL, note VARCHAR(20));
             INSERT INTO t SELECT seq, seq, 'base' FROM seq_1_to_{rows} WHERE seq % {n} = {s};"
        ))
        .await;
        out.push(db);
    }
    out
}

/// What the application's writes did.
#[derive(Debug, Default)]
struct Writes {
    /// Keys inserted on the sources and acknowledged.
    before: Vec<u64>,
    /// Keys inserted on the targets (after the switch) and acknowledged.
    after: Vec<u64>,
    /// Keys of rows that were there before the move whose `note` the application set to
    /// 'after' on the targets, after the switch (acknowledged).
    after_updates: Vec<u64>,
    /// Updates acknowledged.
    updates: u64,
    /// The longest a write took, retries through the cutover included.
    longest: Duration,
}

/// An application writing to the sources until the hook switches it (`switched` appears), then
/// to the targets (routing each key by the reference hash vindex); every statement is retried
/// until it succeeds, as an application would through a cutover.
struct Writer {
    stop: Arc<AtomicBool>,
    handle: tokio::task::JoinHandle<Writes>,
}

/// Writing connections of the application (per source, and per target after the switch).
const WRITERS: u64 = 3;

impl Writer {
    fn start(sources: &[&TestDb], targets: &[&TestDb], rows: u64, switched: PathBuf) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let (source_dsns, target_dsns): (Vec<String>, Vec<String>) = (
            sources.iter().map(|s| s.dsn()).collect(),
            targets.iter().map(|t| t.dsn()).collect(),
        );
        let tasks: Vec<_> = (0..WRITERS)
            .map(|j| {
                tokio::spawn(write(
                    j,
                    source_dsns.clone(),
                    target_dsns.clone(),
                    rows,
                    switched.clone(),
                    Arc::clone(&stop),
                ))
            })
            .collect();
        let handle = tokio::spawn(async move {
            let mut all = Writes::default();
            for task in tasks {
                let writes = task.await.expect("a writer");
                all.before.extend(writes.before);
                all.after.extend(writes.after);
                all.updates += writes.updates;
                all.after_updates.extend(writes.after_updates);
                all.longest = all.longest.max(writes.longest);
            }
            all
        });
        Writer { stop, handle }
    }

    async fn finish(self) -> Writes {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.await.expect("the writer")
    }
}

/// One writing connection per server: keys `base + n * WRITERS + j`, as fast as it can.
async fn write(
    j: u64,
    source_dsns: Vec<String>,
    target_dsns: Vec<String>,
    rows: u64,
    switched: PathBuf,
    stop: Arc<AtomicBool>,
) -> Writes {
    let mut src = Vec::new();
    for dsn in &source_dsns {
        src.push(
            mysql_async::Conn::from_url(dsn.as_str())
                .await
                .expect("a source"),
        );
    }
    let mut dst = Vec::new();
    for dsn in &target_dsns {
        dst.push(
            mysql_async::Conn::from_url(dsn.as_str())
                .await
                .expect("a target"),
        );
    }
    let ranges = KeyRange::even(dst.len()).expect("ranges");
    let mut writes = Writes::default();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let k = n * WRITERS + j;
        let started = Instant::now();
        // An insert, then an update of a row that was there before the move (after the switch,
        // of its note, which the oracle leaves out of the comparison with `_old` and checks
        // survives on the targets).
        loop {
            if switched.exists() {
                let id = AFTER_SWITCH + k;
                let t = target_of(id, &ranges);
                match dst[t]
                    .query_drop(format!("INSERT INTO t VALUES ({id}, {n}, 'after')"))
                    .await
                {
                    Ok(()) => {
                        writes.after.push(id);
                        // And a row the sources had: nothing of theirs may come over it now.
                        let key = 1 + (k * 7919 % rows);
                        let t = target_of(key, &ranges);
                        match dst[t]
                            .query_drop(format!("UPDATE t SET note = 'after' WHERE id = {key}"))
                            .await
                        {
                            Ok(()) => writes.after_updates.push(key),
                            Err(e) => panic!("an update on target {t} failed: {e}"),
                        }
                        break;
                    }
                    Err(e) => panic!("a write to target {t} failed: {e}"),
                }
            }
            let id = BEFORE_SWITCH + k;
            let s = usize::try_from(id % src.len() as u64).expect("small");
            let sql = format!("INSERT INTO t VALUES ({id}, {n}, 'before')");
            match src[s].query_drop(sql).await {
                Ok(()) => {
                    writes.before.push(id);
                    let key = 1 + (k * 7919 % rows);
                    let s = usize::try_from(key % src.len() as u64).expect("small");
                    match src[s]
                        .query_drop(format!("UPDATE t SET v = v + 1 WHERE id = {key}"))
                        .await
                    {
                        Ok(()) => writes.updates += 1,
                        Err(e) if missing_table(&e) => {}
                        Err(e) => panic!("an update failed: {e}"),
                    }
                    break;
                }
                // Renamed under the application: it retries on the targets once the hook has
                // switched it.
                Err(e) if missing_table(&e) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(e) => panic!("a write to source {s} failed: {e}"),
            }
        }
        writes.longest = writes.longest.max(started.elapsed());
    }
    writes
}

fn missing_table(e: &mysql_async::Error) -> bool {
    matches!(e, mysql_async::Error::Server(s) if s.code == 1146)
}

/// The target of `id` among even key ranges, by the reference hash vindex.
pub(crate) fn target_of(id: u64, ranges: &[KeyRange]) -> usize {
    let mut kid = Vec::new();
    keyspace_id(
        VindexKind::from_name("hash").expect("hash"),
        VindexValue::Int(i64::try_from(id).expect("small")),
        &mut kid,
    )
    .expect("a keyspace id");
    ranges
        .iter()
        .position(|r| r.contains(&kid))
        .expect("a range holds it")
}

/// Panics unless the sources hold `t_old` and no `t`, and `t_old` in union equals the targets'
/// union without the rows written after the switch; and unless every acknowledged write is
/// where its time says.
async fn assert_cut_over(sources: &[&TestDb], targets: &[&TestDb], writes: &Writes) {
    for s in sources {
        let tables = s.tables().await;
        assert!(
            tables.iter().any(|t| t == "t_old") && !tables.iter().any(|t| t == "t"),
            "{} holds {tables:?}",
            s.name()
        );
    }
    let mut old = union(sources, "t_old").await;
    let mut on_targets: TableDump = union(targets, "t").await;
    let after: std::collections::BTreeSet<String> = writes
        .after
        .iter()
        .chain(&writes.after_updates)
        .map(ToString::to_string)
        .collect();
    let all_targets = on_targets.rows.clone();
    let old_rows = old.rows.clone();
    // The sources as they were locked: the targets without what the application wrote after.
    on_targets
        .rows
        .retain(|row| !row[0].as_ref().is_some_and(|id| after.contains(id)));
    old.rows
        .retain(|row| !row[0].as_ref().is_some_and(|id| after.contains(id)));
    assert_same(&old, &on_targets);
    old.rows = old_rows;
    // What the application wrote to the targets after the switch is still there: nothing of the
    // sources' replayed over it.
    for db in targets {
        let updated: Vec<String> = writes
            .after_updates
            .iter()
            .map(ToString::to_string)
            .collect();
        if updated.is_empty() {
            break;
        }
        let overwritten = db
            .query_column(&format!(
                "SELECT id FROM t WHERE id IN ({}) AND NOT (note <=> 'after')",
                updated.join(",")
            ))
            .await;
        assert!(
            overwritten.is_empty(),
            "rows the application updated after the switch were overwritten: {overwritten:?}"
        );
    }
    let ids = |rows: &[Vec<Option<String>>]| -> std::collections::BTreeSet<String> {
        rows.iter().filter_map(|r| r[0].clone()).collect()
    };
    let (old_ids, target_ids) = (ids(&old.rows), ids(&all_targets));
    for id in &writes.before {
        assert!(
            old_ids.contains(&id.to_string()),
            "write {id} (before the switch) is not in t_old"
        );
    }
    for id in &writes.after {
        assert!(
            target_ids.contains(&id.to_string()),
            "write {id} (after the switch) is not on the targets"
        );
        assert!(
            !old_ids.contains(&id.to_string()),
            "write {id} (after the switch) is in t_old"
        );
    }
}

/// `reshard status --json` of the move.
pub(crate) async fn status(args: &[String]) -> serde_json::Value {
    let mut all = vec![String::from("status"), String::from("--json")];
    all.extend(args.iter().cloned());
    let run = run(all).await;
    serde_json::from_str(&run.stdout).unwrap_or(serde_json::Value::Null)
}

/// `reshard status` (text) of the move.
pub(crate) async fn status_text(args: &[String]) -> Run {
    let mut all = vec![String::from("status")];
    all.extend(args.iter().cloned());
    run(all).await
}

/// Polls the move's status until `ready` holds of it (for at most two minutes).
pub(crate) async fn until_status(
    args: &[String],
    what: &str,
    ready: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let now = status(args).await;
        if ready(&now) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "never saw {what}; last status: {now}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The move's topology arguments.
pub(crate) fn topology_args(sources: &[&TestDb], targets: &[&TestDb]) -> Vec<String> {
    let mut args = servers(sources, targets);
    args.extend(["--shard-by", "t=id:hash", "--tables", "t"].map(String::from));
    args
}

/// Starts `reshard move` with `args`, and `RESHARD_FAULT_AT=fault` if given.
pub(crate) fn start_move(args: &[String], fault: Option<&str>) -> std::process::Child {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_reshard"));
    command
        .arg("move")
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(fault) = fault {
        command.env("RESHARD_FAULT_AT", fault);
    }
    command.spawn().expect("starting reshard")
}

/// Waits for `child` to exit (killing it after two minutes) and returns what it printed.
pub(crate) async fn wait(child: std::process::Child) -> Run {
    tokio::task::spawn_blocking(move || {
        crate::moves::Child::from(child).finish(Duration::from_secs(120))
    })
    .await
    .expect("waiting for reshard")
}

/// A 2 → 3 move with `--defer-cutover` replicates and re-verifies while the sentinel exists,
/// then cuts over when it is dropped, with the application writing all along: the hook runs
/// once and sees the positions, the sources hold `t_old`, and no write is lost. Prints the
/// longest write of the application across the cutover (its stall).
#[tokio::test(flavor = "multi_thread")]
async fn a_deferred_cutover_switches_a_writing_application_without_losing_a_write() {
    const ROWS: u64 = 20_000;
    let dir = scratch_dir("deferred");
    let src = sources("cut_defer", 2, ROWS).await;
    let tgt = targets("cut_defer", 3).await;
    let (s, t): (Vec<&TestDb>, Vec<&TestDb>) = (src.iter().collect(), tgt.iter().collect());
    let topology = topology_args(&s, &t);
    let mut args = topology.clone();
    args.extend(
        [
            "--defer-cutover",
            "--reverify-every",
            "1s",
            "--cutover-lock-timeout",
            "1s",
            "--cutover-hook",
            &recording_hook(&dir),
        ]
        .map(String::from),
    );
    let writer = Writer::start(&s, &t, ROWS, dir.join("switched"));
    let child = start_move(&args, None);
    // Verified, waiting on the sentinel, then verified again at least once.
    let first = until_status(&topology, "the first verification", |v| {
        v["verified_at"].is_u64() && v["sentinel"].is_string()
    })
    .await;
    let first = first["verified_at"].as_u64().expect("checked");
    until_status(&topology, "a re-verification", |v| {
        v["verified_at"].as_u64().is_some_and(|at| at > first)
    })
    .await;
    assert!(
        lines(&dir.join("runs")).is_empty(),
        "the hook ran before the sentinel was dropped"
    );
    t[0].exec("DROP TABLE _reshard_sentinel").await;
    let run = wait(child).await;
    run.expect_code(0)
        .stdout_has("cut over: the source tables are renamed to <table>_old")
        .stderr_has("re-verifying every table while the cutover is deferred");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let writes = writer.finish().await;
    println!(
        "write stall across the cutover: longest application write {} ms ({} inserts before the switch, {} after, {} updates)",
        writes.longest.as_millis(),
        writes.before.len(),
        writes.after.len(),
        writes.updates
    );
    assert!(
        !writes.before.is_empty() && !writes.after.is_empty(),
        "{writes:?}"
    );
    // The hook ran once, with the positions the move reports.
    let runs = lines(&dir.join("runs"));
    assert_eq!(runs.len(), 1, "hook runs: {runs:?}");
    let fields: Vec<&str> = runs[0].split('|').collect();
    let positions: Vec<&str> = fields[0].split(' ').collect();
    assert_eq!(positions.len(), 2, "{runs:?}");
    for (i, p) in positions.iter().enumerate() {
        run.stdout_has(&format!(
            "source {}: the targets hold its changes up to binlog {p}",
            i + 1
        ));
    }
    assert_eq!(fields[1].split(' ').count(), 3, "{runs:?}");
    assert_eq!(fields[2], "t");
    assert_cut_over(&s, &t, &writes).await;
    status_text(&topology)
        .await
        .expect_code(0)
        .stdout_has("phase: cut over");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A hook that fails leaves the sources unrenamed and writable, the move replicating (it says
/// so, and creates the sentinel again); dropping the sentinel with the hook fixed cuts over.
#[tokio::test(flavor = "multi_thread")]
async fn a_failing_hook_leaves_the_sources_writable_and_the_move_running() {
    let dir = scratch_dir("failing_hook");
    let src = sources("cut_fail", 1, 5_000).await;
    let tgt = targets("cut_fail", 2).await;
    let (s, t): (Vec<&TestDb>, Vec<&TestDb>) = (src.iter().collect(), tgt.iter().collect());
    let topology = topology_args(&s, &t);
    let d = dir.display();
    let hook = format!(
        "test -f {d}/fixed || {{ echo 'the load balancer refused' >&2; exit 3; }}; echo ran >> {d}/runs"
    );
    let mut args = topology.clone();
    args.extend(
        [
            "--cutover",
            "--cutover-attempts",
            "1",
            "--cutover-hook",
            &hook,
        ]
        .map(String::from),
    );
    let mut child = start_move(&args, None);
    until_status(&topology, "the sentinel after the failed hook", |v| {
        v["sentinel"].is_string()
    })
    .await;
    assert!(
        child.try_wait().expect("polling").is_none(),
        "the move ended after the hook failed"
    );
    // Unrenamed and writable; the move still replicates what the application writes.
    assert!(s[0].tables().await.iter().any(|n| n == "t"));
    s[0].exec("INSERT INTO t VALUES (99999999, 1, 'after hook')")
        .await;
    assert!(lines(&dir.join("runs")).is_empty());
    std::fs::write(dir.join("fixed"), "").expect("fixing the hook");
    t[0].exec("DROP TABLE _reshard_sentinel").await;
    let run = wait(child).await;
    run.expect_code(0)
        .stderr_has("the load balancer refused")
        .stderr_has("the cutover did not happen")
        .stdout_has("cut over");
    assert_eq!(lines(&dir.join("runs")).len(), 1);
    let old = union(&s, "t_old").await;
    assert!(old.rows.iter().any(|r| r[0].as_deref() == Some("99999999")));
    assert_same(&old, &union(&t, "t").await);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `kill -9` at each step of the cutover, then the same command again: every run ends in a
/// state `reshard status` names, the hook runs exactly once (after a crash while it may have
/// run, only once the operator says what to do), the sources hold `t_old` equal to the
/// targets, and a further run says the move has cut over and changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_cutover_killed_at_each_step_ends_consistent_with_the_hook_run_once() {
    for (point, named) in [
        ("locking", "locking the sources"),
        ("hook", "running the cutover hook"),
        ("hook_done", "the hook ran; renaming next"),
        ("renamed_one", "renaming the source tables"),
        ("renamed", "renaming the source tables"),
    ] {
        let dir = scratch_dir(&format!("kill_{point}"));
        let src = sources(&format!("cut_kill_{point}"), 2, 4_000).await;
        let tgt = targets(&format!("cut_kill_{point}"), 2).await;
        let (s, t): (Vec<&TestDb>, Vec<&TestDb>) = (src.iter().collect(), tgt.iter().collect());
        let topology = topology_args(&s, &t);
        let mut args = topology.clone();
        args.extend(["--cutover", "--cutover-hook", &recording_hook(&dir)].map(String::from));
        let writer = Writer::start(&s, &t, 4_000, dir.join("switched"));
        let killed = wait(start_move(&args, Some(point))).await;
        assert_eq!(killed.code, None, "{point}: not killed:\n{}", killed.all());
        status_text(&topology)
            .await
            .expect_code(0)
            .stdout_has(&format!("cutover: {named}"));
        if point == "renamed_one" {
            // Killed after the first source's renames: the second still has `t`, and a statement
            // that waited on its lock writes there once the crash released it. The rerun must
            // carry it to the targets before renaming (the oracle below finds it in `t_old`).
            assert!(s[1].tables().await.contains(&String::from("t")));
            s[1].exec("INSERT INTO t VALUES (77777777, 1, 'straggler')")
                .await;
        }
        let rerun = run(std::iter::once(String::from("move"))
            .chain(args.iter().cloned())
            .collect())
        .await;
        if point == "hook" {
            // Whether the hook finished is not known: the operator says.
            rerun.expect_code(1).stderr_has("--cutover-hook-ran");
            let mut again = args.clone();
            again.push(String::from("--run-cutover-hook-again"));
            run(std::iter::once(String::from("move")).chain(again).collect())
                .await
                .expect_code(0)
                .stdout_has("cut over");
        } else {
            rerun.expect_code(0).stdout_has("cut over");
        }
        let writes = writer.finish().await;
        assert_eq!(
            lines(&dir.join("runs")).len(),
            1,
            "{point}: the hook ran {:?}",
            lines(&dir.join("runs"))
        );
        assert_cut_over(&s, &t, &writes).await;
        if point == "renamed_one" {
            rerun.stderr_has("statements that waited on the cutover's lock wrote to this source");
        }
        run(std::iter::once(String::from("move"))
            .chain(args.iter().cloned())
            .collect())
        .await
        .expect_code(0)
        .stdout_has("nothing to do");
        status_text(&topology)
            .await
            .expect_code(0)
            .stdout_has("phase: cut over");
        assert_eq!(lines(&dir.join("runs")).len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A shard-level move (`--source-shards`) of one of two sources cuts over that shard alone:
/// its source holds `t_old` equal to its target, while the other source keeps its `t`, serving
/// writes, and its target is never written.
#[tokio::test(flavor = "multi_thread")]
async fn a_shard_level_move_cuts_over_one_shard_while_the_other_keeps_serving() {
    let dir = scratch_dir("shard_level");
    let ranges = KeyRange::even(2).expect("ranges");
    let mut shards = Vec::new();
    for s in 0..2 {
        let db = TestDb::create(&format!("cut_shard_s{s}"), 1 + s).await;
        db.exec(
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v INT NOT NULL, note VARCHAR(20))",
        )
        .await;
        shards.push(db);
    }
    // Each source holds the keys of its own range, as Vitess shards do.
    let mut values = [Vec::new(), Vec::new()];
    for id in 1..=6_000u64 {
        values[target_of(id, &ranges)].push(format!("({id}, {id}, 'base')"));
    }
    for (db, rows) in shards.iter().zip(&values) {
        db.exec(&format!("INSERT INTO t VALUES {}", rows.join(", ")))
            .await;
    }
    let tgt = targets("cut_shard", 2).await;
    let (s, t): (Vec<&TestDb>, Vec<&TestDb>) = (shards.iter().collect(), tgt.iter().collect());
    let mut args = topology_args(&s, &t);
    args.extend(
        [
            "--source-key-ranges",
            "-80,80-",
            "--source-shards",
            "-80",
            "--cutover",
            "--cutover-hook",
            &recording_hook(&dir),
        ]
        .map(String::from),
    );
    wait(start_move(&args, None))
        .await
        .expect_code(0)
        .stdout_has("cut over");
    assert_eq!(lines(&dir.join("runs")).len(), 1);
    // The moved shard: renamed, and equal to its target.
    assert!(s[0].tables().await.iter().any(|n| n == "t_old"));
    assert_same(&union(&[s[0]], "t_old").await, &union(&[t[0]], "t").await);
    // The other: untouched and serving; its target received nothing.
    assert!(s[1].tables().await.iter().any(|n| n == "t"));
    s[1].exec("INSERT INTO t VALUES (99999999, 1, 'still served')")
        .await;
    assert!(
        !t[1].tables().await.iter().any(|n| n == "t"),
        "the other shard's target was written"
    );
    // A layout where a target spans both shards is refused before anything is written.
    let mut spanning = servers(&s, &[t[0]]);
    spanning.extend(
        [
            "--shard-by",
            "t=id:hash",
            "--tables",
            "t",
            "--source-key-ranges",
            "-80,80-",
            "--source-shards",
            "80-",
            "--cutover",
        ]
        .map(String::from),
    );
    run(std::iter::once(String::from("move"))
        .chain(spanning)
        .collect())
    .await
    .expect_code(2)
    .stderr_has("spans the source shards");
    let _ = std::fs::remove_dir_all(&dir);
}

/// After a crash once its hook has run, a rerun whose lock attempts fail (another session holds
/// a source's table) keeps trying without ever running the hook again, and cuts over once the
/// table is free; the targets' positions stay those read before the hook.
#[tokio::test(flavor = "multi_thread")]
async fn a_cutover_whose_hook_ran_never_runs_it_again_while_it_retries() {
    let dir = scratch_dir("retry_after_hook");
    let src = sources("cut_retry", 1, 3_000).await;
    let tgt = targets("cut_retry", 2).await;
    let (s, t): (Vec<&TestDb>, Vec<&TestDb>) = (src.iter().collect(), tgt.iter().collect());
    let topology = topology_args(&s, &t);
    let mut args = topology.clone();
    args.extend(
        [
            "--cutover",
            "--cutover-attempts",
            "1",
            "--cutover-lock-timeout",
            "1s",
            "--cutover-hook",
            &recording_hook(&dir),
        ]
        .map(String::from),
    );
    let killed = wait(start_move(&args, Some("hook_done"))).await;
    assert_eq!(killed.code, None, "not killed:\n{}", killed.all());
    let before = status(&topology).await;
    let target_positions = before["cutover"]["target_positions"].clone();
    assert!(target_positions.is_array(), "{before}");
    // Another session holds the source table: every lock attempt of the rerun fails for now.
    let mut holder = s[0].conn().await;
    holder
        .query_drop("LOCK TABLES t READ")
        .await
        .expect("locking");
    let rerun = start_move(&args, None);
    until_status(&topology, "a failed attempt", |v| {
        v["cutover"]["step"] == "hook_done" && v["seconds_since_saved"].as_u64().is_some()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    holder.query_drop("UNLOCK TABLES").await.expect("unlocking");
    drop(holder);
    let run = wait(rerun).await;
    run.expect_code(0)
        .stdout_has("cut over")
        .stderr_has("hook ran before, so it is not run again");
    assert_eq!(lines(&dir.join("runs")).len(), 1, "the hook ran again");
    let after = status(&topology).await;
    assert_eq!(after["cutover"]["target_positions"], target_positions);
    assert_same(&union(&s, "t_old").await, &union(&t, "t").await);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A move asked to cut over is refused before anything is written when a source's user cannot
/// lock or rename the tables (found at the cutover, it would stop after the hook), naming the
/// grants; an empty or unquotable suffix and both cutover modes at once are bad input.
#[tokio::test(flavor = "multi_thread")]
async fn a_cutover_is_refused_up_front_without_the_sources_grants_or_with_a_bad_suffix() {
    let src = sources("cut_grants", 1, 500).await;
    let tgt = targets("cut_grants", 2).await;
    let user = format!("nolock_{}", std::process::id());
    src[0]
        .exec(&format!(
            "CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY 'pw';
             GRANT SELECT ON `{}`.* TO '{user}'@'%';
             GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '{user}'@'%';",
            src[0].name()
        ))
        .await;
    let source = format!(
        "mysql://{user}:pw@127.0.0.1:{}/{}",
        src[0].server().port,
        src[0].name()
    );
    let mut args = vec![String::from("--source"), source];
    for t in &tgt {
        args.extend([String::from("--target"), t.dsn()]);
    }
    args.extend(["--shard-by", "t=id:hash", "--tables", "t", "--cutover"].map(String::from));
    let refused = run(std::iter::once(String::from("move"))
        .chain(args.clone())
        .collect())
    .await;
    let written: Vec<String> = tgt[0].tables().await;
    src[0].exec(&format!("DROP USER '{user}'@'%'")).await;
    refused
        .expect_code(1)
        .stderr_has("nothing was written")
        .stderr_has("LOCK TABLES (the cutover's lock)")
        .stderr_has(&format!(
            "GRANT LOCK TABLES, ALTER, DROP, CREATE, INSERT ON `{}`.*",
            src[0].name()
        ));
    assert!(written.is_empty(), "the refused move wrote {written:?}");
    let (s, t): (Vec<&TestDb>, Vec<&TestDb>) = (src.iter().collect(), tgt.iter().collect());
    for bad in [
        vec!["--cutover", "--old-suffix", ""],
        vec!["--cutover", "--old-suffix", "a`b"],
        vec!["--cutover", "--defer-cutover"],
        vec!["--reverse"],
    ] {
        let mut args = topology_args(&s, &t);
        args.extend(bad.iter().map(|a| String::from(*a)));
        run(std::iter::once(String::from("move")).chain(args).collect())
            .await
            .expect_code(2);
    }
}
