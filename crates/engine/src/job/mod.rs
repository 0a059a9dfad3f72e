//! Jobs: a whole copy or move, from a validated [`Topology`](crate::topology::Topology) to a
//! report, in the order that makes it safe. The CLI is one user of them; a data-platform job
//! embedding reshard is another, and gets exactly the same checks.
//!
//! A [`CopyJob`] takes the targets' locks, sets up (every check before the first write, then the
//! target tables), copies, adds deferred indexes and checks each target table's row count. A
//! [`MoveJob`] also checks that each source's binary log can be followed, takes the sources'
//! binlog positions before discovering the tables (so that a DDL after that point stops the move
//! instead of going unseen), opens each stream before anything is written, then copies while
//! applying changes until cancelled or caught up. A [`VerifyJob`] compares the sources' rows with
//! the targets', reading only.
//!
//! Both run from async code (`run`: the blocking parts go to `spawn_blocking`, nothing blocks the
//! caller's runtime and no runtime is nested) or from a blocking thread (`run_blocking`: a plain
//! thread, or a `spawn_blocking` thread of the caller's runtime; the job gets a runtime and a
//! thread of its own). A
//! [`Cancel`] stops them at their next safe point (a copy after the batches in flight, a move
//! after its current cycle); what is committed stays, and a later run with `force` accepts the
//! targets. An [`Observer`] hears where the job is and gets the live progress counters.

mod cancel;
mod copy_job;
mod move_job;
mod observer;
mod reverse_job;
mod settings;
mod verify_job;

pub use cancel::Cancel;
pub use copy_job::{CopyJob, CopyReport};
pub(crate) use move_job::default_server_id;
pub use move_job::{MoveJob, MoveReport};
pub use observer::{Event, Observer, Quiet};
pub use reverse_job::ReverseJob;
pub use verify_job::VerifyJob;

/// Runs `future` to its end on a runtime of its own, on a thread of its own: so it works from a
/// plain thread and from a thread of another runtime (`spawn_blocking`), where starting a runtime
/// on the caller's thread would panic. The calling thread waits.
fn block_on<F>(future: F) -> Result<F::Output, crate::CopyError>
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("reshard-job".into())
            .spawn_scoped(scope, || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| {
                        crate::CopyError::Internal(format!("starting a runtime for the job: {e}"))
                    })?;
                Ok(runtime.block_on(future))
            })
            .map_err(|e| crate::CopyError::Internal(format!("starting the job's thread: {e}")))?
            .join()
            .map_err(|_| crate::CopyError::Internal(String::from("the job's thread panicked")))?
    })
}

/// Refuses servers (`what`: "source" or "target") whose user lacks a privilege of a cutover (the
/// lock, the renames), each named with the `GRANT` that adds it, before anything is written:
/// found at the cutover, a missing grant would stop it after the application was switched.
async fn check_cutover_grants(
    servers: &[reshard_types::Dsn],
    what: &str,
) -> Result<(), crate::CopyError> {
    use reshard_mysql::privileges::{Grants, lacking, needs};
    let mut problems = Vec::new();
    for (i, dsn) in servers.iter().enumerate() {
        let facts = reshard_mysql::ServerFacts::of(dsn).await?;
        let grants = Grants::parse(&facts.grants);
        if grants.uncertain {
            continue; // roles or table grants may hold what seems missing: the server decides
        }
        let database = dsn.database().unwrap_or_default();
        let missing: Vec<_> = needs(reshard_mysql::Role::Source)
            .into_iter()
            .filter(|n| !n.required && !grants.allows(n, database))
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{what} {} ({dsn}): {}",
                i + 1,
                lacking(&facts.user, &missing, database)
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(crate::CopyError::Refused(format!(
        "the cutover locks and renames the tables there; nothing was written:\n  - {}",
        problems.join("\n  - ")
    )))
}

/// Refuses targets whose user lacks a privilege the copy needs (each named, with the `GRANT`
/// that adds it), before anything is written; a privilege needed only with `--force` is
/// checked by the server when it is used.
async fn check_target_grants(
    topology: &crate::topology::Topology,
    online: bool,
) -> Result<(), crate::CopyError> {
    use reshard_mysql::privileges::{Grants, lacking};
    let mut problems = Vec::new();
    for (i, target) in topology.targets.iter().enumerate() {
        let facts = reshard_mysql::ServerFacts::of(&target.dsn).await?;
        let grants = Grants::parse(&facts.grants);
        if grants.uncertain {
            continue; // roles or table grants may hold what seems missing: the server decides
        }
        let database = target.dsn.database().unwrap_or_default();
        // A copy loads with IGNORE and alters only to add indexes; a move also updates and
        // deletes.
        let missing: Vec<_> = grants
            .missing(reshard_mysql::Role::Target, database)
            .into_iter()
            .filter(|n| {
                n.required && (online || matches!(n.privilege, "SELECT" | "INSERT" | "CREATE"))
            })
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "target {} ({}): {}",
                i + 1,
                target.dsn,
                lacking(&facts.user, &missing, database)
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(crate::CopyError::Refused(format!(
        "nothing was written:\n  - {}",
        problems.join("\n  - ")
    )))
}
