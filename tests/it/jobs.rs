//! The engine's jobs as an embedder uses them: a move run from inside a tokio runtime and from a
//! plain thread, and a copy and a move cancelled mid-way, whose targets a later run accepts.

use std::time::Duration;

use reshard_engine::config::TopologyInput;
use reshard_engine::copy::{CopyEnd, CopyOptions};
use reshard_engine::job::{Cancel, CopyJob, MoveJob, Quiet};
use reshard_engine::online::MoveEnd;
use reshard_engine::topology::Topology;
use reshard_testkit::{TestDb, assert_same};

use crate::copy::pair;

fn topology(source: &TestDb, target: &TestDb) -> Topology {
    TopologyInput {
        sources: vec![source.dsn()],
        targets: vec![target.dsn()],
        ..TopologyInput::default()
    }
    .topology()
    .expect("a valid topology")
}

/// Slow enough to be cancelled mid-way: one reader, one writer, small chunks.
fn slow() -> CopyOptions {
    CopyOptions {
        read_threads: 1,
        write_threads: 1,
        target_chunk_bytes: 16 << 10,
        ..CopyOptions::default()
    }
}

async fn table(db: &TestDb, rows: u32) {
    db.exec(&format!(
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40)); INSERT INTO t SELECT seq, REPEAT('j', 40) FROM seq_1_to_{rows}"
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_job_runs_inside_a_tokio_runtime_on_a_plain_thread_and_on_a_blocking_thread() {
    let (source, target) = pair("jobs_move_async").await;
    table(&source, 5000).await;
    let job = MoveJob::new(topology(&source, &target)).stop_when_caught_up(Some(Duration::ZERO));
    let report = job.run(&Cancel::new(), &Quiet).await.expect("the move");
    assert_eq!(report.end, MoveEnd::CaughtUp);
    assert_same(&source.dump("t").await, &target.dump("t").await);

    let (source, target) = pair("jobs_move_thread").await;
    table(&source, 5000).await;
    let job = MoveJob::new(topology(&source, &target)).stop_when_caught_up(Some(Duration::ZERO));
    let report = std::thread::spawn(move || job.run_blocking(&Cancel::new(), &Quiet))
        .join()
        .unwrap()
        .expect("the move");
    assert_eq!(report.end, MoveEnd::CaughtUp);
    assert_same(&source.dump("t").await, &target.dump("t").await);

    // And from a blocking thread of a runtime (where starting a runtime on the thread panics).
    let (source, target) = pair("jobs_move_blocking").await;
    table(&source, 5000).await;
    let job = MoveJob::new(topology(&source, &target)).stop_when_caught_up(Some(Duration::ZERO));
    let report = tokio::task::spawn_blocking(move || job.run_blocking(&Cancel::new(), &Quiet))
        .await
        .unwrap()
        .expect("the move");
    assert_eq!(report.end, MoveEnd::CaughtUp);
    assert_same(&source.dump("t").await, &target.dump("t").await);
}

/// Runs `job` to its end, cancelling `cancel` once `target` holds some rows of `t`.
async fn cancel_when_writing<T>(
    job: impl Future<Output = T>,
    target: &TestDb,
    cancel: &Cancel,
) -> T {
    tokio::pin!(job);
    loop {
        tokio::select! {
            outcome = &mut job => return outcome,
            () = tokio::time::sleep(Duration::from_millis(10)) => {
                if !cancel.is_cancelled()
                    && crate::faults::rows_of_t(target).await.unwrap_or(0) > 0
                {
                    cancel.cancel();
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelled_jobs_stop_promptly_and_a_later_run_accepts_their_targets() {
    let (source, target) = pair("jobs_cancel").await;
    table(&source, 300_000).await;

    let cancel = Cancel::new();
    let job = CopyJob::new(topology(&source, &target)).options(slow());
    let report = cancel_when_writing(job.run(&cancel, &Quiet), &target, &cancel)
        .await
        .expect("a cancelled copy is no error");
    assert!(
        cancel.is_cancelled(),
        "the copy ended before it was cancelled"
    );
    assert_eq!(report.end, CopyEnd::Interrupted);
    let written: u64 = report
        .progress
        .snapshot()
        .iter()
        .map(|s| s.rows_inserted)
        .sum();
    assert!(written < 300_000, "cancelled mid-way: {written} rows");

    target.exec("DROP TABLE t").await;
    let cancel = Cancel::new();
    let job = MoveJob::new(topology(&source, &target)).options(slow());
    let report = cancel_when_writing(job.run(&cancel, &Quiet), &target, &cancel)
        .await
        .expect("a cancelled move is no error");
    assert_eq!(report.end, MoveEnd::Interrupted);
    assert!(!report.progress.copy_done());

    // The targets are left as a later run (with force) accepts them.
    let report = CopyJob::new(topology(&source, &target))
        .force(true)
        .run(&Cancel::new(), &Quiet)
        .await
        .expect("the copy after the cancelled ones");
    assert_eq!(report.end, CopyEnd::Done);
    assert_same(&source.dump("t").await, &target.dump("t").await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_job_names_each_table_and_says_running_again_will_not_help() {
    let (source, target) = pair("jobs_refused").await;
    source
        .exec("CREATE TABLE nokey (v INT); CREATE TABLE fine (id INT PRIMARY KEY)")
        .await;
    let error = CopyJob::new(topology(&source, &target))
        .run(&Cancel::new(), &Quiet)
        .await
        .unwrap_err();
    assert_eq!(error.class(), reshard_types::ErrorClass::Definite);
    let reshard_engine::CopyError::Refusals(refusals) = &error else {
        panic!("not a list of refusals: {error}");
    };
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(
        refusals[0].table.as_deref(),
        Some(format!("`{}`.`nokey`", source.name()).as_str())
    );
    assert!(
        refusals[0].message.contains("has no primary key"),
        "{error}"
    );
    assert!(target.tables().await.is_empty(), "nothing was written");
}
