//! Progress counters of a copy, shared between the workers (who add to them) and whoever
//! displays them (who reads snapshots). Plain relaxed atomics, updated once per batch or chunk:
//! nothing on the per-row path. Where the time goes, stage by stage, is in [`crate::stages`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use crate::stages::StageClock;

/// Counters of one table.
#[derive(Debug, Default)]
pub struct TableProgress {
    /// `` `db`.`table` ``.
    pub name: String,
    /// The source's estimate of its rows, summed over sources (for ETAs; may be off).
    pub estimated_rows: u64,
    rows_read: AtomicU64,
    bytes_read: AtomicU64,
    rows_written: AtomicU64,
    rows_inserted: AtomicU64,
    bytes_written: AtomicU64,
    chunks_done: AtomicU64,
    retries: AtomicU64,
    reading_done: AtomicBool,
    /// Rows read for each target (sent to it); the count each target table must end with.
    routed: Box<[AtomicU64]>,
}

/// A table's counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableSnapshot {
    /// `` `db`.`table` ``.
    pub name: String,
    /// The sources' estimate of its rows.
    pub estimated_rows: u64,
    /// Rows read from the sources (of chunks read so far, including the one being read).
    pub rows_read: u64,
    /// Row bytes read, as the servers sent them.
    pub bytes_read: u64,
    /// Rows written to targets (sent and acknowledged).
    pub rows_written: u64,
    /// Of those, rows the targets inserted (the rest were already there: a retried write).
    pub rows_inserted: u64,
    /// Bytes of load data sent to targets.
    pub bytes_written: u64,
    /// Chunks read completely.
    pub chunks_done: u64,
    /// Reads and writes retried after a transient error.
    pub retries: u64,
    /// Whether every chunk has been handed to a reader (the last ones may still be in flight).
    pub reading_done: bool,
    /// Rows read for each target, by target index.
    pub rows_per_target: Vec<u64>,
}

impl TableProgress {
    /// Counters for `name`, expected to hold about `estimated_rows` rows, copied to `targets`
    /// targets.
    pub fn new(name: String, estimated_rows: u64, targets: usize) -> TableProgress {
        TableProgress {
            name,
            estimated_rows,
            routed: (0..targets).map(|_| AtomicU64::new(0)).collect(),
            ..TableProgress::default()
        }
    }

    /// Counts `rows` read for `target`.
    pub(crate) fn add_routed(&self, target: usize, rows: u64) {
        self.routed[target].fetch_add(rows, Relaxed);
    }

    /// Takes back rows counted for `target` by a failed attempt at a chunk.
    pub(crate) fn undo_routed(&self, target: usize, rows: u64) {
        self.routed[target].fetch_sub(rows, Relaxed);
    }

    pub(crate) fn add_read(&self, rows: u64, bytes: u64) {
        self.rows_read.fetch_add(rows, Relaxed);
        self.bytes_read.fetch_add(bytes, Relaxed);
    }

    /// Takes back what a failed attempt at a chunk had counted (it is read again).
    pub(crate) fn undo_read(&self, rows: u64, bytes: u64) {
        self.rows_read.fetch_sub(rows, Relaxed);
        self.bytes_read.fetch_sub(bytes, Relaxed);
    }

    pub(crate) fn add_written(&self, rows: u64, inserted: u64, bytes: u64) {
        self.rows_written.fetch_add(rows, Relaxed);
        self.rows_inserted.fetch_add(inserted, Relaxed);
        self.bytes_written.fetch_add(bytes, Relaxed);
    }

    pub(crate) fn chunk_done(&self) {
        self.chunks_done.fetch_add(1, Relaxed);
    }

    pub(crate) fn retried(&self) {
        self.retries.fetch_add(1, Relaxed);
    }

    pub(crate) fn set_reading_done(&self) {
        self.reading_done.store(true, Relaxed);
    }

    /// Rows read so far.
    pub fn rows_read(&self) -> u64 {
        self.rows_read.load(Relaxed)
    }

    /// The counters now.
    pub fn snapshot(&self) -> TableSnapshot {
        TableSnapshot {
            name: self.name.clone(),
            estimated_rows: self.estimated_rows,
            rows_read: self.rows_read.load(Relaxed),
            bytes_read: self.bytes_read.load(Relaxed),
            rows_written: self.rows_written.load(Relaxed),
            rows_inserted: self.rows_inserted.load(Relaxed),
            bytes_written: self.bytes_written.load(Relaxed),
            chunks_done: self.chunks_done.load(Relaxed),
            retries: self.retries.load(Relaxed),
            reading_done: self.reading_done.load(Relaxed),
            rows_per_target: self.routed.iter().map(|r| r.load(Relaxed)).collect(),
        }
    }
}

/// Counters of a whole copy.
#[derive(Debug)]
pub struct CopyProgress {
    /// One per table, in the order of the copy's table list.
    pub tables: Vec<TableProgress>,
    /// When the copy started.
    pub started: Instant,
    /// Time per stage, threads per side, network bytes.
    pub stages: StageClock,
    /// Nanoseconds from `started` to the end of the copy's workers (0 while they run).
    ended_after: AtomicU64,
    /// Whether the copy (and a move's applier) is held back for the servers' sake, and for how
    /// long it was.
    pub throttle: crate::throttle::Throttle,
}

impl CopyProgress {
    /// Counters for these tables (each with the copy's number of targets), starting now, with
    /// stage times measured.
    pub fn new(tables: Vec<TableProgress>) -> CopyProgress {
        CopyProgress::with_stage_timing(tables, true)
    }

    /// As [`CopyProgress::new`], measuring stage times only if `timed` (to measure what the
    /// measuring costs).
    pub fn with_stage_timing(tables: Vec<TableProgress>, timed: bool) -> CopyProgress {
        let targets = tables.first().map_or(0, |t| t.routed.len());
        assert!(
            tables.iter().all(|t| t.routed.len() == targets),
            "every table is copied to the same targets"
        );
        CopyProgress {
            tables,
            started: Instant::now(),
            stages: StageClock::new(targets, timed),
            ended_after: AtomicU64::new(0),
            throttle: crate::throttle::Throttle::default(),
        }
    }

    /// Records that the copy's workers have all ended.
    pub(crate) fn mark_ended(&self) {
        let nanos = crate::stages::nanos(self.started.elapsed());
        self.ended_after.store(nanos.max(1), Relaxed);
    }

    /// Whether the copy's workers have all ended.
    pub fn ended(&self) -> bool {
        self.ended_after.load(Relaxed) > 0
    }

    /// How long the copy ran: until its workers ended, or until now while they run (the wall
    /// time the stage shares are taken over).
    pub fn copy_time(&self) -> std::time::Duration {
        match self.ended_after.load(Relaxed) {
            0 => self.started.elapsed(),
            nanos => std::time::Duration::from_nanos(nanos),
        }
    }

    /// Every table's counters now.
    pub fn snapshot(&self) -> Vec<TableSnapshot> {
        self.tables.iter().map(TableProgress::snapshot).collect()
    }
}
