//! What a running job tells its caller.

use std::sync::Arc;

use crate::copy::PreparedTable;
use crate::online::MoveProgress;
use crate::progress::CopyProgress;
use crate::verify::VerifyProgress;

/// A step of a job. New kinds may be added.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Every check passed and the target tables are ready: what will be copied, and where.
    Planned(&'a [PreparedTable]),
    /// A copy began; its counters, live until the job ends.
    Copying(&'a Arc<CopyProgress>),
    /// A move found its checkpoint and goes on from it; `cleaned` lists the rows deleted from
    /// the targets because the chunks holding them were in flight (they are copied again).
    Resuming {
        /// The checkpoint resumed.
        checkpoint: &'a crate::checkpoint::Checkpoint,
        /// Rows deleted, per table and target.
        cleaned: &'a [crate::checkpoint::cleanup::Cleaned],
    },
    /// `--force`: a move's checkpoint is discarded (and its target tables emptied) to start over.
    Discarding(&'a crate::checkpoint::Checkpoint),
    /// A move began; its counters (the copy's and the change side's), live until the job ends.
    Moving(&'a Arc<MoveProgress>),
    /// A verification began; its counters, live until the job ends.
    Verifying(&'a Arc<VerifyProgress>),
    /// The copy (of a copy job) is over and the targets are being finished: deferred indexes
    /// added back, row counts checked.
    Finishing,
}

/// Hears a job's [`Event`]s, on the job's task; keep it quick (start a display, log a line).
pub trait Observer: Send + Sync {
    /// One event.
    fn event(&self, event: &Event<'_>);
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn event(&self, _: &Event<'_>) {}
}
