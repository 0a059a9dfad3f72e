//! Throttling on real servers: a move whose source is busy (a statement that runs for seconds)
//! holds back while it is, says so, and completes with the rows right.

use std::time::Duration;

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
