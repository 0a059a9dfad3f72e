//! Counters of the change side of a move, next to the copy's: per source, where its stream and
//! the applier are and how far behind the source they are; over all, what the applier did.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use reshard_types::BinlogPosition;

use crate::progress::CopyProgress;
use crate::verify::{VerifyProgress, VerifyReport};

/// One source's stream.
#[derive(Debug)]
pub struct SourceLag {
    /// The source, as a redacted DSN.
    pub name: String,
    positions: Mutex<Positions>,
    /// Server timestamp (Unix seconds) of the last change applied.
    applied_at: AtomicU64,
    bytes_behind: AtomicU64,
    seconds_behind: AtomicU64,
}

#[derive(Debug, Clone)]
struct Positions {
    received: BinlogPosition,
    applied: BinlogPosition,
    end: BinlogPosition,
}

/// One source's stream at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LagSnapshot {
    /// The source.
    pub name: String,
    /// The last commit the stream has read.
    pub received: BinlogPosition,
    /// The last commit whose changes are on the targets (or held for a chunk in flight).
    pub applied: BinlogPosition,
    /// Where the source's binlog ended when last asked.
    pub end: BinlogPosition,
    /// Binlog bytes from `applied` to `end`.
    pub bytes_behind: u64,
    /// Seconds between the source writing the oldest change not applied and now (0 when
    /// caught up).
    pub seconds_behind: u64,
}

impl SourceLag {
    /// A stream of `name` starting at `from`.
    pub fn new(name: String, from: BinlogPosition) -> SourceLag {
        SourceLag {
            name,
            positions: Mutex::new(Positions {
                received: from.clone(),
                applied: from.clone(),
                end: from,
            }),
            // Every change not applied yet was written after the stream's start: until one is
            // applied, the lag counts from now (not from 1970, as a zero would).
            applied_at: AtomicU64::new(super::stream::now()),
            bytes_behind: AtomicU64::new(0),
            seconds_behind: AtomicU64::new(0),
        }
    }

    pub(crate) fn received(&self, at: &BinlogPosition) {
        self.positions.lock().expect("lag lock").received = at.clone();
    }

    pub(crate) fn applied(&self, at: &BinlogPosition, timestamp: u64) {
        self.positions.lock().expect("lag lock").applied = at.clone();
        self.applied_at.store(timestamp, Relaxed);
    }

    /// The last applied position.
    pub(crate) fn applied_position(&self) -> BinlogPosition {
        self.positions.lock().expect("lag lock").applied.clone()
    }

    /// The source's binlog ends at `end`, `bytes` after the applied position; `now` is Unix
    /// seconds.
    pub(crate) fn measured(&self, end: BinlogPosition, bytes: u64, now: u64) {
        let mut positions = self.positions.lock().expect("lag lock");
        let behind = positions.applied < end;
        positions.end = end;
        drop(positions);
        self.bytes_behind.store(bytes, Relaxed);
        let seconds = if behind {
            now.saturating_sub(self.applied_at.load(Relaxed))
        } else {
            0
        };
        self.seconds_behind.store(seconds, Relaxed);
    }

    /// The stream now.
    pub fn snapshot(&self) -> LagSnapshot {
        let positions = self.positions.lock().expect("lag lock").clone();
        LagSnapshot {
            name: self.name.clone(),
            received: positions.received,
            applied: positions.applied,
            end: positions.end,
            bytes_behind: self.bytes_behind.load(Relaxed),
            seconds_behind: self.seconds_behind.load(Relaxed),
        }
    }
}

/// Counters of a whole move.
#[derive(Debug)]
pub struct MoveProgress {
    /// The copy's counters.
    pub copy: CopyProgress,
    /// One per source, in the plan's order.
    pub sources: Vec<SourceLag>,
    images: AtomicU64,
    keys: AtomicU64,
    deletes: AtomicU64,
    upserts: AtomicU64,
    cycles: AtomicU64,
    held: AtomicU64,
    copy_done: AtomicBool,
    /// The verification's counters (a move verifies once its copy is done).
    pub verify: VerifyProgress,
    verification: Mutex<Option<VerifyReport>>,
    cutover: Mutex<CutoverProgress>,
}

/// Where a move's cutover is, for progress reports and `/status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CutoverProgress {
    /// While the cutover waits for its sentinel: the statement that starts it.
    pub waiting_for: Option<String>,
    /// The step under way, if an attempt is.
    pub step: Option<crate::cutover::CutoverStep>,
    /// Re-verifications done while the cutover was deferred, and when the last ended (Unix
    /// seconds).
    pub reverifications: u64,
    /// When the last re-verification ended (Unix seconds).
    pub reverified_at: Option<u64>,
    /// Why the last attempt did not cut over.
    pub last_failure: Option<String>,
    /// Cut over: how long the sources were locked (ms).
    pub locked_ms: Option<u64>,
}

/// The change side of a move at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSnapshot {
    /// Per source.
    pub sources: Vec<LagSnapshot>,
    /// Row images applied (a row's update counts its before and after image).
    pub images: u64,
    /// Distinct keys per cycle, summed.
    pub keys: u64,
    /// Rows deleted by key on targets.
    pub deletes: u64,
    /// Rows written whole on targets.
    pub upserts: u64,
    /// Applier cycles that applied something.
    pub cycles: u64,
    /// Row images held until their chunk is on every target.
    pub held: u64,
    /// Whether the copy has finished.
    pub copy_done: bool,
}

impl MoveProgress {
    /// Counters of a move with this copy and these sources.
    pub fn new(copy: CopyProgress, sources: Vec<SourceLag>) -> MoveProgress {
        MoveProgress {
            copy,
            sources,
            images: AtomicU64::new(0),
            keys: AtomicU64::new(0),
            deletes: AtomicU64::new(0),
            upserts: AtomicU64::new(0),
            cycles: AtomicU64::new(0),
            held: AtomicU64::new(0),
            copy_done: AtomicBool::new(false),
            verify: VerifyProgress::default(),
            verification: Mutex::new(None),
            cutover: Mutex::new(CutoverProgress::default()),
        }
    }

    /// Where the cutover is.
    pub fn cutover(&self) -> CutoverProgress {
        self.cutover.lock().expect("cutover lock").clone()
    }

    fn with_cutover(&self, f: impl FnOnce(&mut CutoverProgress)) {
        f(&mut self.cutover.lock().expect("cutover lock"));
    }

    pub(crate) fn cutover_waiting(&self, waiting_for: Option<String>) {
        self.with_cutover(|c| c.waiting_for = waiting_for);
    }

    pub(crate) fn cutover_step(&self, step: crate::cutover::CutoverStep) {
        self.with_cutover(|c| c.step = Some(step));
    }

    pub(crate) fn cutover_step_cleared(&self) {
        self.with_cutover(|c| c.step = None);
    }

    pub(crate) fn cutover_failed(&self, why: String) {
        self.with_cutover(|c| {
            c.step = None;
            c.last_failure = Some(why);
        });
    }

    pub(crate) fn cutover_done(&self, locked: Duration) {
        self.with_cutover(|c| {
            c.step = Some(crate::cutover::CutoverStep::Done);
            c.locked_ms = Some(u64::try_from(locked.as_millis()).unwrap_or(u64::MAX));
        });
    }

    pub(crate) fn reverified(&self, report: VerifyReport) {
        self.set_verification(report);
        self.with_cutover(|c| {
            c.reverifications += 1;
            c.reverified_at = Some(super::unix_now());
        });
    }

    /// The verification's report, once it has run.
    pub fn verification(&self) -> Option<VerifyReport> {
        self.verification.lock().expect("verification lock").clone()
    }

    pub(crate) fn set_verification(&self, report: VerifyReport) {
        *self.verification.lock().expect("verification lock") = Some(report);
    }

    /// What an applier round did (`stats` empty when it had nothing to apply), and the images
    /// held after it.
    pub(crate) fn cycle(&self, stats: super::apply::CycleStats, held: u64) {
        self.held.store(held, Relaxed);
        if stats.images == 0 {
            return;
        }
        self.images.fetch_add(stats.images, Relaxed);
        self.keys.fetch_add(stats.keys, Relaxed);
        self.deletes.fetch_add(stats.deletes, Relaxed);
        self.upserts.fetch_add(stats.upserts, Relaxed);
        self.cycles.fetch_add(1, Relaxed);
    }

    pub(crate) fn set_copy_done(&self) {
        self.copy_done.store(true, Relaxed);
    }

    /// Whether the copy has finished.
    pub fn copy_done(&self) -> bool {
        self.copy_done.load(Relaxed)
    }

    /// The change side now.
    pub fn changes(&self) -> ChangeSnapshot {
        ChangeSnapshot {
            sources: self.sources.iter().map(SourceLag::snapshot).collect(),
            images: self.images.load(Relaxed),
            keys: self.keys.load(Relaxed),
            deletes: self.deletes.load(Relaxed),
            upserts: self.upserts.load(Relaxed),
            cycles: self.cycles.load(Relaxed),
            held: self.held.load(Relaxed),
            copy_done: self.copy_done.load(Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_before_anything_is_applied_counts_from_the_start_not_from_1970() {
        let lag = SourceLag::new("s".into(), BinlogPosition::new("binlog.000001", 4));
        let later = super::super::stream::now() + 3;
        lag.measured(BinlogPosition::new("binlog.000001", 1000), 996, later);
        let behind = lag.snapshot().seconds_behind;
        assert!((3..=4).contains(&behind), "{behind} s");
    }
}
