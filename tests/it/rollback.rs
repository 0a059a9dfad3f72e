//! The rollback window on real servers: `reshard reverse` carries the application's writes to
//! the targets back into the sources' `t_old` tables, each row to the source whose key range
//! holds it (checked with the reference vindex, not reshard's router); `reshard rollback`
//! switches back; `reshard complete` and `reshard cancel` end a move either way.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use reshard_testkit::{TestDb, assert_same};
use reshard_types::KeyRange;

use crate::Run;
use crate::cutover::{
    lines, recording_hook, scratch_dir, sources, status, target_of, topology_args, wait,
};
use crate::reshard::{run, targets, union};

/// Starts `reshard <command>` with `args`.
fn start(command: &str, args: &[String]) -> std::process::Child {
    crate::spawn_reshard(std::iter::once(command).chain(args.iter().map(String::as_str)))
}

/// `reshard <command> args...`.
async fn reshard(command: &str, args: &[String]) -> Run {
    run(std::iter::once(command.to_owned())
        .chain(args.iter().cloned())
        .collect())
    .await
}

/// Asks `child` to stop (SIGTERM) and returns what it printed.
async fn stop(child: std::process::Child) -> Run {
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    wait(child).await
}

/// Two sources that are shards (-80, 80-) by the hash of `id`, as Vitess keeps them.
async fn shard_sources(test: &str, rows: u64) -> Vec<TestDb> {
    let ranges = KeyRange::even(2).expect("ranges");
    let mut values = [Vec::new(), Vec::new()];
    for id in 1..=rows {
        values[target_of(id, &ranges)].push(format!("({id}, {id}, 'base')"));
    }
    let mut out = Vec::new();
    for (s, rows) in values.iter().enumerate() {
        let db = TestDb::create(&format!("{test}_s{s}"), 1 + s).await;
        db.exec(&format!(
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v INT NOT NULL, note VARCHAR(20));
             INSERT INTO t VALUES {};",
            rows.join(", ")
        ))
        .await;
        out.push(db);
    }
    out
}

/// The application on the targets: inserts, updates (of the sharding key too, which moves a
/// row between targets and, back, between sources) and deletes; `round` keeps keys apart.
async fn write_to_targets(targets: &[&TestDb], ranges: &[KeyRange], round: u64, rows: u64) {
    let mut conns = Vec::new();
    for t in targets {
        conns.push(t.conn().await);
    }
    for n in 0..200u64 {
        let id = 50_000_000 + round * 1_000 + n;
        let t = target_of(id, ranges);
        conns[t]
            .query_drop(format!("INSERT INTO t VALUES ({id}, {n}, 'on target')"))
            .await
            .expect("an insert");
        let key = 1 + (round * 977 + n * 7919) % rows;
        let t = target_of(key, ranges);
        conns[t]
            .query_drop(format!(
                "UPDATE t SET v = v + 1, note = 'updated' WHERE id = {key}"
            ))
            .await
            .expect("an update");
        if n % 10 == 0 {
            let gone = 1 + (round * 131 + n * 104_729) % rows;
            let t = target_of(gone, ranges);
            conns[t]
                .query_drop(format!("DELETE FROM t WHERE id = {gone}"))
                .await
                .expect("a delete");
        }
        if n % 25 == 0 {
            // The row's key changes: it moves to the target (and source) of its new key.
            let (from, to) = (id, 60_000_000 + round * 1_000 + n);
            let t = target_of(from, ranges);
            conns[t]
                .query_drop(format!("DELETE FROM t WHERE id = {from}"))
                .await
                .expect("a delete");
            let t = target_of(to, ranges);
            conns[t]
                .query_drop(format!("INSERT INTO t VALUES ({to}, {n}, 'moved key')"))
                .await
                .expect("an insert");
        }
    }
    for conn in conns {
        conn.disconnect().await.ok();
    }
}

/// Waits until the union of `table` over `left` equals that of `right` (the reverse stream has
/// caught up), then asserts it; at most a minute.
async fn until_same(left: &[&TestDb], left_table: &str, right: &[&TestDb], right_table: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (l, r) = (
            union(left, left_table).await,
            union(right, right_table).await,
        );
        if l.diff(&r).is_none() || Instant::now() > deadline {
            assert_same(&l, &r);
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Panics unless every row of `table` on each source has its keyspace id in that source's range.
async fn assert_on_own_source(sources: &[&TestDb], ranges: &[KeyRange], table: &str) {
    for (s, db) in sources.iter().enumerate() {
        for id in db.query_column(&format!("SELECT id FROM {table}")).await {
            let id: u64 = id.expect("an id").parse().expect("a number");
            assert_eq!(
                target_of(id, ranges),
                s,
                "row {id} of {table} is on source {s}"
            );
        }
    }
}

/// The reverse stream and the rollback after a move of `n_sources` sources to two targets
/// whose ranges (`target_ranges`) cut across the sources' (-80, 80- for two sources).
async fn reverse_then_roll_back(test: &str, n_sources: usize, target_ranges: &str, suffix: &str) {
    let old_name = format!("t{suffix}");
    const ROWS: u64 = 3_000;
    let dir = scratch_dir(test);
    let src = if n_sources == 1 {
        sources(test, 1, ROWS).await
    } else {
        shard_sources(test, ROWS).await
    };
    let tgt = targets(test, 2).await;
    let (s, t): (Vec<&TestDb>, Vec<&TestDb>) = (src.iter().collect(), tgt.iter().collect());
    let source_ranges = if n_sources == 1 {
        vec![KeyRange::full()]
    } else {
        KeyRange::even(2).expect("ranges")
    };
    let target_list = KeyRange::parse_list(target_ranges).expect("ranges");
    let mut args = topology_args(&s, &t);
    args.extend([String::from("--key-ranges"), target_ranges.to_owned()]);
    if n_sources > 1 {
        args.extend([String::from("--source-key-ranges"), String::from("-80,80-")]);
    }
    let mut moving = args.clone();
    moving.extend([
        String::from("--cutover"),
        String::from("--old-suffix"),
        suffix.to_owned(),
    ]);
    reshard("move", &moving)
        .await
        .expect_code(0)
        .stdout_has("cut over");
    // The window: the application writes to the targets, the reverse stream carries it back.
    let reverse = start("reverse", &args);
    write_to_targets(&t, &target_list, 1, ROWS).await;
    until_same(&s, &old_name, &t, "t").await;
    assert_on_own_source(&s, &source_ranges, &old_name).await;
    stop(reverse)
        .await
        .expect_code(0)
        .stdout_has("stopped; run reshard reverse again");
    // Written while no reverse stream runs: the rollback starts from the stream's checkpoint.
    write_to_targets(&t, &target_list, 2, ROWS).await;
    let mut rolling = args.clone();
    rolling.extend([String::from("--cutover-hook"), recording_hook(&dir)]);
    reshard("rollback", &rolling)
        .await
        .expect_code(0)
        .stdout_has("rolled back");
    assert_eq!(
        lines(&dir.join("runs")).len(),
        1,
        "the rollback hook ran once"
    );
    for db in &s {
        let tables = db.tables().await;
        assert!(
            tables.contains(&String::from("t")) && !tables.contains(&old_name),
            "{tables:?}"
        );
    }
    for db in &t {
        let tables = db.tables().await;
        assert!(
            tables.contains(&old_name) && !tables.contains(&String::from("t")),
            "{tables:?}"
        );
    }
    // The sources hold exactly the targets' rows as they were switched back, each on its own.
    assert_same(&union(&s, "t").await, &union(&t, &old_name).await);
    assert_on_own_source(&s, &source_ranges, "t").await;
    // The move says what became of it, and changes nothing.
    reshard("move", &moving)
        .await
        .expect_code(1)
        .stderr_has("rolled back");
    reshard("complete", &args)
        .await
        .expect_code(1)
        .stderr_has("rolled back");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rollback_window_of_a_one_to_two_move_carries_writes_back_and_switches_back() {
    reverse_then_roll_back("rev_1to2", 1, "-80,80-", "_old").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rollback_window_of_a_two_to_two_move_routes_each_row_to_its_source() {
    // Target -c0 holds rows of both sources: the reverse stream splits them again.
    // With another suffix than `_old`: the reverse stream and the rollback follow the cutover's.
    reverse_then_roll_back("rev_2to2", 2, "-c0,c0-", "_before_reshard").await;
}

/// `reshard complete --drop-old-tables` ends a cut-over move (listing what it drops), after
/// which the move says it has cut over and a rollback is refused; `reshard cancel` abandons a
/// move that has not cut over (refused while it runs), dropping its sentinel and, on request,
/// its target tables.
#[tokio::test(flavor = "multi_thread")]
async fn complete_and_cancel_end_a_move_either_way() {
    let src = sources("end_complete", 1, 2_000).await;
    let tgt = targets("end_complete", 2).await;
    let (s, t): (Vec<&TestDb>, Vec<&TestDb>) = (src.iter().collect(), tgt.iter().collect());
    let args = topology_args(&s, &t);
    let mut moving = args.clone();
    moving.push(String::from("--cutover"));
    reshard("move", &moving).await.expect_code(0);
    reshard("cancel", &args)
        .await
        .expect_code(1)
        .stderr_has("reshard complete");
    reshard(
        "complete",
        &[args.clone(), vec![String::from("--drop-old-tables")]].concat(),
    )
    .await
    .expect_code(0)
    .stdout_has("completed the move of t")
    .stdout_has("dropped t_old on");
    assert!(!s[0].tables().await.contains(&String::from("t_old")));
    reshard("move", &moving)
        .await
        .expect_code(0)
        .stdout_has("nothing to do");
    reshard("rollback", &args)
        .await
        .expect_code(1)
        .stderr_has("reshard complete");
    assert_eq!(status(&args).await["phase"], "cut over and completed");

    // Cancel: a deferred move waiting on its sentinel.
    let src = sources("end_cancel", 1, 2_000).await;
    let tgt = targets("end_cancel", 2).await;
    let (s, t): (Vec<&TestDb>, Vec<&TestDb>) = (src.iter().collect(), tgt.iter().collect());
    let args = topology_args(&s, &t);
    let mut moving = args.clone();
    moving.push(String::from("--defer-cutover"));
    let child = start("move", &moving);
    crate::cutover::until_status(&args, "the sentinel", |v| v["sentinel"].is_string()).await;
    // Stopped before its cutover: unfinished, so not 0.
    stop(child)
        .await
        .expect_code(3)
        .stderr_has("the move stopped before its cutover");
    let rows_on_targets: usize = {
        let mut n = 0;
        for db in &t {
            n += db.query_column("SELECT id FROM t").await.len();
        }
        n
    };
    // Run again, and cancelled while it runs: it is asked to stop, stops, and is abandoned.
    let child = start("move", &moving);
    crate::cutover::until_status(&args, "the resumed move", |v| {
        v["seconds_since_saved"].as_u64().is_some_and(|s| s < 2) && v["sentinel"].is_string()
    })
    .await;
    reshard(
        "cancel",
        &[args.clone(), vec![String::from("--drop-target-tables")]].concat(),
    )
    .await
    .expect_code(0)
    .stdout_has("cancelled the move of t")
    .stdout_has("cutover sentinel dropped")
    .stdout_has("dropped t on target");
    wait(child)
        .await
        .expect_code(1)
        .stderr_has("stopped by reshard cancel");
    assert_eq!(rows_on_targets, 2_000);
    for db in &t {
        let tables = db.tables().await;
        assert!(!tables.contains(&String::from("t")), "{tables:?}");
        assert!(
            !tables.contains(&String::from("_reshard_sentinel")),
            "{tables:?}"
        );
    }
    reshard("status", &args).await.expect_code(1);
    // The sources were never written: still `t`, all rows.
    assert_eq!(s[0].query_column("SELECT id FROM t").await.len(), 2_000);
}
