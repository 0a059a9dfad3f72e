//! What the CLI says when a job fails or is interrupted, and with which exit status.

use reshard_engine::CopyError;
use reshard_engine::progress::CopyProgress;

use crate::Failure;
use crate::format::seconds;

/// The exit status of an engine error: bad input (exit 2) when the input names what the servers
/// do not hold, else unfit (exit 1).
pub(crate) fn failure(e: CopyError) -> Failure {
    match e {
        CopyError::BadInput(message) => Failure::BadInput(message),
        other => Failure::Unfit(other.to_string()),
    }
}

/// A copy's error, with what the targets were left holding and what to do about it.
pub(crate) fn with_leftovers(failure: Failure, progress: &CopyProgress) -> Failure {
    match failure {
        Failure::Unfit(message) => {
            let partial: Vec<String> = progress
                .snapshot()
                .into_iter()
                .filter(|s| {
                    s.rows_inserted > 0 && (!s.reading_done || s.rows_inserted < s.rows_read)
                })
                .map(|s| s.name)
                .collect();
            if partial.is_empty() {
                Failure::Unfit(message)
            } else {
                Failure::Unfit(format!(
                    "{message}\nthe targets hold part of these tables: {}; once the cause is fixed, run again with --force to copy them over",
                    partial.join(", ")
                ))
            }
        }
        other => other,
    }
}

/// What an interrupted copy wrote, for its last words: rows written (what the targets hold of
/// it) against rows read, per table.
pub(crate) fn unfinished(progress: &CopyProgress) -> String {
    let snapshots = progress.snapshot();
    let written: u64 = snapshots.iter().map(|s| s.rows_inserted).sum();
    let read: u64 = snapshots.iter().map(|s| s.rows_read).sum();
    let tables: Vec<String> = snapshots
        .iter()
        .filter(|s| !s.reading_done || s.rows_inserted < s.rows_read)
        .map(|s| s.name.clone())
        .collect();
    format!(
        "the copy did not finish: {written} rows written to the targets ({read} read) in {}; \
         unfinished tables on the targets: {}. Run the copy again with --force to start them over",
        seconds(progress.started.elapsed()),
        if tables.is_empty() {
            String::from("none")
        } else {
            tables.join(", ")
        }
    )
}
